"""`add_paths` streams files and stages big adds: the same database as before, each path all or nothing,
other writers let in between its short transactions, and what a crashed add staged removed later."""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

import numpy as np
import pytest

import index.adding
from index import SHARED_SCOPE, StoryIndex
from index.engine import staging
from index.engine.postings import PostingList
from index.engine.store import IndexWriter
from index.engine.tokenizer import Tokenizer
from index.models import Article
from index.sources.cleaning import MAX_PARAGRAPH_CHARS
from index.sources.readers import read_path
from index.sources.streaming import jsonl_chunks
from tests.conftest import write_jsonl

QUESTIONS = ("why did the lab buy graphics cards?", "who reported the outage?", "moon base budget")
_WORDS = [
    "moon",
    "base",
    "budget",
    "lab",
    "graphics",
    "cards",
    "outage",
    "reported",
    "council",
    "river",
    "bridge",
    "vote",
    "storm",
    "harbour",
    "engineers",
    "union",
    "contract",
    "satellite",
    "launch",
    "orbit",
    "museum",
    "archive",
    "grant",
    "drought",
    "farmers",
    "prices",
]


def _articles(count: int, seed: int = 1) -> list[dict[str, str]]:
    """Seeded articles of 3 to 8 paragraphs of 8 to 30 words each, ids a0000, a0001, ..."""
    rng = np.random.default_rng(seed)
    articles = []
    for number in range(count):
        paragraphs = [
            " ".join(rng.choice(_WORDS, size=int(rng.integers(8, 31)))).capitalize() + "."
            for _ in range(int(rng.integers(3, 9)))
        ]
        title = " ".join(rng.choice(_WORDS, size=4)).title()
        articles.append({"id": f"a{number:04d}", "title": title, "text": "\n\n".join(paragraphs)})
    return articles


def _tables(db: Path) -> dict[str, object]:
    """Everything a search reads, independent of how paragraphs were grouped into segments."""
    conn = sqlite3.connect(db)
    try:
        postings: dict[str, list[tuple[int, int, int]]] = {}
        rows = conn.execute(
            "SELECT t.term, p.docs, p.tfs, p.lengths FROM postings p JOIN terms t ON t.id = p.term_id"
        )
        for term, docs, tfs, lengths in rows:
            part = PostingList.from_blobs(docs, tfs, lengths)
            postings.setdefault(term, []).extend(
                zip(part.docs.tolist(), part.tfs.tolist(), part.lengths.tolist(), strict=True)
            )
        return {
            "sources": conn.execute(
                "SELECT id, scope, title, url, outlet, author, published, origin, content_hash, paragraphs,"
                " status FROM sources ORDER BY id"
            ).fetchall(),
            "paragraphs": conn.execute(
                "SELECT id, source_id, position, text, length FROM paragraphs ORDER BY id"
            ).fetchall(),
            "term_stats": conn.execute(
                "SELECT s.scope, t.term, s.df FROM term_stats s JOIN terms t ON t.id = s.term_id"
                " ORDER BY s.scope, t.term"
            ).fetchall(),
            "df_histogram": conn.execute("SELECT * FROM df_histogram ORDER BY scope, df").fetchall(),
            "scope_stats": conn.execute("SELECT * FROM scope_stats ORDER BY scope").fetchall(),
            "tombstones": conn.execute("SELECT COUNT(*) FROM tombstones").fetchone(),
            "postings": {term: sorted(entries) for term, entries in postings.items()},
        }
    finally:
        conn.close()


def _staged_leftovers(db: Path) -> dict[str, int]:
    """Rows a staging left behind, by table (none once an add is over, published or not)."""
    conn = sqlite3.connect(db)
    try:
        counts = {
            table: conn.execute(
                f"SELECT COUNT(*) FROM {table} WHERE {column} LIKE 'staging%'"  # scope or heartbeat key
            ).fetchone()[0]
            for table, column in (
                ("sources", "scope"),
                ("segments", "scope"),
                ("term_stats", "scope"),
                ("scope_stats", "scope"),
                ("df_histogram", "scope"),
                ("meta", "key"),
            )
        }
        return {table: count for table, count in counts.items() if count}
    finally:
        conn.close()


@pytest.fixture
def small_turns(monkeypatch: pytest.MonkeyPatch) -> None:
    """Small chunks, workers from the first byte, a segment per 100 paragraphs (so segments are merged)
    and merges a few terms at a time: every path of a big add taken by a small file."""
    monkeypatch.setattr("index.sources.streaming.CHUNK_BYTES", 4096)
    monkeypatch.setattr(index.adding, "PARALLEL_BYTES", 0)
    monkeypatch.setattr(index.adding, "SEGMENT_PARAGRAPHS", 100)
    monkeypatch.setattr("index.engine.segments.TERMS_PER_MERGE_STEP", 5)


