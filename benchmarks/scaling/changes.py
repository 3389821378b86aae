"""storybot's write-side phase of the scale benchmark: single-article changes, seen from another process.

    changes  add and remove articles one at a time while `observe` (another process) watches; the
             event-loop lag probe; with --profile, cProfile of single adds and of one ingest batch

A single add writes a new segment, and every so often that pushes the segment count over storybot's
limit and the add pays for a merge. So adds are timed as a series long enough to include a merge, and
the worst one is what a user waits for. This phase writes to the index: the driver runs it last.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import functools
import json
import statistics
import time
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import Any

from benchmarks.scaling.common import profile_tables, write_json
from benchmarks.scaling.corpus import extra_articles
from benchmarks.scaling.storybot import BATCH_ARTICLES, MARKER_QUESTION, Observer, hits, marked
from index import StoryIndex
from index.models import Article

SERIES = 13
"""Single-article adds in a series: one more than storybot's segment limit, so at least one merges."""
LAG_QUESTIONS = 50
TICK_SECONDS = 0.001


def _segments(index: StoryIndex) -> int:
    return index.stats().segments


def _timed(action: Callable[[], object]) -> float:
    started = time.perf_counter()
    action()
    return time.perf_counter() - started


def _summary(seconds: Sequence[float], merges: int | None = None) -> dict[str, Any]:
    figures: dict[str, Any] = {
        "count": len(seconds),
        "median_seconds": statistics.median(seconds),
        "max_seconds": max(seconds),
        "seconds": list(seconds),
    }
    if merges is not None:
        figures["merges"] = merges
    return figures


def add_series(index: StoryIndex, articles: Sequence[Article]) -> tuple[list[float], int]:
    """Add articles one at a time: each add's seconds, and how many of them merged segments."""
    seconds, merges = [], 0
    for article in articles:
        before = _segments(index)
        seconds.append(_timed(functools.partial(index.add_articles, [article])))
        merges += _segments(index) <= before
    return seconds, merges


def changes(db: Path, questions: Sequence[str], seed: int, profile: bool) -> dict[str, Any]:
    """Single adds and removes, checked from another process; the loop-lag probe; the write profiles."""
    extras = extra_articles(1 + 3 * SERIES + (BATCH_ARTICLES if profile else 0), seed)
    added = marked(extras[0])
    series, lag_series, profile_series = (extras[1 + i * SERIES : 1 + (i + 1) * SERIES] for i in range(3))
    observer = Observer(db)
    try:
        with StoryIndex(db, with_builtin_story=False) as index:
            before_add = observer.sources(MARKER_QUESTION)
            add_seconds, add_merges = add_series(index, [added])
            after_add = observer.sources(MARKER_QUESTION)
            # The corpus article to remove: the best answer to a question, so the observer surely sees it.
            question = questions[0]
            victim = hits(index, question)[0][0]
            before_remove = observer.sources(question)
            remove_seconds = [_timed(lambda: index.remove(victim))]
            after_remove = observer.sources(question)
            remove_seconds.append(_timed(lambda: index.remove(added.source_id)))
            after_remove_added = observer.sources(MARKER_QUESTION)
            more_seconds, more_merges = add_series(index, series)
            for article in series:
                remove_seconds.append(_timed(functools.partial(index.remove, article.source_id)))
            figures: dict[str, Any] = {
                "add": _summary(add_seconds + more_seconds, add_merges + more_merges),
                "remove": _summary(remove_seconds),
                "first_add_seconds": add_seconds[0],
                "first_remove_seconds": remove_seconds[0],
                "added_seen_by_other_process": added.source_id not in before_add
                and after_add[:1] == [added.source_id],
                "removed_unseen_by_other_process": victim in before_remove and victim not in after_remove,
                "removed_added_unseen_by_other_process": added.source_id not in after_remove_added,
                "removed_article": victim,
                "loop_lag": asyncio.run(_loop_lag(index, questions[:LAG_QUESTIONS], lag_series)),
            }
            if profile:
                figures["profiles"] = _profiles(index, profile_series, extras[1 + 3 * SERIES :])
    finally:
        observer.close()
    return figures


def _profiles(index: StoryIndex, singles: Sequence[Article], batch: Sequence[Article]) -> dict[str, Any]:
    """cProfile of single-article adds up to the first that merges, and of one ingest batch."""
    profiler = cProfile.Profile()
    count = 0
    for article in singles:
        before = _segments(index)
        profiler.enable()
        index.add_articles([article])
        profiler.disable()
        count += 1
        if _segments(index) <= before:
            break
    single: dict[str, Any] = {
        "articles": count,
        "paragraphs": sum(len(a.paragraphs) for a in singles[:count]),
    }
    single.update(profile_tables(profiler))
    profiler = cProfile.Profile()
    profiler.enable()
    index.add_articles(batch)
    profiler.disable()
    whole: dict[str, Any] = {
        "articles": len(batch),
        "paragraphs": sum(len(article.paragraphs) for article in batch),
    }
    whole.update(profile_tables(profiler))
    return {"single_adds": single, "batch": whole}


async def _loop_lag(
    index: StoryIndex, questions: Sequence[str], articles: Sequence[Article]
) -> dict[str, Any]:
    """The longest the event loop was late for a 1 ms tick while the index worked in a thread, in ms.

    The bot's way: questions, then single-article adds (a merge among them) and removes, each awaited
    through `asyncio.to_thread` while a ticker task measures how late the loop wakes it.
    """
    worst = {"current": 0.0}
    stop = asyncio.Event()

    async def ticker() -> None:
        loop = asyncio.get_running_loop()
        while not stop.is_set():
            due = loop.time() + TICK_SECONDS
            await asyncio.sleep(TICK_SECONDS)
            worst["current"] = max(worst["current"], loop.time() - due)

    async def phase(work: Callable[[], Awaitable[object]]) -> float:
        worst["current"] = 0.0
        await work()
        return worst["current"] * 1000

    async def ask_all() -> None:
        for question in questions:
            await asyncio.to_thread(index.ask, question, 10)

    async def add_all() -> None:
        segments_before = await asyncio.to_thread(_segments, index)
        for article in articles:
            await asyncio.to_thread(index.add_articles, [article])
        merged["segments"] = [segments_before, await asyncio.to_thread(_segments, index)]

    async def remove_all() -> None:
        for article in articles:
            await asyncio.to_thread(index.remove, article.source_id)

    merged: dict[str, list[int]] = {}
    tick = asyncio.create_task(ticker())
    await asyncio.sleep(0.05)  # let the ticker settle before measuring
    lag: dict[str, Any] = {
        "ask_max_ms": await phase(ask_all),
        "add_max_ms": await phase(add_all),
        "remove_max_ms": await phase(remove_all),
    }
    stop.set()
    await tick
    lag["max_ms"] = max(lag.values())
    lag.update(questions=len(questions), adds=len(articles), segments_before_after_adds=merged["segments"])
    return lag


def main(argv: Sequence[str] | None = None) -> None:
    """Run the phase on the database the driver names; figures go to --out."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("role", choices=["changes"])
    parser.add_argument("--db", type=Path, required=True)
    parser.add_argument("--questions", type=Path, required=True, help="a JSON list of questions")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--profile", action="store_true")
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args(argv)
    questions = json.loads(args.questions.read_text(encoding="utf-8"))
    write_json(args.out, changes(args.db, questions, args.seed, args.profile))


if __name__ == "__main__":
    main()
