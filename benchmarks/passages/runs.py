"""The two parts of a run, SQuAD and the story set: storybot and the peers asked, judged, gathered."""

from __future__ import annotations

import contextlib
import tempfile
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from benchmarks.passages.data import BadInput, QaSet, Row, Run, paragraphs, read_jsonl
from benchmarks.passages.peers import ENGINES, PeerInput, peer_runs
from benchmarks.passages.scoring import BUILT_IN, Scorer, judge, ranking, story_figures
from benchmarks.passages.storybot import Job, misaligned, run_job, run_jobs, squad_jobs
from benchmarks.passages.tradeoff import Confidences, confidences


@dataclass(frozen=True)
class Part:
    """A part's figures and answers, and the confidences for its trade-off curve (None: none given)."""

    figures: Row
    confidences: Confidences | None
    answers: dict[str, Row]


def by_id(answers: Sequence[Row]) -> dict[str, Row]:
    """Answers keyed by question id, the first of a repeated id kept (as score.py does)."""
    keyed: dict[str, Row] = {}
    for answer in answers:
        keyed.setdefault(answer["id"], answer)
    return keyed


def evaluate_squad(qa: QaSet, workdir: Path, official: Scorer | None, seconds: dict[str, float]) -> Part:
    """storybot through its command line and the three peers, both settings, judged by every scorer."""
    scorers = [BUILT_IN, *([official] if official else [])]
    started = time.perf_counter()
    files = storybot_squad(qa, workdir)
    seconds["storybot SQuAD"] = time.perf_counter() - started
    engines: dict[str, Row] = {}
    runs: dict[str, dict[str, Run]] = {}
    engines["storybot"], runs["storybot"] = judge_storybot(files, qa, scorers)
    started = time.perf_counter()
    given = PeerInput.of(qa)
    seconds["peers' tokenizing"] = time.perf_counter() - started
    for name, engine in ENGINES.items():
        started = time.perf_counter()
        runs[name] = peer_runs(engine, given)
        seconds[name] = time.perf_counter() - started
        engines[name] = {
            setting: _no_answered(
                judge(f"{name}, {setting}", [(s, run) for s in scorers], qa.questions, None)
            )
            for setting, run in runs[name].items()
        }
    within_answers = read_jsonl(files["within"])
    figures = {
        "set": _set_sizes(qa),
        "scored_by": [s.name for s in scorers],
        "engines": engines,
        "per_article": {name: per_article(runs[name], qa) for name in ("storybot", "rank-bm25")},
        "misaligned_results": misaligned([*read_jsonl(files["global"]), *within_answers], qa),
    }
    keyed = by_id(within_answers)
    own = [q["id"] for q in qa.questions]
    return Part(figures, confidences(keyed, [q["id"] for q in qa.offtopic], own), keyed)


def storybot_squad(qa: QaSet, workdir: Path) -> dict[str, Path]:
    """Run the global job and the 20 within jobs; the answer files of both settings."""
    everything, within = squad_jobs(qa, workdir)
    run_jobs([everything, *within])  # the long global job first, so that the two workers end together
    within_file = workdir / "within-answers.jsonl"
    within_file.write_text(
        "".join((job.folder / "answers.jsonl").read_text("utf-8") for job in within), "utf-8"
    )
    return {"global": everything.folder / "answers.jsonl", "within": within_file}


def judge_storybot(
    files: dict[str, Path], qa: QaSet, scorers: Sequence[Scorer]
) -> tuple[Row, dict[str, Run]]:
    """storybot's figures, each scorer reading the answer files itself; and its runs."""
    runs = {
        setting: [(scorer, scorer.load_run(path)) for scorer in scorers] for setting, path in files.items()
    }
    within = judge("storybot, within", runs["within"], qa.questions, qa.offtopic)
    figures = {
        "global": judge("storybot, global", runs["global"], qa.questions, None)["ranking"],
        "within": within["ranking"],
        "offtopic": within["offtopic"],
    }
    return figures, {setting: pairs[0][1] for setting, pairs in runs.items()}


def _no_answered(figures: Row) -> Row:
    # A peer has no abstain decision: its "answered" would always be 1.
    return {key: value for key, value in figures["ranking"].items() if key != "answered"}


def _set_sizes(qa: QaSet) -> Row:
    return {
        "articles": len(qa.articles),
        "paragraphs": sum(len(paragraphs(a)) for a in qa.articles),
        "questions": len(qa.questions),
        "offtopic": len(qa.offtopic),
    }


def per_article(runs: dict[str, Run], qa: QaSet) -> Row:
    """Each article's top-1, in both settings (by the built-in scoring, whose totals score.py confirmed)."""
    return {
        article["id"]: {setting: ranking(run, qa.own(article["id"]))["top1"] for setting, run in runs.items()}
        for article in qa.articles
    }


def evaluate_story(path: Path, workdir: Path, seconds: dict[str, float]) -> Part:
    """The story development questions, asked of a new database that holds only the built-in story."""
    items = read_jsonl(path)
    job = Job(workdir / "story", [], [{"id": str(i), "question": item["q"]} for i, item in enumerate(items)])
    seconds["story"] = run_job(job)
    answers = by_id(job.answers())
    offtopic = [str(i) for i, item in enumerate(items) if item.get("abstain")]
    answerable = [str(i) for i, item in enumerate(items) if not item.get("abstain")]
    return Part(story_figures(items, answers), confidences(answers, offtopic, answerable), answers)


@contextlib.contextmanager
def workspace(keep: Path | None) -> Iterator[Path]:
    """The work folder: `keep` (new or empty) if given, else a temporary one removed afterwards."""
    if keep is None:
        with tempfile.TemporaryDirectory(prefix="passage-qa-") as folder:
            yield Path(folder)
        return
    if keep.exists() and any(keep.iterdir()):
        raise BadInput(f"--keep {keep}: the folder is not empty")
    keep.mkdir(parents=True, exist_ok=True)
    yield keep
