"""Tokenizing a big batch of articles in worker processes, while the writer stores the articles done so far.

Tokenizing is most of what indexing costs, and it is Python: one process uses one core. For a batch of at
least `MIN_PARAGRAPHS` paragraphs, chunks of articles go to worker processes, which send back each chunk's
terms as numbers into the chunk's own vocabulary (compact to send, and ready for the segment builder),
in the order of the articles. Small adds (an article from Discord) stay in the calling process, where
starting workers would cost more than it saves. The terms are the same either way: the workers run the
same tokenizer on the same text.
"""

from __future__ import annotations

import contextlib
import functools
import itertools
import multiprocessing
import os
from collections.abc import Iterable, Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from itertools import chain

import numpy as np
import numpy.typing as npt

from index.models import Article
from index.store import TITLE_WEIGHT, content_hash
from index.tokenizer import Tokenizer

MIN_PARAGRAPHS = 10_000
"""Below this many paragraphs in a batch, tokenizing stays in the calling process."""
CHUNK_PARAGRAPHS = 3_000
"""About this many paragraphs go to a worker at a time: the first come back soon, the rest stream behind."""


@dataclass(frozen=True)
class ChunkTerms:
    """The terms of a run of articles, each a number into the vocabulary of the worker that read them.

    A worker numbers terms for as long as it lives, and sends only the terms new since its last chunk
    (`new_terms`, numbered from `first_new`): the vocabulary crosses the process boundary once.
    """

    worker: int
    first_new: int
    new_terms: tuple[str, ...]
    tokens: npt.NDArray[np.int32]
    lengths: npt.NDArray[np.int64]
    """How many terms each paragraph has, paragraph after paragraph."""
    paragraphs: tuple[int, ...]
    """How many paragraphs each article has."""
    hashes: tuple[str, ...]
    """Each article's `content_hash`, worked out here too: it reads the whole text."""

    def articles(self, vocabulary: list[str]) -> Iterator[ArticleTerms]:
        """Each article's share of the chunk, its numbers read in the worker's `vocabulary`."""
        token_at, paragraph_at = 0, 0
        for count, digest in zip(self.paragraphs, self.hashes, strict=True):
            lengths = self.lengths[paragraph_at : paragraph_at + count]
            size = int(lengths.sum())
            yield ArticleTerms(vocabulary, self.tokens[token_at : token_at + size], lengths, digest)
            token_at += size
            paragraph_at += count


@dataclass(frozen=True)
class ArticleTerms:
    """One article's terms as numbers into a worker's vocabulary: what `SegmentBuilder.add_numbered` takes."""

    vocabulary: list[str]
    """The worker's vocabulary (it grows as its chunks arrive; numbers already given never change)."""
    tokens: npt.NDArray[np.int32]
    lengths: npt.NDArray[np.int64]
    content_hash: str


class _LostTerms(Exception):
    """A worker's terms arrived out of step with what it sent before (never expected; start afresh)."""


class TermsPool:
    """Worker processes that tokenize big batches; started on first use, stopped by `close`."""

    def __init__(self, workers: int | None = None) -> None:
        self.workers = workers if workers is not None else min(os.cpu_count() or 1, 4)
        self._executor: ProcessPoolExecutor | None = None
        self._vocabularies: dict[int, list[str]] = {}  # each worker's terms by number, by process id

    def worth_it(self, articles: Sequence[Article]) -> bool:
        """Whether a batch is big enough, and the machine has cores enough, to tokenize in workers."""
        return self.workers > 1 and sum(len(article.paragraphs) for article in articles) >= MIN_PARAGRAPHS

    def terms(self, articles: Sequence[Article]) -> Iterator[ArticleTerms | None]:
        """Each article's terms, in order; None for those the caller must tokenize itself.

        A worker that dies (killed, out of memory) costs nothing but time: the rest of the batch is
        tokenized by the caller, and the next batch starts new workers.
        """
        done = 0
        futures: list[Future[ChunkTerms]] = []
        try:
            executor = self._start()
            futures = [executor.submit(chunk_terms, articles[start:end]) for start, end in _chunks(articles)]
            while futures:
                chunk = futures.pop(0).result()
                for terms in chunk.articles(self._vocabulary_of(chunk)):
                    done += 1
                    yield terms
        except (BrokenProcessPool, _LostTerms):
            self.close()
            yield from [None] * (len(articles) - done)
        finally:
            # Left early (the writer failed): a worker's later chunks build on the terms it sent before.
            for future in futures:
                if not future.cancel():
                    with contextlib.suppress(Exception):
                        self._vocabulary_of(future.result())

    def _vocabulary_of(self, chunk: ChunkTerms) -> list[str]:
        vocabulary = self._vocabularies.setdefault(chunk.worker, [])
        if len(vocabulary) != chunk.first_new:
            raise _LostTerms(f"worker {chunk.worker}: terms from {chunk.first_new}, not {len(vocabulary)}")
        vocabulary.extend(chunk.new_terms)
        return vocabulary

    def close(self) -> None:
        """Stop the workers."""
        if self._executor is not None:
            self._executor.shutdown(wait=True, cancel_futures=True)
            self._executor = None
            self._vocabularies = {}

    def _start(self) -> ProcessPoolExecutor:
        if self._executor is None:
            # "spawn": a forked copy of a process running threads (the bot) could inherit a held lock.
            context = multiprocessing.get_context("spawn")
            self._executor = ProcessPoolExecutor(self.workers, mp_context=context)
        return self._executor


