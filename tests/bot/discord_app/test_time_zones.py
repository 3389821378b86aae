"""A server's time zone without Discord: names matched to the IANA database, choices offered, the fallback."""

from __future__ import annotations

import pytest

from bot.discord_app.time_zones import (
    MAX_ZONE_CHARS,
    ServerZone,
    canonical_zone,
    zone_choices,
    zone_in_use,
    zone_key,
)
from index import DateError


@pytest.mark.parametrize(
    ("typed", "zone"),
    [("Europe/Berlin", "Europe/Berlin"), ("europe/berlin", "Europe/Berlin"), ("  utc ", "UTC")],
)
def test_a_zone_is_matched_without_regard_to_case(typed: str, zone: str) -> None:
    assert canonical_zone(typed) == zone


@pytest.mark.parametrize(
    ("typed", "problem"),
    [
        ("Mars/Olympus", "unknown time zone 'Mars/Olympus': use an IANA name, e.g. UTC or Europe/Berlin"),
        # ZoneInfo's refusal of an absolute path (a ValueError) reads as any unknown name.
        ("/Europe/Berlin", "unknown time zone '/Europe/Berlin': use an IANA name, e.g. UTC or Europe/Berlin"),
        ("   ", "a time zone is an IANA name of at most 100 characters, e.g. Europe/Berlin"),
        (
            "Europe/" + "x" * MAX_ZONE_CHARS,
            "a time zone is an IANA name of at most 100 characters, e.g. Europe/Berlin",
        ),
    ],
)
def test_anything_else_is_a_one_line_date_error(typed: str, problem: str) -> None:
    with pytest.raises(DateError) as refused:
        canonical_zone(typed)
    assert str(refused.value) == problem


def test_choices_start_with_what_was_typed_then_hold_it() -> None:
    assert zone_choices("berl") == ["Europe/Berlin"]
    assert zone_choices("new york") == ["America/New_York"]
    london = zone_choices("lond")
    assert london == ["Europe/London"]
    offered = zone_choices("")
    assert len(offered) == 25 and offered == sorted(offered)
    assert all(len(name) <= MAX_ZONE_CHARS for name in offered)
    # Names starting with what was typed first ("Indian/..."), then those holding it ("America/Indiana/...").
    indian = zone_choices("ind")
    assert indian[:2] == ["Indian/Antananarivo", "Indian/Chagos"]
    assert indian.index("America/Indiana/Knox") > indian.index("Indian/Reunion")


def test_a_server_without_a_zone_has_the_default() -> None:
    assert zone_in_use(None, "UTC") == ServerZone("UTC", chosen=False)
    assert zone_in_use("", "Europe/Berlin") == ServerZone("Europe/Berlin", chosen=False)
    assert zone_in_use("Asia/Tokyo", "UTC") == ServerZone("Asia/Tokyo", chosen=True)
    assert zone_key(42) == "time_zone:guild:42"
