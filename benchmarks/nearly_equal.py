"""What "nearly equal" may be: the newest-first rule at several widths, on a dated passage-QA run's answers.

    python benchmarks/passage_qa.py --only squad --dated --keep /tmp/dated
    python benchmarks/nearly_equal.py /tmp/dated/squad/all/answers.jsonl

The answers (all articles in one index, ten passages each) are put back in score order, then re-sorted newest
first within each run of scores within the width, as `index.answers.newest_first` does; the width 0 gives the
ranking without dates. Each width's top-1, top-3 and MRR@10 against the gold paragraph, and how many first
passages the rule changed.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

if not __package__:
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.paths import SHARED

QUESTIONS = SHARED / "evaldata" / "squad-dev" / "questions.jsonl"
WIDTHS = (0.0, 0.005, 0.01, 0.02, 0.03, 0.05, 0.1, 0.2)

Row = dict[str, Any]


def newest_first(results: list[Row], width: float) -> list[Row]:
    """The results newest first within each run of scores within `width` of the run's first."""
    ordered: list[Row] = []
    start = 0
    while start < len(results):
        lead = results[start]["score"]
        end = start + 1
        while end < len(results) and results[end]["score"] >= lead - abs(lead) * width:
            end += 1
        ordered += sorted(results[start:end], key=lambda row: row["source"]["date"] or "", reverse=True)
        start = end
    return ordered


def main() -> None:
    """Print one line per width."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument(
        "answers", type=Path, help="answers.jsonl of a --dated run, all articles in one index"
    )
    parser.add_argument("--questions", type=Path, default=QUESTIONS, help="the set's questions.jsonl")
    args = parser.parse_args()
    gold = {row["id"]: row for row in map(json.loads, args.questions.read_text("utf-8").splitlines())}
    answers = [json.loads(line) for line in args.answers.read_text("utf-8").splitlines() if line.strip()]

    def is_gold(result: Row, question: Row) -> bool:
        return bool(
            result["source"]["id"] == question["article"] and result["paragraph"] - 1 == question["paragraph"]
        )

    for width in WIDTHS:
        top1 = top3 = reciprocal = changed = 0.0
        for answer in answers:
            question = gold[answer["id"]]
            by_score = sorted(answer["results"], key=lambda row: -row["score"])
            shown = newest_first(by_score, width)
            changed += bool(shown) and shown[0] is not by_score[0]
            top1 += bool(shown) and is_gold(shown[0], question)
            top3 += any(is_gold(row, question) for row in shown[:3])
            reciprocal += next(
                (1 / rank for rank, row in enumerate(shown[:10], 1) if is_gold(row, question)), 0
            )
        count = len(answers) or 1
        print(
            f"width {width:<6} top-1 {top1 / count:.2%}  top-3 {top3 / count:.2%}  "
            f"MRR@10 {reciprocal / count:.4f}  first passage changed {int(changed)}"
        )


if __name__ == "__main__":
    main()
