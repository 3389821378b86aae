"""Passage-level question answering: does storybot put the paragraph that answers a question first?

Measured through the command line exactly as a user runs it, on the SQuAD development set in
`../shared/evaldata/squad-dev` (20 Wikipedia articles, 1,257 paragraphs, 7,670 questions each written on one
paragraph, 500 off-topic questions). For each database: `storybot add articles.jsonl`, `storybot remove` of
the built-in story (every source whose origin starts with "builtin:"), then `storybot ask --batch ask.jsonl
--json --top 10`. rank-bm25, bm25s and SQLite FTS5 rank the same paragraphs (each article's text split on
blank lines, paragraph text only, no title) for the same questions, in this process. The story development
set (`../shared/eval/story_qa_dev.jsonl`) is asked of a new database as it comes, holding only the built-in
story.

    python benchmarks/passage_qa.py                        # about two minutes on two cores
    python benchmarks/passage_qa.py --only squad --per-article --json squad.json --keep /tmp/squad-run
    python benchmarks/passage_qa.py --only squad --dated     # each article published on a day of its own

The two settings, as the set's score.py defines them:

- **all articles in one index** (global): one database with the 20 articles, asked every question; a hit is
  the gold (article, paragraph) pair, so the right paragraph of the wrong article is a miss.
- **each article alone** (within): one database per article, asked that article's questions and the 25
  off-topic questions asked against it (20 runs, two at a time).

The figures: **top-1** and **top-3**, the share of questions whose gold paragraph is ranked first, or in the
first three; **MRR@10**, the mean of 1/rank of the gold paragraph in the first ten results (0 if absent);
**answered**, the share of the questions storybot answered (`"answered": true`); **off-topic declined**, the
share of the off-topic questions it did not answer, each article alone. Rankings count the passages storybot
returns whether or not it judged them an answer, and a question missing from a run counts as a miss. The
peers have no abstain decision, so the last two figures are storybot's only. On the story set a hit is a top
passage holding one of the question's gold phrases (case, white space and curly quotes aside).

The peers: rank-bm25's `BM25Okapi` with its defaults and bm25s with its own (method "lucene") on the same
tokens, bm25s's tokenizer with English stopwords and the Snowball stemmer; SQLite FTS5 (`porter unicode61`,
in memory) ranked by `bm25()`, each question an OR of its quoted words. rank-bm25 and FTS5 break ties by the
lower paragraph number. rank-bm25 and bm25s return ten paragraphs even when some score zero, FTS5 only those
holding a word of the question.

The figures are computed here with the same definitions as score.py; when the set's folder holds score.py, it
judges too (every engine's run, storybot's from its answer files) and the run fails unless both agree. Where
storybot's answers carry `"confidence"`, a trade-off table shows, for thresholds from 0 to 1, the off-topic
questions declined (confidence below the threshold) and the own questions answered (at or above it).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import cast

# `python benchmarks/<script>.py` puts benchmarks/ first on sys.path; `import benchmarks` needs the root.
if not __package__:
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.passages.data import BadInput, QaSet, Row
from benchmarks.passages.report import report
from benchmarks.passages.runs import Part, by_id, evaluate_squad, evaluate_story, workspace
from benchmarks.passages.scoring import ScorersDisagree, official_scorer
from benchmarks.passages.storybot import StorybotFailed
from benchmarks.passages.tradeoff import Confidences, curve, rule_breaks
from benchmarks.paths import SHARED
from benchmarks.scaling.report import engine_fingerprint, machine

SQUAD_SET = SHARED / "evaldata" / "squad-dev"
STORY_SET = SHARED / "eval" / "story_qa_dev.jsonl"


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    """The command's options."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--set", type=Path, default=SQUAD_SET, metavar="DIR", help="the SQuAD set's folder")
    parser.add_argument("--story", type=Path, default=STORY_SET, metavar="FILE", help="the story questions")
    parser.add_argument(
        "--only", choices=["squad", "story"], action="append", help="run only this part (repeatable)"
    )
    parser.add_argument("--json", type=Path, metavar="FILE", help="also write every figure to FILE")
    parser.add_argument("--per-article", action="store_true", help="also print each article's top-1")
    parser.add_argument("--keep", type=Path, metavar="DIR", help="keep the databases and answers in DIR")
    parser.add_argument(
        "--dated", action="store_true", help="publish each SQuAD article on a day of its own (2024-01-01 on)"
    )
    return parser.parse_args(argv)


def evaluate(args: argparse.Namespace) -> Row:
    """Run the chosen parts and gather every figure."""
    chosen = args.only or ["squad", "story"]
    fingerprint = engine_fingerprint()
    seconds: dict[str, float] = {}
    started = time.perf_counter()
    parts: dict[str, Part] = {}
    with workspace(args.keep) as workdir:
        if "squad" in chosen:
            qa = QaSet.read(args.set).dated() if args.dated else QaSet.read(args.set)
            parts["squad"] = evaluate_squad(qa, workdir / "squad", official_scorer(args.set), seconds)
        if "story" in chosen:
            parts["story"] = evaluate_story(args.story, workdir, seconds)
    seconds["total"] = time.perf_counter() - started
    results: Row = {name: part.figures for name, part in parts.items()}
    curves = {name: part.confidences for name, part in parts.items()}
    answers = [answer for part in parts.values() for answer in part.answers.values()]
    shipped = {float(answer["threshold"]) for answer in answers if "threshold" in answer}
    drawn = all(values is not None for values in curves.values()) and bool(curves)
    results["curve"] = curve(cast(dict[str, Confidences], curves), shipped) if drawn else None
    results["shipped_thresholds"] = sorted(shipped)
    results["rule_breaks"] = rule_breaks(by_id(answers)) if drawn else None
    results["machine"] = {**machine(), "engine_fingerprint": fingerprint}
    results["fingerprint_changed"] = engine_fingerprint() != fingerprint
    results["seconds"] = seconds
    return results


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmark, print its tables and optionally write its figures; the exit status."""
    args = parse_args(argv)
    try:
        results = evaluate(args)
    except (StorybotFailed, ScorersDisagree, BadInput) as error:
        print(f"passage_qa: {error}", file=sys.stderr)
        return 1
    print("\n".join(report(results, args.per_article)))
    if args.json:
        args.json.write_text(json.dumps(results, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
