"""storybot's read-side phases of the scale benchmark, each run in its own process by the driver.

    ingest   build the database from the corpus through `StoryIndex.add_articles`, in batches
    cli-ingest  write the corpus as one storybot JSONL file and time `storybot add FILE` on a new database
    answer   answer every question in a fresh process: latency, then the top-10 ids and scores, peak RSS
    observe  a long-lived reader (the bot's stand-in): answers questions read from stdin, one per line

The write-side phase (adding and removing articles, the loop-lag probe) is in `changes.py`.
"""

from __future__ import annotations

import argparse
import cProfile
import itertools
import json
import resource
import sqlite3
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import asdict, replace
from pathlib import Path
from typing import Any

from benchmarks.paths import ROOT
from benchmarks.scaling.common import (
    ANSWER_PASSAGES,
    CHECKED_PASSAGES,
    latency_summary,
    peak_rss_mb,
    profile_tables,
    progress,
    write_json,
)
from benchmarks.scaling.corpus import read_articles
from index import StoryIndex
from index.models import Article
from index.sources.origins import BUILTIN_PREFIX

BATCH_ARTICLES = 8000
"""Articles per `add_articles` call (about 100,000 paragraphs): one `storybot add` of a file that size."""
WARM_UP_QUESTIONS = 5
PROFILE_QUESTIONS = 50
MARKER = "quorvexity"
"""A made-up word only the added article holds, so a question for it finds that article and no other."""
MARKER_QUESTION = f"What about {MARKER}?"


def database_bytes(db: Path) -> int:
    """The database's size on disk: the file and its write-ahead log."""
    return sum(path.stat().st_size for path in (db, db.with_name(db.name + "-wal")) if path.exists())


def checkpoint(db: Path) -> None:
    """Move the write-ahead log into the database file, so its size is the size at rest."""
    conn = sqlite3.connect(db)
    try:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        conn.close()


def ingest(corpus: Path, db: Path, batch: int = BATCH_ARTICLES) -> dict[str, Any]:
    """Build a new database from the corpus as `storybot add` does: add_articles, one batch at a time.

    The database is created as a first `storybot` run creates it, and the built-in story removed, so the
    index holds the corpus alone and a later `storybot ask` finds nothing to load.
    """
    for path in (db, db.with_name(db.name + "-wal"), db.with_name(db.name + "-shm")):
        path.unlink(missing_ok=True)
    with StoryIndex(db) as index:
        for record in index.sources():
            if record.origin.startswith(BUILTIN_PREFIX):
                index.remove(record.id)
        seconds: list[float] = []
        paragraphs = 0
        articles = read_articles(corpus)
        while chunk := list(itertools.islice(articles, batch)):
            started = time.perf_counter()
            index.add_articles(chunk)
            seconds.append(time.perf_counter() - started)
            paragraphs += sum(len(article.paragraphs) for article in chunk)
            if len(seconds) % 10 == 0:
                progress(f"  storybot ingest: {paragraphs:,} paragraphs, {paragraphs / sum(seconds):,.0f}/s")
        stats = index.stats()
    checkpoint(db)
    total = sum(seconds)
    return {
        "paragraphs": paragraphs,
        "indexed_paragraphs": stats.paragraphs,
        "terms": stats.terms,
        "segments": stats.segments,
        "seconds": total,
        "paragraphs_per_second": paragraphs / total if total else 0.0,
        "batch_articles": batch,
        "batch_seconds": seconds,
        "database_bytes": database_bytes(db),
        "peak_rss_mb": peak_rss_mb(),
    }


def hits(index: StoryIndex, question: str, top: int = CHECKED_PASSAGES) -> list[tuple[str, int, float]]:
    """The ranked (source id, paragraph position, BM25 score) of a question's top paragraphs by the first
    stage, the ranking that must equal rank-bm25's (the second stage reorders it for the answer)."""
    return [
        (hit.passage.source_id, hit.passage.position, hit.bm25) for hit in index.first_stage(question, top)
    ]


def answer(db: Path, questions: Sequence[str], profile: bool) -> dict[str, Any]:
    """Answer every question in this fresh process, after a few warm-up ones; then, if asked, profile.

    Each question is timed as the bot answers it (ANSWER_PASSAGES passages, cited, with their best
    sentences). Besides the latencies it keeps each question's seconds (to pair them with a peer timed on
    fewer questions) and how many paragraphs matched (the work a question does grows with it). Then every
    question is asked again for its top ten, which rank-bm25 checks; those latencies are kept too.
    """
    with StoryIndex(db, with_builtin_story=False) as index:
        for question in questions[:WARM_UP_QUESTIONS]:
            index.ask(question, top=ANSWER_PASSAGES)
        seconds, matched = [], []
        for question in questions:
            started = time.perf_counter()
            reply = index.ask(question, top=ANSWER_PASSAGES)
            seconds.append(time.perf_counter() - started)
            matched.append(reply.matched)
        checked_seconds, results = [], []
        for question in questions:
            started = time.perf_counter()
            index.ask(question, top=CHECKED_PASSAGES)
            checked_seconds.append(time.perf_counter() - started)
            results.append(hits(index, question))
        figures: dict[str, Any] = {
            "latency": latency_summary(seconds),
            "passages": ANSWER_PASSAGES,
            "seconds": seconds,
            "latency_top_ten_again": latency_summary(checked_seconds),
            "matched_paragraphs": matched,
            "peak_rss_mb": peak_rss_mb(),
            "params": asdict(index.params),
            "results": results,
        }
    if profile:
        # A new StoryIndex, so its posting cache starts empty, as it did for the timed questions.
        with StoryIndex(db, with_builtin_story=False) as index:
            index.ask(questions[0], top=ANSWER_PASSAGES)
            profiler = cProfile.Profile()
            profiler.enable()
            for question in questions[:PROFILE_QUESTIONS]:
                index.ask(question, top=ANSWER_PASSAGES)
            profiler.disable()
        figures["profile"] = {"questions": PROFILE_QUESTIONS, **profile_tables(profiler)}
    return figures


