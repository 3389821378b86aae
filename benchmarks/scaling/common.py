"""What every part of the scale benchmark shares: running a phase in its own process, and measuring it.

Each engine and each storybot phase runs in a fresh subprocess (`python -m benchmarks.scaling.<module>
<role>`), so the peak RSS it reports is its own and no engine warms another's caches in Python's heap. A
worker writes its figures as JSON to the file named by `--out`; its progress goes to stderr, straight to the
terminal.
"""

from __future__ import annotations

import cProfile
import io
import json
import pstats
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.paths import ROOT
from index import DEFAULT_TOP

ANSWER_PASSAGES = DEFAULT_TOP
"""Passages a timed question is answered with: the bot's default (`/ask`); every engine returns as many."""
CHECKED_PASSAGES = 10
"""The top storybot returns, untimed, for the same-answers check against rank-bm25."""


class WorkerFailed(Exception):
    """A benchmark phase's subprocess failed, ran out of time, or ran out of memory."""


def peak_rss_mb() -> float:
    """This process's peak resident set size so far, in MiB (Linux reports ru_maxrss in KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def latency_summary(seconds: Sequence[float]) -> dict[str, float | int]:
    """p50, p95, p99 and mean of per-question latencies, in milliseconds."""
    if not seconds:
        return {"questions": 0}
    ms = np.asarray(seconds, dtype=np.float64) * 1000
    return {
        "questions": len(ms),
        "p50_ms": float(np.percentile(ms, 50)),
        "p95_ms": float(np.percentile(ms, 95)),
        "p99_ms": float(np.percentile(ms, 99)),
        "mean_ms": float(ms.mean()),
    }


def progress(message: str) -> None:
    """One line of progress on stderr, with the wall-clock time."""
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def profile_tables(profiler: cProfile.Profile, limit: int = 15) -> dict[str, str]:
    """cProfile's top `limit` functions by own time and by cumulative time, as printed text."""
    tables = {}
    for key in ("tottime", "cumulative"):
        stream = io.StringIO()
        pstats.Stats(profiler, stream=stream).strip_dirs().sort_stats(key).print_stats(limit)
        text = stream.getvalue()
        # Keep the table itself: from the header line ("ncalls ...") on.
        start = text.find("   ncalls")
        tables[key] = text[start:].rstrip() if start >= 0 else text.strip()
    return tables


def write_json(path: Path, data: Any) -> None:
    """Write figures as indented JSON."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def run_worker(
    module: str,
    role: str,
    args: Sequence[str],
    *,
    timeout: float | None = None,
    memory_limit_gb: float | None = None,
) -> dict[str, Any]:
    """Run `python -m benchmarks.scaling.<module> <role>` in a fresh interpreter and return the JSON it wrote.

    WorkerFailed with the reason if it fails, runs out of time or out of memory.
    """
    with tempfile.TemporaryDirectory(prefix="storybot-scale-") as scratch:
        out = Path(scratch) / "out.json"
        command = [sys.executable, "-m", f"benchmarks.scaling.{module}", role, *args, "--out", str(out)]
        limit = None if memory_limit_gb is None else int(memory_limit_gb * 1024**3)

        def _limit_memory() -> None:
            # A peer that would need more than the machine has fails with MemoryError, not the OOM killer.
            if limit is not None:
                resource.setrlimit(resource.RLIMIT_AS, (limit, limit))

        try:
            done = subprocess.run(
                command, cwd=ROOT, timeout=timeout, check=False, preexec_fn=_limit_memory, text=True
            )
        except subprocess.TimeoutExpired as error:
            raise WorkerFailed(f"out of time: over {timeout:.0f} s") from error
        if done.returncode != 0:
            killed = done.returncode < 0
            raise WorkerFailed(
                f"{module} {role} was killed by signal {-done.returncode} (out of memory?)"
                if killed
                else f"{module} {role} exited with status {done.returncode} (see its error above)"
            )
        result: dict[str, Any] = json.loads(out.read_text(encoding="utf-8"))
        return result
