"""storybot's configuration, read once from the environment (and `.env`) at the entry point.

The one module of `bot` that reads the environment: `storybot run` through `Settings.from_env`, the CLI's
fetching commands through `fetch_policy`. It imports only `index` and `index.web.policy` (no click, dotenv,
aiohttp or discord), so both front-ends can read their settings without loading each other.

`Settings.from_env(environ)` validates every key and reports all bad ones by name in one error; tests pass a
plain dict. The token is kept out of `repr` so it can never end up in a log line or a traceback.

The operator's settings for fetching links and following feeds, read by `storybot run` and the CLI alike:

- `STORYBOT_ALLOW_PRIVATE_URLS`: empty (the default) fetches public addresses only; `1` allows every address;
  a comma-separated list of addresses or networks (`127.0.0.1`, `10.1.0.0/16`) allows just those.
- `STORYBOT_MAX_SOURCE_MB`: the largest link body or upload read, in megabytes (default 5).
- `STORYBOT_FETCH_TIMEOUT`: seconds for one fetch, redirects included (default 20).
- `STORYBOT_FEED_POLL_MINUTES`: minutes between two polls of a feed (default 60).

`STORYBOT_TIME_ZONE` (an IANA name, default UTC) is the day dates such as "yesterday" in `since`/`until` are
counted in, by the bot and the CLI alike (`time_zone`).
"""

from __future__ import annotations

import ipaddress
import logging
import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar
from urllib.parse import urlsplit

from index import DEFAULT_CACHE_BYTES, DateError, known_zone
from index.web.policy import ALL_NETWORKS, DEFAULT_MAX_BYTES, FetchPolicy, IPNetwork

T = TypeVar("T")

LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
LOG_FORMATS = ("text", "json")
DEFAULT_SHUTDOWN_SECONDS = 5.0

ALLOW_PRIVATE_URLS = "STORYBOT_ALLOW_PRIVATE_URLS"
MAX_SOURCE_MB = "STORYBOT_MAX_SOURCE_MB"
FETCH_TIMEOUT = "STORYBOT_FETCH_TIMEOUT"
FEED_POLL_MINUTES = "STORYBOT_FEED_POLL_MINUTES"
TIME_ZONE = "STORYBOT_TIME_ZONE"

DEFAULT_FEED_POLL_MINUTES = 60.0
DEFAULT_FETCH_TIMEOUT = 20.0
_ALL = frozenset({"1", "true", "yes", "on", "all"})
_NONE = frozenset({"0", "false", "no", "off", "none"})

_LIMIT = re.compile(r"\s*([0-9]+)\s*/\s*([0-9]+(?:\.[0-9]+)?)\s*")


def default_database() -> Path:
    """The per-user database file used when neither --db nor STORYBOT_DB is given."""
    from platformdirs import user_data_dir  # noqa: PLC0415 (only when no database is named)

    return Path(user_data_dir("storybot", appauthor=False)) / "storybot.db"


@dataclass(frozen=True)
class Limit:
    """At most `rate` questions in any `per` seconds."""

    rate: int
    per: float

    @classmethod
    def parse(cls, raw: str) -> Limit:
        """`5/30`: 5 questions per 30 seconds; ValueError saying what is expected."""
        match = _LIMIT.fullmatch(raw)
        if match is None or int(match[1]) < 1 or float(match[2]) <= 0:
            raise ValueError(f"must be questions/seconds, such as 5/30, not {raw!r}")
        return cls(int(match[1]), float(match[2]))

    def __str__(self) -> str:
        return f"{self.rate}/{self.per:g}"


DEFAULT_USER_LIMIT = Limit(5, 30.0)
DEFAULT_SERVER_LIMIT = Limit(30, 30.0)


class SettingsError(Exception):
    """A setting is missing or malformed; the message names every bad key."""


