"""Decoded posting lists of recent question terms, kept in memory for every thread of one open index.

At a hundred thousand paragraphs, reading a question's posting lists from SQLite and turning them into BM25
impacts costs more than adding the impacts up. Questions about a story share their words, so the lists of
recent terms are kept, within a memory budget, least recently used out first.

A committed segment never changes: a merge writes a new segment and deletes the old ones, and a removal
only adds tombstones, which ranking applies afterwards. So a term's postings in a view are fixed by the
view's segments, and entries are keyed by them: a write that adds or merges segments changes the key, and
the old entries are never read again (they age out of the budget). The impacts depend on the statistics
as well (the term's idf and the average paragraph length), so an entry keeps those it was last scored
with, and scores again when they change.

The SQLite file stays the single source of truth: nothing here outlives the process or is written anywhere.
"""

from __future__ import annotations

import itertools
import threading
from collections import OrderedDict
from collections.abc import Hashable

import numpy as np
import numpy.typing as npt

from index.postings import PostingList
from index.ranking import BM25Parameters, CorpusStats, term_impacts

DEFAULT_BUDGET_BYTES = 128 * 1024 * 1024
"""Memory the cache may hold by default: the lists of a few hundred common terms at a million paragraphs."""

_IMPACT_BYTES = np.dtype(np.float64).itemsize

Impacts = tuple[npt.NDArray[np.float64], ...]


class TermPostings:
    """One term's posting lists in a view (one per segment, or joined where their ids do not interleave)."""

    __slots__ = ("_scored", "nbytes", "parts")

    def __init__(self, parts: tuple[PostingList, ...]) -> None:
        # Machine-sized ids: numpy would otherwise convert them at every scatter and binary search.
        self.parts = tuple(
            PostingList(part.docs.astype(np.intp), part.tfs, part.lengths) for part in _joined(parts)
        )
        postings = sum(len(part) for part in self.parts)
        self.nbytes = sum(part.docs.nbytes + part.tfs.nbytes + part.lengths.nbytes for part in self.parts)
        self.nbytes += postings * _IMPACT_BYTES
        self._scored: tuple[tuple[float, float, BM25Parameters], Impacts] | None = None

    def impacts(self, idf: float, stats: CorpusStats, params: BM25Parameters) -> Impacts:
        """Each posting's BM25 impact for these statistics (computed again only when they change)."""
        key = (idf, stats.average_length, params)
        scored = self._scored
        if scored is None or scored[0] != key:
            # One tuple swapped in at once: a thread reading the old one still sees a consistent pair.
            scored = (key, tuple(term_impacts(part, idf, stats, params) for part in self.parts))
            self._scored = scored
        return scored[1]


def _joined(parts: tuple[PostingList, ...]) -> tuple[PostingList, ...]:
    """The parts as one list when, taken by their first paragraph, their id ranges follow one another.

    Fewer parts mean fewer numpy calls per question; parts whose ranges interleave (a merged segment
    beside newer ones) stay apart, since joining them would need a sort.
    """
    nonempty = sorted((part for part in parts if len(part)), key=lambda part: int(part.docs[0]))
    if len(nonempty) < 2:
        return tuple(nonempty)
    if all(int(a.docs[-1]) < int(b.docs[0]) for a, b in itertools.pairwise(nonempty)):
        return (PostingList.concatenate(nonempty),)
    return tuple(nonempty)


class PostingCache:
    """A byte-bounded LRU map from (view, segments, term) to `TermPostings`, safe across threads."""

    def __init__(self, budget_bytes: int = DEFAULT_BUDGET_BYTES) -> None:
        self.budget_bytes = max(0, budget_bytes)
        self._entries: OrderedDict[Hashable, TermPostings] = OrderedDict()
        self._used = 0
        self._lock = threading.Lock()

    @property
    def used_bytes(self) -> int:
        """Bytes the entries hold now."""
        return self._used

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, key: Hashable) -> TermPostings | None:
        """The entry for `key`, now the most recently used; None if it is not kept."""
        with self._lock:
            entry = self._entries.get(key)
            if entry is not None:
                self._entries.move_to_end(key)
            return entry

    def put(self, key: Hashable, entry: TermPostings) -> None:
        """Keep `entry`, dropping the least recently used ones to stay within the budget.

        An entry over a quarter of the budget is not kept: one huge list must not flush every other.
        """
        if entry.nbytes * 4 > self.budget_bytes:
            return
        with self._lock:
            old = self._entries.pop(key, None)
            if old is not None:
                self._used -= old.nbytes
            self._entries[key] = entry
            self._used += entry.nbytes
            while self._used > self.budget_bytes:
                _, dropped = self._entries.popitem(last=False)
                self._used -= dropped.nbytes

    def clear(self) -> None:
        """Drop every entry."""
        with self._lock:
            self._entries.clear()
            self._used = 0
