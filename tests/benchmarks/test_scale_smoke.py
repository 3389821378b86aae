"""The scale benchmark in miniature: its generator, its same-answers check and its change probes.

The figures belong to `benchmarks/scale.py`; here only what must hold at any size is asserted: the corpus is
seeded and exact, storybot's top ten equal rank-bm25's on the same tokens (ties aside), and an article added
or removed by one connection is seen by the next question of another.
The material is a slice of SciFact kept in fixtures/scifact (see its README), not the full set beside the
repository that the benchmark reads.
"""

from __future__ import annotations

import random
import sqlite3
from collections.abc import Iterator
from contextlib import closing
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from benchmarks.scaling.corpus import (
    MAX_PARAGRAPHS,
    MIN_PARAGRAPHS,
    article_sizes,
    generate_articles,
    load_abstracts,
    load_questions,
    read_articles,
    write_articles,
)
from benchmarks.scaling.peers import ReferenceIndex, fts5_match, ranking_mismatch
from benchmarks.scaling.storybot import MARKER_QUESTION, Observer, cli_ingest, hits, marked
from index import StoryIndex
from index.models import Article

PARAGRAPHS = 2_000
QUESTIONS = 20
SEED = 7
SCIFACT = Path(__file__).parent / "fixtures" / "scifact"
ABSTRACTS = SCIFACT / "corpus.jsonl"
CLAIMS = SCIFACT / "queries-train.jsonl"


@pytest.fixture(scope="module")
def articles() -> list[Article]:
    return list(generate_articles(load_abstracts(ABSTRACTS), PARAGRAPHS, SEED))


@pytest.fixture(scope="module")
def questions() -> list[str]:
    return load_questions(QUESTIONS, SEED, CLAIMS)


