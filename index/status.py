"""How storybot is doing, as both front-ends show it: `/admin status` and `storybot status` print the same
figures from `Status.figures`, and `storybot health` judges the heartbeat the running bot keeps in the
database (`Heartbeat`, under the front-end setting `HEARTBEAT_SETTING`).

The heartbeat lives in the database because the health check runs in another process (a container's
HEALTHCHECK, a monitoring script): the file is the one thing both processes already share.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any, Literal

from index.models import IndexStats, Usage

HEARTBEAT_SETTING = "gateway_heartbeat"
"""The front-end setting (`StoryIndex.get_setting`) under which the running bot keeps its `Heartbeat`."""


def heartbeat_setting(shard_ids: Sequence[int] | None = None) -> str:
    """Where a bot process running these shards (`SHARD_IDS`; None: all of them, unsharded) keeps its
    heartbeat: shard processes share the database, and each one's health is its own."""
    if shard_ids is None:
        return HEARTBEAT_SETTING
    return f"{HEARTBEAT_SETTING}:shards={','.join(str(shard) for shard in sorted(shard_ids))}"


HEARTBEAT_SECONDS = 30.0
"""How often the running bot records that its gateway connection is alive."""

DEFAULT_MAX_AGE_SECONDS = 3 * HEARTBEAT_SECONDS
"""How old a heartbeat may be before `storybot health` says the bot is not connected (three missed beats)."""

BotState = Literal["starting", "connected", "stopped"]


@dataclass(frozen=True)
class Heartbeat:
    """The running bot's last word: its state, when it said so, and since when it runs (Unix seconds)."""

    state: BotState
    at: float
    started_at: float
    latency: float | None = None
    """The gateway's heartbeat round trip in seconds, when the bot is connected."""

    def to_setting(self) -> str:
        """The value kept in the database."""
        return json.dumps(asdict(self), sort_keys=True)

    @classmethod
    def from_setting(cls, raw: str | None) -> Heartbeat | None:
        """The heartbeat a setting holds; None when there is none or it is not one (never an error)."""
        if raw is None:
            return None
        try:
            data = json.loads(raw)
            heartbeat = cls(
                state=data["state"],
                at=float(data["at"]),
                started_at=float(data["started_at"]),
                latency=None if data.get("latency") is None else float(data["latency"]),
            )
        except (ValueError, TypeError, KeyError):
            return None
        if heartbeat.state not in ("starting", "connected", "stopped"):
            return None
        return heartbeat

    def problem(self, now: float, max_age: float = DEFAULT_MAX_AGE_SECONDS) -> str | None:
        """Why the bot is unhealthy at `now`, or None: a bot that stopped cleanly is not a problem, one that
        says it runs must have said so within `max_age` seconds."""
        age = now - self.at
        if self.state == "stopped" or age <= max_age:
            return None
        if self.state == "starting":
            return f"the bot started {age:.0f} s ago and has not connected to Discord"
        return f"the bot's last gateway heartbeat was {age:.0f} s ago (more than {max_age:g} s)"

    def uptime(self, now: float, max_age: float = DEFAULT_MAX_AGE_SECONDS) -> float | None:
        """Seconds the bot has been running at `now`, or None when it is not running (stopped or silent)."""
        if self.state == "stopped" or now - self.at > max_age:
            return None
        return max(0.0, now - self.started_at)


@dataclass(frozen=True)
class Status:
    """The figures of `/admin status`: the index, its last reindex, questions, feedback, latency, uptime."""

    stats: IndexStats
    usage: Usage
    uptime_seconds: float | None
    """None when no bot is running (`storybot status` without a live heartbeat)."""

    def figures(self) -> tuple[tuple[str, str], ...]:
        """(name, value) pairs in the order shown; values are plain text, a front-end escapes them."""
        stats, usage = self.stats, self.usage
        last = stats.last_reindex_at or "never"
        if stats.last_reindex_at and stats.last_reindex_seconds is not None:
            last += f" in {stats.last_reindex_seconds:.2f} s"
        uptime = "not running" if self.uptime_seconds is None else duration_text(self.uptime_seconds)
        return (
            (
                "Index",
                f"{counted(stats.sources, 'source')} · {counted(stats.paragraphs, 'paragraph')} · "
                f"{counted(stats.terms, 'term')} · "
                f"{stats.database_bytes / 1_048_576:.1f} MB",
            ),
            ("Last reindex", last),
            ("Questions", f"{usage.answered} answered · {usage.unanswered} not answered"),
            ("Feedback", f"👍 {usage.thumbs_up} · 👎 {usage.thumbs_down}"),
            ("/ask latency", f"p50 {_ms(usage.latency_p50)} · p95 {_ms(usage.latency_p95)}"),
            ("Uptime", uptime),
        )

    def to_json(self) -> dict[str, Any]:
        """The same figures as numbers (seconds, bytes, counts; null when unknown), for scripts."""
        uptime = self.uptime_seconds
        return {"index": asdict(self.stats), "usage": asdict(self.usage), "uptime_seconds": uptime}


def counted(count: int, noun: str, plural: str | None = None) -> str:
    """How a count reads in every front-end: "1 source", "2 sources", "1,234 paragraphs"; `plural` for
    nouns that do not take an s."""
    return f"{count:,} {noun if count == 1 else plural or noun + 's'}"


def duration_text(seconds: float) -> str:
    """`3d 4h 5m 6s`, leaving out leading zero units."""
    whole = int(seconds) if math.isfinite(seconds) else 0
    days, rest = divmod(whole, 86_400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    parts = [(days, "d"), (hours, "h"), (minutes, "m")]
    shown = [f"{value}{unit}" for value, unit in parts if value]
    return " ".join([*shown, f"{secs}s"])


def _ms(seconds: float | None) -> str:
    return "-" if seconds is None else f"{seconds * 1000:.0f} ms"
