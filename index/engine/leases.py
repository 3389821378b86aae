"""Reindex leases: one reindex at a time per scope, across every process that opens the database.

An `asyncio.Lock` holds only inside one process, and the bot may run as several shard processes beside the
CLI. A lease is a row in SQLite naming its scope, its holder and when it was taken. It expires `ttl` seconds
after its last renewal; `holding` renews it from a thread while the work runs, so a process that is killed
(SIGKILL, a power cut) stops renewing and its lease lapses instead of blocking reindexes for ever.

A lease on `EVERYTHING` overlaps every other: a whole reindex waits for no scoped one and vice versa.

The leases live in a small SQLite file beside the database (`storybot.db-leases`), not in it: a reindex
writes its rebuild in one long transaction, and while any writer holds the database's write lock no other
connection can write it, so a lease renewed there would lapse exactly while its reindex is busiest (and
taking one would wait behind a big `storybot add`). The lease file is written for milliseconds at a time;
a backup need not copy it, and a copy restored elsewhere starts with no leases.
"""

from __future__ import annotations

import logging
import secrets
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from index.engine.database import BUSY_TIMEOUT_MS, can_write, read_only, write_transaction
from index.errors import DatabaseError, StorybotError
from index.models import GUILD_SCOPE_PREFIX, SHARED_SCOPE

EVERYTHING = "*"
"""The lease scope of a reindex of every source, whatever its scope."""

DEFAULT_TTL_SECONDS = 60.0
"""How long a lease outlives its holder's last renewal (a killed process blocks reindexes this long)."""

log = logging.getLogger(__name__)

_TABLE = """
CREATE TABLE IF NOT EXISTS reindex_leases (
    scope TEXT PRIMARY KEY,
    token TEXT NOT NULL,
    holder TEXT NOT NULL,
    since REAL NOT NULL,
    expires REAL NOT NULL
)
"""


