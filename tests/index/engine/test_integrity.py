"""`check` finds what SQLite's integrity check cannot see (posting lists cut short, ids out of range,
statistics that drifted), `ask` on such damage says the database is damaged, and `reindex` rebuilds it."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from index import DamagedDatabase, StoryIndex
from index.engine.integrity import invariant_problems
from index.engine.postings import DOC_DTYPE
from index.models import Article

QUESTION = "why did Musk leave OpenAI?"


@pytest.fixture
def built(tmp_path: Path) -> Path:
    """A database with the built-in story, an added and a removed article (tombstones), closed."""
    path = tmp_path / "storybot.db"
    with StoryIndex(path) as index:
        index.add_articles(
            [
                Article(
                    "moon", "Moon base", ("Astronauts opened a base on the moon.", "It has a garden."), "m"
                ),
                Article("mars", "Mars rover", ("A rover found ice on Mars.",), "r"),
            ]
        )
        index.remove("mars")
    return path


def _damage(path: Path, statement: str) -> None:
    conn = sqlite3.connect(path)
    conn.execute(statement)
    conn.commit()
    conn.close()


def test_a_sound_database_checks_ok(built: Path) -> None:
    with StoryIndex(built) as index:
        report = index.check()
    assert report.ok
    assert report.sqlite_problems == ()
    assert report.invariant_problems == ()


def test_a_posting_list_cut_short_is_found_and_ask_says_damaged(built: Path) -> None:
    with StoryIndex(built) as index:
        before = index.ask(QUESTION).to_json()
    _damage(built, f"UPDATE postings SET docs = substr(docs, 1, length(docs) - {DOC_DTYPE.itemsize})")
    with StoryIndex(built) as index:
        report = index.check()
        assert report.sqlite_problems == ()  # what SQLite cannot see
        assert report.invariant_problems
        assert all("does not decode" in problem for problem in report.invariant_problems[:20])
        with pytest.raises(
            DamagedDatabase, match=r"the database is damaged \(.*storybot\.db\): a posting list"
        ):
            index.ask(QUESTION)
        rebuilt = index.reindex()
        assert rebuilt.rebuilt
        assert index.check().ok
        assert index.ask(QUESTION).to_json() == before


def test_a_drifted_document_frequency_is_found_and_rebuilt(built: Path) -> None:
    _damage(built, "UPDATE term_stats SET df = df + 1 WHERE term_id = (SELECT MIN(term_id) FROM term_stats)")
    with StoryIndex(built) as index:
        problems = index.check().invariant_problems
        assert any(
            problem.startswith("statistics: term ") and "a recount finds" in problem for problem in problems
        )
        assert any("df histogram" in problem for problem in problems)
        index.reindex()
        assert index.check().ok


def test_scope_totals_that_drifted_are_found(built: Path) -> None:
    _damage(built, "UPDATE scope_stats SET tokens = tokens + 7")
    with StoryIndex(built) as index:
        assert [problem for problem in index.check().invariant_problems if "scope 'shared'" in problem]


def test_a_paragraph_id_out_of_range_is_found(built: Path) -> None:
    conn = sqlite3.connect(built)
    rowid, docs = conn.execute("SELECT rowid, docs FROM postings LIMIT 1").fetchone()
    huge = (2**31).to_bytes(DOC_DTYPE.itemsize, "little")
    conn.execute("UPDATE postings SET docs = ? WHERE rowid = ?", (docs[: -len(huge)] + huge, rowid))
    conn.commit()
    conn.close()
    with StoryIndex(built) as index:
        problems = index.check().invariant_problems
        assert [problem for problem in problems if "paragraph ids outside" in problem]
        index.reindex()
        assert index.check().ok


def test_a_posting_of_a_paragraph_in_another_segment_is_found(built: Path) -> None:
    _damage(built, "UPDATE paragraphs SET length = length + 1 WHERE id = (SELECT MIN(id) FROM paragraphs)")
    conn = sqlite3.connect(built)
    try:
        problems = invariant_problems(conn)
    finally:
        conn.close()
    assert any("lengths differ" in problem for problem in problems)
    assert any("scope 'shared'" in problem for problem in problems)


def test_sqlite_damage_is_reported_by_check(tmp_path: Path) -> None:
    path = tmp_path / "storybot.db"
    with StoryIndex(path) as index:
        index.add_articles(
            [Article("moon", "Moon", tuple(f"Paragraph {n} on the moon." for n in range(400)), "m")]
        )
    conn = sqlite3.connect(path)
    page_size = conn.execute("PRAGMA page_size").fetchone()[0]
    # A page of the paragraphs index rewritten with noise: a damage SQLite's integrity check sees.
    root = conn.execute("SELECT rootpage FROM sqlite_master WHERE name = 'paragraphs_segment'").fetchone()[0]
    conn.close()
    with path.open("r+b") as file:
        file.seek((root - 1) * page_size + 8)
        file.write(b"\xff" * 64)
    with StoryIndex(path) as index:
        report = index.check()
    assert not report.ok
    assert report.sqlite_problems
