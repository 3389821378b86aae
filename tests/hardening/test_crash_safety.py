"""`storybot add` and `storybot reindex` killed with SIGKILL at random points lose nothing and tear nothing.

After each kill: the database opens, `PRAGMA integrity_check` is ok, every source added before is there, and
the answers equal those from before the operation or from after it, never a mix.
"""

from __future__ import annotations

import json
import random
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from contextlib import closing
from pathlib import Path

import pytest

from index import StoryIndex
from tests.conftest import ROOT, write_jsonl

RUNS = 20
QUESTIONS = ["why did Musk leave OpenAI?", "lunar base report 7", "GPU shipments to the rover team"]


def _corpus(count: int, version: int) -> list[dict[str, object]]:
    """Articles long enough that adding them takes a while, so kills land inside the work."""
    rng = random.Random(version)
    words = ["lunar", "base", "rover", "GPU", "shipment", "team", "report", "OpenAI", "Musk", "Mars", "crew"]
    return [
        {
            "id": f"report-{i}",
            "title": f"Report {i} on the lunar base",
            "text": "\n\n".join(
                " ".join(rng.choice(words) for _ in range(40)) + f" version {version}." for _ in range(12)
            ),
        }
        for i in range(count)
    ]


def _storybot(db: Path, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "bot", "--db", str(db), *args],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )


def _answers(db: Path) -> str:
    with StoryIndex(db) as index:
        return json.dumps([index.ask(question, top=5).to_json() for question in QUESTIONS])


def _source_ids(db: Path) -> set[str]:
    with closing(sqlite3.connect(db)) as conn:
        return {row[0] for row in conn.execute("SELECT id FROM sources")}


def _timed(db: Path, *args: str) -> float:
    started = time.perf_counter()
    process = _storybot(db, *args)
    _, error = process.communicate(timeout=120)
    assert process.returncode == 0, error
    return time.perf_counter() - started


@pytest.mark.parametrize("operation", ["add", "reindex"])
def test_sigkill_at_random_points_leaves_a_whole_database(tmp_path: Path, operation: str) -> None:
    kept = write_jsonl(tmp_path / "kept.jsonl", _corpus(40, version=1)[:5])
    corpus = write_jsonl(tmp_path / "corpus.jsonl", _corpus(150, version=1))
    base = tmp_path / "base.db"
    _timed(base, "add", str(kept))
    if operation == "reindex":
        _timed(base, "add", str(corpus))
        write_jsonl(corpus, _corpus(150, version=2))  # reindex will find every report changed
    command = ("add", str(corpus)) if operation == "add" else ("reindex",)

    finished = tmp_path / "finished.db"
    shutil.copy(base, finished)
    duration = _timed(finished, *command)
    startup = _timed(tmp_path / "version.db", "--version")  # the part of `duration` before any work
    before, after = _answers(base), _answers(finished)
    assert before != after
    sources_before = _source_ids(base)

    rng = random.Random(2026)
    outcomes = {"before": 0, "after": 0}
    for run in range(RUNS):
        db = tmp_path / f"killed-{run}.db"
        shutil.copy(base, db)
        process = _storybot(db, *command)
        # Inside the work, after start-up, and now and then just after it finished.
        time.sleep(rng.uniform(startup, duration * 1.1))
        process.send_signal(signal.SIGKILL)
        process.communicate(timeout=30)
        with closing(sqlite3.connect(db)) as conn:
            assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        assert sources_before <= _source_ids(db)
        answers = _answers(db)
        assert answers in (before, after), f"run {run}: answers from neither state"
        outcomes["before" if answers == before else "after"] += 1
    # Some kills must land before the commit for the test to mean something.
    assert outcomes["before"] > 0, outcomes
