"""What a question reads of its view (the shared sources plus a server's own), cached until some commit.

A view's statistics (paragraphs, tokens, rank-bm25's average idf), its removed paragraphs and its segments
are the same for every question until some connection commits, so they are read once per state
(`ViewState`, kept per thread by `data_version`); the ids and document frequencies of the terms met in that
state are kept with it; posting lists come from the shared `PostingCache` or, for the terms it lacks, from
one statement. `index.engine.searcher` ranks from what this reads.
"""

from __future__ import annotations

import sqlite3
from collections import Counter
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from index.engine.posting_cache import PostingCache, TermPostings
from index.engine.postings import PostingList
from index.engine.ranking import BM25Parameters, CorpusStats, average_idf_from_histogram

_KNOWN_TERMS_LIMIT = 100_000
"""Terms a view's state remembers before it starts afresh (a few MB)."""


@dataclass(frozen=True)
class ViewState:
    """What every question to a view shares until some connection commits."""

    stats: CorpusStats
    dead: npt.NDArray[np.int64]
    """Removed paragraphs whose postings are still in a segment."""
    segments: tuple[int, ...]
    """The view's segment ids (never reused): with the view, they fix every term's posting lists."""
    terms: dict[str, tuple[int, int]] = field(default_factory=dict, compare=False)
    """Terms already looked up in this state: (id, df in the view), or (-1, 0) for a term never seen."""


ViewCacheEntry = tuple[tuple[int, int], ViewState]
"""A view's state and the connection's version it was read at, as `ViewReader` caches them (per thread)."""


class ViewReader:
    """Reads views on one connection (a thread's), with that thread's cache of view states."""

    def __init__(
        self,
        conn: sqlite3.Connection,
        params: BM25Parameters,
        cache: dict[tuple[str, ...], ViewCacheEntry] | None = None,
        postings_cache: PostingCache | None = None,
    ) -> None:
        self._conn = conn
        self._params = params
        # What a view's questions share changes only when some connection commits: it is cached per
        # (data_version, own writes), for this thread's connection.
        self._cache = {} if cache is None else cache
        self._postings_cache = postings_cache

    def state(self, view: tuple[str, ...]) -> ViewState:
        """The view's statistics, removed paragraphs and segments: read again only after some commit."""
        version = (self._conn.execute("PRAGMA data_version").fetchone()[0], self._conn.total_changes)
        cached = self._cache.get(view)
        if cached is not None and cached[0] == version:
            return cached[1]
        marks = ",".join("?" * len(view))
        segments = self._conn.execute(
            f"SELECT id FROM segments WHERE scope IN ({marks}) ORDER BY id", view
        ).fetchall()
        state = ViewState(
            self._read_corpus_stats(view), self._tombstones(view), tuple(row[0] for row in segments)
        )
        self._cache[view] = (version, state)
        return state

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

    def terms(
        self, terms: list[str], view: tuple[str, ...], known: dict[str, tuple[int, int]]
    ) -> tuple[dict[str, int], dict[int, int]]:
        """The ids of the terms the index knows, and their document frequency in the view.

        Terms met earlier in the same state of the view come from `known`; the others are read in one
        statement and added to it.
        """
        missing = [term for term in terms if term not in known]
        if missing:
            rows = self._conn.execute(
                "SELECT t.term, t.id, COALESCE(SUM(s.df), 0) FROM terms t"
                f" LEFT JOIN term_stats s ON s.term_id = t.id AND s.scope IN ({','.join('?' * len(view))})"
                f" WHERE t.term IN ({','.join('?' * len(missing))}) GROUP BY t.id",
                [*view, *missing],
            ).fetchall()
            if len(known) > _KNOWN_TERMS_LIMIT:
                known.clear()
            known.update(dict.fromkeys(missing, (-1, 0)))
            known.update((term, (term_id, df)) for term, term_id, df in rows)
        found = [(term, known[term]) for term in terms if known[term][0] >= 0]
        return {term: term_id for term, (term_id, _) in found}, {
            term_id: df for _, (term_id, df) in found if df
        }

    def postings(
        self, idfs: dict[int, float], view: tuple[str, ...], state: ViewState
    ) -> dict[int, TermPostings]:
        """Each term's scored posting lists in the view: from the cache, or else all read in one statement."""
        cache = self._postings_cache
        stats = state.stats
        keys = {
            term_id: (view, state.segments, term_id, idf, stats.average_length, self._params)
            for term_id, idf in idfs.items()
        }
        found: dict[int, TermPostings] = {}
        if cache is not None:
            for term_id, key in keys.items():
                entry = cache.get(key)
                if entry is not None:
                    found[term_id] = entry
        missing = [term_id for term_id in idfs if term_id not in found]
        if not missing:
            return found
        rows = self._conn.execute(
            "SELECT term_id, segment_id, docs, tfs, lengths FROM postings"
            f" WHERE term_id IN ({','.join('?' * len(missing))}) AND scope IN ({','.join('?' * len(view))})"
            " ORDER BY term_id, segment_id",
            [*missing, *view],
        ).fetchall()
        lists: dict[int, list[PostingList]] = {}
        visible = set(state.segments)  # a big add's staged segments are not, until it is published
        for term_id, segment_id, docs, tfs, lengths in rows:
            if segment_id in visible:
                lists.setdefault(term_id, []).append(PostingList.from_blobs(docs, tfs, lengths))
        for term_id, parts in lists.items():
            entry = found[term_id] = TermPostings(tuple(parts), idfs[term_id], stats, self._params)
            if cache is not None:
                cache.put(keys[term_id], entry)
        return found

    def _tombstones(self, view: tuple[str, ...]) -> np.ndarray:
        rows = self._conn.execute(
            f"SELECT paragraph_id FROM tombstones WHERE scope IN ({','.join('?' * len(view))})", view
        ).fetchall()
        return np.array([row[0] for row in rows], dtype=np.int64)
