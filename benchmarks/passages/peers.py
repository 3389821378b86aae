"""The peers on the same paragraphs and questions: rank-bm25, bm25s and SQLite FTS5, in this process."""

from __future__ import annotations

import contextlib
import re
import sqlite3
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import cast

import bm25s
import numpy as np
import numpy.typing as npt
import Stemmer
from rank_bm25 import BM25Okapi

from benchmarks.passages.data import TOP, QaSet, Run, paragraphs


@dataclass(frozen=True)
class Texts:
    """Texts with their bm25s tokens (English stopwords, Snowball stemmer), tokenized once for every peer."""

    texts: list[str]
    tokens: list[list[str]]

    @classmethod
    def of(cls, texts: list[str]) -> Texts:
        """Tokenize the texts as bm25s does."""
        stemmer = Stemmer.Stemmer("english")
        tokens = bm25s.tokenize(texts, stopwords="en", stemmer=stemmer, return_ids=False, show_progress=False)
        return cls(texts, cast(list[list[str]], tokens))

    def take(self, indices: Sequence[int]) -> Texts:
        """These texts only, in this order."""
        return Texts([self.texts[i] for i in indices], [self.tokens[i] for i in indices])


Engine = Callable[[Texts, Texts], list[list[int]]]
"""Paragraphs and questions in, each question's best paragraph numbers (up to TOP) out, best first."""


def rank_bm25_top(corpus: Texts, questions: Texts) -> list[list[int]]:
    """rank-bm25's BM25Okapi with its defaults, on token lists; ties go to the lower paragraph number."""
    model = BM25Okapi(corpus.tokens)
    return [_best(np.asarray(model.get_scores(tokens), dtype=np.float64)) for tokens in questions.tokens]


def _best(scores: npt.NDArray[np.float64]) -> list[int]:
    return [int(i) for i in np.argsort(-scores, kind="stable")[:TOP]]


def bm25s_top(corpus: Texts, questions: Texts) -> list[list[int]]:
    """bm25s with its defaults (method "lucene"); it refuses a k above the corpus size."""
    if not questions.tokens:
        return []
    model = bm25s.BM25()
    model.index(corpus.tokens, show_progress=False)
    found = model.retrieve(questions.tokens, k=min(TOP, len(corpus.tokens)), show_progress=False)
    return [[int(i) for i in row] for row in found.documents]


def fts5_query(question: str) -> str:
    """The question as an FTS5 query: an OR of its quoted words (raw text can be an FTS5 syntax error)."""
    words = re.findall(r"\w+", question.lower())
    return " OR ".join('"' + word.replace('"', '""') + '"' for word in words)


def fts5_top(corpus: Texts, questions: Texts) -> list[list[int]]:
    """SQLite FTS5 (porter unicode61) in memory, ranked by bm25() and then by paragraph number."""
    with contextlib.closing(sqlite3.connect(":memory:")) as conn:
        conn.execute("CREATE VIRTUAL TABLE t USING fts5(text, tokenize='porter unicode61')")
        conn.executemany("INSERT INTO t (rowid, text) VALUES (?, ?)", enumerate(corpus.texts, start=1))
        search = "SELECT rowid - 1 FROM t WHERE t MATCH ? ORDER BY bm25(t), rowid LIMIT ?"
        return [
            [row[0] for row in conn.execute(search, (query, TOP))] if (query := fts5_query(text)) else []
            for text in questions.texts
        ]


ENGINES: dict[str, Engine] = {"rank-bm25": rank_bm25_top, "bm25s": bm25s_top, "FTS5": fts5_top}


@dataclass(frozen=True)
class PeerInput:
    """Every paragraph (with its article id and number) and every question, tokenized once for all peers."""

    keys: list[tuple[str, int]]
    corpus: Texts
    questions: Texts
    qa: QaSet

    @classmethod
    def of(cls, qa: QaSet) -> PeerInput:
        """Split and tokenize the set."""
        keys = [(a["id"], i) for a in qa.articles for i in range(len(paragraphs(a)))]
        corpus = Texts.of([p for a in qa.articles for p in paragraphs(a)])
        return cls(keys, corpus, Texts.of([q["question"] for q in qa.questions]), qa)


def peer_runs(engine: Engine, given: PeerInput) -> dict[str, Run]:
    """The engine's global and within runs, in score.py's shape; a peer answers every question."""
    ids = [q["id"] for q in given.qa.questions]
    runs: dict[str, Run] = {"global": {}, "within": {}}
    _add_run(runs["global"], engine(given.corpus, given.questions), given.keys, ids)
    for article in given.qa.articles:
        rows = [i for i, key in enumerate(given.keys) if key[0] == article["id"]]
        asked = [i for i, q in enumerate(given.qa.questions) if q["article"] == article["id"]]
        found = engine(given.corpus.take(rows), given.questions.take(asked))
        _add_run(runs["within"], found, [given.keys[i] for i in rows], [ids[i] for i in asked])
    return runs


def _add_run(run: Run, found: list[list[int]], keys: Sequence[tuple[str, int]], ids: Sequence[str]) -> None:
    for question_id, numbers in zip(ids, found, strict=True):
        run[question_id] = (True, [keys[i] for i in numbers])
