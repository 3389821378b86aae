"""What the answer path costs now against an earlier commit, in the same run, on the same database.

The scale benchmark's corpus of one size (generated from SciFact's sentences, seeded) is indexed once by
this checkout; then the scale benchmark's answer phase (`benchmarks.scaling.storybot answer`, in older
commits `benchmarks.scale_storybot answer`: the bot's 3 passages, cited, for each SciFact claim, in a fresh
process) runs in turn from this checkout and from a worktree of the earlier commit, `--rounds` times each, on
that one database (the format is the same). Prints each side's median p50 and p95 and their ratio.

    python benchmarks/answer_cost.py --size 1000000 --baseline 47fde74 --rounds 3
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

# `python benchmarks/<script>.py` puts benchmarks/ first on sys.path; `import benchmarks` needs the root.
if not __package__:
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.paths import ROOT
from benchmarks.scaling.common import progress
from benchmarks.scaling.corpus import ensure_corpus, load_questions

RESULTS = ROOT / "benchmarks" / "results"


def storybot_phases(code: Path) -> str:
    """The module of the scale benchmark's storybot phases in the checkout at `code`: older commits have it
    as `benchmarks/scale_storybot.py`, before the phases moved into `benchmarks/scaling/`."""
    moved = (code / "benchmarks" / "scaling" / "storybot.py").exists()
    return "benchmarks.scaling.storybot" if moved else "benchmarks.scale_storybot"


def answer_phase(code: Path, db: Path, questions: Path) -> dict[str, Any]:
    """The scale benchmark's answer phase run from the checkout at `code`; its figures."""
    with tempfile.TemporaryDirectory(prefix="storybot-cost-") as scratch:
        out = Path(scratch) / "out.json"
        command = [sys.executable, "-m", storybot_phases(code), "answer", "--db", str(db)]
        command += ["--questions", str(questions), "--out", str(out)]
        subprocess.run(command, cwd=code, check=True, env={**os.environ, "PYTHONPATH": str(code)})
        figures: dict[str, Any] = json.loads(out.read_text(encoding="utf-8"))
        return figures


def main() -> None:
    """Index once, then time both sides in turn."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=1_000_000, help="paragraphs")
    parser.add_argument("--baseline", default="47fde74", help="the earlier commit")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--questions", type=int, default=300)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--cache-dir", type=Path, default=RESULTS / "cache")
    parser.add_argument("--work-dir", type=Path, default=RESULTS / "cost")
    args = parser.parse_args()
    args.work_dir.mkdir(parents=True, exist_ok=True)
    corpus = ensure_corpus(args.cache_dir, args.seed, args.size)
    db = args.work_dir / f"storybot-{args.size}.db"
    if not db.exists():
        progress(f"indexing {args.size:,} paragraphs")
        subprocess.run(
            [
                *(sys.executable, "-m", "benchmarks.scaling.storybot", "ingest", "--db", str(db)),
                *("--corpus", str(corpus), "--out", str(args.work_dir / "ingest.json")),
            ],
            cwd=ROOT,
            check=True,
        )
    questions = args.work_dir / "questions.json"
    questions.write_text(json.dumps(load_questions(args.questions, args.seed)), encoding="utf-8")
    with tempfile.TemporaryDirectory(prefix="storybot-baseline-") as scratch:
        baseline = Path(scratch) / "baseline"
        subprocess.run(
            ["git", "worktree", "add", "--detach", str(baseline), args.baseline], cwd=ROOT, check=True
        )
        try:
            runs: dict[str, list[dict[str, Any]]] = {"baseline": [], "now": []}
            for round_number in range(args.rounds):
                for side, code in (("baseline", baseline), ("now", ROOT)):
                    progress(f"round {round_number + 1}: {side}")
                    runs[side].append(answer_phase(code, db, questions)["latency"])
        finally:
            subprocess.run(["git", "worktree", "remove", "--force", str(baseline)], cwd=ROOT, check=True)
    head = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True, check=True
    )
    print(f"{args.size:,} paragraphs, {args.questions} questions, {args.rounds} rounds in turn")
    print("| | p50 (ms) | p95 (ms) | p50 of each round |")
    print("|---|---|---|---|")
    medians = {}
    for side, label in (("baseline", args.baseline), ("now", head.stdout.strip() + " (this checkout)")):
        p50s = [run["p50_ms"] for run in runs[side]]
        p95s = [run["p95_ms"] for run in runs[side]]
        medians[side] = statistics.median(p50s)
        rounds = ", ".join(f"{value:.2f}" for value in p50s)
        print(f"| {label} | {medians[side]:.2f} | {statistics.median(p95s):.2f} | {rounds} |")
    print(f"p50 now / baseline: {medians['now'] / medians['baseline']:.2f}x")


if __name__ == "__main__":
    main()