def _chunks(articles: Sequence[Article]) -> Iterator[tuple[int, int]]:
    # The first chunk is small, so the writer starts soon; the others are big enough to be cheap to send.
    start, paragraphs, wanted = 0, 0, CHUNK_PARAGRAPHS // 8
    for index, article in enumerate(articles):
        paragraphs += len(article.paragraphs)
        if paragraphs >= wanted:
            yield start, index + 1
            start, paragraphs, wanted = index + 1, 0, CHUNK_PARAGRAPHS
    if start < len(articles):
        yield start, len(articles)


class _WorkerTerms:
    """A worker's tokenizer and its numbering of terms, kept from chunk to chunk."""

    def __init__(self) -> None:
        self.tokenizer = Tokenizer()
        self.numbers: dict[str, int] = {}
        self.sent = 0  # how many of the numbered terms the writer has been sent
        self._pieces: dict[str, tuple[int, ...]] = {}

    def paragraph(self, text: str, tokens: list[int]) -> int:
        """Append a paragraph's term numbers to `tokens`; return how many."""
        before = len(tokens)
        pieces = self.tokenizer.pieces(text)
        known = list(map(self._pieces.get, pieces))
        if None in known:
            if len(self._pieces) > _PIECE_LIMIT:
                self._pieces.clear()
            for index, piece in enumerate(pieces):
                if known[index] is None:
                    known[index] = self._pieces[piece] = self.numbered(self.tokenizer.piece_terms(piece))
        tokens.extend(chain.from_iterable(known))  # type: ignore[arg-type]
        return len(tokens) - before

    def numbered(self, terms: Iterable[str]) -> tuple[int, ...]:
        numbers = self.numbers
        return tuple(numbers.setdefault(term, len(numbers)) for term in terms)


_PIECE_LIMIT = 500_000


@functools.cache
def _worker_terms() -> _WorkerTerms:
    return _WorkerTerms()


def chunk_terms(articles: Sequence[Article]) -> ChunkTerms:
    """Tokenize articles as the writer would (`index.store.paragraph_terms`), as numbers."""
    worker = _worker_terms()
    tokens: list[int] = []
    lengths: list[int] = []
    for article in articles:
        # The title counts TITLE_WEIGHT times in the first paragraph, before its own terms.
        title = worker.numbered(worker.tokenizer.tokenize(article.title)) * TITLE_WEIGHT
        for position, text in enumerate(article.paragraphs):
            if position == 0:
                tokens.extend(title)
            lengths.append(worker.paragraph(text, tokens) + (len(title) if position == 0 else 0))
    first_new, worker.sent = worker.sent, len(worker.numbers)
    return ChunkTerms(
        os.getpid(),
        first_new,
        tuple(itertools.islice(worker.numbers, first_new, None)),
        np.array(tokens, dtype=np.int32),
        np.array(lengths, dtype=np.int64),
        tuple(len(article.paragraphs) for article in articles),
        tuple(content_hash(article) for article in articles),
    )