@dataclass(frozen=True)
class Settings:
    """Everything `storybot run` needs to know, validated."""

    token: str = field(repr=False)
    database: Path = field(default_factory=default_database)
    log_level: int = logging.INFO
    log_format: str = "text"
    """`text` (discord.py's lines) or `json` (one object a line, for a log collector)."""
    owner_ids: frozenset[int] = frozenset()
    dev_guild_id: int | None = None
    shard_count: int | None = None
    shard_ids: tuple[int, ...] | None = None
    api_base: str | None = None
    gateway_url: str | None = None
    fetch: FetchPolicy = field(default_factory=FetchPolicy)
    """How links and feeds are fetched: allowed private networks, size cap (uploads too), timeout."""
    feed_poll_minutes: float = DEFAULT_FEED_POLL_MINUTES
    user_limit: Limit = DEFAULT_USER_LIMIT
    """Questions one user may ask (in servers and DMs together)."""
    server_limit: Limit = DEFAULT_SERVER_LIMIT
    """Questions one server's members may ask together."""
    shutdown_seconds: float = DEFAULT_SHUTDOWN_SECONDS
    """On SIGTERM, how long answers in flight may take before their users are told the bot is restarting."""
    cache_bytes: int = DEFAULT_CACHE_BYTES
    """Memory for recent question terms' posting lists (0: none kept; every question reads SQLite)."""
    time_zone: str = "UTC"
    """The IANA time zone relative dates ("yesterday") in `since`/`until` are counted in."""

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> Settings:
        """Read and validate the settings; an empty value counts as unset, as in `.env.example`."""
        reader = _Reader(environ)
        token = reader.get("DISCORD_TOKEN", _token, required=True)
        database = reader.get("STORYBOT_DB", _path)
        log_level = reader.get("LOG_LEVEL", _log_level)
        log_format = reader.get("LOG_FORMAT", _log_format)
        owner_ids = reader.get("OWNER_IDS", _snowflakes)
        dev_guild_id = reader.get("DEV_GUILD_ID", _snowflake)
        shard_count = reader.get("SHARD_COUNT", _positive_int)
        shard_ids = reader.get("SHARD_IDS", _shard_ids)
        api_base = reader.get("DISCORD_API_BASE", _api_base)
        gateway_url = reader.get("DISCORD_GATEWAY_URL", _gateway_url)
        fetch = _fetch_policy(reader)
        feed_poll_minutes = reader.get(FEED_POLL_MINUTES, positive_number)
        user_limit = reader.get("STORYBOT_USER_LIMIT", Limit.parse)
        server_limit = reader.get("STORYBOT_SERVER_LIMIT", Limit.parse)
        shutdown_seconds = reader.get("STORYBOT_SHUTDOWN_SECONDS", positive_number)
        cache_bytes = reader.get("STORYBOT_CACHE_MB", _megabytes)
        zone = reader.get(TIME_ZONE, _time_zone)
        if shard_ids is not None and "SHARD_IDS" not in reader.errors:
            if shard_count is None:
                reader.errors["SHARD_IDS"] = "needs SHARD_COUNT, the total number of shards"
            elif any(shard >= shard_count for shard in shard_ids):
                reader.errors["SHARD_IDS"] = f"every shard id must be below SHARD_COUNT ({shard_count})"
        if reader.errors:
            details = "; ".join(f"{key}: {problem}" for key, problem in reader.errors.items())
            raise SettingsError(f"bad settings in the environment or .env: {details}")
        return cls(
            token=token or "",
            database=database or default_database(),
            log_level=log_level if log_level is not None else logging.INFO,
            log_format=log_format or "text",
            owner_ids=owner_ids or frozenset(),
            dev_guild_id=dev_guild_id,
            shard_count=shard_count,
            shard_ids=shard_ids,
            api_base=api_base,
            gateway_url=gateway_url,
            fetch=fetch,
            feed_poll_minutes=feed_poll_minutes or DEFAULT_FEED_POLL_MINUTES,
            user_limit=user_limit or DEFAULT_USER_LIMIT,
            server_limit=server_limit or DEFAULT_SERVER_LIMIT,
            shutdown_seconds=shutdown_seconds or DEFAULT_SHUTDOWN_SECONDS,
            cache_bytes=DEFAULT_CACHE_BYTES if cache_bytes is None else cache_bytes,
            time_zone=zone or "UTC",
        )


class _Reader:
    """Collects the problems of every key instead of stopping at the first."""

    def __init__(self, environ: Mapping[str, str]) -> None:
        self.environ = environ
        self.errors: dict[str, str] = {}

    def get(self, key: str, parse: Callable[[str], T], *, required: bool = False) -> T | None:
        raw = self.environ.get(key, "").strip()
        if not raw:
            if required:
                self.errors[key] = "is required (copy .env.example to .env and fill it in)"
            return None
        try:
            return parse(raw)
        except ValueError as error:
            self.errors[key] = str(error)
            return None