@pytest.mark.usefixtures("small_turns")
def test_streamed_add_in_workers_builds_the_database_the_batch_path_builds(tmp_path: Path) -> None:
    corpus = write_jsonl(tmp_path / "corpus.jsonl", _articles(400))
    assert len(list(jsonl_chunks(corpus))) > 10, "the file should stream in many chunks"
    streamed, batched = tmp_path / "streamed.db", tmp_path / "batched.db"
    with StoryIndex(streamed, workers=2) as index:
        report = index.add_paths([corpus])
        streamed_answers = [index.ask(question).to_json() for question in QUESTIONS]
    assert report.total("added").articles == 400 and not report.failed
    conn = sqlite3.connect(streamed)
    segments = conn.execute("SELECT paragraphs FROM segments ORDER BY id").fetchall()
    conn.close()
    assert max(segments)[0] >= 800, f"some segments should have been merged: {segments}"
    with StoryIndex(batched, workers=1) as index:
        index.add_articles(read_path(corpus))  # the path every add took before streaming
        batched_answers = [index.ask(question).to_json() for question in QUESTIONS]
    assert _tables(streamed) == _tables(batched)
    assert streamed_answers == batched_answers
    assert _staged_leftovers(streamed) == {}


@pytest.mark.usefixtures("small_turns")
def test_a_malformed_line_is_reported_by_number_and_its_path_leaves_nothing(tmp_path: Path) -> None:
    articles = _articles(300)
    good = write_jsonl(tmp_path / "good.jsonl", articles[:5])
    lines = [*articles[5:]]
    bad = write_jsonl(tmp_path / "bad.jsonl", lines)
    text = bad.read_text(encoding="utf-8").splitlines()
    text[249] = '{"id": "broken", "title": "cut off'
    bad.write_text("\n".join(text) + "\n", encoding="utf-8")
    db = tmp_path / "story.db"
    with StoryIndex(db, workers=2) as index:
        before = {record.id for record in index.sources()}
        report = index.add_paths([good, bad])
        after = {record.id for record in index.sources()}
    assert report.failed == (
        (str(bad), f"{bad}: line 250: malformed JSON (Unterminated string starting at at column 27)"),
    )
    assert after - before == {article["id"] for article in articles[:5]}
    assert _staged_leftovers(db) == {}


