"""Opening storybot's SQLite file, and the few things every part of the engine does with it.

A connection is opened, configured (WAL, memory map, page cache) and brought to the current schema by
`connect`; writes go through `write_transaction`; the `meta` table holds small named values.
"""

from __future__ import annotations

import functools
import os
import shutil
import sqlite3
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, suppress
from datetime import UTC, datetime
from pathlib import Path
from typing import Concatenate, ParamSpec, Protocol, TypeVar
from urllib.parse import quote

from index.engine.schema import APPLICATION_ID, check_identity, check_version, migrate
from index.errors import (
    DamagedDatabase,
    DatabaseError,
    DatabaseLocked,
    DiskFull,
    NotStorybotDatabase,
    ReadOnlyDatabase,
)

MMAP_BYTES = 256 * 1024 * 1024
"""How much of the database file SQLite reads through a memory map (the rest through read())."""

CACHE_KIB = 64 * 1024
"""SQLite's page cache per connection, at most."""

BUSY_TIMEOUT_MS = 10_000

IN_CHUNK = 500
"""Rows per `IN (...)` lookup, well under SQLite's variable limit."""


_Value = TypeVar("_Value")


def in_chunks(values: Sequence[_Value]) -> Iterator[tuple[Sequence[_Value], str]]:
    """`values` a chunk of `IN_CHUNK` at a time, each with its `?,?,...` placeholders for `IN (...)`."""
    for start in range(0, len(values), IN_CHUNK):
        chunk = values[start : start + IN_CHUNK]
        yield chunk, ",".join("?" * len(chunk))


def now() -> str:
    """The current UTC time as stored in the database."""
    return datetime.now(UTC).isoformat(timespec="seconds")


