"""The in-memory cache of question terms' posting lists: bounded, and never a stale answer."""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

import numpy as np
import pytest

from index import SHARED_SCOPE, StoryIndex
from index.engine.posting_cache import PostingCache, TermPostings
from index.engine.postings import PostingList
from index.engine.ranking import BM25Parameters, CorpusStats, term_impacts
from index.engine.terms import paragraph_terms
from tests.conftest import write_jsonl
from tests.index.test_library import reference_scores

QUESTION = "Musk GPUs lunar base"


def postings(docs: list[int]) -> PostingList:
    count = len(docs)
    return PostingList(
        np.array(docs, dtype=np.uint32), np.ones(count, dtype=np.uint16), np.full(count, 10, dtype=np.uint32)
    )


def entry_of(*parts: list[int]) -> TermPostings:
    stats = CorpusStats(paragraphs=2000, tokens=20_000, average_idf=1.0)
    return TermPostings(tuple(postings(docs) for docs in parts), 1.0, stats, BM25Parameters())


def assert_answer_is_rank_bm25s(index: StoryIndex, question: str = QUESTION) -> None:
    """The cached index returns every paragraph holding a question term, with rank-bm25's scores."""
    expected, _ = reference_scores(index, question, (SHARED_SCOPE,))
    answer = index.ask(question, top=50)
    got = {passage.paragraph_id: passage.bm25 for passage in answer.results}
    assert got == pytest.approx({paragraph_id: expected[paragraph_id] for paragraph_id in got}, abs=1e-9)
    assert set(got) == holding_a_term(index, question)
    assert answer.matched == len(got)


def holding_a_term(index: StoryIndex, question: str) -> set[int]:
    terms = set(index.tokenizer.tokenize(question, for_query=True))
    conn = sqlite3.connect(index.path)
    rows = conn.execute(
        "SELECT p.id, p.text, s.title, p.position FROM paragraphs p JOIN sources s ON s.id = p.source_id"
    ).fetchall()
    conn.close()
    return {
        paragraph_id
        for paragraph_id, text, title, position in rows
        # The title counts in an article's first paragraph (as `paragraph_terms` indexes it).
        if terms & set(paragraph_terms(index.tokenizer, title if position == 1 else "", [text])[0])
    }


def note(number: int, text: str) -> dict[str, object]:
    return {"id": f"n{number}", "title": f"Note {number}", "text": text}


NOTES = [
    note(0, "Musk built a lunar base for GPUs."),
    note(100, "GPUs bought for the base."),
    note(101, "Twitter bought GPUs."),
]
"""One segment: removing the last keeps the segment and every question term; only the statistics change."""


# -- the cache itself ---------------------------------------------------------------------------------


def test_the_least_recently_used_entries_go_first_when_the_budget_is_spent() -> None:
    entry = entry_of(list(range(100)))
    cache = PostingCache(budget_bytes=entry.nbytes * 4)
    for key in "abcd":
        cache.put(key, entry_of(list(range(100))))
    assert cache.get("a") is not None  # "a" is now the most recently used
    cache.put("e", entry_of(list(range(100))))
    assert cache.get("b") is None
    assert all(cache.get(key) is not None for key in "acde")
    assert cache.used_bytes <= cache.budget_bytes


def test_an_entry_over_a_quarter_of_the_budget_is_not_kept() -> None:
    big = entry_of(list(range(1000)))
    cache = PostingCache(budget_bytes=big.nbytes * 3)
    cache.put("big", big)
    assert cache.get("big") is None
    assert len(cache) == 0
    off = PostingCache(budget_bytes=0)
    off.put("small", entry_of([1]))
    assert off.get("small") is None


def test_parts_whose_ids_follow_one_another_are_joined_and_interleaved_ones_are_not() -> None:
    following = entry_of([20, 30], [1, 5])
    assert [docs.tolist() for docs in following.docs] == [[1, 5, 20, 30]]
    interleaved = entry_of([1, 30], [5, 20])
    assert [docs.tolist() for docs in interleaved.docs] == [[1, 30], [5, 20]]


