"""Opening the file: another application's database is refused untouched, damage is named as damage, a full
disk, a held lock and a read-only file each get their own error, and a read-only database can be read."""

from __future__ import annotations

import os
import re
import sqlite3
import subprocess
import sys
import threading
from contextlib import closing
from pathlib import Path

import pytest

from index import (
    DamagedDatabase,
    DatabaseError,
    DatabaseLocked,
    DiskFull,
    NotStorybotDatabase,
    ReadOnlyDatabase,
    StoryIndex,
)
from index.engine import database
from index.engine.database import connect, storage_error, write_transaction
from index.models import Article
from tests.mounts import read_only, small_disk, writable_folder


def _foreign_database(path: Path, *, application_id: int = 0) -> None:
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE invoices (id INTEGER PRIMARY KEY, amount REAL)")
    conn.execute("INSERT INTO invoices (amount) VALUES (12.5)")
    conn.execute(f"PRAGMA application_id = {application_id}")
    conn.commit()
    conn.close()


@pytest.mark.parametrize("application_id", [0, 0x12345678])
def test_another_applications_database_is_refused_and_left_byte_for_byte(
    tmp_path: Path, application_id: int
) -> None:
    other = tmp_path / "invoices.db"
    _foreign_database(other, application_id=application_id)
    before, mtime = other.read_bytes(), other.stat().st_mtime_ns
    with pytest.raises(NotStorybotDatabase, match=r"not a storybot database.*left untouched"):
        StoryIndex(other)
    assert other.read_bytes() == before
    assert other.stat().st_mtime_ns == mtime
    # In particular its journal mode was not switched to WAL, and no journal files were left beside it.
    with closing(sqlite3.connect(other)) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "delete"
    assert sorted(path.name for path in tmp_path.iterdir()) == ["invoices.db"]


def test_a_file_that_is_not_sqlite_is_refused_unopened(tmp_path: Path) -> None:
    notes = tmp_path / "notes.db"
    notes.write_text("hello, this is not SQLite at all" * 100)
    before = notes.read_bytes()
    with pytest.raises(NotStorybotDatabase, match=r"not a storybot database \(not SQLite\)"):
        StoryIndex(notes)
    assert notes.read_bytes() == before


