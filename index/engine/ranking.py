"""BM25Okapi scoring over posting lists, equal to rank-bm25's `BM25Okapi.get_scores` for the same tokens.

rank-bm25 is the reference: its idf is log(N - df + 0.5) - log(df + 0.5), and a negative idf (a term in
more than half the paragraphs) is raised to epsilon times the average idf of the whole vocabulary. We
reproduce that exactly, including its quirk that a term in exactly half the paragraphs weighs zero, so the
scores can be checked against it; the average idf comes from a histogram of document frequencies, which
the writer keeps current, instead of a pass over the vocabulary at every question.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

from index.engine.postings import PostingList

if TYPE_CHECKING:
    from index.engine.posting_cache import TermPostings

_DENSE_LIMIT = 4_000_000
"""Below this paragraph id, scores are summed in a dense array (32 MB at most); above, ids are sorted."""


@dataclass(frozen=True)
class BM25Parameters:
    """BM25Okapi's free parameters; the defaults were chosen on SciFact and Cranfield (see the README)."""

    k1: float = 1.4
    b: float = 0.7
    epsilon: float = 0.25


@dataclass(frozen=True)
class CorpusStats:
    """The statistics of the paragraphs a question is asked against (one server's view of the index)."""

    paragraphs: int
    tokens: int
    average_idf: float

    @property
    def average_length(self) -> float:
        """Mean paragraph length in tokens (rank-bm25's avgdl)."""
        return self.tokens / self.paragraphs if self.paragraphs else 0.0


def raw_idf(df: int | npt.NDArray[np.float64], paragraphs: int) -> npt.NDArray[np.float64]:
    """rank-bm25's BM25Okapi idf before the epsilon floor."""
    df_array = np.asarray(df, dtype=np.float64)
    result: npt.NDArray[np.float64] = np.log(paragraphs - df_array + 0.5) - np.log(df_array + 0.5)
    return result


def average_idf_from_histogram(histogram: Iterable[tuple[int, int]], paragraphs: int) -> float:
    """The mean raw idf over a vocabulary described as (document frequency, number of terms) pairs."""
    pairs = [(df, count) for df, count in histogram if df > 0 and count > 0]
    if not pairs:
        return 0.0
    dfs = np.array([df for df, _ in pairs], dtype=np.float64)
    counts = np.array([count for _, count in pairs], dtype=np.float64)
    return float(np.dot(raw_idf(dfs, paragraphs), counts) / counts.sum())


def term_idf(df: int, stats: CorpusStats, params: BM25Parameters) -> float:
    """The idf BM25Okapi uses for a term: the raw idf, or epsilon * average idf where that is negative."""
    if df <= 0:
        return 0.0  # rank-bm25 gives a term it has never seen no weight at all
    idf = math.log(stats.paragraphs - df + 0.5) - math.log(df + 0.5)
    return params.epsilon * stats.average_idf if idf < 0 else idf


@dataclass(frozen=True)
class ScoredParagraphs:
    """Every paragraph that holds at least one query term, with its BM25 score and matched-term weight."""

    ids: npt.NDArray[np.int64]
    scores: npt.NDArray[np.float64]
    coverage: npt.NDArray[np.float64]

    def live(self, dead: npt.NDArray[np.int64]) -> npt.NDArray[np.bool_]:
        """Which of `ids` are not in `dead`, found by binary search: `ids` is sorted, `dead` is short."""
        keep = np.ones(len(self.ids), dtype=bool)
        if dead.size and self.ids.size:
            at = np.minimum(np.searchsorted(self.ids, dead), len(self.ids) - 1)
            keep[at[self.ids[at] == dead]] = False
        return keep


def score(
    query: Sequence[tuple[float, float, PostingList]],
    stats: CorpusStats,
    params: BM25Parameters,
) -> ScoredParagraphs:
    """Score every paragraph holding a term of a query given as (idf, coverage weight, postings) per token.

    A token repeated in the question counts once per repeat, as in rank-bm25. The coverage weight of a
    distinct term is added once per paragraph holding it; it feeds the decision to answer or abstain, and
    must be positive for a term's first occurrence (zero for its repeats). `rank` finds the same best
    paragraphs without scoring them all into a list; this is the plain form, called only by the tests, where
    it is `rank`'s reference.
    """
    live = [
        QueryTerm.scored(idf, weight, (postings,), stats, params)
        for idf, weight, postings in query
        if len(postings)
    ]
    if not live or stats.paragraphs == 0:
        return ScoredParagraphs(*_EMPTY)
    return _summed(live)


