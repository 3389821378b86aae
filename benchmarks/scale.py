"""Scale and speed of storybot beside rank-bm25, bm25s and SQLite FTS5, at growing corpus sizes (issue 5).

For each size: generate (or reuse) the seeded corpus, build storybot's database through
`StoryIndex.add_articles`, time a new `storybot ask` process, answer the questions in a fresh process,
run each peer in its own process on the same corpus and questions (rank-bm25 also checks that storybot's
top ten are its own, ties aside; bm25s is also timed head to head with storybot, in turn in one process),
then add and remove articles while another process watches, with the event-loop lag probe. Prints
markdown tables with the issue's targets and writes every figure as JSON.

    .venv/bin/python benchmarks/scale.py --sizes 10000 100000 1000000 --questions 300 --seed 7 \\
        --json benchmarks/results/scale.json --markdown benchmarks/results/scale.md

On 2 cores the three sizes take about 15 minutes, most of it the peers at a million paragraphs; the
generated corpora are cached in benchmarks/results/cache (about 0.5 GB with the million). `--from-json`
prints the report of a saved run again; `--peers` picks the peers, `--sizes` the sizes.
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

# `python benchmarks/<script>.py` puts benchmarks/ first on sys.path; `import benchmarks` needs the root.
if not __package__:
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.paths import ROOT, require
from benchmarks.scaling.common import ANSWER_PASSAGES, WorkerFailed, progress, run_worker, write_json
from benchmarks.scaling.corpus import SCIFACT, ensure_corpus, load_questions
from benchmarks.scaling.report import (
    engine_fingerprint,
    machine,
    machine_line,
    profile_section,
    size_table,
)
from benchmarks.scaling.storybot import BATCH_ARTICLES
from benchmarks.scaling.targets import evaluate_targets

RESULTS = ROOT / "benchmarks" / "results"
COLD_RUNS = 5
RANK_BM25_BUDGET = 5_000_000
"""rank-bm25 is timed on budget / size questions (at least 10): it scans every paragraph per question."""


def storybot_command() -> list[str]:
    """The installed `storybot` command beside this interpreter, or `python -m bot` without it."""
    script = Path(sys.executable).with_name("storybot")
    return [str(script)] if script.exists() else [sys.executable, "-m", "bot"]


def cold_start(db: Path, questions: list[str], runs: int = COLD_RUNS) -> dict[str, Any]:
    """Wall time of a new `storybot --db DB ask QUESTION --json` process to its answer, median of runs."""
    command = storybot_command()
    seconds, floor = [], []
    for question in questions[:runs]:
        started = time.perf_counter()
        done = subprocess.run(
            [*command, "--db", str(db), "ask", question, "--json", "--top", str(ANSWER_PASSAGES)],
            capture_output=True,
            text=True,
            check=False,
        )
        seconds.append(time.perf_counter() - started)
        if done.returncode != 0 or not json.loads(done.stdout)["results"]:
            raise WorkerFailed(f"storybot ask failed or found nothing: {done.stderr.strip()[-500:]}")
        started = time.perf_counter()
        subprocess.run([*command, "--version"], capture_output=True, check=True)
        floor.append(time.perf_counter() - started)
    return {
        "median_seconds": statistics.median(seconds),
        "runs": seconds,
        "version_seconds": statistics.median(floor),
    }


def _attempt(label: str, work: Callable[[], dict[str, Any]]) -> dict[str, Any]:
    """Run one phase; a failure is recorded as skipped with its reason, and the run goes on."""
    started = time.perf_counter()
    load = os.getloadavg()[0]  # the machine is shared: a busy neighbour shows here
    engine = engine_fingerprint()  # and the engine is edited by others while this runs
    progress(f"{label} ... (load average {load:.2f}, engine {engine})")
    try:
        figures: dict[str, Any] = work()
    except WorkerFailed as error:
        progress(f"{label}: skipped: {error}")
        return {"skipped": str(error), "load_average": load, "engine": engine}
    progress(f"{label}: done in {time.perf_counter() - started:.1f} s")
    figures.update(load_average=load, engine=engine)
    return figures


def run_size(size: int, args: argparse.Namespace, questions: list[str]) -> dict[str, Any]:
    """Every measurement at one corpus size."""
    work = args.work_dir / f"{size}"
    work.mkdir(parents=True, exist_ok=True)
    progress(f"== {size:,} paragraphs: corpus")
    corpus = ensure_corpus(args.cache_dir, args.seed, size)
    question_file = work / "questions.json"
    question_file.write_text(json.dumps(questions), encoding="utf-8")
    db = work / "storybot.db"
    profile = ["--profile"] if size in args.profile_at else []
    common = ["--questions", str(question_file)]
    ours: dict[str, Any] = {}
    ours["ingest"] = _attempt(
        f"{size:,}: storybot ingest",
        lambda: run_worker(
            "storybot",
            "ingest",
            ["--db", str(db), "--corpus", str(corpus), "--batch", str(args.batch)],
        ),
    )
    if "skipped" in ours["ingest"]:
        return {"storybot": ours}
    ours["cli_ingest"] = _attempt(
        f"{size:,}: storybot add through the CLI",
        lambda: run_worker("storybot", "cli-ingest", ["--db", str(work / "cli.db"), "--corpus", str(corpus)]),
    )
    ours["cold_start"] = _attempt(f"{size:,}: storybot cold start", lambda: cold_start(db, questions))
    answer = _attempt(
        f"{size:,}: storybot answers",
        lambda: run_worker("storybot", "answer", ["--db", str(db), *common, *profile]),
    )
    answers_file = work / "storybot-answers.json"
    write_json(answers_file, answer)
    answer.pop("results", None)
    ours["answer"] = answer
    figures: dict[str, Any] = {"storybot": ours}
    params = json.dumps(answer.get("params", {}))
    timed = max(10, args.check, min(len(questions), RANK_BM25_BUDGET // size))
    peer_args = {
        "rank-bm25": ["--answers", str(answers_file), "--timed", str(timed), "--check", str(args.check)],
        "bm25s": ["--params", params, "--storybot-db", str(db)],
        "fts5": ["--db", str(work / "fts5.db")],
    }
    for peer in args.peers:
        if peer == "rank-bm25" and "skipped" in answer:
            figures[peer] = {"skipped": "storybot's answers, which rank-bm25 checks, are missing"}
            continue
        run = functools.partial(
            run_worker,
            "peers",
            peer,
            ["--corpus", str(corpus), *common, *peer_args[peer]],
            timeout=args.peer_timeout,
            memory_limit_gb=args.memory_limit_gb,
        )
        figures[peer] = _attempt(f"{size:,}: {peer}", run)
    ours["changes"] = _attempt(
        f"{size:,}: storybot add, remove and loop lag",
        lambda: run_worker(
            "changes", "changes", ["--db", str(db), *common, "--seed", str(args.seed), *profile]
        ),
    )
    if not args.keep:
        shutil.rmtree(work, ignore_errors=True)
    figures["targets"] = evaluate_targets(size, figures)
    return figures


def report(results: dict[str, Any]) -> str:
    """The whole markdown report: the command, the machine, one table per size, the profiles."""
    parts = [
        "# storybot at scale",
        "",
        f"`{results['command']}`",
        "",
        machine_line(results["machine"]),
        "",
        f"The whole run took {results.get('seconds', 0) / 60:.1f} minutes. Each engine and each storybot"
        " phase ran in its own process; peak RSS is that process's own (a peer's includes building its"
        " index in memory). Ratios matter more than absolute times on a shared machine:"
        " see the load averages. Every engine answers each timed question with its top"
        f" {ANSWER_PASSAGES}, the bot's default; storybot's include the cited text and best sentence.",
        "",
    ]
    engines = _engines(results)
    if len(engines) > 1:
        parts += [
            f"**Warning: the engine (index/) changed during the run** ({', '.join(sorted(engines))}):"
            " the phases did not all measure the same code.",
            "",
        ]
    for size_text, figures in results["sizes"].items():
        parts += [size_table(int(size_text), figures), ""]
    for size_text, figures in results["sizes"].items():
        section = profile_section(int(size_text), figures)
        if section:
            parts += [section, ""]
    return "\n".join(parts)


def _engines(results: dict[str, Any]) -> set[str]:
    """The engine fingerprints seen by the run's phases (more than one: the engine changed mid-run)."""
    found = {results["machine"].get("engine_fingerprint")}
    for figures in results["sizes"].values():
        for engine in figures.values():
            if isinstance(engine, dict):
                found.update(phase.get("engine") for phase in engine.values() if isinstance(phase, dict))
                found.add(engine.get("engine"))
    found.discard(None)
    return found


