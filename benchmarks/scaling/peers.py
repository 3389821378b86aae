"""The peers storybot is measured against, on the same corpus and questions, each in its own process.

    rank-bm25  BM25Okapi over storybot's own tokens: the reference for scores, and the same-answers check
    bm25s      bm25s.tokenize (English stopwords, Snowball stemmer), index, retrieve a question at a time
    fts5       SQLite FTS5 with tokenize='porter unicode61', ranked by bm25()

A peer indexes the same text storybot does for each paragraph (the title counted in the first paragraph),
and answers each timed question with its top ANSWER_PASSAGES, as storybot does.

Besides timing itself alone, the bm25s process can time bm25s and storybot head to head: the same
questions asked of each in turn, in one process, so both see the same state of a shared machine.
"""

from __future__ import annotations

import argparse
import itertools
import json
import re
import sqlite3
import time
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import psutil

from benchmarks.scaling.common import (
    ANSWER_PASSAGES,
    CHECKED_PASSAGES,
    latency_summary,
    peak_rss_mb,
    progress,
    write_json,
)
from benchmarks.scaling.corpus import paragraph_documents, read_articles
from index.engine.ranking import BM25Parameters
from index.engine.terms import paragraph_terms
from index.engine.tokenizer import STOPWORDS, Tokenizer
from index.models import Article

WARM_UP_QUESTIONS = 5
SCORE_TOLERANCE = 1e-6
_FTS_WORD = re.compile(r"\w+")


def current_rss_mb() -> float:
    """This process's resident set size now, in MiB."""
    return float(psutil.Process().memory_info().rss / 1024**2)


def ranking_mismatch(
    hits: Sequence[tuple[int, float]], scores: npt.NDArray[np.float64], k: int = CHECKED_PASSAGES
) -> str | None:
    """None if storybot's top-k hits (paragraph index, score) are rank-bm25's top k, ties aside; else why.

    Every storybot score must equal rank-bm25's for that paragraph, the scores must descend, every
    paragraph rank-bm25 scores above its k-th best must be among the hits, and no hit may fall below it.
    """
    for index, score in hits:
        if abs(score - float(scores[index])) > SCORE_TOLERANCE:
            return f"paragraph {index}: storybot scores {score:.9f}, rank-bm25 {float(scores[index]):.9f}"
    claimed = [score for _, score in hits]
    if any(later > earlier + SCORE_TOLERANCE for earlier, later in itertools.pairwise(claimed)):
        return "storybot's scores do not descend"
    return _cut_mismatch(hits, scores, k)


def _cut_mismatch(hits: Sequence[tuple[int, float]], scores: npt.NDArray[np.float64], k: int) -> str | None:
    """Why the hits are not rank-bm25's top k up to ties at the k-th best score, or None."""
    positive = scores[scores > 0]
    wanted = min(k, int(positive.size))
    if len(hits) < wanted:
        return f"storybot returned {len(hits)} paragraphs; rank-bm25 scores {wanted} above zero"
    if wanted == 0:
        return None
    cut = float(np.partition(positive, positive.size - wanted)[positive.size - wanted])
    mine = {index for index, _ in hits}
    for index in np.flatnonzero(scores > cut + SCORE_TOLERANCE):
        if int(index) not in mine:
            return (
                f"paragraph {int(index)} (rank-bm25 {float(scores[index]):.6f}) is missing from the top {k}"
            )
    if any(score < cut - SCORE_TOLERANCE for _, score in hits[:wanted]):
        return f"a hit scores below rank-bm25's {k}th best ({cut:.6f})"
    return None


class ReferenceIndex:
    """rank-bm25's BM25Okapi over exactly the terms storybot indexes, addressed by (source id, position)."""

    def __init__(self, articles: Iterable[Article], params: BM25Parameters) -> None:
        from rank_bm25 import BM25Okapi  # the reference lives in benchmarks and tests only

        self.tokenizer = Tokenizer()
        self.keys: dict[tuple[str, int], int] = {}
        token_lists: list[list[str]] = []
        started = time.perf_counter()
        for article in articles:
            terms = paragraph_terms(self.tokenizer, article.title, article.paragraphs)
            for position, paragraph in enumerate(terms, start=1):
                self.keys[(article.source_id, position)] = len(token_lists)
                token_lists.append(paragraph)
        self.tokenize_seconds = time.perf_counter() - started
        self.bm25 = BM25Okapi(token_lists, k1=params.k1, b=params.b, epsilon=params.epsilon)
        self.build_seconds = time.perf_counter() - started

    def scores(self, question: str) -> npt.NDArray[np.float64]:
        """rank-bm25's score of every paragraph for the question's tokens (as storybot tokenizes it)."""
        tokens = self.tokenizer.tokenize(question, for_query=True)
        scores: npt.NDArray[np.float64] = self.bm25.get_scores(tokens)
        return scores

    def mismatch(self, hits: Sequence[Sequence[Any]], question: str) -> str | None:
        """Why storybot's hits [(source id, position, score)] differ from rank-bm25's top ten, or None."""
        indexed = []
        for source_id, position, score in hits:
            index = self.keys.get((str(source_id), int(position)))
            if index is None:
                return f"storybot returned a paragraph outside the corpus: {source_id} #{position}"
            indexed.append((index, float(score)))
        return ranking_mismatch(indexed, self.scores(question))


