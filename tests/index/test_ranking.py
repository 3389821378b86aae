"""BM25 scores equal rank-bm25's BM25Okapi for the same tokens, on random corpora and on the story."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from rank_bm25 import BM25Okapi

from index.postings import SegmentBuilder
from index.ranking import BM25Parameters, CorpusStats, average_idf_from_histogram, score, term_idf

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
        patch.setattr("index.ranking._DENSE_LIMIT", 0)
        sparse = our_scores(corpus, query, params)
    np.testing.assert_allclose(sparse, our_scores(corpus, query, params), rtol=0, atol=1e-9)
    reference = BM25Okapi(corpus, k1=params.k1, b=params.b, epsilon=params.epsilon).get_scores(query)
    np.testing.assert_allclose(sparse, reference, rtol=0, atol=1e-9)
