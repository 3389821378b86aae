"""Every storage failure is one line on stderr and a non-zero exit, in its own words; `storybot check`."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from bot.cli import cli
from index import Article, ReindexReport, StoryIndex
from index.engine import database
from index.sources.origins import load_origin
from tests.bot.cli.runs import assert_one_line_error, storybot
from tests.mounts import read_only, small_disk, writable_folder


def test_storybot_db_naming_a_directory_is_one_line(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["stats"], env={"STORYBOT_DB": str(tmp_path)})
    assert_one_line_error(result, f"{tmp_path} is a directory")


def test_a_foreign_database_is_refused_and_not_modified(tmp_path: Path) -> None:
    other = tmp_path / "invoices.db"
    conn = sqlite3.connect(other)
    conn.execute("CREATE TABLE invoices (id INTEGER PRIMARY KEY)")
    conn.commit()
    conn.close()
    before, mtime = other.read_bytes(), other.stat().st_mtime_ns
    for command in (["ask", "why?"], ["add", str(other)], ["reindex"], ["check"]):
        assert_one_line_error(storybot(other, *command), "not a storybot database", "invoices")
    assert other.read_bytes() == before
    assert other.stat().st_mtime_ns == mtime


def test_a_truncated_database_is_damaged_on_ask_and_on_a_batch(tmp_path: Path) -> None:
    db = tmp_path / "storybot.db"
    source = tmp_path / "moon.txt"
    source.write_text("Moon base\n\n" + "\n\n".join(f"Paragraph {n} about the moon." for n in range(300)))
    assert storybot(db, "add", str(source)).exit_code == 0
    db.write_bytes(db.read_bytes()[: db.stat().st_size // 2])
    assert_one_line_error(
        storybot(db, "ask", "what about the moon?"), "the database is damaged", "storybot check"
    )
    checked = storybot(db, "check")
    assert checked.exit_code == 1
    assert checked.stdout.startswith("SQLite")
    assert checked.stderr == f"{db}: damaged; 1 found by SQLite: restore a backup\n"
    batch = tmp_path / "questions.jsonl"
    batch.write_text(json.dumps({"id": 1, "question": "what about the moon?"}) + "\n")
    assert_one_line_error(storybot(db, "ask", "--batch", str(batch), "--json"), "the database is damaged")


def test_check_says_ok_then_finds_damage_that_reindex_repairs(tmp_path: Path) -> None:
    db = tmp_path / "storybot.db"
    assert_one_line_error(storybot(db, "check"), f"no database at {db}: nothing to check")
    assert not db.exists()
    assert storybot(db, "stats").exit_code == 0  # a new database, with the built-in story
    healthy = storybot(db, "check")
    assert healthy.exit_code == 0
    assert healthy.stdout == f"{db}: ok (SQLite's integrity check and storybot's invariants)\n"
    conn = sqlite3.connect(db)
    conn.execute("UPDATE postings SET tfs = substr(tfs, 2)")
    conn.commit()
    conn.close()
    broken = storybot(db, "check")
    assert broken.exit_code == 1
    assert broken.stdout.splitlines()[0].startswith("postings: postings row ")
    assert broken.stderr.strip().endswith("in postings or statistics: `storybot reindex` rebuilds them")
    assert_one_line_error(storybot(db, "ask", "why did Musk leave OpenAI?"), "the database is damaged")
    repaired = storybot(db, "reindex")
    assert repaired.exit_code == 0
    assert "rebuilt the postings and statistics from the paragraphs" in repaired.stderr
    assert storybot(db, "check").exit_code == 0
    assert "co-founded" in storybot(db, "ask", "Who co-founded OpenAI in 2015?").stdout


def test_a_held_lock_is_one_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    db = tmp_path / "storybot.db"
    assert storybot(db, "stats").exit_code == 0
    monkeypatch.setattr(database, "BUSY_TIMEOUT_MS", 50)
    holder = sqlite3.connect(db, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    try:
        assert_one_line_error(
            storybot(db, "remove", "musk-twitter-ai-gpus"), "another storybot is writing", "try again"
        )
    finally:
        holder.execute("ROLLBACK")
        holder.close()


def test_a_full_disk_is_one_line_and_changes_nothing(tmp_path: Path) -> None:
    big = tmp_path / "big.txt"
    big.write_text("Big\n\n" + "\n\n".join(f"paragraph {n} " + "word " * 150 for n in range(3000)))
    with small_disk(tmp_path / "disk", "2m") as disk:
        db = disk / "storybot.db"
        assert storybot(db, "stats").exit_code == 0
        assert_one_line_error(
            storybot(db, "add", str(big)), f"no space left on the disk holding {db}", "nothing was changed"
        )
        assert storybot(db, "sources").stdout.count("\n") == 1
        assert storybot(db, "check").exit_code == 0


def test_a_read_only_database_answers_lists_and_counts_but_refuses_writes(tmp_path: Path) -> None:
    with writable_folder(tmp_path / "ro") as folder:
        db = folder / "storybot.db"
        assert storybot(db, "stats").exit_code == 0
        with read_only(folder):
            asked = storybot(db, "ask", "Who co-founded OpenAI in 2015?")
            assert asked.exit_code == 0, asked.output
            assert "co-founded" in asked.stdout
            assert storybot(db, "sources").stdout.startswith("musk-twitter-ai-gpus\t")
            assert "sources: 1" in storybot(db, "stats").stdout
            assert storybot(db, "check").exit_code == 0
            assert_one_line_error(storybot(db, "remove", "musk-twitter-ai-gpus"), "read-only here")
            assert_one_line_error(storybot(db, "reindex"), "read-only here")
        assert storybot(db, "sources").stdout.startswith("musk-twitter-ai-gpus\t")


def test_a_read_only_database_without_the_story_says_it_is_missing(tmp_path: Path) -> None:
    with writable_folder(tmp_path / "ro") as folder:
        db = folder / "storybot.db"
        assert storybot(db, "stats").exit_code == 0
        assert storybot(db, "remove", "musk-twitter-ai-gpus").exit_code == 0
        conn = sqlite3.connect(db)
        conn.execute("DELETE FROM meta WHERE key = 'builtin_loaded'")
        conn.commit()
        conn.close()
        with read_only(folder):
            listed = storybot(db, "sources")
            assert listed.exit_code == 0
            assert "never given the built-in story" in listed.stderr
            assert listed.stdout == "no sources: `storybot add PATH` adds one\n"


def test_reindex_names_the_sources_it_kept_as_a_concurrent_change_left_them(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The race itself is made in tests/index/test_library_reindex_race.py; here, only what is printed.
    db = tmp_path / "storybot.db"
    moon = tmp_path / "moon.txt"
    moon.write_text("Moon base\n\nAstronauts opened a base on the moon.\n")
    assert storybot(db, "add", str(moon)).exit_code == 0
    real_reindex = StoryIndex.reindex

    def reindex_while_someone_removes(index: StoryIndex, **kwargs: Any) -> ReindexReport:
        def load(origin: str) -> list[Article]:
            articles = load_origin(origin)
            if origin == str(moon):
                with StoryIndex(db) as other:
                    other.remove("moon")
            return articles

        return real_reindex(index, progress=kwargs.get("progress"), load=load)

    monkeypatch.setattr(StoryIndex, "reindex", reindex_while_someone_removes)
    result = storybot(db, "reindex")
    assert result.exit_code == 0
    assert f"changed while reindexing; kept the newer: {moon} (shared)" in result.stderr.splitlines()
    monkeypatch.undo()
    assert "moon" not in storybot(db, "sources").stdout
