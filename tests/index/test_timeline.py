"""A story's timeline: its sources oldest first, each with its lead sentence, or with words the best one."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from index import Article, DateWindow, QuestionError, StoryIndex

REPORTS = [
    Article(
        "tuesday",
        "Toll rises",
        (
            "Twelve people were hurt, officials said on Tuesday. The bridge had been inspected in March.",
            "Divers searched the river for the missing lorry.",
        ),
        "test:tuesday",
        outlet="Evening Post",
        published="2024-05-21",
    ),
    Article(
        "monday",
        "Bridge collapses",
        ("The river bridge collapsed on Monday morning. Five people were hurt.",),
        "test:monday",
        outlet="Morning Star",
        published="2024-05-20T06:00:00Z",
    ),
    Article(
        "undated",
        "Council statement",
        ("The council will meet on Friday. It thanked the rescuers.",),
        "test:undated",
    ),
]


@pytest.fixture
def index(tmp_path: Path) -> Iterator[StoryIndex]:
    with StoryIndex(tmp_path / "timeline.db", with_builtin_story=False) as opened:
        opened.add_articles(REPORTS)
        yield opened


def test_the_sources_in_date_order_each_with_its_lead_sentence(index: StoryIndex) -> None:
    entries = index.timeline()

    assert [(entry.source.id, entry.source.date, entry.sentence) for entry in entries] == [
        ("monday", "2024-05-20", "The river bridge collapsed on Monday morning."),
        ("tuesday", "2024-05-21", "Twelve people were hurt, officials said on Tuesday."),
        ("undated", entries[2].source.date, "The council will meet on Friday."),
    ]
    # A source without a publication date goes by the day it was added (today, after the others).
    assert entries[2].source.date_is_added and not entries[0].source.date_is_added
    assert entries[0].to_json() == {
        "id": "monday",
        "title": "Bridge collapses",
        "url": None,
        "outlet": "Morning Star",
        "published": "2024-05-20T06:00:00Z",
        "date": "2024-05-20",
        "dated_by": "published",
        "sentence": "The river bridge collapsed on Monday morning.",
    }


def test_with_words_only_the_sources_holding_them_each_by_its_best_sentence(index: StoryIndex) -> None:
    entries = index.timeline(about="people hurt")

    assert [(entry.source.id, entry.sentence) for entry in entries] == [
        ("monday", "Five people were hurt."),
        ("tuesday", "Twelve people were hurt, officials said on Tuesday."),
    ]
    divers = index.timeline(about="divers")
    assert [(entry.source.id, entry.sentence) for entry in divers] == [
        ("tuesday", "Divers searched the river for the missing lorry.")
    ]


def test_a_range_of_days_and_words_that_nothing_holds(index: StoryIndex) -> None:
    assert [entry.source.id for entry in index.timeline(window=DateWindow(until="2024-05-20"))] == ["monday"]
    assert index.timeline(about="volcano") == ()
    assert index.timeline(scopes=("guild:1",)) == ()
    with pytest.raises(QuestionError):
        index.timeline(about="   ")
