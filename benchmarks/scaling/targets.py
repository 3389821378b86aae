"""Issue 5's targets for the scale benchmark, and how each is read from the figures of one size."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

MILLION = 1_000_000


@dataclass(frozen=True)
class Target:
    """One target of the issue: what is measured, its bound, and the smallest size it applies at."""

    name: str
    measure: Callable[[dict[str, Any]], float | None]
    bound: float
    at_most: bool
    """True if the value must not exceed the bound, False if it must reach it."""
    unit: str = ""
    from_size: int = 0

    def passes(self, value: float) -> bool:
        """Whether a measured value meets the bound."""
        return value <= self.bound if self.at_most else value >= self.bound

    def margin(self, value: float) -> str:
        """How far the value is from the bound, as a factor ("3.2x under", "0.35x the bound")."""
        if self.bound == 0 or (self.unit == "" and self.bound == 1):
            return ""
        if self.at_most and value <= 0:
            return "under"
        if self.at_most:
            return (
                f"{self.bound / value:.1f}x under"
                if value <= self.bound
                else f"{value / self.bound:.2f}x over"
            )
        return f"{value / self.bound:.2f}x the bound"

    def bound_text(self) -> str:
        """The bound as the issue states it."""
        if self.unit == "" and self.bound == 1:
            return "yes"
        if self.bound == 0:
            return "0"
        return f"{'<=' if self.at_most else '>='} {self.bound:,g}{self.unit}"


def figure(figures: Any, *path: str) -> Any:
    """The figure at a path of keys, or None where any key is missing (a skipped phase)."""
    for key in path:
        if not isinstance(figures, dict) or key not in figures:
            return None
        figures = figures[key]
    return figures


def speedup(figures: dict[str, Any], peer: str) -> float | None:
    """How many times storybot's median question is faster than the peer's, on the same questions.

    A peer timed on fewer questions (rank-bm25 at a million paragraphs) is compared with storybot's
    latencies on those same first questions.
    """
    theirs = figure(figures, peer, "latency")
    seconds = figure(figures, "storybot", "answer", "seconds")
    if not theirs or not seconds or "p50_ms" not in theirs:
        return None
    ours = float(np.percentile(np.asarray(seconds[: theirs["questions"]]) * 1000, 50))
    return float(theirs["p50_ms"]) / ours if ours else None


def head_to_head_ratio(figures: dict[str, Any]) -> float | None:
    """bm25s's median question over storybot's, the two asked in turn in one process."""
    together = figure(figures, "bm25s", "head_to_head", "ratio")
    return None if together is None else float(together)


def _changes_seen(figures: dict[str, Any]) -> float | None:
    added = figure(figures, "storybot", "changes", "added_seen_by_other_process")
    removed = figure(figures, "storybot", "changes", "removed_unseen_by_other_process")
    return None if added is None or removed is None else float(added and removed)


def _mismatches(figures: dict[str, Any]) -> float | None:
    found = figure(figures, "rank-bm25", "same_answers", "mismatches")
    return None if found is None else float(len(found))


def _path(*keys: str) -> Callable[[dict[str, Any]], float | None]:
    return lambda figures: figure(figures, *keys)


TARGETS = (
    Target("p50 a question", _path("storybot", "answer", "latency", "p50_ms"), 20, True, " ms", MILLION),
    Target("p99 a question", _path("storybot", "answer", "latency", "p99_ms"), 100, True, " ms", MILLION),
    Target(
        "bm25s p50 / storybot p50, each in its own process",
        lambda f: speedup(f, "bm25s"),
        1,
        False,
        "x",
        100_000,
    ),
    Target("bm25s p50 / storybot p50, in turn in one process", head_to_head_ratio, 1, False, "x", 100_000),
    Target(
        "rank-bm25 p50 / storybot p50, same questions",
        lambda f: speedup(f, "rank-bm25"),
        100,
        False,
        "x",
        MILLION,
    ),
    Target("ingest", _path("storybot", "ingest", "paragraphs_per_second"), 20_000, False, " paragraphs/s"),
    Target(
        "`storybot add` of one JSONL file (issue 13)",
        _path("storybot", "cli_ingest", "paragraphs_per_second"),
        30_000,
        False,
        " paragraphs/s",
        100_000,
    ),
    Target(
        "`storybot add` peak RSS (issue 13)",
        _path("storybot", "cli_ingest", "peak_rss_mb"),
        1024,
        True,
        " MiB",
        100_000,
    ),
    Target(
        "cold start to first answer",
        _path("storybot", "cold_start", "median_seconds"),
        1,
        True,
        " s",
        MILLION,
    ),
    Target(
        "peak RSS while answering", _path("storybot", "answer", "peak_rss_mb"), 1024, True, " MiB", MILLION
    ),
    Target(
        "add one article (worst of the series)",
        _path("storybot", "changes", "add", "max_seconds"),
        1,
        True,
        " s",
        MILLION,
    ),
    Target(
        "remove one article (worst)",
        _path("storybot", "changes", "remove", "max_seconds"),
        1,
        True,
        " s",
        MILLION,
    ),
    Target("changes seen by another process", _changes_seen, 1, False, "", MILLION),
    Target(
        "event-loop lag (ask, add, remove)",
        _path("storybot", "changes", "loop_lag", "max_ms"),
        50,
        True,
        " ms",
        MILLION,
    ),
    Target("same answers as rank-bm25: mismatches", _mismatches, 0, True, ""),
)
"""Issue 5's targets; most are stated at 1,000,000 paragraphs, ingest and same answers at every size."""


def evaluate_targets(size: int, figures: dict[str, Any]) -> list[dict[str, Any]]:
    """The issue's targets that apply at this size, each with its value and verdict."""
    verdicts = []
    for target in TARGETS:
        if size < target.from_size:
            continue
        value = target.measure(figures)
        verdicts.append(
            {
                "target": target.name,
                "bound": target.bound_text(),
                "value": value,
                "verdict": "n/a" if value is None else ("pass" if target.passes(value) else "FAIL"),
                "margin": "" if value is None else target.margin(value),
                "unit": target.unit,
            }
        )
    return verdicts