@contextmanager
def write_transaction(conn: sqlite3.Connection) -> Iterator[None]:
    """One atomic write: BEGIN IMMEDIATE takes the write lock up front, so no reader upgrade deadlocks."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield
        conn.execute("COMMIT")
    except BaseException:
        roll_back(conn)
        raise


@contextmanager
def read_snapshot(conn: sqlite3.Connection) -> Iterator[None]:
    """One consistent view over several statements: a read transaction (WAL keeps it as others commit)."""
    conn.execute("BEGIN")
    try:
        yield
    finally:
        roll_back(conn)


def roll_back(conn: sqlite3.Connection) -> None:
    """Undo the open transaction, if SQLite has not already (it rolls back by itself on a full disk)."""
    if conn.in_transaction:
        # A failing ROLLBACK would hide the error that made it necessary, which is the one to report.
        with suppress(sqlite3.Error):
            conn.execute("ROLLBACK")


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


def connect(
    path: Path | str, *, create: bool = True, read_only: bool = False, first: bool = True
) -> sqlite3.Connection:
    """Open (and if needed create) storybot's database, checked and migrated to the current schema.

    A file that is not storybot's is refused before anything is written to it: its header is read first,
    and an empty SQLite file's tables are looked at before the journal mode is touched. With `read_only`
    the file is opened for reading only (see `open_read_only`), neither created nor migrated.

    The header is read only by the `first` connection of a process to the file: closing any descriptor of a
    file drops every POSIX lock the process holds on it, so reading it while another connection of this
    process holds SQLite's locks would break them (seen as "disk I/O error" in the other threads).
    """
    target = Path(path)
    if str(path) != ":memory:":
        _refuse_what_is_not_a_database_file(target, read_header=first)
        if not target.exists():
            if read_only or (target.parent.is_dir() and not os.access(target.parent, os.W_OK | os.X_OK)):
                raise ReadOnlyDatabase(
                    f"no database at {target}, and its folder cannot be written to make one"
                )
            if not create:
                raise DatabaseError(f"no database at {target}")
            try:
                target.parent.mkdir(parents=True, exist_ok=True)
            except OSError as error:
                raise DatabaseError(f"cannot create a database at {target}: {error.strerror}") from error
    try:
        # Each thread opens its own connection; check_same_thread=False only lets the owner close them all.
        conn = (
            _open_read_only(target)
            if read_only
            else sqlite3.connect(
                str(path), timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None, check_same_thread=False
            )
        )
    except sqlite3.Error as error:
        raise DatabaseError(f"cannot open {target}: {error}") from error
    try:
        conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        check_identity(conn, target)
        _configure(conn, writable=not read_only)
        if read_only:
            _check_readable_version(conn, target)
        else:
            migrate(conn)
    except sqlite3.Error as error:
        conn.close()
        raise storage_error(error, target) from error
    except DatabaseError:
        conn.close()
        raise
    return conn


def _check_readable_version(conn: sqlite3.Connection, target: Path) -> None:
    try:
        check_version(conn, target)
    except ReadOnlyDatabase as refusal:
        if not unread_log(target):
            raise
        raise ReadOnlyDatabase(
            f"{target} is read-only here, and what it holds is still in the write-ahead log beside it, which "
            "cannot be read without a -shm file this folder cannot hold: open it once where it can be written"
        ) from refusal


def can_write(path: Path | str) -> bool:
    """Whether this process may write the database at `path`: the file, and its folder for the journal.

    A missing file counts as writable (creating it says what is wrong, if anything). A folder that cannot
    be written still serves a writer when the WAL's two files are already there and writable.
    """
    target = Path(path)
    if str(path) == ":memory:" or not target.is_file():
        return True
    if not os.access(target, os.W_OK):
        return False
    if os.access(target.parent, os.W_OK | os.X_OK):
        return True
    companions = [target.with_name(target.name + suffix) for suffix in ("-wal", "-shm")]
    return all(companion.is_file() and os.access(companion, os.W_OK) for companion in companions)


def _open_read_only(target: Path) -> sqlite3.Connection:
    """A read-only connection (`mode=ro`), immutable when the WAL's shared memory file cannot exist.

    A reader of a WAL database needs its `-shm` file, and makes it when missing; in a folder it cannot write
    (a read-only mount, a copy handed over) there is none to be had, so SQLite is told the file cannot change
    (`immutable=1`): it then takes no locks and reads the main file alone. That is only right while nobody
    writes the file, which a folder no one here can write makes likely; SECURITY.md says so.
    """
    uri = f"file:{quote(str(target.resolve()))}?mode=ro"
    if _immutable(target):
        uri += "&immutable=1"
    return sqlite3.connect(
        uri, uri=True, timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None, check_same_thread=False
    )


def _immutable(target: Path) -> bool:
    """Whether a read-only open must take the file as immutable: no `-shm` beside it, none to be made."""
    shared_memory = target.with_name(target.name + "-shm")
    return not shared_memory.exists() and not os.access(target.parent, os.W_OK | os.X_OK)


def unread_log(path: Path | str) -> bool:
    """Whether a read-only open leaves a write-ahead log beside the file unread (see `_open_read_only`)."""
    target = Path(path)
    log = target.with_name(target.name + "-wal")
    return _immutable(target) and log.is_file() and log.stat().st_size > 0


class _OnFile(Protocol):
    path: Path


_On = TypeVar("_On", bound=_OnFile)
_Params = ParamSpec("_Params")
_Result = TypeVar("_Result")


def storage_errors(
    method: Callable[Concatenate[_On, _Params], _Result],
) -> Callable[Concatenate[_On, _Params], _Result]:
    """Turn SQLite's failures inside a method of an object on the database at `self.path` into storybot's
    own errors, named for the file (the front-ends then say one line for each)."""

    @functools.wraps(method)
    def translated(self: _On, /, *args: _Params.args, **kwargs: _Params.kwargs) -> _Result:
        try:
            return method(self, *args, **kwargs)
        except sqlite3.Error as error:
            raise storage_error(error, self.path) from error
        except DamagedDatabase as error:
            if error.path is not None:
                raise
            raise DamagedDatabase(error.detail, self.path) from error

    return translated


def storage_error(error: sqlite3.Error, path: Path | str) -> DatabaseError:
    """What a failure of SQLite on the database at `path` means, in the words storybot uses for it."""
    code = getattr(error, "sqlite_errorcode", None)
    primary = code & 0xFF if isinstance(code, int) else None
    message = str(error)
    target = Path(path)
    if primary == sqlite3.SQLITE_FULL or (primary == sqlite3.SQLITE_IOERR and _disk_is_full(target)):
        return DiskFull(f"no space left on the disk holding {target}; nothing was changed")
    if primary in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED):
        return DatabaseLocked(
            f"another storybot is writing to {target} (it held the lock over {BUSY_TIMEOUT_MS // 1000}s); "
            "try again when it has finished"
        )
    if primary == sqlite3.SQLITE_READONLY:
        return read_only(target)
    if primary in (sqlite3.SQLITE_CORRUPT, sqlite3.SQLITE_NOTADB):
        # SQLite says the same of a damaged file and of one that never was a database: the header tells.
        if header_says_storybot(target):
            return DamagedDatabase(message, target)
        return NotStorybotDatabase(f"{target} is not a storybot database (not SQLite)")
    verb = "open" if primary == sqlite3.SQLITE_CANTOPEN else "use"
    return DatabaseError(f"cannot {verb} the database at {target}: {message}")


def read_only(target: Path) -> ReadOnlyDatabase:
    """The refusal of a write to a database this process can only read."""
    return ReadOnlyDatabase(
        f"cannot write the database at {target}: it is read-only here (the file or its folder is not "
        "writable); `ask`, `sources` and `stats` still work"
    )


def header_says_storybot(path: Path) -> bool:
    """Whether the file starts with a SQLite header carrying storybot's application id."""
    header = _header(path)
    return header.startswith(SQLITE_MAGIC) and len(header) >= 72 and _application_id(header) == APPLICATION_ID


