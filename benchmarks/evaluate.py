"""Retrieval quality, measured through the `storybot` command line exactly as a user runs it.

For each collection: a fresh database, `storybot add` of the articles as JSONL, `storybot ask --batch --json`
for the questions, then the metrics. Prints a table; `--json FILE` also writes the figures.

    python benchmarks/evaluate.py            # story dev set, SciFact train, Cranfield
    python benchmarks/evaluate.py --only story
"""

from __future__ import annotations

import argparse
import json
import math
import re
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

# `python benchmarks/<script>.py` puts benchmarks/ first on sys.path; `import benchmarks` needs the root.
if not __package__:
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.paths import SHARED, require

BUILTIN_ID = "musk-twitter-ai-gpus"


def storybot(db: Path, *args: str) -> str:
    """Run the installed command line on `db` and return its standard output."""
    command = [sys.executable, "-m", "bot", "--db", str(db), *args]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"storybot {' '.join(args)} failed:\n{done.stderr}")
    return done.stdout


def ask_batch(
    db: Path, questions: list[tuple[str, str]], top: int, workdir: Path
) -> tuple[dict[str, Any], float]:
    """Answers keyed by question id, and the wall-clock seconds of the batch (one process)."""
    batch = workdir / "questions.jsonl"
    batch.write_text("".join(json.dumps({"id": qid, "question": text}) + "\n" for qid, text in questions))
    started = time.perf_counter()
    output = storybot(db, "ask", "--batch", str(batch), "--json", "--top", str(top))
    seconds = time.perf_counter() - started
    answers = [json.loads(line) for line in output.splitlines() if line.strip()]
    return {answer["id"]: answer for answer in answers}, seconds


def _normalise(text: str) -> str:
    text = text.replace("\u2019", "'").replace("\u2018", "'").replace("\u201c", '"').replace("\u201d", '"')
    return re.sub(r"\s+", " ", text).strip().casefold()


def evaluate_story(workdir: Path) -> dict[str, Any]:
    """The story development questions: top-1 and top-3 hits, abstentions."""
    items = [
        json.loads(line) for line in (SHARED / "eval" / "story_qa_dev.jsonl").read_text().splitlines() if line
    ]
    db = workdir / "story.db"
    answers, seconds = ask_batch(db, [(str(i), item["q"]) for i, item in enumerate(items)], 3, workdir)
    top1 = top3 = abstained_right = refused_wrongly = answerable = 0
    failures = []
    for i, item in enumerate(items):
        answer = answers[str(i)]
        if item.get("abstain"):
            abstained_right += not answer["answered"]
            if answer["answered"]:
                failures.append(f"answered an off-topic question: {item['q']}")
            continue
        answerable += 1
        refused_wrongly += not answer["answered"]
        gold = [_normalise(g) for g in item["gold"]]
        texts = [_normalise(result["text"]) for result in answer["results"]]
        hit1 = bool(texts) and any(g in texts[0] for g in gold)
        top1 += hit1
        top3 += any(g in text for text in texts[:3] for g in gold)
        if not hit1 or not answer["answered"]:
            failures.append(f"top-1 miss or refusal: {item['q']}")
    return {
        "questions": len(items),
        "answerable": answerable,
        "top1": top1,
        "top3": top3,
        "off_topic": len(items) - answerable,
        "off_topic_abstained": abstained_right,
        "answerable_refused": refused_wrongly,
        "seconds": seconds,
        "failures": failures,
    }


def _ndcg_at(ranked: list[str], relevance: dict[str, int], k: int = 10) -> float:
    dcg = sum(relevance.get(doc, 0) / math.log2(i + 2) for i, doc in enumerate(ranked[:k]))
    ideal = sorted((grade for grade in relevance.values() if grade > 0), reverse=True)[:k]
    idcg = sum(grade / math.log2(i + 2) for i, grade in enumerate(ideal))
    return dcg / idcg if idcg else 0.0


def evaluate_collection(name: str, queries_file: str, qrels_file: str, workdir: Path) -> dict[str, Any]:
    """A BEIR-style collection: nDCG@10 and Recall@100 over its judged queries."""
    folder = SHARED / "evaldata" / name
    articles = workdir / f"{name}.jsonl"
    with articles.open("w") as out:
        for line in (folder / "corpus.jsonl").read_text().splitlines():
            doc = json.loads(line)
            if doc["text"].strip():  # Cranfield has two empty documents; nothing can retrieve them
                out.write(
                    json.dumps({"id": doc["_id"], "title": doc["title"] or doc["_id"], "text": doc["text"]})
                    + "\n"
                )
    qrels: dict[str, dict[str, int]] = defaultdict(dict)
    for row in (folder / qrels_file).read_text().splitlines()[1:]:
        query_id, doc_id, grade = row.split("\t")
        qrels[query_id][doc_id] = int(grade)
    queries = [json.loads(line) for line in (folder / queries_file).read_text().splitlines() if line]
    queries = [query for query in queries if query["_id"] in qrels]
    db = workdir / f"{name}.db"
    started = time.perf_counter()
    storybot(db, "add", str(articles))
    storybot(db, "remove", BUILTIN_ID)  # measure the collection alone
    ingest_seconds = time.perf_counter() - started
    answers, seconds = ask_batch(db, [(query["_id"], query["text"]) for query in queries], 100, workdir)
    ndcg, recall = [], []
    for query in queries:
        ranked = list(dict.fromkeys(result["source"]["id"] for result in answers[query["_id"]]["results"]))
        relevance = qrels[query["_id"]]
        relevant = {doc for doc, grade in relevance.items() if grade > 0}
        ndcg.append(_ndcg_at(ranked, relevance))
        recall.append(len(relevant & set(ranked[:100])) / len(relevant) if relevant else 0.0)
    return {
        "documents": sum(1 for _ in articles.open()),
        "queries": len(queries),
        "ndcg@10": sum(ndcg) / len(ndcg),
        "recall@100": sum(recall) / len(recall),
        "ingest_seconds": ingest_seconds,
        "batch_seconds": seconds,
    }


def main() -> None:
    """Run the evaluations and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", choices=["story", "scifact", "cranfield"], action="append")
    parser.add_argument("--json", type=Path, help="Also write the figures to this file.")
    args = parser.parse_args()
    chosen = args.only or ["story", "scifact", "cranfield"]
    for name in chosen:
        require(SHARED / "eval" if name == "story" else SHARED / "evaldata" / name)
    results: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        if "story" in chosen:
            results["story"] = evaluate_story(workdir)
        if "scifact" in chosen:
            results["scifact"] = evaluate_collection(
                "scifact", "queries-train.jsonl", "qrels-train.tsv", workdir
            )
        if "cranfield" in chosen:
            results["cranfield"] = evaluate_collection("cranfield", "queries.jsonl", "qrels.tsv", workdir)
    print("| evaluation | figure | value |")
    print("|---|---|---|")
    if "story" in results:
        story = results["story"]
        print(f"| story dev | top-1 | {story['top1']} of {story['answerable']} |")
        print(f"| story dev | top-3 | {story['top3']} of {story['answerable']} |")
        print(
            f"| story dev | off-topic not answered | {story['off_topic_abstained']} of {story['off_topic']} |"
        )
        print(f"| story dev | answerable refused | {story['answerable_refused']} |")
        for failure in story["failures"]:
            print(f"| story dev | failure | {failure} |")
    for name in ("scifact", "cranfield"):
        if name in results:
            figures = results[name]
            print(
                f"| {name} ({figures['documents']} docs, {figures['queries']} queries)"
                f" | nDCG@10 | {figures['ndcg@10']:.4f} |"
            )
            print(f"| {name} | Recall@100 | {figures['recall@100']:.4f} |")
            print(f"| {name} | add (s) | {figures['ingest_seconds']:.2f} |")
            print(f"| {name} | ask --batch, all queries (s) | {figures['batch_seconds']:.2f} |")
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
