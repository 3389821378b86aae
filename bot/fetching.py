"""The operator's settings for fetching links and following feeds, read by `storybot run` and the CLI alike.

- `STORYBOT_ALLOW_PRIVATE_URLS`: empty (the default) fetches public addresses only; `1` allows every address;
  a comma-separated list of addresses or networks (`127.0.0.1`, `10.1.0.0/16`) allows just those.
- `STORYBOT_MAX_SOURCE_MB`: the largest link body or upload read, in megabytes (default 5).
- `STORYBOT_FETCH_TIMEOUT`: seconds for one fetch, redirects included (default 20).
- `STORYBOT_FEED_POLL_MINUTES`: minutes between two polls of a feed (default 60).
"""

from __future__ import annotations

import ipaddress
import math
from collections.abc import Callable, Mapping
from typing import Protocol, TypeVar

from index.web.policy import ALL_NETWORKS, DEFAULT_MAX_BYTES, FetchPolicy, IPNetwork

T = TypeVar("T")

ALLOW_PRIVATE_URLS = "STORYBOT_ALLOW_PRIVATE_URLS"
MAX_SOURCE_MB = "STORYBOT_MAX_SOURCE_MB"
FETCH_TIMEOUT = "STORYBOT_FETCH_TIMEOUT"
FEED_POLL_MINUTES = "STORYBOT_FEED_POLL_MINUTES"

DEFAULT_FEED_POLL_MINUTES = 60.0
DEFAULT_FETCH_TIMEOUT = 20.0
_ALL = frozenset({"1", "true", "yes", "on", "all"})
_NONE = frozenset({"0", "false", "no", "off", "none"})


def allowed_networks(raw: str) -> tuple[IPNetwork, ...]:
    """`1` (every address), `0` (none), or comma-separated addresses and networks such as 127.0.0.0/8."""
    value = raw.strip().lower()
    if value in _ALL:
        return ALL_NETWORKS
    if value in _NONE:
        return ()
    networks: list[IPNetwork] = []
    for part in (piece.strip() for piece in raw.split(",")):
        if not part:
            continue
        try:
            networks.append(ipaddress.ip_network(part, strict=False))
        except ValueError:
            raise ValueError(
                f"must be 1 (allow every address), or addresses and networks such as 127.0.0.1 or "
                f"10.0.0.0/8, not {part!r}"
            ) from None
    return tuple(networks)


def finite_number(raw: str) -> float:
    """The number `raw` spells (decimals allowed), or NaN when it spells none or an infinite one."""
    try:
        value = float(raw)
    except ValueError:
        return math.nan
    return value if math.isfinite(value) else math.nan


def positive_number(raw: str) -> float:
    """A number above zero (decimals allowed)."""
    value = finite_number(raw)
    if not value > 0:
        raise ValueError(f"must be a number above 0, not {raw!r}")
    return value


class Read(Protocol):
    """Reads one key with a parser, noting a bad value (as `bot.settings` does for every key)."""

    def __call__(self, key: str, parse: Callable[[str], T], /) -> T | None: ...


def fetch_policy(environ: Mapping[str, str], read: Read | None = None) -> FetchPolicy:
    """The fetch policy the environment sets; ValueError names every bad key (unless `read` notes them)."""
    errors: dict[str, str] = {}

    def default_read(key: str, parse: Callable[[str], T]) -> T | None:
        raw = environ.get(key, "").strip()
        if not raw:
            return None
        try:
            return parse(raw)
        except ValueError as error:
            errors[key] = str(error)
            return None

    get = read or default_read
    networks = get(ALLOW_PRIVATE_URLS, allowed_networks)
    megabytes = get(MAX_SOURCE_MB, positive_number)
    timeout = get(FETCH_TIMEOUT, positive_number)
    if errors:
        raise ValueError("; ".join(f"{key}: {problem}" for key, problem in errors.items()))
    return FetchPolicy(
        allowed_networks=networks or (),
        timeout=timeout or DEFAULT_FETCH_TIMEOUT,
        max_bytes=int(megabytes * 1024 * 1024) if megabytes else DEFAULT_MAX_BYTES,
    )