@dataclass(frozen=True)
class Lease:
    """A reindex lease: its scope (a scope or `EVERYTHING`), who holds it and since when (Unix seconds)."""

    scope: str
    holder: str
    since: float
    expires: float
    token: str

    def since_text(self) -> str:
        """When it was taken, for people: `2026-12-01 23:04:05 UTC`."""
        return datetime.fromtimestamp(self.since, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


class LeaseTaken(StorybotError):
    """Another reindex holds a lease that overlaps the one asked for; `held` says whose and since when."""

    def __init__(self, held: Lease) -> None:
        super().__init__(
            f"a reindex of {describe_scope(held.scope)} is already running, started by {held.holder} "
            f"at {held.since_text()}; try again when it has finished"
        )
        self.held = held


def describe_scope(scope: str) -> str:
    """A lease scope in words: `every source`, `the shared sources`, `server 123's sources`."""
    if scope == EVERYTHING:
        return "every source"
    if scope == SHARED_SCOPE:
        return "the shared sources"
    return f"server {scope.removeprefix(GUILD_SCOPE_PREFIX)}'s sources"


def lease_file(database: Path | str) -> Path:
    """Where the reindex leases of a database are kept: beside it, as `<name>-leases`."""
    path = Path(database).resolve()
    return path.with_name(path.name + "-leases")


class ReindexLeases:
    """The reindex leases of one database; thread-safe (its one connection is used under a lock)."""

    def __init__(
        self,
        database: Path | str,
        *,
        ttl: float = DEFAULT_TTL_SECONDS,
        clock: Callable[[], float] = time.time,
    ) -> None:
        """`clock` is wall-clock seconds, shared by every process on the machine (tests pass their own).
        ReadOnlyDatabase if the database cannot be written here (a reindex could not write it either),
        DatabaseError if the lease file cannot be opened or made."""
        if not can_write(Path(database)):
            raise read_only(Path(database))
        self.ttl = ttl
        self._clock = clock
        self.path = lease_file(database)
        self._lock = threading.Lock()
        try:
            # check_same_thread=False: the renewing thread uses it too, always under self._lock.
            self._conn = sqlite3.connect(
                self.path, timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None, check_same_thread=False
            )
            self._conn.execute(_TABLE)
        except sqlite3.Error as error:
            raise DatabaseError(f"cannot use the reindex lease file {self.path}: {error}") from error

    def acquire(self, scope: str, holder: str) -> Lease:
        """Take the lease of `scope` for `holder`; LeaseTaken if an unexpired overlapping one is held."""
        with self._lock, self._failing_as_database_error(), write_transaction(self._conn):
            now = self._clock()
            self._conn.execute("DELETE FROM reindex_leases WHERE expires <= ?", (now,))
            overlapping = (
                "SELECT scope, holder, since, expires, token FROM reindex_leases ORDER BY since"
                if scope == EVERYTHING
                else "SELECT scope, holder, since, expires, token FROM reindex_leases"
                " WHERE scope IN (?, ?) ORDER BY since"
            )
            params: tuple[str, ...] = () if scope == EVERYTHING else (scope, EVERYTHING)
            row = self._conn.execute(overlapping, params).fetchone()
            if row is not None:
                raise LeaseTaken(Lease(*row))
            lease = Lease(scope, holder, now, now + self.ttl, secrets.token_hex(8))
            self._conn.execute(
                "INSERT INTO reindex_leases (scope, token, holder, since, expires) VALUES (?, ?, ?, ?, ?)",
                (lease.scope, lease.token, lease.holder, lease.since, lease.expires),
            )
        return lease

    def renew(self, lease: Lease) -> bool:
        """Push the lease's expiry `ttl` seconds on; False if it lapsed and is gone (or another holds it)."""
        with self._lock, write_transaction(self._conn):
            updated = self._conn.execute(
                "UPDATE reindex_leases SET expires = ? WHERE scope = ? AND token = ?",
                (self._clock() + self.ttl, lease.scope, lease.token),
            )
        return updated.rowcount == 1

    def release(self, lease: Lease) -> None:
        """Give the lease back (a lease that lapsed meanwhile, now someone else's, is left alone)."""
        with self._lock, self._failing_as_database_error(), write_transaction(self._conn):
            self._conn.execute(
                "DELETE FROM reindex_leases WHERE scope = ? AND token = ?", (lease.scope, lease.token)
            )

    def held(self) -> list[Lease]:
        """The unexpired leases, oldest first."""
        with self._lock, self._failing_as_database_error():
            rows = self._conn.execute(
                "SELECT scope, holder, since, expires, token FROM reindex_leases WHERE expires > ?"
                " ORDER BY since",
                (self._clock(),),
            ).fetchall()
        return [Lease(*row) for row in rows]

    @contextmanager
    def holding(self, scope: str, holder: str, *, renew_every: float | None = None) -> Iterator[Lease]:
        """Hold the lease of `scope` while inside, renewed every `renew_every` seconds (a third of the ttl)
        from a thread; LeaseTaken before entering if an overlapping reindex runs."""
        lease = self.acquire(scope, holder)
        stop = threading.Event()
        renewer = threading.Thread(
            target=self._keep_renewing,
            args=(lease, renew_every if renew_every is not None else self.ttl / 3, stop),
            name=f"lease {scope}",
            daemon=True,  # a process that exits without leaving the block simply stops renewing
        )
        renewer.start()
        try:
            yield lease
        finally:
            stop.set()
            renewer.join()
            try:
                self.release(lease)
            except DatabaseError:  # the lease lapses after its ttl; the reindex's own outcome matters more
                log.warning("could not give back the reindex lease of %s", lease.scope, exc_info=True)

    def close(self) -> None:
        """Close the connection (leases still held lapse after their ttl)."""
        with self._lock:
            self._conn.close()

    def __enter__(self) -> ReindexLeases:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    @contextmanager
    def _failing_as_database_error(self) -> Iterator[None]:
        try:
            yield
        except sqlite3.Error as error:
            raise DatabaseError(f"cannot use the reindex lease file {self.path}: {error}") from error

    def _keep_renewing(self, lease: Lease, every: float, stop: threading.Event) -> None:
        while not stop.wait(every):
            try:
                if not self.renew(lease):
                    log.warning("the reindex lease of %s lapsed before it could be renewed", lease.scope)
                    return
            except sqlite3.Error:
                # A busy or failing database: the next renewal tries again, well before the lease expires.
                log.warning("could not renew the reindex lease of %s", lease.scope, exc_info=True)