def main(argv: list[str] | None = None) -> None:
    """Parse the options, run every size, print the report and write the JSON (after each size)."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000, 1_000_000])
    parser.add_argument("--questions", type=int, default=300, help="SciFact claims asked, the same for all")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--check", type=int, default=20, help="questions checked against rank-bm25")
    parser.add_argument(
        "--batch", type=int, default=BATCH_ARTICLES, help="articles per add_articles call when ingesting"
    )
    parser.add_argument("--peers", nargs="*", default=["rank-bm25", "bm25s", "fts5"])
    parser.add_argument(
        "--profile-at", type=int, nargs="*", help="sizes to profile storybot at (default: every size)"
    )
    parser.add_argument("--json", type=Path, default=RESULTS / "scale.json")
    parser.add_argument("--markdown", type=Path, help="also write the printed report here")
    parser.add_argument("--cache-dir", type=Path, default=RESULTS / "cache", help="generated corpora")
    parser.add_argument("--work-dir", type=Path, default=RESULTS / "work", help="databases being measured")
    parser.add_argument("--keep", action="store_true", help="keep the databases after measuring")
    parser.add_argument("--peer-timeout", type=float, default=1800, help="seconds before a peer is skipped")
    parser.add_argument("--memory-limit-gb", type=float, default=20, help="address space a peer may use")
    parser.add_argument("--from-json", type=Path, help="measure nothing: print the report of saved figures")
    args = parser.parse_args(argv)
    if args.from_json:
        saved = json.loads(args.from_json.read_text(encoding="utf-8"))
        for size_text, figures in saved["sizes"].items():  # judged again, as the targets now read
            figures["targets"] = evaluate_targets(int(size_text), figures)
        _print_report(saved, args.markdown)
        return
    args.profile_at = set(args.sizes if args.profile_at is None else args.profile_at)
    unknown = set(args.peers) - {"rank-bm25", "bm25s", "fts5"}
    if unknown:
        parser.error(f"unknown peers: {', '.join(sorted(unknown))}")
    require(SCIFACT)
    questions = load_questions(args.questions, args.seed)
    command = "python benchmarks/scale.py " + " ".join(argv if argv is not None else sys.argv[1:])
    results: dict[str, Any] = {"command": command, "machine": machine(), "seed": args.seed, "sizes": {}}
    started = time.perf_counter()
    for size in sorted(args.sizes):
        results["sizes"][str(size)] = run_size(size, args, questions)
        results["seconds"] = time.perf_counter() - started
        write_json(args.json, results)
    _print_report(results, args.markdown)
    progress(f"all sizes in {time.perf_counter() - started:.0f} s; figures in {args.json}")


def _print_report(results: dict[str, Any], markdown: Path | None) -> None:
    text = report(results)
    print(text)
    if markdown:
        markdown.parent.mkdir(parents=True, exist_ok=True)
        markdown.write_text(text + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
