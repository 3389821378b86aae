"""The read side of the index: from a question's terms to ranked paragraphs, in one SQLite snapshot.

A question reads only what it needs: the statistics of its view (the shared sources plus a server's own),
the df of its terms, and their posting lists. Everything is read inside one read transaction, so a writer
committing meanwhile is seen wholly or not at all.
"""

from __future__ import annotations

import math
import sqlite3
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np
import numpy.typing as npt

from index.models import SHARED_SCOPE
from index.postings import PostingList
from index.ranking import (
    BM25Parameters,
    CorpusStats,
    QueryTerm,
    average_idf_from_histogram,
    rank,
    term_idf,
)
from index.tokenizer import Tokenizer


@dataclass(frozen=True)
class StoredPassage:
    """A paragraph as stored, with what a citation needs."""

    paragraph_id: int
    text: str
    position: int
    source_id: str
    title: str
    url: str | None
    outlet: str | None
    published: str | None
    paragraphs: int


@dataclass(frozen=True)
class Hit:
    """One ranked paragraph: its BM25 score and the share of the question's informative weight it holds."""

    passage: StoredPassage
    score: float
    coverage: float


@dataclass(frozen=True)
class SearchResult:
    """The ranked paragraphs for a question, with what the answer composer needs to judge them."""

    terms: tuple[str, ...]
    term_weights: dict[str, float]
    known_terms: frozenset[str]
    hits: tuple[Hit, ...]
    matched: int
    paragraphs: int
    """How many paragraphs the view holds (0: nothing indexed there)."""
    unknown_names: tuple[str, ...] = ()
    """Names the question mentions that no paragraph of the view holds ("France")."""


ViewCacheEntry = tuple[tuple[int, int], CorpusStats, npt.NDArray[np.int64]]
"""A view's (version, statistics, removed paragraph ids), as `Searcher` caches them."""


