"""A developing story: every passage dated, the newest first among near ties, earlier reports marked, and a
range of days that restricts what the search scores."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from index import Article, DateWindow, StoryIndex
from index.answers import NEARLY_EQUAL

QUESTION = "How many people were hurt when the bridge collapsed?"


def article(source_id: str, text: str, published: str | None, title: str = "Morning report") -> Article:
    return Article(
        source_id, title, (text,), f"test:{source_id}", outlet=f"{source_id} news", published=published
    )


FILLER = [
    article(f"filler{number}", text, "2025-02-01", title="Elsewhere")
    for number, text in enumerate(
        (
            "The library opens a new reading room for children in the spring.",
            "Tickets for the summer concert series go on sale next week.",
            "A new bakery on the high street sells bread made with local flour.",
            "The football club signed two young players from the academy.",
        )
    )
]
"""Paragraphs about something else, so that the question's words are rare, as in a real index."""


@pytest.fixture
def index(tmp_path: Path) -> Iterator[StoryIndex]:
    with StoryIndex(tmp_path / "dated.db", with_builtin_story=False) as opened:
        opened.add_articles(FILLER)
        yield opened


def test_a_passage_carries_its_publication_day_or_the_day_it_was_added_marked_as_such(
    index: StoryIndex,
) -> None:
    index.add_articles(
        [
            article(
                "stamped", "Five people were hurt when the bridge collapsed.", "2024-05-27T07:30:00+00:00"
            ),
            article("undated", "Twelve people were hurt when the old bridge collapsed.", None),
        ]
    )
    answer = index.ask(QUESTION, top=2)

    by_id = {passage.source.id: passage.source for passage in answer.results}
    assert (by_id["stamped"].date, by_id["stamped"].date_is_added) == ("2024-05-27", False)
    undated = index.source("undated")
    assert undated is not None
    assert (by_id["undated"].date, by_id["undated"].date_is_added) == (undated.added_at[:10], True)
    sources = {result["source"]["id"]: result["source"] for result in answer.to_json()["results"]}
    assert (sources["stamped"]["date"], sources["stamped"]["dated_by"]) == ("2024-05-27", "published")
    assert sources["undated"]["dated_by"] == "added"


def test_of_two_passages_scoring_the_same_the_newer_comes_first(index: StoryIndex) -> None:
    # Same length, the same question words, and words as near in meaning to the question's: equal scores.
    # The older one is added first, so without dates it would win the tie (ties go to the earlier paragraph).
    index.add_articles(
        [
            article(
                "first",
                "Five people were hurt when the bridge over the river collapsed on Monday.",
                "2024-05-20",
            ),
            article(
                "later",
                "Five people were hurt when the bridge over the river collapsed on Sunday.",
                "2024-05-27",
            ),
        ]
    )
    answer = index.ask(QUESTION, top=2)

    assert [passage.source.id for passage in answer.results] == ["later", "first"]
    assert answer.results[0].score == pytest.approx(answer.results[1].score)
    assert [passage.earlier_report for passage in answer.results] == [False, True]


def test_a_clearly_better_older_passage_stays_first(index: StoryIndex) -> None:
    index.add_articles(
        [
            article(
                "first",
                "Five people were hurt when the bridge collapsed: the bridge collapsed at dawn.",
                "2024-05-20",
            ),
            article(
                "later",
                "The old river crossing was closed, and people were hurt, officials said.",
                "2024-05-27",
            ),
        ]
    )
    answer = index.ask(QUESTION, top=2)

    assert [passage.source.id for passage in answer.results] == ["first", "later"]
    assert answer.results[1].score < answer.results[0].score * (1 - NEARLY_EQUAL)
    # The newer source lacks "bridge" and "collapsed": the older passage is no earlier report of it.
    assert [passage.earlier_report for passage in answer.results] == [False, False]


def test_an_older_passage_is_an_earlier_report_only_of_a_newer_source_holding_its_terms(
    index: StoryIndex,
) -> None:
    index.add_articles(
        [
            article("monday", "Five people were hurt when the bridge collapsed.", "2024-05-20"),
            article(
                "tuesday", "The bridge collapsed on Monday; twelve people were hurt, not five.", "2024-05-21"
            ),
            article("sunday", "The bridge was closed for repairs last year, the council said.", "2024-05-19"),
        ]
    )
    answer = index.ask(QUESTION, top=3)

    earlier = {passage.source.id: passage.earlier_report for passage in answer.results}
    # Sunday's passage holds only "bridge", which both newer ones hold: an earlier report too.
    assert earlier == {"tuesday": False, "monday": True, "sunday": True}