def test_a_truncated_storybot_database_is_damaged_not_foreign(tmp_path: Path) -> None:
    path = tmp_path / "storybot.db"
    with StoryIndex(path) as index:
        index.add_articles([Article("moon", "Moon base", ("Astronauts open a base on the moon.",) * 50, "x")])
    whole = path.read_bytes()
    path.write_bytes(whole[: len(whole) // 2])
    with (
        pytest.raises(DamagedDatabase, match=r"the database is damaged.*storybot check") as raised,
        StoryIndex(path) as index,
    ):
        index.ask("who opened a base on the moon?")
    assert "not SQLite" not in str(raised.value)


def test_a_header_cut_short_is_damaged(tmp_path: Path) -> None:
    path = tmp_path / "storybot.db"
    StoryIndex(path).close()
    path.write_bytes(path.read_bytes()[:60])
    with pytest.raises(DamagedDatabase, match="header is cut short"):
        StoryIndex(path)


def test_a_directory_is_not_a_database(tmp_path: Path) -> None:
    with pytest.raises(DatabaseError, match="is a directory; give the path of a database file"):
        StoryIndex(tmp_path)


def test_a_lock_held_too_long_says_another_storybot_is_writing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "storybot.db"
    StoryIndex(path).close()
    monkeypatch.setattr(database, "BUSY_TIMEOUT_MS", 50)  # the wait before giving up, not what is asserted
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    try:
        with StoryIndex(path) as index, pytest.raises(DatabaseLocked, match="another storybot is writing"):
            index.remove("musk-twitter-ai-gpus")
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    with StoryIndex(path) as index:
        assert [record.id for record in index.sources()] == ["musk-twitter-ai-gpus"]


def test_storage_errors_are_classified_by_sqlite_code(tmp_path: Path) -> None:
    def failure(code: int, message: str) -> sqlite3.Error:
        error = sqlite3.OperationalError(message)
        error.sqlite_errorcode = code  # type: ignore[attr-defined]
        return error

    path = tmp_path / "storybot.db"
    StoryIndex(path).close()
    assert isinstance(storage_error(failure(sqlite3.SQLITE_FULL, "database or disk is full"), path), DiskFull)
    assert isinstance(storage_error(failure(sqlite3.SQLITE_BUSY, "database is locked"), path), DatabaseLocked)
    assert isinstance(
        storage_error(failure(sqlite3.SQLITE_READONLY, "attempt to write a readonly database"), path),
        ReadOnlyDatabase,
    )
    assert isinstance(storage_error(failure(sqlite3.SQLITE_CORRUPT, "malformed"), path), DamagedDatabase)
    # Malformed in a file whose header is not storybot's: not storybot's, not "damaged".
    foreign = tmp_path / "other.db"
    _foreign_database(foreign)
    assert isinstance(
        storage_error(failure(sqlite3.SQLITE_NOTADB, "not a database"), foreign), NotStorybotDatabase
    )
    # An I/O error is a full disk only when the disk is full.
    assert not isinstance(storage_error(failure(sqlite3.SQLITE_IOERR, "disk I/O error"), path), DiskFull)


def test_a_full_disk_at_commit_changes_nothing(tmp_path: Path) -> None:
    with small_disk(tmp_path / "disk", "1m") as disk:
        path = disk / "storybot.db"
        big = Article("big", "Big", tuple(f"paragraph {n} " + "word " * 200 for n in range(2000)), "big.txt")
        with StoryIndex(path) as index:
            with pytest.raises(
                DiskFull, match=re.escape(f"no space left on the disk holding {path}; nothing was changed")
            ):
                index.add_articles([big])
            assert [record.id for record in index.sources()] == ["musk-twitter-ai-gpus"]
            assert index.check().ok


def test_a_disk_filling_mid_transaction_gives_one_error_and_changes_nothing(tmp_path: Path) -> None:
    with small_disk(tmp_path / "disk", "1m") as disk:
        path = disk / "storybot.db"
        big = Article("big", "Big", tuple(f"paragraph {n} " + "word " * 200 for n in range(2000)), "big.txt")
        with StoryIndex(path) as index:
            conn = index._connection()
            # A page cache of 8 pages spills to the WAL long before the commit: the disk fills mid-write.
            conn.execute("PRAGMA cache_size = 8")
            statements: list[str] = []
            conn.set_trace_callback(statements.append)
            with pytest.raises(DiskFull) as raised:
                index.add_articles([big])
            conn.set_trace_callback(None)
            assert "COMMIT" not in statements  # it failed while writing, before the commit
            # One error: not a second one from a ROLLBACK that SQLite had already done.
            assert not isinstance(raised.value.__cause__.__context__, sqlite3.Error)  # type: ignore[union-attr]
            assert not conn.in_transaction
            assert [record.id for record in index.sources()] == ["musk-twitter-ai-gpus"]


def test_write_transaction_reports_the_first_error_when_sqlite_rolled_back_already(tmp_path: Path) -> None:
    conn = connect(tmp_path / "storybot.db")
    with pytest.raises(ZeroDivisionError), write_transaction(conn):
        conn.execute("ROLLBACK")  # as SQLite does by itself on a full disk
        raise ZeroDivisionError
    assert not conn.in_transaction
    conn.close()


def test_a_read_only_database_answers_and_refuses_writes_in_one_line(tmp_path: Path) -> None:
    with writable_folder(tmp_path / "ro") as folder:
        path = folder / "storybot.db"
        StoryIndex(path).close()
        before = path.read_bytes()
        with read_only(folder), StoryIndex(path) as index:
            assert index.read_only
            assert index.ask("why did Musk leave OpenAI?").answered
            assert [record.id for record in index.sources()] == ["musk-twitter-ai-gpus"]
            assert index.stats().sources == 1
            with pytest.raises(ReadOnlyDatabase, match="read-only here"):
                index.remove("musk-twitter-ai-gpus")
            # The feed registry's writes are refused in the same words.
            with pytest.raises(ReadOnlyDatabase, match="read-only here"):
                index.feeds.follow("https://example.com/feed.xml", "shared", None, "News")
        assert path.read_bytes() == before


def test_a_read_only_database_without_the_built_in_story_says_so_and_stays_without(tmp_path: Path) -> None:
    with writable_folder(tmp_path / "ro") as folder:
        path = folder / "storybot.db"
        StoryIndex(path, with_builtin_story=False).close()
        with read_only(folder), StoryIndex(path) as index:
            assert index.sources() == []
            assert len(index.notices) == 1
            assert "never given the built-in story" in index.notices[0]


def test_no_database_in_a_read_only_folder_is_said(tmp_path: Path) -> None:
    with writable_folder(tmp_path / "ro") as folder, read_only(folder):
        with pytest.raises(ReadOnlyDatabase, match=r"no database at .*its folder cannot be written"):
            StoryIndex(folder / "storybot.db")
        assert not (folder / "storybot.db").exists()


def test_can_write_sees_a_read_only_file(tmp_path: Path) -> None:
    with writable_folder(tmp_path / "ro") as folder:
        path = folder / "storybot.db"
        StoryIndex(path).close()
        assert database.can_write(path)
        with read_only(folder):
            assert not database.can_write(path)
            assert not os.access(path, os.W_OK)


def _copy_without_shared_memory(live: Path, folder: Path) -> None:
    """Copy the main file and its log, not the -shm: as a careless backup of a running bot takes it."""
    for name in ("storybot.db", "storybot.db-wal"):
        (folder / name).write_bytes((live.parent / name).read_bytes())


def test_a_read_only_copy_with_an_unreadable_log_says_recent_changes_are_not_seen(tmp_path: Path) -> None:
    live = tmp_path / "live" / "storybot.db"
    live.parent.mkdir()
    StoryIndex(live).close()  # the built-in story, checkpointed into the main file
    with writable_folder(tmp_path / "ro") as folder:
        with StoryIndex(live) as writer:  # open: its log is not checkpointed away yet
            writer.add_articles(
                [Article("moon", "Moon base", ("Astronauts opened a base on the moon.",), "m")]
            )
            _copy_without_shared_memory(live, folder)
        with read_only(folder), StoryIndex(folder / "storybot.db") as index:
            assert index.read_only
            assert [notice for notice in index.notices if "changes since its last checkpoint" in notice]
            assert [record.id for record in index.sources()] == ["musk-twitter-ai-gpus"]


def test_a_read_only_copy_held_all_in_its_log_is_refused_in_those_words(tmp_path: Path) -> None:
    live = tmp_path / "live" / "storybot.db"
    live.parent.mkdir()
    with writable_folder(tmp_path / "ro") as folder:
        with StoryIndex(live):
            _copy_without_shared_memory(live, folder)
        with read_only(folder), pytest.raises(ReadOnlyDatabase, match="still in the write-ahead log"):
            StoryIndex(folder / "storybot.db")


def test_a_thread_opening_its_connection_keeps_the_locks_the_others_hold(tmp_path: Path) -> None:
    """Closing any descriptor of the file drops the process's POSIX locks on it, so a later thread's
    connection must not read the header: the shared lock the others hold tells another process closing
    its own connection that the write-ahead log is still in use, and must not be deleted under them."""
    path = tmp_path / "storybot.db"
    with StoryIndex(path, with_builtin_story=False) as index:
        reader = index._connection()
        other = threading.Thread(target=index._connection)
        other.start()
        other.join()
        # Another process writes and closes, as a `storybot add` beside the running bot does.
        subprocess.run([sys.executable, "-c", _WRITE_AND_CLOSE, str(path)], check=True)
        assert path.with_name("storybot.db-wal").exists()
        assert reader.execute("SELECT value FROM meta WHERE key = 'probe'").fetchone() == ("written",)


_WRITE_AND_CLOSE = """
import sqlite3, sys
conn = sqlite3.connect(sys.argv[1], isolation_level=None)
conn.execute("INSERT OR REPLACE INTO meta (key, value) VALUES ('probe', 'written')")
conn.close()
"""
