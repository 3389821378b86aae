"""The scale benchmark's corpus: realistic articles made of real SciFact sentences, seeded and cached.

Each article takes its title from a SciFact abstract and its paragraphs (5 to 20, of 1 to 4 consecutive
sentences each) from that abstract and one to three others, as a news story quotes a few studies. A size
of N paragraphs yields exactly N: the last articles are sized to fit. The same seed and size give the same
articles, byte for byte, on any machine, so every engine and every run sees the same corpus; the
generated JSONL is cached under the results directory, keyed by generator version, seed and size.
"""

from __future__ import annotations

import itertools
import json
import random
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

from benchmarks.paths import SHARED
from index.engine.terms import TITLE_WEIGHT
from index.models import Article

SCIFACT = SHARED / "evaldata" / "scifact"
GENERATOR_VERSION = 1
"""Bumped whenever generation changes, so an old cache is never mistaken for the new corpus."""

MIN_PARAGRAPHS, MAX_PARAGRAPHS = 5, 20
MIN_SENTENCES, MAX_SENTENCES = 1, 4
MIN_SENTENCE_CHARS = 20
OUTLET = "SciFact wire"

# A sentence ends at . ! or ? followed by space and something that starts a sentence.
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9(\[\"'])")


@dataclass(frozen=True)
class Abstract:
    """A SciFact abstract as sentences: the material articles are cut from."""

    title: str
    sentences: tuple[str, ...]


def split_sentences(text: str) -> list[str]:
    """The sentences of an abstract; fragments shorter than a short clause are dropped."""
    parts = (" ".join(part.split()) for part in _SENTENCE_END.split(text))
    return [part for part in parts if len(part) >= MIN_SENTENCE_CHARS]


def load_abstracts(path: Path = SCIFACT / "corpus.jsonl") -> list[Abstract]:
    """Every SciFact abstract with a title and at least one sentence, in file order."""
    abstracts = []
    with path.open(encoding="utf-8") as lines:
        for line in lines:
            record = json.loads(line)
            title = " ".join(str(record["title"]).split())
            sentences = split_sentences(str(record["text"]))
            if title and sentences:
                abstracts.append(Abstract(title, tuple(sentences)))
    return abstracts


def load_questions(count: int, seed: int, path: Path = SCIFACT / "queries-train.jsonl") -> list[str]:
    """`count` SciFact claims drawn with the seed (the same for every engine and every size)."""
    with path.open(encoding="utf-8") as lines:
        claims = [str(json.loads(line)["text"]) for line in lines if line.strip()]
    if count > len(claims):
        raise ValueError(f"asked for {count} questions; SciFact has {len(claims)} claims")
    return random.Random(f"questions:{seed}").sample(claims, count)


def article_sizes(total: int, rng: random.Random) -> Iterator[int]:
    """Paragraph counts between 5 and 20 summing to exactly `total` (which must be 0 or at least 5)."""
    if 0 < total < MIN_PARAGRAPHS:
        raise ValueError(f"a corpus needs 0 or at least {MIN_PARAGRAPHS} paragraphs, not {total}")
    remaining = total
    while remaining:
        if remaining <= MAX_PARAGRAPHS:
            size = remaining
        else:
            size = rng.randint(MIN_PARAGRAPHS, MAX_PARAGRAPHS)
            if remaining - size < MIN_PARAGRAPHS:
                size = remaining - MIN_PARAGRAPHS  # never leave a remainder too small for an article
        remaining -= size
        yield size


def generate_articles(
    abstracts: list[Abstract], paragraphs: int, seed: int, prefix: str = "scale"
) -> Iterator[Article]:
    """Articles holding exactly `paragraphs` paragraphs in all, ids `{prefix}-{seed}-{number}`."""
    rng = random.Random(f"{prefix}:{seed}:{paragraphs}")
    epoch = date(2015, 1, 1)
    for number, size in enumerate(article_sizes(paragraphs, rng)):
        sources = rng.sample(abstracts, rng.randint(2, 4))
        texts = []
        for _ in range(size):
            abstract = rng.choice(sources)
            run = min(rng.randint(MIN_SENTENCES, MAX_SENTENCES), len(abstract.sentences))
            start = rng.randrange(len(abstract.sentences) - run + 1)
            texts.append(" ".join(abstract.sentences[start : start + run]))
        yield Article(
            source_id=f"{prefix}-{seed}-{number:07d}",
            title=sources[0].title,
            paragraphs=tuple(texts),
            origin=f"benchmark:{prefix}-{seed}-{paragraphs}",
            outlet=OUTLET,
            published=(epoch + timedelta(days=number % 3650)).isoformat(),
        )


def paragraph_documents(article: Article) -> list[str]:
    """The text a peer engine indexes for each paragraph: as storybot, the title counts in the first."""
    texts = list(article.paragraphs)
    if texts:
        texts[0] = " ".join([article.title] * TITLE_WEIGHT + [texts[0]])
    return texts


def write_articles(path: Path, articles: Iterable[Article]) -> int:
    """Write articles as JSONL, atomically (a partial file is never a cache hit); returns the count."""
    partial = path.with_name(path.name + ".partial")
    path.parent.mkdir(parents=True, exist_ok=True)
    count = 0
    with partial.open("w", encoding="utf-8") as out:
        for article in articles:
            record = {
                "id": article.source_id,
                "title": article.title,
                "paragraphs": list(article.paragraphs),
                "origin": article.origin,
                "outlet": article.outlet,
                "published": article.published,
            }
            out.write(json.dumps(record, ensure_ascii=False) + "\n")
            count += 1
    partial.replace(path)
    return count


def read_articles(path: Path) -> Iterator[Article]:
    """The articles of a JSONL file written by `write_articles`, in order."""
    with path.open(encoding="utf-8") as lines:
        for line in lines:
            record = json.loads(line)
            yield Article(
                source_id=record["id"],
                title=record["title"],
                paragraphs=tuple(record["paragraphs"]),
                origin=record["origin"],
                outlet=record["outlet"],
                published=record["published"],
            )


def corpus_path(cache_dir: Path, seed: int, paragraphs: int) -> Path:
    """Where the corpus of this seed and size is cached."""
    return cache_dir / f"corpus-v{GENERATOR_VERSION}-seed{seed}-{paragraphs}.jsonl"


def ensure_corpus(cache_dir: Path, seed: int, paragraphs: int) -> Path:
    """The cached corpus of this seed and size, generated first if it is not there yet."""
    path = corpus_path(cache_dir, seed, paragraphs)
    if not path.exists():
        write_articles(path, generate_articles(load_abstracts(), paragraphs, seed))
    return path


def extra_articles(count: int, seed: int) -> list[Article]:
    """Articles outside every corpus (ids `extra-…`), for the add, remove and ingest-profile probes."""
    generated = generate_articles(load_abstracts(), count * MAX_PARAGRAPHS, seed, prefix="extra")
    return list(itertools.islice(generated, count))