def run_rank_bm25(
    corpus: Path, questions: list[str], answers: Path, timed: int, check: int
) -> dict[str, Any]:
    """Build BM25Okapi, time get_scores on `timed` questions and check storybot's top ten on `check`."""
    storybot = json.loads(answers.read_text(encoding="utf-8"))
    reference = ReferenceIndex(read_articles(corpus), BM25Parameters(**storybot["params"]))
    progress(f"  rank-bm25 built in {reference.build_seconds:.1f} s; timing {max(timed, check)} questions")
    seconds, mismatches = [], []
    for number, question in enumerate(questions[: max(timed, check)]):
        started = time.perf_counter()
        scores = reference.scores(question)
        np.argpartition(-scores, ANSWER_PASSAGES)[:ANSWER_PASSAGES]
        seconds.append(time.perf_counter() - started)
        if number < check:
            problem = reference.mismatch(storybot["results"][number], question)
            if problem:
                mismatches.append({"question": question, "problem": problem})
    return {
        "build_seconds": reference.build_seconds,
        "tokenize_seconds": reference.tokenize_seconds,
        "latency": latency_summary(seconds[:timed]),
        "peak_rss_mb": peak_rss_mb(),
        "rss_answering_mb": current_rss_mb(),
        "same_answers": {"checked": min(check, len(questions)), "mismatches": mismatches},
    }


def run_bm25s(
    corpus: Path, questions: list[str], params: BM25Parameters, storybot_db: Path | None = None
) -> dict[str, Any]:
    """bm25s as its README shows it: stemmed, English stopwords; one question per retrieve call.

    With `storybot_db`, the questions are then asked of both engines in turn (see `head_to_head`).
    """
    import bm25s
    import Stemmer

    stemmer = Stemmer.Stemmer("english")
    texts = [text for article in read_articles(corpus) for text in paragraph_documents(article)]
    started = time.perf_counter()
    tokens = bm25s.tokenize(texts, stopwords="en", stemmer=stemmer, show_progress=False)
    del texts
    retriever = bm25s.BM25(k1=params.k1, b=params.b)
    retriever.index(tokens, show_progress=False)
    build = time.perf_counter() - started
    del tokens
    progress(f"  bm25s built in {build:.1f} s")

    def retrieve(question: str) -> None:
        query = bm25s.tokenize(
            question, stopwords="en", stemmer=stemmer, return_ids=False, show_progress=False
        )
        retriever.retrieve(query, k=ANSWER_PASSAGES, show_progress=False, n_threads=0)

    figures = {"build_seconds": build, **_timed_questions(retrieve, questions)}
    if storybot_db is not None:
        figures["head_to_head"] = head_to_head(retrieve, storybot_db, questions)
    return figures


def head_to_head(retrieve: Any, storybot_db: Path, questions: list[str]) -> dict[str, Any]:
    """A peer and storybot timed on each question in turn, in this one process, the order alternating.

    Run one after the other in separate processes, two engines can meet a shared machine in different
    moods (their medians have differed by half from one run to the next); here a slow moment slows both.
    It is not neutral either: each engine's question sweeps the other's data out of the CPU caches, which
    costs the engine that touches more memory per question more (storybot's median doubled so).
    storybot answers as in its own phase (a new StoryIndex, the same warm-up, ANSWER_PASSAGES passages).
    """
    from index import StoryIndex

    with StoryIndex(storybot_db, with_builtin_story=False) as index:

        def answer(question: str) -> None:
            index.ask(question, top=ANSWER_PASSAGES)

        engines = {"peer": retrieve, "storybot": answer}
        for question in questions[:WARM_UP_QUESTIONS]:
            answer(question)
        seconds: dict[str, list[float]] = {"peer": [], "storybot": []}
        for number, question in enumerate(questions):
            order = ("peer", "storybot") if number % 2 == 0 else ("storybot", "peer")
            for name in order:
                started = time.perf_counter()
                engines[name](question)
                seconds[name].append(time.perf_counter() - started)
    peer, ours = (latency_summary(seconds[name]) for name in ("peer", "storybot"))
    return {"peer": peer, "storybot": ours, "ratio": float(peer["p50_ms"]) / float(ours["p50_ms"])}