def top(scored: ScoredParagraphs, count: int, exclude: npt.NDArray[np.int64] | None = None) -> list[int]:
    """Indexes into `scored` of the `count` best paragraphs, best first; ties go to the earlier paragraph."""
    keep = np.arange(len(scored.ids))
    if exclude is not None and exclude.size:
        keep = keep[scored.live(exclude)]
    if keep.size == 0 or count <= 0:
        return []
    if keep.size > count * 4:
        # The count-th best score, found in linear time, and every paragraph reaching it: all of a tie at
        # the cut, so its earlier paragraphs win below (a partition's first `count` may hold any of them).
        scores = scored.scores[keep]
        keep = keep[scores >= np.partition(scores, scores.size - count)[scores.size - count]]
    order = np.lexsort((scored.ids[keep], -scored.scores[keep]))
    return [int(index) for index in keep[order[:count]]]


@dataclass(frozen=True)
class QueryTerm:
    """One token of a question as ranking needs it: idf, coverage weight, and, per segment, the ids of the
    paragraphs holding it with what it adds to each one's score (`term_impacts`).

    The weight is positive for a term's first occurrence in the question and zero for its repeats.
    Each part's paragraph ids are ascending (the writer keeps them so).
    """

    idf: float
    weight: float
    docs: tuple[npt.NDArray[np.uint32], ...]
    impacts: tuple[npt.NDArray[np.float64], ...]

    @classmethod
    def scored(
        cls,
        idf: float,
        weight: float,
        parts: Sequence[PostingList],
        stats: CorpusStats,
        params: BM25Parameters,
    ) -> QueryTerm:
        """The term with its postings' impacts computed for these statistics."""
        return cls(
            idf,
            weight,
            tuple(part.docs for part in parts),
            tuple(term_impacts(part, idf, stats, params) for part in parts),
        )

    @classmethod
    def from_postings(cls, idf: float, weight: float, postings: TermPostings) -> QueryTerm:
        """The term over a cached entry's arrays (scored for this `idf`), shared, not copied."""
        return cls(idf, weight, postings.docs, postings.impacts)

    def __len__(self) -> int:
        return sum(len(docs) for docs in self.docs)


@dataclass(frozen=True)
class Ranking:
    """The best paragraphs of a question, best first, and how many live paragraphs matched at all."""

    ids: npt.NDArray[np.int64]
    scores: npt.NDArray[np.float64]
    coverage: npt.NDArray[np.float64]
    matched: int


def rank(
    query: Sequence[QueryTerm],
    stats: CorpusStats,
    params: BM25Parameters,
    count: int,
    dead: npt.NDArray[np.int64],
) -> Ranking:
    """The `count` best live paragraphs for a question (ties to the earlier paragraph), not in `dead`.

    Every posting is scored (the ranking must equal rank-bm25's), but only once: into one dense array by
    paragraph id. The winners are then found without sorting the matches, and coverage, which only the
    winners need, is looked up for them alone.
    """
    live = [term for term in query if len(term)]
    if not live or stats.paragraphs == 0 or count <= 0:
        return _ranking_of(ScoredParagraphs(*_EMPTY), [], 0)
    highest = max(int(docs[-1]) for term in live for docs in term.docs if len(docs))  # ids ascend
    if highest >= _DENSE_LIMIT or any(term.idf <= 0 for term in live):
        # Huge ids, or a weightless or negative term, which would make "score > 0" differ from "matched":
        # the plain sums.
        scored = _summed(live)
        keep = scored.live(dead)
        return _ranking_of(scored, top(scored, count, exclude=dead), int(np.count_nonzero(keep)))
    scores = _dense_scores(live, highest)
    if dead.size:
        scores[dead[dead <= highest]] = 0.0
    # Every contribution is positive here, so a paragraph matched exactly when its score is. Counted on
    # the bits (no score is -0.0), which numpy does several times faster than on floats.
    matched = int(np.count_nonzero(scores.view(np.int64)))
    ids = _best(scores, count, live)
    return Ranking(ids, scores[ids], _coverage(ids, live), matched)


_EMPTY = (np.zeros(0, dtype=np.int64), np.zeros(0), np.zeros(0))


def _ranking_of(scored: ScoredParagraphs, order: list[int], matched: int) -> Ranking:
    picked = np.asarray(order, dtype=np.int64)
    return Ranking(scored.ids[picked], scored.scores[picked], scored.coverage[picked], matched)