def _crowded(index: StoryIndex) -> None:
    """Twelve old reports that match the question strongly, and one new one that barely does."""
    old = [
        article(
            f"old{number:02d}",
            f"People were hurt when the bridge collapsed; report {number} counts the people hurt there.",
            f"2024-01-{number + 1:02d}",
        )
        for number in range(12)
    ]
    new = article("june", "The council met in June to talk about the bridge and the budget.", "2024-06-01")
    index.add_articles([*old, new])


def test_a_range_of_days_restricts_the_scored_paragraphs_not_the_top_k(index: StoryIndex) -> None:
    _crowded(index)

    unlimited = index.ask(QUESTION, top=1)
    limited = index.ask(QUESTION, top=1, window=DateWindow(since="2024-05-01"))

    assert unlimited.results[0].source.id.startswith("old")
    # Only the June paragraph is scored: it is found although twelve better ones fill any top-k.
    assert [passage.source.id for passage in limited.results] == ["june"]
    assert limited.matched == 1
    until = index.ask(QUESTION, top=20, window=DateWindow(until="2024-01-03"))
    assert sorted(passage.source.id for passage in until.results) == ["old00", "old01", "old02"]


def test_a_range_without_any_source_says_so(index: StoryIndex) -> None:
    _crowded(index)

    answer = index.ask(QUESTION, window=DateWindow(until="2023-12-31"))

    assert not answer.answered and answer.results == ()
    assert answer.message == "No indexed article is dated until 2023-12-31."


def test_an_undated_source_is_in_the_range_of_the_day_it_was_added(index: StoryIndex) -> None:
    index.add_articles([article("undated", "Twelve people were hurt when the old bridge collapsed.", None)])
    added = index.source("undated")
    assert added is not None
    day = added.added_at[:10]

    assert [p.source.id for p in index.ask(QUESTION, window=DateWindow(day, day)).results] == ["undated"]
    assert index.ask(QUESTION, window=DateWindow(until="2000-01-01")).results == ()


def test_explain_takes_the_score_apart_term_by_term(index: StoryIndex) -> None:
    _crowded(index)
    answer = index.ask(QUESTION, top=1)
    shown = answer.results[0]

    explanation = index.explain(QUESTION, shown.paragraph_id)

    assert explanation is not None and explanation.rank == 1
    assert sum(part.contribution for part in explanation.matched) == pytest.approx(shown.bm25)
    assert {part.term for part in explanation.matched} == {"peopl", "hurt", "bridg", "collaps"}
    assert explanation.missing == ("mani",)
    hurt = next(part for part in explanation.matched if part.term == "hurt")
    assert hurt.tf == 2 and hurt.asked == 1
    parts = (
        explanation.body,
        explanation.title,
        explanation.sentence,
        explanation.proximity,
        explanation.meaning,
    )
    assert all(part is not None for part in parts)
    assert sum(part or 0.0 for part in parts) == pytest.approx(explanation.score)
    assert explanation.score == pytest.approx(shown.score)
    assert explanation.confidence == pytest.approx(answer.confidence)
    assert explanation.answered is answer.answered
    json = explanation.to_json()
    assert [row["term"] for row in json["matched"]] == [part.term for part in explanation.matched]


def test_explain_finds_the_passage_where_it_ranks_and_none_for_one_not_found(index: StoryIndex) -> None:
    _crowded(index)
    june = index.ask(QUESTION, window=DateWindow(since="2024-05-01")).results[0]

    library = index.ask("When does the new reading room open?").results[0]

    outranked = index.explain(QUESTION, june.paragraph_id)
    alone = index.explain(QUESTION, june.paragraph_id, window=DateWindow(since="2024-05-01"))
    assert outranked is not None and outranked.rank == 13  # after the twelve old reports
    assert alone is not None and alone.rank == 1
    assert index.explain(QUESTION, library.paragraph_id) is None  # it holds none of the question's words