class Searcher:
    """Ranks paragraphs for questions; one per thread, since it holds a SQLite connection."""

    def __init__(
        self,
        conn: sqlite3.Connection,
        tokenizer: Tokenizer,
        params: BM25Parameters,
        cache: dict[tuple[str, ...], ViewCacheEntry] | None = None,
    ) -> None:
        self._conn = conn
        self._tokenizer = tokenizer
        self._params = params
        # What a view's questions share changes only when some connection commits: it is cached per
        # (data_version, own writes), for this thread's connection.
        self._cache = {} if cache is None else cache

    def search(
        self, question: str, top_k: int, scopes: Sequence[str] = (SHARED_SCOPE,), skip: int = 0
    ) -> SearchResult:
        """The `top_k` best paragraphs after the first `skip`, for the view made of `scopes`."""
        terms = tuple(self._tokenizer.tokenize(question, for_query=True))
        view = tuple(dict.fromkeys(scopes))
        self._conn.execute("BEGIN")
        try:
            result = self._search(terms, view, top_k, skip)
        finally:
            self._conn.execute("COMMIT")
        named = self._tokenizer.named_terms(question)
        unknown = tuple(dict.fromkeys(word for term, word in named.items() if term not in result.known_terms))
        return replace(result, unknown_names=unknown)

    def _search(self, terms: tuple[str, ...], view: tuple[str, ...], top_k: int, skip: int) -> SearchResult:
        stats, dead = self._view_state(view)
        distinct = list(dict.fromkeys(terms))
        ids, dfs = self._terms(distinct, view)
        weights = {
            term: _coverage_weight(dfs.get(ids.get(term, -1), 0), stats.paragraphs) for term in distinct
        }
        postings = self._postings(list(ids.values()), view)
        query: list[QueryTerm] = []
        seen: set[str] = set()
        for term in terms:
            if term not in ids:
                continue
            weight = 0.0 if term in seen else weights[term]
            seen.add(term)
            idf = term_idf(dfs.get(ids[term], 0), stats, self._params)
            query.append(QueryTerm(idf, weight, postings.get(ids[term], ())))
        ranking = rank(query, stats, self._params, skip + top_k, dead)
        total_weight = sum(weights.values()) or 1.0
        winners = [int(paragraph_id) for paragraph_id in ranking.ids[skip:]]
        rows = self._passages(winners)
        hits = tuple(
            Hit(rows[paragraph_id], float(score), float(coverage) / total_weight)
            for paragraph_id, score, coverage in zip(
                winners, ranking.scores[skip:], ranking.coverage[skip:], strict=True
            )
            if paragraph_id in rows
        )
        known = frozenset(term for term in distinct if dfs.get(ids.get(term, -1), 0) > 0)
        return SearchResult(terms, weights, known, hits, ranking.matched, stats.paragraphs)

    # -- statistics of a view ----------------------------------------------------------------------

    def _view_state(self, view: tuple[str, ...]) -> tuple[CorpusStats, npt.NDArray[np.int64]]:
        """The view's statistics and removed paragraphs: they change only when some connection commits."""
        version = (self._conn.execute("PRAGMA data_version").fetchone()[0], self._conn.total_changes)
        cached = self._cache.get(view)
        if cached is not None and cached[0] == version:
            return cached[1], cached[2]
        stats, dead = self._read_corpus_stats(view), self._tombstones(view)
        self._cache[view] = (version, stats, dead)
        return stats, dead

    def _read_corpus_stats(self, view: tuple[str, ...]) -> CorpusStats:
        marks = ",".join("?" * len(view))
        paragraphs, tokens = self._conn.execute(
            "SELECT COALESCE(SUM(paragraphs), 0), COALESCE(SUM(tokens), 0) FROM scope_stats"
            f" WHERE scope IN ({marks})",
            view,
        ).fetchone()
        return CorpusStats(int(paragraphs), int(tokens), self._average_idf(view, int(paragraphs)))

    def _average_idf(self, view: tuple[str, ...], paragraphs: int) -> float:
        """rank-bm25's average idf over the view's vocabulary, from the base scope's df histogram.

        A term's df in a view is the sum of its df in each scope; only the terms of the smaller scopes
        (a server's own articles) can differ from the base histogram, so only those are read one by one.
        """
        base, others = view[0], view[1:]
        histogram: Counter[int] = Counter(
            dict(self._conn.execute("SELECT df, terms FROM df_histogram WHERE scope = ?", (base,)).fetchall())
        )
        if others:
            marks = ",".join("?" * len(others))
            rows = self._conn.execute(
                f"SELECT o.term_id, SUM(o.df), COALESCE(b.df, 0) FROM term_stats o"
                f" LEFT JOIN term_stats b ON b.scope = ? AND b.term_id = o.term_id"
                f" WHERE o.scope IN ({marks}) GROUP BY o.term_id",
                [base, *others],
            ).fetchall()
            for _, other_df, base_df in rows:
                if base_df:
                    histogram[base_df] -= 1
                histogram[base_df + other_df] += 1
        return average_idf_from_histogram(histogram.items(), paragraphs)

    def _terms(self, terms: list[str], view: tuple[str, ...]) -> tuple[dict[str, int], dict[int, int]]:
        """The ids of the terms the index knows, and their document frequency in the view, in one read."""
        if not terms:
            return {}, {}
        rows = self._conn.execute(
            "SELECT t.term, t.id, COALESCE(SUM(s.df), 0) FROM terms t"
            f" LEFT JOIN term_stats s ON s.term_id = t.id AND s.scope IN ({','.join('?' * len(view))})"
            f" WHERE t.term IN ({','.join('?' * len(terms))}) GROUP BY t.id",
            [*view, *terms],
        ).fetchall()
        return {term: term_id for term, term_id, _ in rows}, {term_id: df for _, term_id, df in rows if df}

    def _postings(self, term_ids: list[int], view: tuple[str, ...]) -> dict[int, tuple[PostingList, ...]]:
        """Each term's posting lists in the view, one per segment, read in one statement."""
        if not term_ids:
            return {}
        rows = self._conn.execute(
            "SELECT term_id, docs, tfs, lengths FROM postings"
            f" WHERE term_id IN ({','.join('?' * len(term_ids))}) AND scope IN ({','.join('?' * len(view))})"
            " ORDER BY term_id, segment_id",
            [*term_ids, *view],
        ).fetchall()
        lists: dict[int, list[PostingList]] = {}
        for term_id, docs, tfs, lengths in rows:
            lists.setdefault(term_id, []).append(PostingList.from_blobs(docs, tfs, lengths))
        return {term_id: tuple(parts) for term_id, parts in lists.items()}

    def _tombstones(self, view: tuple[str, ...]) -> np.ndarray:
        rows = self._conn.execute(
            f"SELECT paragraph_id FROM tombstones WHERE scope IN ({','.join('?' * len(view))})", view
        ).fetchall()
        return np.array([row[0] for row in rows], dtype=np.int64)

    def _passages(self, paragraph_ids: list[int]) -> dict[int, StoredPassage]:
        if not paragraph_ids:
            return {}
        rows = self._conn.execute(
            "SELECT p.id, p.text, p.position, s.id, s.title, s.url, s.outlet, s.published, s.paragraphs"
            " FROM paragraphs p JOIN sources s ON s.id = p.source_id"
            f" WHERE p.id IN ({','.join('?' * len(paragraph_ids))})",
            paragraph_ids,
        ).fetchall()
        return {
            int(paragraph_id): StoredPassage(
                int(paragraph_id),
                text,
                position,
                source_id,
                title,
                url,
                outlet,
                published,
                count,
            )
            for paragraph_id, text, position, source_id, title, url, outlet, published, count in rows
        }


def _coverage_weight(df: int, paragraphs: int) -> float:
    """How informative a question term is: rarer is more. A term the index never saw counts as the rarest."""
    return max(math.log((paragraphs + 1) / (max(df, 1) + 0.5)), 1e-6)


def _offsets(stored: str) -> tuple[int, ...]:
    return tuple(int(offset) for offset in stored.split(",")) if stored else ()