def storybot_jsonl(corpus: Path, out: Path) -> tuple[int, int]:
    """Write the corpus as the JSONL `storybot add` reads (paragraphs as blank-line separated text), and
    return (articles, paragraphs). Each paragraph is one line of plain prose, so it reads back as itself."""
    articles = paragraphs = 0
    with out.open("w", encoding="utf-8") as lines:
        for article in read_articles(corpus):
            record = {
                "id": article.source_id,
                "title": article.title,
                "text": "\n\n".join(article.paragraphs),
                "outlet": article.outlet,
                "published": article.published,
            }
            lines.write(json.dumps(record, ensure_ascii=False) + "\n")
            articles += 1
            paragraphs += len(article.paragraphs)
    return articles, paragraphs


def cli_ingest(corpus: Path, db: Path) -> dict[str, Any]:
    """Time `storybot --db DB add FILE.jsonl` on a new database (the built-in story is in it too) and take
    the peak RSS of its biggest process (the command or a tokenizing worker) from the kernel's accounting."""
    for path in (db, db.with_name(db.name + "-wal"), db.with_name(db.name + "-shm")):
        path.unlink(missing_ok=True)
    source = db.with_name("corpus-for-add.jsonl")
    articles, paragraphs = storybot_jsonl(corpus, source)
    # `python -m bot` from the checkout: this tree's code, whatever storybot is installed in the venv.
    command = [sys.executable, "-m", "bot", "--db", str(db), "add", str(source)]
    started = time.perf_counter()
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, check=False)
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"storybot add failed: {done.stderr.strip()[-500:]}")
    conn = sqlite3.connect(db)
    try:
        stored = conn.execute("SELECT COALESCE(SUM(paragraphs), 0) FROM sources").fetchone()[0]
    finally:
        conn.close()
    figures = {
        "seconds": seconds,
        "articles": articles,
        "paragraphs": paragraphs,
        "stored_paragraphs": stored,
        "paragraphs_per_second": paragraphs / seconds,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024,
        "file_bytes": source.stat().st_size,
    }
    source.unlink()
    return figures


def observe(db: Path) -> None:
    """Answer questions from stdin (JSON lines) with the source ids of the top ten, until stdin closes."""
    with StoryIndex(db, with_builtin_story=False) as index:
        index.ask(MARKER_QUESTION, top=10)  # the connection is open and warm before the first change
        print("ready", flush=True)
        for line in sys.stdin:
            question = json.loads(line)["question"]
            sources = [source_id for source_id, _, _ in hits(index, question)]
            print(json.dumps({"sources": sources}), flush=True)


class Observer:
    """The `observe` worker seen from the writer: a second process holding the database open."""

    def __init__(self, db: Path) -> None:
        command = [sys.executable, "-m", "benchmarks.scaling.storybot", "observe", "--db", str(db)]
        self._process = subprocess.Popen(
            command, cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
        )
        assert self._process.stdout is not None
        if self._process.stdout.readline().strip() != "ready":
            raise RuntimeError("the observer process did not start")

    def sources(self, question: str) -> list[str]:
        """The source ids of the observer's top ten for a question."""
        assert self._process.stdin is not None and self._process.stdout is not None
        self._process.stdin.write(json.dumps({"question": question}) + "\n")
        self._process.stdin.flush()
        reply: list[str] = json.loads(self._process.stdout.readline())["sources"]
        return reply

    def close(self) -> None:
        """Close its stdin, wait for it to end, and close its stdout."""
        assert self._process.stdin is not None and self._process.stdout is not None
        self._process.stdin.close()
        self._process.wait(timeout=60)
        self._process.stdout.close()


def marked(article: Article) -> Article:
    """The article with the marker word in its first paragraph."""
    first = f"The {MARKER} result was reported. {article.paragraphs[0]}"
    return replace(article, paragraphs=(first, *article.paragraphs[1:]))


def main(argv: Sequence[str] | None = None) -> None:
    """Run one phase; the driver passes the files, the phase writes its figures to --out."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("role", choices=["ingest", "cli-ingest", "answer", "observe"])
    parser.add_argument("--db", type=Path, required=True)
    parser.add_argument("--corpus", type=Path)
    parser.add_argument("--questions", type=Path, help="a JSON list of questions")
    parser.add_argument("--profile", action="store_true")
    parser.add_argument("--out", type=Path)
    parser.add_argument("--batch", type=int, default=BATCH_ARTICLES, help="articles per add_articles call")
    args = parser.parse_args(argv)
    if args.role == "observe":
        observe(args.db)
        return
    if args.role == "ingest":
        figures = ingest(args.corpus, args.db, args.batch)
    elif args.role == "cli-ingest":
        figures = cli_ingest(args.corpus, args.db)
    else:
        figures = answer(args.db, json.loads(args.questions.read_text(encoding="utf-8")), args.profile)
    write_json(args.out, figures)


if __name__ == "__main__":
    main()
