"""How long the longest questions take: any text up to 10,000 characters at 100,000 paragraphs (issue 6).

The bot and the command line refuse questions over 1,000 characters; this measures the ranking path below
that check, which must stay bounded whatever reaches it. Seeded: the questions are words of the corpus, random
Unicode, and repeated terms, 10,000 characters each.

    .venv/bin/python benchmarks/long_questions.py --paragraphs 100000 --seed 7
"""

from __future__ import annotations

import argparse
import random
import sqlite3
import statistics
import sys
import tempfile
import time
from pathlib import Path

# `python benchmarks/<script>.py` puts benchmarks/ first on sys.path; `import benchmarks` needs the root.
if not __package__:
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.paths import ROOT
from benchmarks.scaling.corpus import ensure_corpus, read_articles
from index import StoryIndex
from index.engine.searcher import Searcher

RESULTS = ROOT / "benchmarks" / "results"
LENGTH = 10_000


def questions(words: list[str], rng: random.Random, count: int) -> dict[str, list[str]]:
    """Three kinds of 10,000-character question, `count` of each."""

    def corpus_words() -> str:
        return " ".join(rng.choice(words) for _ in range(LENGTH // 4))[:LENGTH]

    def unicode_noise() -> str:
        return "".join(chr(rng.randrange(32, 0x2FFF)) for _ in range(LENGTH))

    def one_term_repeated() -> str:
        return (rng.choice([word for word in words if len(word) > 6]) + " ") * LENGTH

    return {
        "corpus words": [corpus_words() for _ in range(count)],
        "random Unicode": [unicode_noise() for _ in range(count)],
        "one word repeated": [one_term_repeated()[:LENGTH] for _ in range(count)],
    }


def main() -> None:
    """Build (or reuse) the index, time the questions, print a table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--paragraphs", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--count", type=int, default=10)
    args = parser.parse_args()
    corpus = ensure_corpus(RESULTS / "cache", args.seed, args.paragraphs)
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "long.db"
        with StoryIndex(db, with_builtin_story=False) as index:
            articles = list(read_articles(corpus))
            for start in range(0, len(articles), 2_000):
                index.add_articles(articles[start : start + 2_000])
            words = [
                word for article in articles[:500] for text in article.paragraphs for word in text.split()
            ]
            tokenizer, params = index.tokenizer, index.params
        rng = random.Random(args.seed)
        conn = sqlite3.connect(db, isolation_level=None)
        searcher = Searcher(conn, tokenizer, params)
        searcher.search("warm up the caches", 10)
        heading = f"{args.paragraphs:,} paragraphs, 10,000-character questions"
        print(f"| {heading} | distinct terms | p50 (s) | max (s) |")
        print("|---|---|---|---|")
        for kind, texts in questions(words, rng, args.count).items():
            seconds, terms = [], []
            for text in texts:
                started = time.perf_counter()
                result = searcher.search(text, 10)
                seconds.append(time.perf_counter() - started)
                terms.append(len(set(result.terms)))
            p50, worst = statistics.median(seconds), max(seconds)
            print(f"| {kind} | {statistics.median(terms):.0f} | {p50:.3f} | {worst:.3f} |")
        conn.close()


if __name__ == "__main__":
    main()
