"""How long a big `add` keeps other writers waiting: its longest write transaction, another's longest wait.

    PYTHONPATH=. python -m benchmarks.write_turns --paragraphs 200000

Writes the scale benchmark's corpus (seeded SciFact articles, `benchmarks/scaling/corpus.py`) as the JSONL
`storybot add` reads, adds it to a new database with `StoryIndex.add_paths` (the CLI's path, with the merges
that follow it), then adds the same file again (every article unchanged). Meanwhile a probe thread, on its
own connection, writes one row a time as the bot records a question, with a busy timeout of a minute, and
notes how long each write waited. Every write transaction of the add's connection is timed from its
`BEGIN IMMEDIATE` to its `COMMIT` (SQLite's statement trace). Both figures are reported per phase. Only the
public API is used, so the same script measures an older checkout put first on PYTHONPATH.
"""

from __future__ import annotations

import argparse
import json
import sqlite3
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import index.library
from benchmarks.paths import ROOT
from benchmarks.scaling.corpus import ensure_corpus
from benchmarks.scaling.storybot import storybot_jsonl
from index import StoryIndex

PROBE_PAUSE_SECONDS = 0.05
"""The probe's rest between two writes."""
SLOWEST = 3
"""The longest transactions listed, with what each began with."""


class _Transactions:
    """The write transactions of traced connections: the longest, the count and the total time."""

    def __init__(self) -> None:
        self.longest = 0.0
        self.count = 0
        self.slowest: list[tuple[float, str]] = []
        """The longest few transactions, each with its first statement after `BEGIN` (what it was for)."""
        self._begun: dict[int, tuple[float, str]] = {}

    def tracer(self, conn: sqlite3.Connection) -> Callable[[str], None]:
        key = id(conn)

        def trace(statement: str) -> None:
            head = statement.lstrip()[:16].upper()
            if head.startswith("BEGIN IMMEDIATE"):
                self._begun[key] = (time.perf_counter(), "")
            elif head.startswith(("COMMIT", "ROLLBACK")) and key in self._begun:
                started, first = self._begun.pop(key)
                held = time.perf_counter() - started
                self.longest = max(self.longest, held)
                self.count += 1
                self.slowest = sorted([*self.slowest, (round(held, 3), first)], reverse=True)[:SLOWEST]
            elif key in self._begun and not self._begun[key][1]:
                self._begun[key] = (self._begun[key][0], " ".join(statement.split())[:90])

        return trace

    def reset(self) -> None:
        self.longest, self.count, self.slowest = 0.0, 0, []


class _Probe(threading.Thread):
    """Another writer: one short write transaction after another, each one's wait for the lock noted."""

    def __init__(self, db: Path) -> None:
        super().__init__(daemon=True)
        self._db = db
        self.stopping = threading.Event()
        self.waits: list[float] = []
        self.failed = 0

    def run(self) -> None:
        conn = sqlite3.connect(self._db, timeout=60, isolation_level=None)
        try:
            while not self.stopping.is_set():
                started = time.perf_counter()
                try:
                    conn.execute("BEGIN IMMEDIATE")
                except sqlite3.OperationalError:  # "database is locked" past the busy timeout: a failed write
                    self.waits.append(time.perf_counter() - started)
                    self.failed += 1
                    continue
                self.waits.append(time.perf_counter() - started)
                conn.execute("INSERT INTO questions (answered, seconds, created_at) VALUES (1, 0.1, 'probe')")
                conn.execute("COMMIT")
                time.sleep(PROBE_PAUSE_SECONDS)
        finally:
            conn.close()


def _phase(story: StoryIndex, db: Path, source: Path, traced: _Transactions) -> dict[str, Any]:
    traced.reset()
    probe = _Probe(db)
    probe.start()
    started = time.perf_counter()
    report = story.add_paths([source])
    seconds = time.perf_counter() - started
    probe.stopping.set()
    probe.join()
    totals = {kind: report.total(kind).articles for kind in ("added", "updated", "unchanged")}
    return {
        "seconds": round(seconds, 2),
        "articles": totals,
        "longest_transaction_s": round(traced.longest, 3),
        "slowest_transactions": traced.slowest,
        "transactions": traced.count,
        "probe_writes": len(probe.waits),
        "probe_longest_wait_s": round(max(probe.waits, default=0.0), 3),
        "probe_failed_writes": probe.failed,
    }


def main(argv: list[str] | None = None) -> None:
    """Print the figures of both phases as JSON."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--paragraphs", type=int, default=200_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--cache", type=Path, default=ROOT / "benchmarks" / "results" / "cache")
    parser.add_argument(
        "--workers", type=int, default=None, help="tokenizing processes (default: storybot's)"
    )
    args = parser.parse_args(argv)
    corpus = ensure_corpus(args.cache, args.seed, args.paragraphs)
    traced = _Transactions()
    connect = index.library.connect  # type: ignore[attr-defined]

    def traced_connect(*positional: Any, **named: Any) -> sqlite3.Connection:
        conn = connect(*positional, **named)
        conn.set_trace_callback(traced.tracer(conn))
        return conn

    index.library.connect = traced_connect  # type: ignore[attr-defined]
    with tempfile.TemporaryDirectory() as scratch:
        db, source = Path(scratch) / "storybot.db", Path(scratch) / "corpus.jsonl"
        articles, paragraphs = storybot_jsonl(corpus, source)
        figures: dict[str, Any] = {"articles": articles, "paragraphs": paragraphs}
        with StoryIndex(db, workers=args.workers) as story:
            figures["add"] = _phase(story, db, source, traced)
            conn = sqlite3.connect(db)
            segments = conn.execute("SELECT COUNT(*), MAX(paragraphs) FROM segments").fetchone()
            conn.close()
            figures["segments_after_add"] = {"count": segments[0], "biggest": segments[1]}
            figures["add_again"] = _phase(story, db, source, traced)
            figures["check_ok"] = story.check().ok
    print(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
