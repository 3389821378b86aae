"""BM25 scores equal rank-bm25's BM25Okapi for the same tokens, on random corpora and on the story."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from rank_bm25 import BM25Okapi

from index.engine.postings import PostingList, SegmentBuilder
from index.engine.ranking import (
    BM25Parameters,
    CorpusStats,
    QueryTerm,
    ScoredParagraphs,
    average_idf_from_histogram,
    rank,
    score,
    term_idf,
    top,
)

VOCABULARY = [f"w{i}" for i in range(12)]
corpora = st.lists(st.lists(st.sampled_from(VOCABULARY), min_size=1, max_size=30), min_size=1, max_size=40)
queries = st.lists(st.sampled_from([*VOCABULARY, "unseen"]), min_size=1, max_size=8)
parameters = st.builds(
    BM25Parameters,
    k1=st.floats(0.1, 3.0),
    b=st.floats(0.0, 1.0),
    epsilon=st.floats(0.0, 1.0),
)


def our_scores(corpus: list[list[str]], query: list[str], params: BM25Parameters) -> np.ndarray:
    """Every paragraph's score from our postings and statistics, zero where no query term occurs."""
    builder = SegmentBuilder()
    for doc_id, tokens in enumerate(corpus):
        builder.add(doc_id, tokens)
    lists = builder.posting_lists()
    dfs = builder.document_frequencies()
    histogram = Counter(dfs.values())
    stats = CorpusStats(
        builder.paragraphs, builder.tokens, average_idf_from_histogram(histogram.items(), len(corpus))
    )
    weighted = [
        (term_idf(dfs.get(term, 0), stats, params), 1.0, lists[term]) for term in query if term in lists
    ]
    scored = score(weighted, stats, params)
    full = np.zeros(len(corpus))
    full[scored.ids] = scored.scores
    return full


@settings(max_examples=300, deadline=None)
@given(corpus=corpora, query=queries, params=parameters)
def test_scores_equal_rank_bm25_on_random_corpora(
    corpus: list[list[str]], query: list[str], params: BM25Parameters
) -> None:
    reference = BM25Okapi(corpus, k1=params.k1, b=params.b, epsilon=params.epsilon).get_scores(query)
    np.testing.assert_allclose(our_scores(corpus, query, params), reference, rtol=0, atol=1e-9)


def test_a_term_in_exactly_half_the_paragraphs_weighs_zero_as_in_rank_bm25() -> None:
    corpus = [["a", "b"], ["a", "c"], ["d"], ["e"]]
    reference = BM25Okapi(corpus).get_scores(["a"])
    assert reference.tolist() == [0.0, 0.0, 0.0, 0.0]
    np.testing.assert_allclose(
        our_scores(corpus, ["a"], BM25Parameters(1.5, 0.75, 0.25)), reference, atol=1e-12
    )


def test_a_common_term_gets_the_epsilon_floor() -> None:
    corpus = [["a", "b"], ["a", "c"], ["a"], ["d"]]
    params = BM25Parameters(1.5, 0.75, 0.25)
    reference = BM25Okapi(corpus, k1=1.5, b=0.75, epsilon=0.25).get_scores(["a"])
    assert reference[0] > 0
    np.testing.assert_allclose(our_scores(corpus, ["a"], params), reference, atol=1e-12)


def test_an_empty_query_or_corpus_scores_nothing() -> None:
    stats = CorpusStats(0, 0, 0.0)
    scored = score([], stats, BM25Parameters())
    assert scored.ids.size == 0


@pytest.mark.parametrize("repeats", [1, 2, 3])
def test_a_repeated_query_term_counts_each_time(repeats: int) -> None:
    corpus = [["x", "y"], ["y"], ["z", "z"], ["q"]]
    params = BM25Parameters()
    reference = BM25Okapi(corpus, k1=params.k1, b=params.b).get_scores(["x"] * repeats)
    np.testing.assert_allclose(our_scores(corpus, ["x"] * repeats, params), reference, atol=1e-12)


@settings(max_examples=100, deadline=None)
@given(corpus=corpora, query=queries, params=parameters)
def test_the_sort_based_path_for_huge_ids_gives_the_same_scores(
    corpus: list[list[str]], query: list[str], params: BM25Parameters
) -> None:
    # Paragraph ids past the dense limit are grouped by sorting; force that path on a small corpus.
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr("index.engine.ranking._DENSE_LIMIT", 0)
        sparse = our_scores(corpus, query, params)
    np.testing.assert_allclose(sparse, our_scores(corpus, query, params), rtol=0, atol=1e-9)
    reference = BM25Okapi(corpus, k1=params.k1, b=params.b, epsilon=params.epsilon).get_scores(query)
    np.testing.assert_allclose(sparse, reference, rtol=0, atol=1e-9)