def test_another_writer_takes_turns_with_a_big_add(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(index.adding, "SEGMENT_PARAGRAPHS", 500)
    # Big enough for several turns of the real length (`staging.TURN_SECONDS`), which the writer waits out.
    corpus = write_jsonl(tmp_path / "big.jsonl", _articles(6000))
    db = tmp_path / "story.db"
    StoryIndex(db).close()
    first_write_done = threading.Event()
    outcomes: list[str] = []

    def write_while_adding() -> None:
        # The bot recording a question while the add runs, with a busy timeout of 2 s (the add's is 10 s).
        conn = sqlite3.connect(db, timeout=2, isolation_level=None)
        try:
            for _ in range(8):
                conn.execute("BEGIN IMMEDIATE")
                staged = conn.execute("SELECT COUNT(*) FROM meta WHERE key LIKE 'staging_heartbeat:%'")
                in_progress = staged.fetchone()[0] > 0
                conn.execute("INSERT INTO questions (answered, seconds, created_at) VALUES (1, 0.1, 'now')")
                conn.execute("COMMIT")
                outcomes.append("during the add" if in_progress else "after the add")
                first_write_done.set()
        except sqlite3.OperationalError as error:
            outcomes.append(f"failed: {error}")
            first_write_done.set()
        finally:
            conn.close()

    writer = threading.Thread(target=write_while_adding)
    original_commit = staging.Turns.commit

    def commit_then_let_the_writer_start(self: staging.Turns, *, rest: bool = True) -> None:
        original_commit(self, rest=rest)
        if not writer.is_alive() and not first_write_done.is_set():
            writer.start()
            assert first_write_done.wait(timeout=30)

    monkeypatch.setattr(staging.Turns, "commit", commit_then_let_the_writer_start)
    with StoryIndex(db, workers=1) as story:
        staged_before_publish = story.sources()
        report = story.add_paths([corpus])
    writer.join(timeout=60)
    assert report.total("added").articles == 6000
    assert not [outcome for outcome in outcomes if outcome.startswith("failed")], outcomes
    assert len(outcomes) == 8 and outcomes[0] == "during the add"
    assert len(staged_before_publish) == 1  # only the built-in story: the staged articles are not listed
    conn = sqlite3.connect(db)
    assert conn.execute("SELECT COUNT(*) FROM questions").fetchone()[0] == 8
    conn.close()


def test_what_is_staged_is_invisible_until_published_and_an_abandoned_staging_is_removed(
    tmp_path: Path,
) -> None:
    db = tmp_path / "story.db"
    with StoryIndex(db) as story:
        before_answer = story.ask("moon base budget").to_json()
        before_tables = _tables(db)
        conn = story._connection()
        scope = staging.staging_scope(SHARED_SCOPE)
        conn.execute("BEGIN IMMEDIATE")
        writer = IndexWriter(conn, Tokenizer())
        for article in _articles(20):
            writer.upsert(
                Article(article["id"], article["title"], tuple(article["text"].split("\n\n")), "x.jsonl"),
                scope,
            )
        writer.flush()
        staging.beat(conn, scope)
        conn.execute("COMMIT")
        # Staged, as by an add still running or killed: no listing or question sees it.
        assert _staged_leftovers(db)["sources"] == 20
        assert not {record.id for record in story.sources()} & {"a0000", "a0019"}
        assert story.ask("moon base budget").to_json() == before_answer
        assert staging.discard_abandoned(conn) == []  # its heartbeat is fresh: an add may still be running
        conn.execute("BEGIN IMMEDIATE")
        assert staging.discard_abandoned(conn, now=10**12) == [scope]
        conn.execute("COMMIT")
    assert _tables(db) == before_tables
    assert _staged_leftovers(db) == {}


def test_a_paragraph_over_the_cap_is_split_at_sentence_ends(tmp_path: Path) -> None:
    sentence = "The council voted on the bridge budget again today. "
    long_paragraph = (sentence * (2 * MAX_PARAGRAPH_CHARS // len(sentence) + 10)).strip()
    corpus = write_jsonl(
        tmp_path / "long.jsonl",
        [{"id": "long", "title": "Bridge", "text": "Short lead.\n\n" + long_paragraph}],
    )
    (article,) = read_path(corpus)
    assert article.paragraphs[0] == "Short lead."
    pieces = article.paragraphs[1:]
    assert len(pieces) == 3
    assert all(len(piece) <= MAX_PARAGRAPH_CHARS for piece in pieces)
    assert all(piece.endswith("today.") for piece in pieces)
    assert " ".join(pieces) == long_paragraph


@pytest.mark.usefixtures("small_turns")
def test_check_passes_and_stats_leave_out_what_a_running_add_and_its_merges_have_staged(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(staging, "TURN_SECONDS", 0)  # a commit after every article: every staged state seen
    monkeypatch.setattr(staging, "GAP_SECONDS", 0)
    corpus = write_jsonl(tmp_path / "corpus.jsonl", _articles(300))
    db = tmp_path / "story.db"
    seen: list[tuple[bool, int, int, int]] = []
    with StoryIndex(db, workers=1) as other:
        before = other.stats()
        original_commit = staging.Turns.commit

        def commit_then_look(self: staging.Turns, *, rest: bool = True) -> None:
            original_commit(self, rest=rest)
            stats = other.stats()
            seen.append((other.check().ok, stats.sources, stats.paragraphs, len(_staged_leftovers(db))))

        monkeypatch.setattr(staging.Turns, "commit", commit_then_look)
        with StoryIndex(db, workers=1) as story:
            story.add_paths([corpus])
        after = other.stats()
    assert len(seen) > 300
    assert all(ok for ok, _, _, _ in seen)
    staged = [(sources, paragraphs) for _, sources, paragraphs, leftovers in seen if leftovers]
    assert staged and set(staged) <= {(before.sources, before.paragraphs), (after.sources, after.paragraphs)}
    assert (before.sources, before.paragraphs) in staged  # while the add was staging
    assert after.sources == before.sources + 300


def test_re_adding_a_stored_file_lets_other_writers_in_and_rewrites_none_of_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    corpus = write_jsonl(tmp_path / "corpus.jsonl", _articles(60))
    db = tmp_path / "story.db"
    with StoryIndex(db, workers=1) as story:
        story.add_paths([corpus])
        conn = story._connection()
        conn.execute(
            "UPDATE sources SET status = 'stale', error = 'gone', fetched_at = '2000' WHERE id = 'a0001'"
        )
        before = _tables(db)
        monkeypatch.setattr(staging, "TURN_SECONDS", 0)
        monkeypatch.setattr(staging, "GAP_SECONDS", 0)
        commits = 0
        original_commit = staging.Turns.commit

        def count_commits(self: staging.Turns, *, rest: bool = True) -> None:
            nonlocal commits
            commits += 1
            original_commit(self, rest=rest)

        monkeypatch.setattr(staging.Turns, "commit", count_commits)
        report = story.add_paths([corpus])
        record = story.source("a0001")
    assert report.total("unchanged").articles == 60 and not report.total("updated").articles
    assert commits >= 60  # a turn per article read: the lock is let go all through the file
    after = _tables(db)
    assert after["sources"] != before["sources"]  # a0001 read again: no longer stale
    assert {key: value for key, value in after.items() if key != "sources"} == {
        key: value for key, value in before.items() if key != "sources"
    }
    assert (
        record is not None and (record.status, record.error) == ("ok", None) and record.fetched_at != "2000"
    )
    assert _staged_leftovers(db) == {}