def test_an_entry_holds_the_ids_and_impacts_ranking_needs() -> None:
    params = BM25Parameters()
    stats = CorpusStats(paragraphs=10, tokens=100, average_idf=1.0)
    parts = (postings([1, 2, 3]), postings([7, 9]))
    entry = TermPostings(parts, 1.5, stats, params)
    assert [docs.tolist() for docs in entry.docs] == [[1, 2, 3, 7, 9]]
    joined = PostingList.concatenate(list(parts))
    assert entry.impacts[0].tolist() == term_impacts(joined, 1.5, stats, params).tolist()
    assert entry.nbytes == 5 * (4 + 8)


# -- answers through the cache ---------------------------------------------------------------------------


def test_adds_removals_and_merges_are_seen_through_a_warm_cache(
    story_index: StoryIndex, tmp_path: Path
) -> None:
    assert_answer_is_rank_bm25s(story_index)  # the question's terms are now cached
    story_index.add_paths([write_jsonl(tmp_path / "n0.jsonl", NOTES)])
    assert story_index.ask(QUESTION).results[0].source.id == "n0"  # a new segment: the entries are read again
    assert_answer_is_rank_bm25s(story_index)
    segments = story_index.stats().segments
    story_index.remove("n101")  # same segments, new statistics: the impacts are computed again
    assert story_index.stats().segments == segments
    assert all(passage.source.id != "n101" for passage in story_index.ask(QUESTION, top=50).results)
    assert_answer_is_rank_bm25s(story_index)
    story_index.reindex()  # new segments, the same statistics: the removed paragraphs' tombstones are gone
    assert story_index.stats().segments == 1
    assert_answer_is_rank_bm25s(story_index)
    for number in range(1, 20):  # enough small segments to be merged
        story_index.add_paths(
            [write_jsonl(tmp_path / f"n{number}.jsonl", [note(number, f"Lunar GPUs, note {number}.")])]
        )
        assert_answer_is_rank_bm25s(story_index)
    story_index.reindex()
    assert story_index.stats().segments == 1
    assert_answer_is_rank_bm25s(story_index)


def test_changes_by_another_connection_are_seen_through_a_warm_cache(
    story_index: StoryIndex, tmp_path: Path
) -> None:
    assert_answer_is_rank_bm25s(story_index)
    with StoryIndex(story_index.path) as other:  # as the CLI beside a running bot
        other.add_paths([write_jsonl(tmp_path / "n0.jsonl", NOTES)])
    assert story_index.ask(QUESTION).results[0].source.id == "n0"
    assert_answer_is_rank_bm25s(story_index)
    with StoryIndex(story_index.path) as other:
        other.remove("n101")
    assert all(passage.source.id != "n101" for passage in story_index.ask(QUESTION, top=50).results)
    assert_answer_is_rank_bm25s(story_index)


def test_threads_asking_at_once_share_the_cache_and_get_the_same_answers(
    story_index: StoryIndex, tmp_path: Path
) -> None:
    notes = [note(number, f"Musk note {number} on lunar GPUs and the base.") for number in range(40)]
    story_index.add_paths([write_jsonl(tmp_path / "notes.jsonl", notes)])
    questions = [QUESTION, "why did Musk leave OpenAI?", "lunar note 7", "GPUs bought by Twitter"]
    with StoryIndex(story_index.path, postings_cache_bytes=0) as uncached:
        expected = {question: uncached.ask(question, top=10) for question in questions}
    failures: list[str] = []

    def ask_many() -> None:
        for _ in range(25):
            for question in questions:
                if story_index.ask(question, top=10) != expected[question]:
                    failures.append(question)

    threads = [threading.Thread(target=ask_many) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []
