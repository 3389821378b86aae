"""storybot through its command line, as a user runs it: one database per job, two jobs at a time."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from benchmarks.evaluate import _normalise as normalise
from benchmarks.passages.data import TOP, QaSet, Row, paragraphs, read_jsonl, write_jsonl

WORKERS = 2
"""storybot processes at a time: the machine the figures are reported for has two cores."""


class StorybotFailed(Exception):
    """A storybot command exited with an error."""


def storybot(db: Path, *args: str) -> str:
    """Run the installed command line on `db` and return its standard output."""
    command = [sys.executable, "-m", "bot", "--db", str(db), *args]
    env = {**os.environ, "PYTHONIOENCODING": "utf-8"}
    done = subprocess.run(command, capture_output=True, text=True, encoding="utf-8", env=env, check=False)
    if done.returncode != 0:
        raise StorybotFailed(f"storybot --db {db} {' '.join(args)} failed:\n{done.stderr}")
    return done.stdout


def drop_builtin(db: Path) -> None:
    """Remove the built-in story a new database starts with, so that only the added articles are searched."""
    for source in json.loads(storybot(db, "sources", "--json")):
        if str(source.get("origin", "")).startswith("builtin:"):
            storybot(db, "remove", source["id"])


@dataclass(frozen=True)
class Job:
    """A storybot database in its own folder: the articles to add (none: the built-in story), questions."""

    folder: Path
    articles: list[Row]
    asks: list[Row]

    def answers(self) -> list[Row]:
        """The answers the job wrote."""
        return read_jsonl(self.folder / "answers.jsonl")


def run_job(job: Job) -> float:
    """Build the job's database, ask its questions into answers.jsonl; the wall seconds it took."""
    started = time.perf_counter()
    job.folder.mkdir(parents=True)
    db = job.folder / "index.db"
    if job.articles:
        write_jsonl(job.folder / "articles.jsonl", job.articles)
        storybot(db, "add", str(job.folder / "articles.jsonl"))
        drop_builtin(db)
    write_jsonl(job.folder / "ask.jsonl", [{"id": q["id"], "question": q["question"]} for q in job.asks])
    output = storybot(db, "ask", "--batch", str(job.folder / "ask.jsonl"), "--json", "--top", str(TOP))
    (job.folder / "answers.jsonl").write_text(output, encoding="utf-8")
    return time.perf_counter() - started


def squad_jobs(qa: QaSet, workdir: Path) -> tuple[Job, list[Job]]:
    """The global job (every article, every question) and one job per article."""
    everything = Job(workdir / "all", qa.articles, qa.questions)
    within = [
        Job(
            workdir / "within" / article["id"],
            [article],
            qa.own(article["id"]) + qa.offtopic_for(article["id"]),
        )
        for article in qa.articles
    ]
    return everything, within


def run_jobs(jobs: Sequence[Job]) -> list[float]:
    """Run the jobs, WORKERS at a time, in the order given; their seconds."""
    with ThreadPoolExecutor(max_workers=WORKERS) as pool:
        return list(pool.map(run_job, jobs))


def misaligned(answers: Sequence[Row], qa: QaSet) -> int:
    """Results whose text is not the set's paragraph of that number: the paragraph splitting has changed."""
    texts = {(a["id"], i): normalise(p) for a in qa.articles for i, p in enumerate(paragraphs(a))}
    run_texts = (
        ((r["source"]["id"], r["paragraph"] - 1), normalise(r["text"])) for a in answers for r in a["results"]
    )
    return sum(texts.get(key) != text for key, text in run_texts)
