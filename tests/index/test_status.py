"""The status figures both front-ends show, and the heartbeat `storybot health` judges."""

from __future__ import annotations

import pytest

from index import Heartbeat, IndexStats, Status, Usage

STATS = IndexStats(3, 42, 900, 2, 3 * 1_048_576, 4, "2026-12-01T10:00:00+00:00", 1.234)
USAGE = Usage(7, 2, 3, 1, 0.0125, 0.25)


def test_the_figures_in_order_as_admin_status_shows_them() -> None:
    assert Status(STATS, USAGE, 93_784).figures() == (
        ("Index", "3 sources · 42 paragraphs · 900 terms · 3.0 MB"),
        ("Last reindex", "2026-12-01T10:00:00+00:00 in 1.23 s"),
        ("Questions", "7 answered · 2 not answered"),
        ("Feedback", "👍 3 · 👎 1"),
        ("/ask latency", "p50 12 ms · p95 250 ms"),
        ("Uptime", "1d 2h 3m 4s"),
    )


def test_an_unused_index_without_a_bot() -> None:
    empty = IndexStats(0, 0, 0, 0, 4096, 4, None, None)
    figures = dict(Status(empty, Usage(0, 0, 0, 0, None, None), None).figures())
    assert figures["Last reindex"] == "never"
    assert figures["/ask latency"] == "p50 - · p95 -"
    assert figures["Uptime"] == "not running"


def test_the_json_holds_the_numbers() -> None:
    figures = Status(STATS, USAGE, 12.5).to_json()
    assert figures["index"]["paragraphs"] == 42 and figures["index"]["last_reindex_seconds"] == 1.234
    assert figures["usage"]["latency_p95"] == 0.25
    assert figures["uptime_seconds"] == 12.5


def test_a_heartbeat_round_trips_through_its_setting() -> None:
    beat = Heartbeat("connected", 1000.0, 400.0, 0.042)
    assert Heartbeat.from_setting(beat.to_setting()) == beat


@pytest.mark.parametrize(
    "raw",
    [None, "", "not json", "[]", '{"state": "dancing", "at": 1, "started_at": 1}', '{"state": "connected"}',
     '{"state": "connected", "at": "soon", "started_at": 1}'],
)  # fmt: skip
def test_anything_else_in_the_setting_is_no_heartbeat(raw: str | None) -> None:
    assert Heartbeat.from_setting(raw) is None


@pytest.mark.parametrize(
    ("state", "age", "problem"),
    [
        ("connected", 90.0, None),
        ("connected", 91.0, "the bot's last gateway heartbeat was 91 s ago (more than 90 s)"),
        ("starting", 60.0, None),
        ("starting", 100.0, "the bot started 100 s ago and has not connected to Discord"),
        ("stopped", 86_400.0, None),
    ],
)
def test_what_is_a_problem(state: str, age: float, problem: str | None) -> None:
    beat = Heartbeat(state, 1000.0, 500.0)  # type: ignore[arg-type]
    assert beat.problem(now=1000.0 + age) == problem


def test_uptime_only_while_the_bot_runs() -> None:
    assert Heartbeat("connected", 1000.0, 400.0).uptime(now=1010.0) == 610.0
    assert Heartbeat("connected", 1000.0, 400.0).uptime(now=1100.0) is None
    assert Heartbeat("stopped", 1000.0, 400.0).uptime(now=1001.0) is None
