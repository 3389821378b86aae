"""Scored posting lists of recent question terms, kept in memory for every thread of one open index.

At a hundred thousand paragraphs, reading a question's posting lists from SQLite and turning them into BM25
impacts costs more than adding the impacts up. Questions about a story share their words, so the scored
lists of recent terms are kept, within a memory budget, least recently used out first.

An entry is what ranking needs of one term: its paragraph ids and their impacts. Its key holds everything
they depend on. A committed segment never changes (a merge writes a new segment before it deletes the old
ones, so a segment id is never reused, and a removal only adds tombstones, which ranking applies
afterwards), so a term's postings in a view are fixed by the view's segments; the impacts also depend on
the term's idf and the average paragraph length. Any write that adds or merges segments or changes the
statistics changes the keys, and the old entries are never read again: they age out of the budget.

The SQLite file stays the single source of truth: nothing here outlives the process or is written anywhere.
"""

from __future__ import annotations

import itertools
import threading
from collections import OrderedDict
from collections.abc import Hashable

from index.engine.postings import PostingList
from index.engine.ranking import BM25Parameters, CorpusStats, QueryTerm

DEFAULT_BUDGET_BYTES = 256 * 1024 * 1024
"""Memory the cache may hold by default: the terms of a few hundred questions at a million paragraphs."""


class TermPostings:
    """One term's paragraph ids in a view and their BM25 impacts for one state of the statistics.

    One array pair per segment, or fewer where the segments' id ranges follow one another. They are computed
    as `QueryTerm.scored` computes a term's, and a question takes them back with `QueryTerm.from_postings`.
    """

    __slots__ = ("docs", "impacts", "nbytes")

    def __init__(
        self, parts: tuple[PostingList, ...], idf: float, stats: CorpusStats, params: BM25Parameters
    ) -> None:
        scored = QueryTerm.scored(idf, 0.0, _joined(parts), stats, params)  # the weight is the question's
        self.docs = scored.docs
        self.impacts = scored.impacts
        self.nbytes = sum(docs.nbytes for docs in self.docs) + sum(part.nbytes for part in self.impacts)


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
    """A byte-bounded LRU map to `TermPostings` (see the module for the keys), safe across threads."""

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