@pytest.fixture
def built(tmp_path: Path, articles: list[Article]) -> Iterator[tuple[Path, StoryIndex]]:
    """A database holding the small corpus, written through add_articles in two batches."""
    db = tmp_path / "scale.db"
    with StoryIndex(db, with_builtin_story=False) as index:
        index.add_articles(articles[: len(articles) // 2])
        index.add_articles(articles[len(articles) // 2 :])
        yield db, index


def test_generator_is_seeded_and_exact(articles: list[Article], tmp_path: Path) -> None:
    again = list(generate_articles(load_abstracts(ABSTRACTS), PARAGRAPHS, SEED))
    other = list(generate_articles(load_abstracts(ABSTRACTS), PARAGRAPHS, SEED + 1))
    assert again == articles
    assert other != articles
    assert sum(len(article.paragraphs) for article in articles) == PARAGRAPHS
    assert all(MIN_PARAGRAPHS <= len(article.paragraphs) <= MAX_PARAGRAPHS for article in articles)
    assert len({article.source_id for article in articles}) == len(articles)
    assert all(paragraph.strip() for article in articles for paragraph in article.paragraphs)
    path = tmp_path / "corpus.jsonl"
    assert write_articles(path, articles) == len(articles)
    assert list(read_articles(path)) == articles


@pytest.mark.parametrize("total", [0, 5, 20, 21, 24, 25, 26, 999, 10_007])
def test_article_sizes_sum_exactly(total: int) -> None:
    sizes = list(article_sizes(total, random.Random(total)))
    assert sum(sizes) == total
    assert all(MIN_PARAGRAPHS <= size <= MAX_PARAGRAPHS for size in sizes)


def test_questions_are_seeded_claims() -> None:
    assert load_questions(QUESTIONS, SEED, CLAIMS) == load_questions(QUESTIONS, SEED, CLAIMS)
    assert len(set(load_questions(QUESTIONS, SEED, CLAIMS))) == QUESTIONS


def test_storybot_ranking_equals_rank_bm25(
    built: tuple[Path, StoryIndex], articles: list[Article], questions: list[str]
) -> None:
    _, index = built
    reference = ReferenceIndex(articles, index.params)
    answered = 0
    for question in questions:
        found = hits(index, question)
        answered += bool(found)
        assert reference.mismatch(found, question) is None, question
    assert answered >= QUESTIONS // 2  # the check means something only if questions find paragraphs


def test_ranking_mismatch_allows_ties_at_the_cut_only() -> None:
    scores = np.array([5.0, 4.0, 3.0, 3.0, 0.0, 1.0])
    assert ranking_mismatch([(0, 5.0), (1, 4.0), (2, 3.0)], scores, k=3) is None
    assert ranking_mismatch([(0, 5.0), (1, 4.0), (3, 3.0)], scores, k=3) is None  # the other tied paragraph
    assert ranking_mismatch([(0, 5.0), (2, 3.0), (3, 3.0)], scores, k=3) is not None  # 1 is above the cut
    assert ranking_mismatch([(0, 5.0), (1, 4.1), (2, 3.0)], scores, k=3) is not None  # a wrong score
    assert ranking_mismatch([(1, 4.0), (0, 5.0), (2, 3.0)], scores, k=3) is not None  # not descending
    assert ranking_mismatch([(0, 5.0), (1, 4.0), (2, 3.0), (3, 3.0), (5, 1.0)], scores, k=10) is None
    assert ranking_mismatch([(0, 5.0)], scores, k=3) is not None  # too few


def test_changes_are_seen_by_another_connection_and_process(
    built: tuple[Path, StoryIndex], articles: list[Article], questions: list[str]
) -> None:
    db, writer = built
    added = marked(replace(articles[0], source_id="extra-probe"))
    with StoryIndex(db, with_builtin_story=False) as reader:
        observer = Observer(db)
        try:
            assert hits(reader, MARKER_QUESTION) == []
            writer.add_articles([added])
            assert hits(reader, MARKER_QUESTION)[0][0] == "extra-probe"
            assert observer.sources(MARKER_QUESTION)[:1] == ["extra-probe"]
            victim = hits(writer, questions[0])[0][0]
            assert victim in observer.sources(questions[0])
            writer.remove(victim)
            assert victim not in [source for source, _, _ in hits(reader, questions[0])]
            assert victim not in observer.sources(questions[0])
        finally:
            observer.close()


def test_fts5_queries_never_break_on_user_text() -> None:
    with closing(sqlite3.connect(":memory:")) as conn:  # closed: Python 3.13 warns of one left open
        conn.execute("CREATE VIRTUAL TABLE p USING fts5(text, tokenize='porter unicode61')")
        conn.execute("INSERT INTO p (text) VALUES ('Cats running NEAR dogs; AND or NOT')")
        for question in [
            '"AND" OR NOT*',
            "what's -? (the) cat^2 NEAR/3 dog",
            "café: ü-boats",
            "?",
            "the a of",
        ]:
            match = fts5_match(question)
            if match:
                conn.execute("SELECT rowid FROM p WHERE p MATCH ? ORDER BY bm25(p)", (match,)).fetchall()
    assert fts5_match("?") is None
    assert fts5_match("Why do cats run?") == '"cats" OR "run"'


def test_the_cli_ingest_phase_stores_every_paragraph_of_the_corpus_as_it_is(
    articles: list[Article], tmp_path: Path
) -> None:
    corpus = tmp_path / "corpus.jsonl"
    write_articles(corpus, articles)
    figures = cli_ingest(corpus, tmp_path / "cli.db")
    assert figures["paragraphs"] == PARAGRAPHS
    conn = sqlite3.connect(tmp_path / "cli.db")
    try:
        stored = conn.execute(
            "SELECT text FROM paragraphs WHERE source_id LIKE 'scale-%' ORDER BY id"
        ).fetchall()
    finally:
        conn.close()
    assert [text for (text,) in stored] == [text for article in articles for text in article.paragraphs]
    assert figures["stored_paragraphs"] == PARAGRAPHS + 15  # and the built-in story's
