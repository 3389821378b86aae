"""Dates as people type them, read as days in the operator's time zone (DST changes included)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from index import DateError, DateWindow, parse_day, parse_window
from index.dates import MAX_DATE_CHARS

# Half past midnight in Berlin on the night summer time began (2024-03-31, clocks 02:00 -> 03:00), one
# day later, and in the autumn night it ended (2024-10-27, clocks 03:00 -> 02:00).
AFTER_SPRING_CHANGE = datetime(2024, 3, 31, 22, 30, tzinfo=UTC)  # 00:30 CEST on 1 April in Berlin
AFTER_AUTUMN_CHANGE = datetime(2024, 10, 27, 23, 30, tzinfo=UTC)  # 00:30 CET on 28 October in Berlin


def test_an_iso_day_is_itself_in_any_zone() -> None:
    assert parse_day("2024-05-27", "UTC", AFTER_SPRING_CHANGE) == "2024-05-27"
    assert parse_day(" 2024-05-27 ", "Pacific/Auckland", AFTER_SPRING_CHANGE) == "2024-05-27"
    assert parse_day("27 May 2024", "UTC", AFTER_SPRING_CHANGE) == "2024-05-27"


@pytest.mark.parametrize(
    ("typed", "in_utc", "in_berlin"),
    [
        ("yesterday", "2024-03-30", "2024-03-31"),
        ("today", "2024-03-31", "2024-04-01"),
        ("3 days ago", "2024-03-28", "2024-03-29"),
        ("last week", "2024-03-24", "2024-03-25"),
    ],
)
def test_relative_days_count_from_now_in_the_configured_zone_across_the_spring_change(
    typed: str, in_utc: str, in_berlin: str
) -> None:
    assert parse_day(typed, "UTC", AFTER_SPRING_CHANGE) == in_utc
    assert parse_day(typed, "Europe/Berlin", AFTER_SPRING_CHANGE) == in_berlin


def test_relative_days_across_the_autumn_change() -> None:
    assert parse_day("yesterday", "Europe/Berlin", AFTER_AUTUMN_CHANGE) == "2024-10-27"
    assert parse_day("yesterday", "UTC", AFTER_AUTUMN_CHANGE) == "2024-10-26"
    assert parse_day("2 days ago", "Europe/Berlin", AFTER_AUTUMN_CHANGE) == "2024-10-26"


def test_a_month_alone_starts_a_range_on_its_first_day_and_ends_it_on_its_last() -> None:
    window = parse_window("May 2024", "May 2024", "UTC", AFTER_SPRING_CHANGE)
    assert window == DateWindow("2024-05-01", "2024-05-31")


@pytest.mark.parametrize("typed", ["soonish", "2024-13-45", "", "   ", "x" * (MAX_DATE_CHARS + 1)])
def test_what_is_no_date_is_a_clear_error(typed: str) -> None:
    with pytest.raises(DateError, match="try 2024-05-27, yesterday, last week or 3 days ago"):
        parse_day(typed, "UTC", AFTER_SPRING_CHANGE)


def test_a_range_that_ends_before_it_starts_is_refused() -> None:
    with pytest.raises(DateError, match=r"ends \(2024-05-01\) before it starts \(2024-05-27\)"):
        parse_window("2024-05-27", "2024-05-01", "UTC", AFTER_SPRING_CHANGE)


def test_an_unknown_zone_is_refused_by_name() -> None:
    with pytest.raises(DateError, match="unknown time zone 'Mars/Olympus'"):
        parse_day("yesterday", "Mars/Olympus", AFTER_SPRING_CHANGE)


def test_no_dates_is_no_window_and_one_end_leaves_the_other_open() -> None:
    assert parse_window(None, None) is None
    assert parse_window("2024-05-27", None) == DateWindow("2024-05-27", None)
    assert parse_window(None, "2024-05-27") == DateWindow(None, "2024-05-27")


def test_a_window_holds_the_days_between_its_ends_both_included() -> None:
    window = DateWindow("2024-05-01", "2024-05-31")
    assert [window.holds(day) for day in ("2024-04-30", "2024-05-01", "2024-05-31", "2024-06-01")] == [
        False,
        True,
        True,
        False,
    ]
    assert not window.holds(None)
    assert window.describe() == "from 2024-05-01 to 2024-05-31"
    assert DateWindow(since="2024-05-01").describe() == "since 2024-05-01"
