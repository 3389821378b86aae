"""Big batches tokenized by worker processes index exactly what the writer alone would."""

from __future__ import annotations

import os
import random
import sqlite3
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path

import pytest

from index import StoryIndex
from index.engine.parallel import _WorkerTables, _WorkerTerms
from index.engine.terms import paragraph_terms
from index.engine.tokenizer import Tokenizer
from index.models import Article, content_hash

# Words that exercise the tokenizer's rules: possessives, compounds, glued words, accents, numbers, quotes.
WORDS = [
    *("GPU", "GPUs", "Musk's", "OpenAI", "co-founded", "InsiderElon", "café", "naïve", "10,000", "3.5"),
    *("“quoted”", "don't", "founders'", "cells", "patients", "protein", "increase", "reduced", "risk"),
    *("therapy", "tumour", "gene", "expression", "mice", "human"),
]


def corpus(articles: int, seed: int) -> list[Article]:
    rng = random.Random(seed)
    made = []
    for number in range(articles):
        paragraphs = tuple(
            " ".join(rng.choice(WORDS) for _ in range(rng.randint(1, 40))) + "."
            for _ in range(rng.randint(1, 12))
        )
        title = " ".join(rng.choice(WORDS) for _ in range(rng.randint(1, 6)))
        made.append(Article(f"a{number}", title, paragraphs, origin="/corpus.jsonl"))
    return made


def contents(path: Path) -> dict[str, list[tuple[object, ...]]]:
    """Everything the index holds, with term ids replaced by the terms (their numbering may differ)."""
    conn = sqlite3.connect(path)
    terms = dict(conn.execute("SELECT id, term FROM terms"))
    tables = {
        "postings": sorted(
            (terms[term_id], segment, docs, tfs, lengths)
            for term_id, segment, docs, tfs, lengths in conn.execute(
                "SELECT term_id, segment_id, docs, tfs, lengths FROM postings"
            )
        ),
        "paragraphs": conn.execute(
            "SELECT id, source_id, position, text, length, segment_id FROM paragraphs ORDER BY id"
        ).fetchall(),
        "term_stats": sorted(
            (scope, terms[term_id], df) for scope, term_id, df in conn.execute("SELECT * FROM term_stats")
        ),
        "df_histogram": conn.execute("SELECT * FROM df_histogram ORDER BY scope, df").fetchall(),
        "scope_stats": conn.execute("SELECT * FROM scope_stats").fetchall(),
        "sources": conn.execute("SELECT id, content_hash, paragraphs FROM sources ORDER BY id").fetchall(),
    }
    conn.close()
    return tables


def build(path: Path, workers: int, batches: list[list[Article]]) -> None:
    with StoryIndex(path, with_builtin_story=False, workers=workers) as index:
        for batch in batches:
            index.add_articles(batch)


@pytest.fixture
def small_batches_in_workers(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("index.engine.parallel.MIN_PARAGRAPHS", 50)
    monkeypatch.setattr("index.engine.parallel.CHUNK_PARAGRAPHS", 200)


@pytest.mark.usefixtures("small_batches_in_workers")
def test_workers_index_exactly_what_the_writer_alone_does(tmp_path: Path) -> None:
    articles = corpus(400, seed=3)
    batches = [articles[:150], articles[150:160], articles[160:]]  # the middle one is too small for workers
    build(tmp_path / "alone.db", 1, batches)
    build(tmp_path / "workers.db", 2, batches)
    assert contents(tmp_path / "workers.db") == contents(tmp_path / "alone.db")


@pytest.mark.usefixtures("small_batches_in_workers")
def test_a_dead_worker_costs_only_time(tmp_path: Path) -> None:
    articles = corpus(300, seed=5)
    build(tmp_path / "alone.db", 1, [articles[:100], articles[100:200], articles[200:]])
    with StoryIndex(tmp_path / "workers.db", with_builtin_story=False, workers=2) as index:
        index.add_articles(articles[:100])
        pool = index._terms_pool
        assert pool._executor is not None
        death = pool._executor.submit(os._exit, 1)  # one worker dies: the pool is broken
        # Wait until the pool knows: else the other worker may finish the next batch before it notices,
        # and the batch after that is the one that meets the broken pool.
        with pytest.raises(BrokenProcessPool):
            death.result(timeout=60)
        index.add_articles(articles[100:200])  # the writer tokenizes what the workers could not
        index.add_articles(articles[200:])  # and the next batch starts new workers
        assert pool._executor is not None
    assert contents(tmp_path / "workers.db") == contents(tmp_path / "alone.db")


def test_small_batches_stay_in_process(tmp_path: Path) -> None:
    with StoryIndex(tmp_path / "small.db", with_builtin_story=False, workers=2) as index:
        index.add_articles(corpus(20, seed=1))
        assert index._terms_pool._executor is None


def test_pieces_expand_to_the_writers_terms_across_a_fresh_start_of_the_piece_table(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # In one process: what a worker sends, as the writer reads it back, equals `paragraph_terms`.
    monkeypatch.setattr("index.engine.parallel._PIECE_LIMIT", 30)  # forces the worker to number pieces afresh
    worker, tables, tokenizer = _WorkerTerms(), _WorkerTables(), Tokenizer()
    articles = corpus(60, seed=9)
    restarts = 0
    for start in range(0, len(articles), 7):
        chunk = worker.chunk(articles[start : start + 7])
        restarts += chunk.first_piece == 0
        tables.learn(chunk)
        for article, terms in zip(articles[start : start + 7], tables.articles(chunk), strict=True):
            expected = paragraph_terms(tokenizer, article.title, article.paragraphs)
            got = [terms.vocabulary[number] for number in terms.tokens.tolist()]
            assert got == [term for paragraph in expected for term in paragraph]
            assert terms.lengths.tolist() == [len(paragraph) for paragraph in expected]
            assert terms.content_hash == content_hash(article)
    assert restarts > 1
