"""Opening storybot's SQLite file, and the few things every part of the engine does with it.

A connection is opened, configured (WAL, memory map, page cache) and brought to the current schema by
`connect`; writes go through `write_transaction`; the `meta` table holds small named values.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

from index.engine.schema import check_and_migrate
from index.errors import DatabaseError

MMAP_BYTES = 256 * 1024 * 1024
"""How much of the database file SQLite reads through a memory map (the rest through read())."""

CACHE_KIB = 64 * 1024
"""SQLite's page cache per connection, at most."""

BUSY_TIMEOUT_MS = 10_000

IN_CHUNK = 500
"""Rows per `IN (...)` lookup, well under SQLite's variable limit."""


def now() -> str:
    """The current UTC time as stored in the database."""
    return datetime.now(UTC).isoformat(timespec="seconds")


@contextmanager
def write_transaction(conn: sqlite3.Connection) -> Iterator[None]:
    """One atomic write: BEGIN IMMEDIATE takes the write lock up front, so no reader upgrade deadlocks."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")


def get_meta(conn: sqlite3.Connection, key: str) -> str | None:
    """The value stored under `key` in the `meta` table, if any."""
    row = conn.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
    return None if row is None else str(row[0])


def set_meta(conn: sqlite3.Connection, key: str, value: str) -> None:
    """Store `value` under `key` in the `meta` table, replacing what was there."""
    conn.execute(
        "INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        (key, value),
    )


def connect(path: Path | str, *, create: bool = True) -> sqlite3.Connection:
    """Open (and if needed create) storybot's database, checked and migrated to the current schema."""
    target = Path(path)
    if str(path) != ":memory:":
        if target.exists() and not target.is_file():
            raise DatabaseError(f"{target} is not a file")
        if not target.exists():
            if not create:
                raise DatabaseError(f"no database at {target}")
            try:
                target.parent.mkdir(parents=True, exist_ok=True)
            except OSError as error:
                raise DatabaseError(f"cannot create a database at {target}: {error.strerror}") from error
    try:
        # Each thread opens its own connection; check_same_thread=False only lets the owner close them all.
        conn = sqlite3.connect(
            str(path), timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None, check_same_thread=False
        )
    except sqlite3.Error as error:
        raise DatabaseError(f"cannot open {target}: {error}") from error
    try:
        _configure(conn)
        check_and_migrate(conn, target)
    except sqlite3.DatabaseError as error:
        conn.close()
        message = str(error)
        if "not a database" in message or "malformed" in message:
            raise DatabaseError(f"{target} is not a storybot database (not SQLite)") from error
        if "readonly" in message or "unable to open" in message:
            raise DatabaseError(f"cannot write the database at {target}: {message}") from error
        raise DatabaseError(f"cannot use the database at {target}: {message}") from error
    except DatabaseError:
        conn.close()
        raise
    return conn


def _configure(conn: sqlite3.Connection) -> None:
    # WAL lets the bot keep answering from the last committed state while a writer indexes.
    conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
    journal = conn.execute("PRAGMA journal_mode = WAL").fetchone()
    if journal and journal[0] not in ("wal", "memory"):
        conn.execute("PRAGMA journal_mode = DELETE")
    conn.execute("PRAGMA synchronous = NORMAL")
    conn.execute("PRAGMA foreign_keys = ON")
    # Posting lists are BLOBs of many pages: read through a memory map they cost half as much as through
    # read() calls. Mapped pages are the OS's page cache, shared and dropped under memory pressure.
    conn.execute(f"PRAGMA mmap_size = {MMAP_BYTES}")
    # A bulk load inserts into several indexes at random places: a page cache bigger than the default
    # 2 MB keeps their pages at hand. It grows only as pages are used.
    conn.execute(f"PRAGMA cache_size = -{CACHE_KIB}")


def backup_to(conn: sqlite3.Connection, target: Path) -> None:
    """Copy the database behind `conn` to the new file `target`, consistently even while others write.

    SQLite's online backup copies one snapshot, with what the WAL holds that is not yet checkpointed. The copy
    is written under a temporary name beside `target`, checked, switched out of WAL mode (one file, nothing
    beside it) and only then renamed, so `target` is never half a database. DatabaseError if it cannot be.
    """
    partial = target.with_name(f".{target.name}.{os.getpid()}.partial")
    try:
        copy = sqlite3.connect(partial)
        try:
            conn.backup(copy)
            verdict = copy.execute("PRAGMA quick_check").fetchone()[0]
            copy.execute("PRAGMA journal_mode = DELETE")
        finally:
            copy.close()
        if verdict != "ok":
            raise DatabaseError(f"the copy at {target} failed SQLite's check: {verdict}")
        partial.replace(target)
    except (sqlite3.Error, OSError) as error:
        raise DatabaseError(f"cannot back up the database to {target}: {error}") from error
    finally:
        partial.unlink(missing_ok=True)