def segmented(
    corpus: list[list[str]], segments: int, seed: int
) -> tuple[CorpusStats, dict[str, list[PostingList]]]:
    """The corpus indexed as several segments, paragraphs dealt to them at random (merges mix id ranges)."""
    rng = np.random.default_rng(seed)
    owner = rng.integers(0, segments, len(corpus))
    builders = [SegmentBuilder() for _ in range(segments)]
    for doc_id, tokens in enumerate(corpus):
        builders[owner[doc_id]].add(doc_id, tokens)
    parts: dict[str, list[PostingList]] = {}
    dfs: Counter[str] = Counter()
    for builder in builders:
        for term, postings in builder.posting_lists().items():
            parts.setdefault(term, []).append(postings)
            dfs[term] += len(postings)
    histogram = Counter(dfs.values())
    tokens = sum(len(tokens) for tokens in corpus)
    return CorpusStats(len(corpus), tokens, average_idf_from_histogram(histogram.items(), len(corpus))), parts


@settings(max_examples=300, deadline=None)
@given(
    corpus=corpora,
    query=queries,
    params=parameters,
    segments=st.integers(1, 4),
    seed=st.integers(0, 1000),
    count=st.integers(1, 12),
    dead_share=st.floats(0.0, 0.6),
)
def test_rank_picks_the_best_live_paragraphs_as_a_full_sort_would(
    corpus: list[list[str]],
    query: list[str],
    params: BM25Parameters,
    segments: int,
    seed: int,
    count: int,
    dead_share: float,
) -> None:
    stats, parts = segmented(corpus, segments, seed)
    dfs = {term: sum(len(part) for part in lists) for term, lists in parts.items()}
    dead = np.flatnonzero(np.random.default_rng(seed).random(len(corpus)) < dead_share).astype(np.int64)
    seen: set[str] = set()
    terms = []
    for term in query:
        if term in parts:
            weight = 0.0 if term in seen else 1.0 + len(term)
            seen.add(term)
            idf = term_idf(dfs[term], stats, params)
            terms.append((QueryTerm.scored(idf, weight, parts[term], stats, params), parts[term]))
    ranking = rank([term for term, _ in terms], stats, params, count, dead)

    # The reference: every matched paragraph scored, sorted in full (checked against rank-bm25 above).
    flat = [(term.idf, term.weight, PostingList.concatenate(lists)) for term, lists in terms]
    scored = score(flat, stats, params)
    order = top(scored, count, exclude=dead)
    assert ranking.ids.tolist() == scored.ids[order].tolist()
    np.testing.assert_allclose(ranking.scores, scored.scores[order], rtol=0, atol=1e-12)
    np.testing.assert_allclose(ranking.coverage, scored.coverage[order], rtol=0, atol=1e-12)
    assert ranking.matched == int(np.count_nonzero(scored.live(dead)))
    reference = BM25Okapi(corpus, k1=params.k1, b=params.b, epsilon=params.epsilon).get_scores(query)
    np.testing.assert_allclose(ranking.scores, reference[ranking.ids], rtol=0, atol=1e-9)


def test_rank_of_nothing_is_empty() -> None:
    ranking = rank([], CorpusStats(3, 9, 0.5), BM25Parameters(), 10, np.zeros(0, dtype=np.int64))
    assert (ranking.ids.size, ranking.matched) == (0, 0)


def test_postings_put_in_order_keep_their_rows_together() -> None:
    shuffled = PostingList(
        np.array([9, 2, 5], dtype=np.uint32),
        np.array([1, 2, 3], dtype=np.uint16),
        np.array([7, 8, 9], dtype=np.uint32),
    )
    ordered = shuffled.in_order()
    assert ordered.docs.tolist() == [2, 5, 9]
    assert ordered.tfs.tolist() == [2, 3, 1]
    assert ordered.lengths.tolist() == [8, 9, 7]
    assert ordered.in_order() is ordered


def test_top_gives_a_tie_at_the_cut_to_the_earlier_paragraphs() -> None:
    # Few distinct scores, so ties straddle the count-th place, where a partition may keep any of them.
    rng = np.random.default_rng(0)
    for _ in range(500):
        size, count = int(rng.integers(20, 200)), int(rng.integers(1, 6))
        ids = np.arange(size, dtype=np.int64) * 3
        scores = rng.integers(0, 3, size).astype(np.float64)
        dead = ids[rng.random(size) < 0.2]
        alive = np.flatnonzero(~np.isin(ids, dead))
        expected = alive[np.lexsort((ids[alive], -scores[alive]))][:count].tolist()
        assert top(ScoredParagraphs(ids, scores, np.zeros(size)), count, exclude=dead) == expected