def _dense_scores(live: list[QueryTerm], highest: int) -> npt.NDArray[np.float64]:
    """Each paragraph's BM25 score, indexed by paragraph id, summed term by term in the question's order."""
    scores = np.zeros(highest + 1)
    for term in live:
        for docs, impacts in zip(term.docs, term.impacts, strict=True):
            # A paragraph is once in a part: np.add.at is the fastest unbuffered scatter here.
            np.add.at(scores, docs, impacts)
    return scores


def _summed(live: list[QueryTerm]) -> ScoredParagraphs:
    """Every matched paragraph's score and coverage, grouped by sorting instead of by position.

    np.bincount adds in array order, so each paragraph's terms are still summed in the question's order.
    """
    docs = np.concatenate([part for term in live for part in term.docs]).astype(np.int64)
    impacts = np.concatenate([part for term in live for part in term.impacts])
    weights = np.concatenate([np.full(len(part), term.weight) for term in live for part in term.docs])
    ids, inverse = np.unique(docs, return_inverse=True)
    scores = np.bincount(inverse, weights=impacts, minlength=len(ids))
    coverage = np.bincount(inverse, weights=weights, minlength=len(ids))
    return ScoredParagraphs(ids, scores.astype(np.float64), coverage.astype(np.float64))


def term_impacts(
    postings: PostingList, idf: float, stats: CorpusStats, params: BM25Parameters
) -> npt.NDArray[np.float64]:
    """What each posting adds to its paragraph's score: rank-bm25's per-term BM25Okapi summand."""
    k1, b = params.k1, params.b
    length_factor, constant = k1 * b / stats.average_length, k1 * (1 - b)
    # idf * (tf * (k1 + 1) / (tf + k1 * (1 - b + b * dl / avgdl))), constants folded, in place to spare
    # temporaries.
    impact = postings.tfs.astype(np.float64)
    denominator = postings.lengths * length_factor
    denominator += constant
    denominator += impact
    impact *= idf * (k1 + 1)
    impact /= denominator
    return impact


def _best(scores: npt.NDArray[np.float64], count: int, live: list[QueryTerm]) -> npt.NDArray[np.int64]:
    """Ids of the `count` highest positive scores, best first, ties to the lower id.

    The scores of the rarest terms' paragraphs are real scores, so the count-th best of them is a floor
    for the count-th best overall: one comparison over the array then leaves a handful of candidates.
    """
    floor = _floor(scores, count, sorted(live, key=len))
    candidates = np.flatnonzero(scores >= floor) if floor > 0 else np.flatnonzero(scores)
    order = np.lexsort((candidates, -scores[candidates]))[:count]
    return candidates[order].astype(np.int64)


def _floor(scores: npt.NDArray[np.float64], count: int, rarest_first: list[QueryTerm]) -> float:
    """The count-th best score among some matched paragraphs (0.0 if too few are found)."""
    # One term's parts hold distinct paragraphs, so the rarest term with enough postings is a sample as
    # it is; the union of several terms' postings must first lose its repeats.
    for term in rarest_first:
        if len(term) >= count:
            probe = scores[np.concatenate([docs[:_SAMPLE] for docs in term.docs])]
            probe = probe[probe > 0]  # removed paragraphs score 0
            if probe.size >= count:
                return float(np.partition(probe, probe.size - count)[probe.size - count])
            break
    sample: list[npt.NDArray[np.uint32]] = []
    for term in rarest_first:
        sample.extend(docs[:_SAMPLE] for docs in term.docs)
        probe = scores[np.unique(np.concatenate(sample))]
        probe = probe[probe > 0]
        if probe.size >= count:
            return float(np.partition(probe, probe.size - count)[probe.size - count])
    return 0.0


_SAMPLE = 4096
"""How many postings of a term the floor for the winners is taken from (any real scores will do)."""


def _coverage(ids: npt.NDArray[np.int64], live: list[QueryTerm]) -> npt.NDArray[np.float64]:
    """The summed weight of the distinct question terms each paragraph holds, by binary search."""
    coverage = np.zeros(len(ids))
    if not ids.size:
        return coverage
    # In the postings' dtype, so numpy does not convert each whole list to search it.
    wanted = ids.astype(np.uint32)
    for term in live:
        if not term.weight:
            continue
        for docs in term.docs:
            if not len(docs):
                continue
            at = np.minimum(np.searchsorted(docs, wanted), len(docs) - 1)
            coverage += term.weight * (docs[at] == wanted)
    return coverage
