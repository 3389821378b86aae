"""Which time zone a server's dates are read in: its own (`/admin timezone`), else the operator's, else UTC.

A server's zone is kept with the index's settings under `time_zone:guild:<id>`, so every shard process on
the database reads the same one. DMs have no server and use the operator's `STORYBOT_TIME_ZONE`. Plain
logic: no Discord here.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from zoneinfo import available_timezones

from index import DateError, known_zone

ZONE_SETTING = "time_zone:guild"
MAX_ZONE_CHARS = 100
"""Discord's limit for a string option's choice value; every IANA name is far shorter."""
MAX_ZONE_CHOICES = 25


@dataclass(frozen=True)
class ServerZone:
    """The zone a server's dates are read in, and whether the server chose it or inherits the default."""

    name: str
    chosen: bool


def zone_key(guild_id: int) -> str:
    """The settings key of a server's time zone."""
    return f"{ZONE_SETTING}:{guild_id}"


def zone_in_use(chosen: str | None, default: str) -> ServerZone:
    """The server's chosen zone if it has one (an empty value means it went back to the default)."""
    return ServerZone(chosen, True) if chosen else ServerZone(default, False)


@cache
def _zone_names() -> tuple[str, ...]:
    # Read once: the system's tz database does not change while the bot runs.
    return tuple(sorted(name for name in available_timezones() if len(name) <= MAX_ZONE_CHARS))


def canonical_zone(typed: str) -> str:
    """The IANA name `typed` means, matched without regard to case ("europe/berlin" is Europe/Berlin);
    DateError naming what was typed if there is no such zone."""
    written = typed.strip()
    if not written or len(written) > MAX_ZONE_CHARS:
        raise DateError(
            f"a time zone is an IANA name of at most {MAX_ZONE_CHARS} characters, e.g. Europe/Berlin"
        )
    for name in _zone_names():
        if name.lower() == written.lower():
            return name
    known_zone(written)  # a name the system knows but does not list (e.g. a link such as "US/Pacific")
    return written


def zone_choices(typed: str) -> list[str]:
    """The zone names to offer for what was typed: those starting with it first, then those containing it."""
    needle = typed.strip().lower().replace(" ", "_")
    names = _zone_names()
    starting = [name for name in names if name.lower().startswith(needle)]
    if len(starting) >= MAX_ZONE_CHOICES:
        return starting[:MAX_ZONE_CHOICES]
    containing = [name for name in names if needle in name.lower() and name not in starting]
    return [*starting, *containing][:MAX_ZONE_CHOICES]