def fts5_match(question: str) -> str | None:
    """The question as an FTS5 query: its non-stopword words, quoted and OR-joined (no syntax to break)."""
    words = dict.fromkeys(w for w in _FTS_WORD.findall(question.casefold()) if w not in STOPWORDS)
    return " OR ".join(f'"{word}"' for word in words) or None


def run_fts5(corpus: Path, questions: list[str], db: Path) -> dict[str, Any]:
    """An FTS5 table of the paragraphs, built in one transaction and optimised; bm25() top passages."""
    for path in (db, db.with_name(db.name + "-journal")):
        path.unlink(missing_ok=True)
    started = time.perf_counter()
    conn = sqlite3.connect(db, isolation_level=None)
    conn.execute("CREATE VIRTUAL TABLE paragraphs USING fts5(text, tokenize='porter unicode61')")
    conn.execute("BEGIN")
    conn.executemany(
        "INSERT INTO paragraphs (text) VALUES (?)",
        ((text,) for article in read_articles(corpus) for text in paragraph_documents(article)),
    )
    conn.execute("COMMIT")
    conn.execute("INSERT INTO paragraphs (paragraphs) VALUES ('optimize')")
    conn.close()
    build = time.perf_counter() - started
    progress(f"  FTS5 built in {build:.1f} s")
    conn = sqlite3.connect(db)  # a new connection: answering starts from a cold SQLite page cache
    sql = "SELECT rowid, bm25(paragraphs) FROM paragraphs WHERE paragraphs MATCH ? ORDER BY bm25(paragraphs)"

    def retrieve(question: str) -> None:
        match = fts5_match(question)
        if match:
            conn.execute(f"{sql} LIMIT {ANSWER_PASSAGES}", (match,)).fetchall()

    figures = {"build_seconds": build, "database_bytes": db.stat().st_size}
    figures.update(_timed_questions(retrieve, questions))
    conn.close()
    return figures


def _timed_questions(retrieve: Any, questions: list[str]) -> dict[str, Any]:
    for question in questions[:WARM_UP_QUESTIONS]:
        retrieve(question)
    seconds = []
    for question in questions:
        started = time.perf_counter()
        retrieve(question)
        seconds.append(time.perf_counter() - started)
    return {
        "latency": latency_summary(seconds),
        "peak_rss_mb": peak_rss_mb(),
        "rss_answering_mb": current_rss_mb(),
    }


def main(argv: Sequence[str] | None = None) -> None:
    """Run one peer; the driver passes the files, the peer writes its figures to --out."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("peer", choices=["rank-bm25", "bm25s", "fts5"])
    parser.add_argument("--corpus", type=Path, required=True)
    parser.add_argument("--questions", type=Path, required=True, help="a JSON list of questions")
    parser.add_argument("--answers", type=Path, help="storybot's answers (rank-bm25 checks them)")
    parser.add_argument("--db", type=Path, help="the FTS5 database to build")
    parser.add_argument("--timed", type=int, default=10, help="rank-bm25: questions to time")
    parser.add_argument("--check", type=int, default=20, help="rank-bm25: questions to check")
    parser.add_argument("--params", default="{}", help="storybot's BM25 parameters, as JSON")
    parser.add_argument("--storybot-db", type=Path, help="bm25s: also time storybot head to head")
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args(argv)
    questions: list[str] = json.loads(args.questions.read_text(encoding="utf-8"))
    params = BM25Parameters(**json.loads(args.params))
    try:
        if args.peer == "rank-bm25":
            figures = run_rank_bm25(args.corpus, questions, args.answers, args.timed, args.check)
        elif args.peer == "bm25s":
            figures = run_bm25s(args.corpus, questions, params, args.storybot_db)
        else:
            figures = run_fts5(args.corpus, questions, args.db)
    except MemoryError:
        figures = {"skipped": f"out of memory (peak RSS {peak_rss_mb():,.0f} MiB before the failure)"}
    write_json(args.out, figures)


if __name__ == "__main__":
    main()
