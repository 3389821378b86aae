"""What `storybot check` costs, and what its invariant pass adds to every `reindex`, on the scale corpus.

    python -m benchmarks.storage_check --paragraphs 100000

Builds (once, in a scratch folder) an index of the scale benchmark's SciFact corpus, then times, best of
`--runs`: SQLite's `integrity_check`, storybot's invariant pass (what `reindex` now runs before it writes),
and a whole `reindex` of unchanged sources (origins handed back from memory).
"""

from __future__ import annotations

import argparse
import sqlite3
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from benchmarks.paths import ROOT
from benchmarks.scaling.corpus import ensure_corpus, read_articles
from index import Article, StoryIndex
from index.engine.integrity import invariant_problems, sqlite_problems


def _best(runs: int, work: Callable[[], object]) -> float:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        work()
        times.append(time.perf_counter() - started)
    return min(times)


def main(argv: list[str] | None = None) -> None:
    """Print the timings as a small Markdown table."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--paragraphs", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args(argv)
    corpus = ensure_corpus(ROOT / "benchmarks" / "results" / "cache", args.seed, args.paragraphs)
    with tempfile.TemporaryDirectory() as scratch:
        db = Path(scratch) / "storybot.db"
        articles = list(read_articles(corpus))
        by_origin: dict[str, list[Article]] = {}
        for article in articles:
            by_origin.setdefault(article.origin, []).append(article)
        with StoryIndex(db, with_builtin_story=False, workers=1) as index:
            index.add_articles(articles)
            conn = sqlite3.connect(db)
            try:
                sqlite_seconds = _best(args.runs, lambda: sqlite_problems(conn))
                invariant_seconds = _best(args.runs, lambda: invariant_problems(conn))
            finally:
                conn.close()
            # The origins "read again" from memory: what is timed is the reindex, not reading the corpus.
            reindex_seconds = _best(args.runs, lambda: index.reindex(load=by_origin.__getitem__))
            size = db.stat().st_size
    print(f"| {args.paragraphs:,} paragraphs, {size / 1e6:.0f} MB | seconds |")
    print("|---|---|")
    print(f"| PRAGMA integrity_check | {sqlite_seconds:.2f} |")
    print(f"| storybot's invariants (also run by reindex) | {invariant_seconds:.2f} |")
    print(f"| reindex of unchanged sources, in all | {reindex_seconds:.2f} |")


if __name__ == "__main__":
    main()
