"""Dates as people type them ("2024-05-27", "yesterday", "last week", "3 days ago"), read as calendar days.

dateparser reads the words; relative dates count from now in the time zone the operator configured, since
"yesterday" at half past midnight in Berlin is not yesterday in UTC. A day, not an instant, is what a source's
date is (a publication date has no time), so both ends of a range are days and both are included.
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from index.errors import DateError
from index.models import DateWindow

MAX_DATE_CHARS = 64
"""A longer date is refused before dateparser reads it (its patterns cost time on long inputs)."""

_EXAMPLES = "try 2024-05-27, yesterday, last week or 3 days ago"


def known_zone(name: str) -> ZoneInfo:
    """The IANA time zone `name` ("Europe/Berlin", "UTC"); DateError if there is none of that name."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise DateError(f"unknown time zone {name!r}: use an IANA name, e.g. UTC or Europe/Berlin") from None


def parse_day(text: str, zone: str = "UTC", now: datetime | None = None, *, end: bool = False) -> str:
    """The ISO day (YYYY-MM-DD) that `text` names, relative dates counted from `now` in `zone`.

    A month alone ("May 2024") names its first day, or with `end` its last. DateError if it is no date.
    """
    # Imported here: dateparser takes a fifth of a second to load, which only dated questions pay.
    import dateparser  # noqa: PLC0415

    written = " ".join(text.split())
    if not written:
        raise DateError(f"the date is empty: {_EXAMPLES}")
    if len(written) > MAX_DATE_CHARS:
        raise DateError(f"the date is {len(written)} characters long; {_EXAMPLES}")
    local_now = (now or datetime.now(ZoneInfo("UTC"))).astimezone(known_zone(zone)).replace(tzinfo=None)
    parsed = dateparser.parse(
        written,
        languages=["en"],
        settings={
            "RELATIVE_BASE": local_now,
            "PREFER_DATES_FROM": "past",
            "PREFER_DAY_OF_MONTH": "last" if end else "first",
            "DATE_ORDER": "YMD",
            "RETURN_AS_TIMEZONE_AWARE": False,
        },
    )
    if parsed is None:
        raise DateError(f"{written!r} is not a date I can read: {_EXAMPLES}")
    day: str = parsed.date().isoformat()
    return day


def parse_window(
    since: str | None, until: str | None, zone: str = "UTC", now: datetime | None = None
) -> DateWindow | None:
    """The range of days from `since` to `until` (either may be None); None if both are."""
    if since is None and until is None:
        return None
    window = DateWindow(
        None if since is None else parse_day(since, zone, now),
        None if until is None else parse_day(until, zone, now, end=True),
    )
    if window.since and window.until and window.since > window.until:
        raise DateError(f"the range ends ({window.until}) before it starts ({window.since})")
    return window
