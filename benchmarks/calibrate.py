"""Fit the weights of `index.engine.confidence`: when does the best passage answer the question?

On the SQuAD development set, each article indexed alone (the story bot's setting): its own questions should
be answered, the 25 off-topic questions asked against it declined. Every question is searched as the bot
searches it, its `Evidence` kept, and a logistic regression (both classes weighing the same in all, a little
L2) fitted on it with numpy. Prints the weights to paste into `index/engine/confidence.py` and, for
thresholds on the confidence, the share of off-topic questions declined against own questions answered.

    python benchmarks/calibrate.py [--set DIR]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

import numpy as np
import numpy.typing as npt

# `python benchmarks/<script>.py` puts benchmarks/ first on sys.path; `import benchmarks` needs the root.
if not __package__:
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.paths import SHARED, require
from index import StoryIndex
from index.engine.confidence import WEIGHTS, Evidence
from index.engine.searcher import Searcher

SQUAD = SHARED / "evaldata" / "squad-dev"
L2 = 1e-3
STEPS = 4000
RATE = 2.0


def read_jsonl(path: Path) -> list[dict[str, object]]:
    """The objects of a JSONL file."""
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def evidence_of(folder: Path, workdir: Path) -> tuple[list[Evidence], list[Evidence]]:
    """The evidence of each own question and of each off-topic one, every article indexed alone."""
    articles = read_jsonl(folder / "articles.jsonl")
    questions = read_jsonl(folder / "questions.jsonl")
    offtopic = read_jsonl(folder / "offtopic.jsonl")
    own: list[Evidence] = []
    other: list[Evidence] = []
    for article in articles:
        source = workdir / f"{article['id']}.jsonl"
        source.write_text(json.dumps(article) + "\n", encoding="utf-8")
        with StoryIndex(workdir / f"{article['id']}.db", with_builtin_story=False, workers=1) as index:
            index.add_paths([source])
            searcher = Searcher(index._connection(), index.tokenizer, index.params)
            for rows, found in ((questions, own), (offtopic, other)):
                for row in rows:
                    if row["article"] == article["id"]:
                        result = searcher.search(str(row["question"]), 3)
                        if result.evidence is not None:
                            found.append(result.evidence)
    return own, other


def fit(positive: npt.NDArray[np.float64], negative: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    """Logistic regression by gradient descent, each class weighing as much as the other in all."""
    features = np.vstack([positive, negative])
    labels = np.concatenate([np.ones(len(positive)), np.zeros(len(negative))])
    balance = np.concatenate([np.ones(len(positive)), np.full(len(negative), len(positive) / len(negative))])
    weights = np.zeros(features.shape[1])
    for _ in range(STEPS):
        predicted = 1 / (1 + np.exp(-features @ weights))
        gradient = features.T @ ((predicted - labels) * balance) / len(labels) + L2 * weights
        weights -= RATE * gradient
    return weights


def main() -> None:
    """Fit, then print the weights and the trade-off."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--set", type=Path, default=SQUAD, help="the SQuAD set's folder")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        own, other = evidence_of(require(args.set), Path(tmp))
    positive = np.array([evidence.features() for evidence in own])
    negative = np.array([evidence.features() for evidence in other])
    weights = fit(positive, negative)
    print(f"{len(own)} own questions, {len(other)} off-topic")
    print("WEIGHTS =", tuple(round(float(weight), 2) for weight in weights))
    print("shipped:", WEIGHTS)
    print("| threshold | off-topic declined | own answered | (shipped weights) declined | answered |")
    print("|---|---|---|---|---|")
    shipped = np.array(WEIGHTS) if len(WEIGHTS) == positive.shape[1] else weights
    for threshold in np.arange(0.2, 0.71, 0.05):
        cells = []
        for model in (weights, shipped):
            answered = np.mean(1 / (1 + np.exp(-positive @ model)) >= threshold)
            declined = np.mean(1 / (1 + np.exp(-negative @ model)) < threshold)
            cells += [f"{100 * declined:.1f}%", f"{100 * answered:.1f}%"]
        print(f"| {threshold:.2f} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