def fetch_policy(environ: Mapping[str, str]) -> FetchPolicy:
    """The fetch policy the environment sets; ValueError names every bad key."""
    reader = _Reader(environ)
    policy = _fetch_policy(reader)
    if reader.errors:
        raise ValueError("; ".join(f"{key}: {problem}" for key, problem in reader.errors.items()))
    return policy


def shard_ids(environ: Mapping[str, str]) -> tuple[int, ...] | None:
    """The shards `SHARD_IDS` names (None: unset, one process runs them all); ValueError if malformed."""
    raw = environ.get("SHARD_IDS", "").strip()
    return _shard_ids(raw) if raw else None


def time_zone(environ: Mapping[str, str]) -> str:
    """The time zone `STORYBOT_TIME_ZONE` names (default UTC); ValueError if it names none."""
    raw = environ.get(TIME_ZONE, "").strip()
    return _time_zone(raw) if raw else "UTC"


def _time_zone(raw: str) -> str:
    try:
        known_zone(raw)
    except DateError as error:
        raise ValueError(str(error)) from None
    return raw


def _fetch_policy(reader: _Reader) -> FetchPolicy:
    """The fetch policy from its three keys, each bad one noted in `reader.errors`."""
    networks = reader.get(ALLOW_PRIVATE_URLS, allowed_networks)
    megabytes = reader.get(MAX_SOURCE_MB, positive_number)
    timeout = reader.get(FETCH_TIMEOUT, positive_number)
    return FetchPolicy(
        allowed_networks=networks or (),
        timeout=timeout or DEFAULT_FETCH_TIMEOUT,
        max_bytes=int(megabytes * 1024 * 1024) if megabytes else DEFAULT_MAX_BYTES,
    )


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


def _token(raw: str) -> str:
    # The value itself never goes into the message: it is a secret even when malformed.
    if any(char.isspace() for char in raw):
        raise ValueError("must be the bot token from the developer portal, without spaces")
    return raw


def _path(raw: str) -> Path:
    return Path(raw).expanduser()


def _log_level(raw: str) -> int:
    name = raw.upper()
    if name not in LOG_LEVELS:
        raise ValueError(f"must be one of {', '.join(LOG_LEVELS)}, not {raw!r}")
    level: int = getattr(logging, name)
    return level


def _log_format(raw: str) -> str:
    name = raw.lower()
    if name not in LOG_FORMATS:
        raise ValueError(f"must be one of {', '.join(LOG_FORMATS)}, not {raw!r}")
    return name


def _snowflake(raw: str) -> int:
    if not raw.isdigit() or not 0 < int(raw) < 2**64:
        raise ValueError(f"must be a Discord id (a number), not {raw!r}")
    return int(raw)


def _snowflakes(raw: str) -> frozenset[int]:
    return frozenset(_snowflake(part.strip()) for part in raw.split(",") if part.strip())


def _megabytes(raw: str) -> int:
    """A size given in megabytes (0 or more, decimals allowed), in bytes."""
    value = finite_number(raw)
    if not 0 <= value <= 1024 * 1024:
        raise ValueError(f"must be a number of megabytes, 0 or more, not {raw!r}")
    return int(value * 1024 * 1024)


def _positive_int(raw: str) -> int:
    if not raw.isdigit() or int(raw) < 1:
        raise ValueError(f"must be a whole number of at least 1, not {raw!r}")
    return int(raw)


def _shard_ids(raw: str) -> tuple[int, ...]:
    parts = [part.strip() for part in raw.split(",") if part.strip()]
    if not parts or not all(part.isdigit() for part in parts):
        raise ValueError(f"must be comma-separated shard numbers such as 0,1, not {raw!r}")
    ids = tuple(int(part) for part in parts)
    if len(set(ids)) != len(ids):
        raise ValueError("lists a shard twice")
    return ids


def _api_base(raw: str) -> str:
    base = raw.rstrip("/")
    parts = urlsplit(base)
    if parts.scheme not in ("http", "https") or not parts.netloc or not base.endswith("/api/v10"):
        raise ValueError(
            f"must be an http(s) URL ending in /api/v10, such as http://127.0.0.1:8080/api/v10, not {raw!r}"
        )
    return base


def _gateway_url(raw: str) -> str:
    parts = urlsplit(raw)
    if parts.scheme not in ("ws", "wss") or not parts.netloc:
        raise ValueError(f"must be a ws:// or wss:// URL, such as ws://127.0.0.1:8080/, not {raw!r}")
    return raw