SQLITE_MAGIC = b"SQLite format 3\x00"
"""The first 16 bytes of every SQLite database file."""

_FULL_BELOW_BYTES = 1024 * 1024
"""Free space under which an I/O error while writing is taken for a full disk (SQLite may say either)."""


def _disk_is_full(target: Path) -> bool:
    try:
        return shutil.disk_usage(target.parent).free < _FULL_BELOW_BYTES
    except OSError:
        return False


def _header(path: Path) -> bytes:
    try:
        with path.open("rb") as file:
            return file.read(100)
    except OSError:
        return b""


def _application_id(header: bytes) -> int:
    return int.from_bytes(header[68:72], "big")


def _refuse_what_is_not_a_database_file(target: Path, *, read_header: bool) -> None:
    """Refuse a directory, a file that is not SQLite, or another application's SQLite file, unopened."""
    if target.is_dir():
        raise DatabaseError(f"{target} is a directory; give the path of a database file inside it")
    if target.exists() and not target.is_file():
        raise DatabaseError(f"{target} is not a file")
    if not read_header:
        return
    header = _header(target)
    if not header:
        return  # missing or empty: a new database
    if not header.startswith(SQLITE_MAGIC):
        raise NotStorybotDatabase(f"{target} is not a storybot database (not SQLite); it was left untouched")
    if len(header) < 100:
        raise DamagedDatabase("its header is cut short", target)
    application_id = _application_id(header)
    if application_id not in (0, APPLICATION_ID):
        raise NotStorybotDatabase(
            f"{target} is not a storybot database (another application's SQLite file, application id "
            f"{application_id:#x}); it was left untouched"
        )


def _configure(conn: sqlite3.Connection, *, writable: bool) -> None:
    if writable:
        # WAL lets the bot keep answering from the last committed state while a writer indexes.
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
