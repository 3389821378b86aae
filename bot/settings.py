"""The bot's configuration, read once from the environment (and `.env`) at the entry point.

`Settings.from_env(environ)` validates every key and reports all bad ones by name in one error; tests pass a
plain dict. The token is kept out of `repr` so it can never end up in a log line or a traceback.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar
from urllib.parse import urlsplit

from bot.admission import DEFAULT_SERVER_LIMIT, DEFAULT_USER_LIMIT, Limit
from bot.cli import default_database
from bot.fetching import (
    DEFAULT_FEED_POLL_MINUTES,
    FEED_POLL_MINUTES,
    fetch_policy,
    finite_number,
    positive_number,
)
from index import DEFAULT_CACHE_BYTES
from index.web.policy import FetchPolicy

T = TypeVar("T")

LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
DEFAULT_SHUTDOWN_SECONDS = 5.0


class SettingsError(Exception):
    """A setting is missing or malformed; the message names every bad key."""


@dataclass(frozen=True)
class Settings:
    """Everything `storybot run` needs to know, validated."""

    token: str = field(repr=False)
    database: Path = field(default_factory=default_database)
    log_level: int = logging.INFO
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

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> Settings:
        """Read and validate the settings; an empty value counts as unset, as in `.env.example`."""
        reader = _Reader(environ)
        token = reader.get("DISCORD_TOKEN", _token, required=True)
        database = reader.get("STORYBOT_DB", _path)
        log_level = reader.get("LOG_LEVEL", _log_level)
        owner_ids = reader.get("OWNER_IDS", _snowflakes)
        dev_guild_id = reader.get("DEV_GUILD_ID", _snowflake)
        shard_count = reader.get("SHARD_COUNT", _positive_int)
        shard_ids = reader.get("SHARD_IDS", _shard_ids)
        api_base = reader.get("DISCORD_API_BASE", _api_base)
        gateway_url = reader.get("DISCORD_GATEWAY_URL", _gateway_url)
        fetch = fetch_policy(environ, reader.get)
        feed_poll_minutes = reader.get(FEED_POLL_MINUTES, positive_number)
        user_limit = reader.get("STORYBOT_USER_LIMIT", Limit.parse)
        server_limit = reader.get("STORYBOT_SERVER_LIMIT", Limit.parse)
        shutdown_seconds = reader.get("STORYBOT_SHUTDOWN_SECONDS", positive_number)
        cache_bytes = reader.get("STORYBOT_CACHE_MB", _megabytes)
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
