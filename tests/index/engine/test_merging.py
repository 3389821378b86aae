"""Merges take turns with other writers: built staged in short transactions, swapped in by one short one.

Readers see the old segments or the merged one, never both or neither; a removal that lands while the merge
is built stays removed; a merge killed at any commit leaves an index `check` passes, which the next merge
cleans up.
"""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from index import SHARED_SCOPE, StoryIndex
from index.engine import merging, staging
from index.engine.database import backup_to, connect
from index.engine.store import IndexWriter
from index.engine.tokenizer import Tokenizer
from index.models import Article
from tests.conftest import ROOT
from tests.index.test_streamed_add import _articles

QUESTIONS = ("moon base budget", "who reported the outage?", "harbour storm engineers")
SEGMENTS = 8
PER_SEGMENT = 20
"""Articles per segment: some 110 paragraphs, so the eight segments make one full tier."""


@pytest.fixture
def db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Eight segments of seeded articles (a full tier), and turns that end at every step of a merge."""
    monkeypatch.setattr(staging, "TURN_SECONDS", 0)
    monkeypatch.setattr(staging, "GAP_SECONDS", 0)
    monkeypatch.setattr("index.engine.segments.TERMS_PER_MERGE_STEP", 5)
    path = tmp_path / "story.db"
    conn = connect(path)
    conn.execute("BEGIN IMMEDIATE")
    writer = IndexWriter(conn, Tokenizer())
    for number, article in enumerate(_articles(SEGMENTS * PER_SEGMENT)):
        paragraphs = tuple(article["text"].split("\n\n"))
        writer.upsert(Article(article["id"], article["title"], paragraphs, "seeded.jsonl"), SHARED_SCOPE)
        if number % PER_SEGMENT == PER_SEGMENT - 1:
            writer.flush()  # one segment per flush
    conn.execute("COMMIT")
    conn.close()
    return path


def _segments(db: Path) -> list[tuple[int, str]]:
    conn = sqlite3.connect(db)
    try:
        return conn.execute("SELECT id, scope FROM segments ORDER BY id").fetchall()
    finally:
        conn.close()


def _answers(story: StoryIndex) -> str:
    return json.dumps([story.ask(question, top=5).to_json() for question in QUESTIONS])


def _figures(story: StoryIndex) -> tuple[int, int]:
    stats = story.stats()
    return stats.sources, stats.paragraphs


def _merge(db: Path) -> int:
    """Merge the shared scope's segments as an add's merges do (the writer's own tier policy)."""
    conn = connect(db)
    try:
        writer = IndexWriter(conn, Tokenizer())
        return merging.merge_in_turns(conn, SHARED_SCOPE, lambda taken: writer.next_tier(SHARED_SCOPE, taken))
    finally:
        conn.close()


def _between_turns(monkeypatch: pytest.MonkeyPatch, hook: Callable[[staging.Turns], None]) -> None:
    """Run `hook` after each commit of a merge's turns, while it leaves the lock free."""
    commit = staging.Turns.commit

    def commit_then_hook(self: staging.Turns, *, rest: bool = True) -> None:
        commit(self, rest=rest)
        hook(self)

    monkeypatch.setattr(staging.Turns, "commit", commit_then_hook)


def test_other_writers_write_and_readers_see_the_same_index_while_a_merge_is_built(
    db: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    writes: list[str] = []
    with StoryIndex(db, with_builtin_story=False) as other:
        before, figures = _answers(other), _figures(other)
        seen: list[tuple[str, tuple[int, int], bool]] = []

        def write_and_read(turns: staging.Turns) -> None:
            # The bot recording a question, with a busy timeout far below the merge's length.
            conn = sqlite3.connect(db, timeout=0.2, isolation_level=None)
            try:
                conn.execute("BEGIN IMMEDIATE")
                conn.execute("INSERT INTO questions (answered, seconds, created_at) VALUES (1, 0.1, 'now')")
                conn.execute("COMMIT")
                writes.append("building" if turns.staging else "clearing")
            finally:
                conn.close()
            seen.append((_answers(other), _figures(other), other.check().ok))

        _between_turns(monkeypatch, write_and_read)
        assert _merge(db) == 1
        after = _answers(other)
        assert other.check().ok
    assert writes.count("building") >= 3 and "clearing" in writes, writes
    assert {answers for answers, _, _ in seen} == {before}
    assert {figures_seen for _, figures_seen, _ in seen} == {figures}
    assert all(ok for _, _, ok in seen)
    assert after == before
    ((_, scope),) = _segments(db)  # one segment, nothing staged or retired left
    assert scope == SHARED_SCOPE


def test_a_removal_that_lands_while_a_merge_is_built_stays_removed(
    db: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    gone = "a0005"
    # The same removal with no merge running: what the merged index must answer.
    reference = tmp_path / "reference.db"
    with StoryIndex(db, with_builtin_story=False) as story:
        backup_to(story._connection(), reference)
    with StoryIndex(reference, with_builtin_story=False) as story:
        story.remove(gone)
        expected = _answers(story)
        expected_figures = _figures(story)
    commits = 0
    with StoryIndex(db, with_builtin_story=False) as other:

        def remove_midway(turns: staging.Turns) -> None:
            nonlocal commits
            commits += 1
            if commits == 3:  # some terms' merged postings written, most not yet
                other.remove(gone)

        _between_turns(monkeypatch, remove_midway)
        assert _merge(db) == 1
        assert other.source(gone) is None
        assert _answers(other) == expected
        assert _figures(other) == expected_figures
        assert other.check().ok
        hits = [
            hit.passage.source_id for question in QUESTIONS for hit in other.first_stage(question, top=200)
        ]
        assert gone not in hits and hits
    assert commits > 3


@pytest.mark.parametrize("phase", ["building", "clearing"])
def test_a_merge_killed_midway_leaves_a_valid_index_that_the_next_merge_cleans(
    db: Path, monkeypatch: pytest.MonkeyPatch, phase: str
) -> None:
    with StoryIndex(db, with_builtin_story=False) as story:
        before, figures, segments = _answers(story), _figures(story), story.stats().segments
    killed = subprocess.run(
        [sys.executable, "-m", "tests.index.engine.crashing_merge", str(db), phase],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert killed.returncode == -9, killed.stderr
    hidden = [scope for _, scope in _segments(db) if scope != SHARED_SCOPE]
    assert hidden and all(
        scope.startswith("staging:" if phase == "building" else "retired:") for scope in hidden
    )
    with StoryIndex(db, with_builtin_story=False) as story:
        assert story.check().ok
        assert _answers(story) == before
        assert _figures(story) == figures
        assert story.stats().segments == (segments if phase == "building" else 1)
    # The dead merge's heartbeat is as old as an abandoned one's: the next merge removes what it staged.
    monkeypatch.setattr(staging, "ABANDONED_SECONDS", -1)
    assert _merge(db) == (1 if phase == "building" else 0)
    assert [scope for _, scope in _segments(db)] == [SHARED_SCOPE]
    with StoryIndex(db, with_builtin_story=False) as story:
        assert story.check().ok
        assert _answers(story) == before
    conn = sqlite3.connect(db)
    assert conn.execute("SELECT COUNT(*) FROM meta WHERE key LIKE 'staging%'").fetchone()[0] == 0
    conn.close()
