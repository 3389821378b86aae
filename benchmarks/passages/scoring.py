"""Scoring with the definitions of the set's score.py: a run's figures, scorers that agree, story hits."""

from __future__ import annotations

import importlib.util
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from benchmarks.evaluate import _normalise as normalise
from benchmarks.passages.data import TOP, BadInput, Ranked, Row, Run, read_jsonl


class ScorersDisagree(Exception):
    """The built-in scoring and the set's score.py gave different figures for the same run."""


def run_from_answers(answers: Sequence[Row]) -> Run:
    """A run from storybot's answers, read as score.py's load_run reads them (first answer of an id kept)."""
    run: Run = {}
    for answer in answers:
        if answer["id"] in run:
            continue
        ranked: Ranked = []
        for result in answer.get("results") or []:
            try:
                ranked.append((result["source"]["id"], int(result["paragraph"]) - 1))
            except (KeyError, TypeError, ValueError):
                ranked.append(None)  # a malformed result still takes its rank
        run[answer["id"]] = (answer.get("answered") is True, ranked)
    return run


def ranking(run: Run, questions: Sequence[Row]) -> dict[str, Any]:
    """top-1, top-3, MRR@10 and answered share over `questions`; one missing from the run is a miss."""
    n = len(questions)
    top1 = top3 = answered = missing = 0
    mrr = 0.0
    for question in questions:
        if question["id"] not in run:
            missing += 1
            continue
        said, ranked = run[question["id"]]
        answered += said
        gold = (question["article"], question["paragraph"])
        if gold in ranked[:TOP]:
            rank = ranked.index(gold) + 1
            top1 += rank == 1
            top3 += rank <= 3
            mrr += 1 / rank
    share = (lambda count: count / n) if n else (lambda count: 0.0)
    return {
        "questions": n,
        "top1": share(top1),
        "top3": share(top3),
        "mrr10": share(mrr),
        "answered": share(answered),
        "missing": missing,
    }


def declined(run: Run, offtopic: Sequence[Row]) -> dict[str, Any]:
    """Share of off-topic questions the run declined; one missing from the run is not declined."""
    missing = sum(q["id"] not in run for q in offtopic)
    count = sum(q["id"] in run and not run[q["id"]][0] for q in offtopic)
    return {
        "questions": len(offtopic),
        "declined": count / len(offtopic) if offtopic else 0.0,
        "missing": missing,
    }


@dataclass(frozen=True)
class Scorer:
    """The functions that turn a run into figures, named as in score.py."""

    name: str
    load_run: Callable[[Path], Run]
    ranking: Callable[[Run, Sequence[Row]], dict[str, Any]]
    declined: Callable[[Run, Sequence[Row]], dict[str, Any]]


BUILT_IN = Scorer("built-in", lambda path: run_from_answers(read_jsonl(path)), ranking, declined)


def official_scorer(folder: Path) -> Scorer | None:
    """The set's own score.py, if its folder has one."""
    path = folder / "score.py"
    if not path.is_file():
        return None
    spec = importlib.util.spec_from_file_location("squad_dev_score", path)
    if spec is None or spec.loader is None:
        raise BadInput(f"{path}: cannot be loaded")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return Scorer("score.py", module.load_run, module.ranking, module.declined)


def _agree(ours: dict[str, Any], theirs: dict[str, Any]) -> bool:
    return ours.keys() == theirs.keys() and all(
        math.isclose(ours[key], theirs[key], rel_tol=0, abs_tol=1e-12) for key in ours
    )


def judge(
    label: str, runs: Sequence[tuple[Scorer, Run]], questions: Sequence[Row], offtopic: Sequence[Row] | None
) -> Row:
    """The figures of one run by each scorer (built-in first), which must agree; the last one's returned."""
    judged = []
    for scorer, run in runs:
        figures: Row = {"ranking": scorer.ranking(run, questions)}
        if offtopic is not None:
            figures["offtopic"] = scorer.declined(run, offtopic)
        judged.append(figures)
    first = judged[0]
    for (scorer, _run), figures in zip(runs[1:], judged[1:], strict=True):
        for part, value in figures.items():
            if not _agree(first[part], value):
                raise ScorersDisagree(f"{label}, {part}: built-in {first[part]} but {scorer.name} {value}")
    return judged[-1]


def story_figures(items: Sequence[Row], answers: dict[str, Row]) -> Row:
    """top-1 and top-3 hits of the answerable questions, and how many of each kind were answered."""
    answerable = [(str(i), item) for i, item in enumerate(items) if not item.get("abstain")]
    offtopic = [str(i) for i, item in enumerate(items) if item.get("abstain")]
    top1 = top3 = answered = 0
    misses = []
    for question_id, item in answerable:
        answer = answers.get(question_id, {})
        texts = [normalise(result["text"]) for result in answer.get("results", [])]
        gold = [normalise(phrase) for phrase in item["gold"]]
        hit1 = any(phrase in texts[0] for phrase in gold) if texts else False
        top1 += hit1
        top3 += any(phrase in text for text in texts[:3] for phrase in gold)
        answered += answer.get("answered") is True
        if not hit1 or answer.get("answered") is not True:
            misses.append(item["q"])
    misses += [items[int(i)]["q"] for i in offtopic if answers.get(i, {}).get("answered", True) is not False]
    return {
        "answerable": len(answerable),
        "top1": top1,
        "top3": top3,
        "answered": answered,
        "offtopic": len(offtopic),
        "declined": sum(answers.get(i, {}).get("answered", True) is False for i in offtopic),
        "misses": misses,
    }
