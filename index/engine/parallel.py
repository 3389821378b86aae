"""Tokenizing a big batch of articles in worker processes, while the writer stores the articles done so far.

Tokenizing is most of what indexing costs, and it is Python: one process uses one core. For a batch of at
least `MIN_PARAGRAPHS` paragraphs, chunks of articles go to worker processes. A worker cuts each text into
white-space pieces and sends back one number per piece, with the terms of the pieces it has not sent
before; the writer expands pieces into term numbers with numpy and hands them to the segment builder.
Small adds (an article from Discord) stay in the calling process, where starting workers would cost more
than it saves. The terms are the same either way: the workers run the same tokenizer on the same text.
"""

from __future__ import annotations

import contextlib
import functools
import itertools
import os
from array import array
from collections import deque
from collections.abc import Callable, Generator, Iterable, Iterator, Sequence
from dataclasses import dataclass
from itertools import chain
from typing import TYPE_CHECKING, TypeVar

import numpy as np
import numpy.typing as npt

from index.engine.terms import ArticleTerms, repeated_title
from index.engine.tokenizer import Tokenizer
from index.models import Article, content_hash

if TYPE_CHECKING:  # imported when a pool starts: `storybot ask` never needs them
    from concurrent.futures import Future, ProcessPoolExecutor

MIN_PARAGRAPHS = 10_000
"""Below this many paragraphs in a batch, tokenizing stays in the calling process."""
CHUNK_PARAGRAPHS = 3_000
"""About this many paragraphs go to a worker at a time: the first come back soon, the rest stream behind."""
IN_FLIGHT_PER_WORKER = 2
"""Chunks of a stream read ahead per worker: enough to keep the workers busy, few enough to bound memory."""

Payload = TypeVar("Payload")
Tag = TypeVar("Tag")


@dataclass(frozen=True)
class ChunkTerms:
    """A run of articles as a worker read them: white-space pieces, each a number in the worker's tables.

    A worker keeps numbering terms and pieces for as long as it lives, and sends only what is new since
    its last chunk: the terms (`new_terms`, numbered from `first_term`) and the pieces' terms (the pieces
    numbered from `first_piece` hold `new_piece_lengths` terms each, listed in `new_piece_terms`). A piece
    ("cells,") comes back as one number however often it occurs; the writer expands them into terms.
    """

    worker: int
    first_term: int
    new_terms: tuple[str, ...]
    first_piece: int
    new_piece_lengths: npt.NDArray[np.int64]
    new_piece_terms: npt.NDArray[np.int32]
    pieces: npt.NDArray[np.int32]
    """Every piece of the chunk in text order (the title's before each first paragraph's, twice)."""
    paragraph_pieces: npt.NDArray[np.int64]
    """How many pieces each paragraph has, paragraph after paragraph."""
    paragraphs: tuple[int, ...]
    """How many paragraphs each article has."""
    hashes: tuple[str, ...]
    """Each article's `content_hash`, worked out here too: it reads the whole text."""


class _WorkerTables:
    """What the writer knows of one worker: its terms by number, and each piece's terms."""

    def __init__(self) -> None:
        self.vocabulary: list[str] = []
        self.piece_lengths = np.zeros(0, dtype=np.int64)
        self.piece_starts = np.zeros(0, dtype=np.int64)
        self.piece_terms = np.zeros(0, dtype=np.int32)

    def learn(self, chunk: ChunkTerms) -> None:
        if chunk.first_piece == 0:  # the worker started its piece numbering afresh
            self.piece_lengths = self.piece_starts = np.zeros(0, dtype=np.int64)
            self.piece_terms = np.zeros(0, dtype=np.int32)
        if len(self.vocabulary) != chunk.first_term or len(self.piece_lengths) != chunk.first_piece:
            raise _LostTerms(f"worker {chunk.worker} sent a chunk out of step")
        self.vocabulary.extend(chunk.new_terms)
        starts = len(self.piece_terms) + np.cumsum(chunk.new_piece_lengths) - chunk.new_piece_lengths
        self.piece_starts = np.concatenate((self.piece_starts, starts))
        self.piece_lengths = np.concatenate((self.piece_lengths, chunk.new_piece_lengths))
        self.piece_terms = np.concatenate((self.piece_terms, chunk.new_piece_terms))

    def articles(self, chunk: ChunkTerms) -> Iterator[ArticleTerms]:
        """Each article's terms, the chunk's pieces expanded (in numpy, all at once)."""
        counts = self.piece_lengths[chunk.pieces]
        ends = np.cumsum(counts)
        offsets = np.repeat(self.piece_starts[chunk.pieces] - (ends - counts), counts)
        tokens = self.piece_terms[offsets + np.arange(len(offsets))]
        term_ends = np.concatenate(([0], ends))[np.cumsum(np.concatenate(([0], chunk.paragraph_pieces)))]
        lengths = np.diff(term_ends)
        token_at, paragraph_at = 0, 0
        for count, digest in zip(chunk.paragraphs, chunk.hashes, strict=True):
            article_lengths = lengths[paragraph_at : paragraph_at + count]
            size = int(article_lengths.sum())
            yield ArticleTerms(self.vocabulary, tokens[token_at : token_at + size], article_lengths, digest)
            token_at += size
            paragraph_at += count


class _LostTerms(Exception):
    """A worker's terms arrived out of step with what it sent before (never expected; start afresh)."""


class TermsPool:
    """Worker processes that tokenize big batches; started on first use, stopped by `close`."""

    def __init__(self, workers: int | None = None) -> None:
        self.workers = workers if workers is not None else min(os.cpu_count() or 1, 4)
        self._executor: ProcessPoolExecutor | None = None
        self._tables: dict[int, _WorkerTables] = {}  # by process id

    def worth_it(self, articles: Sequence[Article]) -> bool:
        """Whether a batch is big enough, and the machine has cores enough, to tokenize in workers."""
        return self.workers > 1 and sum(len(article.paragraphs) for article in articles) >= MIN_PARAGRAPHS

    def terms(self, articles: Sequence[Article]) -> Iterator[ArticleTerms | None]:
        """Each article's terms, in order; None for those the caller must tokenize itself.

        A worker that dies (killed, out of memory) costs nothing but time: the rest of the batch is
        tokenized by the caller, and the next batch starts new workers.
        """
        from concurrent.futures.process import BrokenProcessPool  # noqa: PLC0415 (see TYPE_CHECKING)

        done = 0
        futures: list[Future[ChunkTerms]] = []
        try:
            executor = self._start()
            futures = [executor.submit(chunk_terms, articles[start:end]) for start, end in _chunks(articles)]
            while futures:
                chunk = futures.pop(0).result()
                for terms in self._learn(chunk).articles(chunk):
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
                        self._learn(future.result())

    def read_terms(
        self,
        payloads: Iterable[Payload],
        read: Callable[[Payload], Sequence[tuple[Tag, Article]]],
        waiting: Callable[[], None] | None = None,
    ) -> Generator[tuple[Tag, Article, ArticleTerms | None]]:
        """Each payload read into (tag, article) pairs by `read` and tokenized, in the workers, in order.

        `read` is a module-level function (it is sent to the workers), and the caller's errors it raises come
        out here, at its payload's turn. Only a few payloads are in flight at once, so a stream of any length
        holds a bounded amount in memory. A worker that dies costs time only: the payloads not yet read
        are read here and their articles come with None, for the caller to tokenize. `waiting` is called
        before waiting for a payload the workers have not finished (a big add ends its turn there).
        """
        from concurrent.futures.process import BrokenProcessPool  # noqa: PLC0415 (see TYPE_CHECKING)

        pending = iter(payloads)
        in_flight: deque[tuple[Payload, Future[tuple[Sequence[tuple[Tag, Article]], ChunkTerms]]]] = deque()
        try:
            executor = self._start()
            for payload in itertools.islice(pending, IN_FLIGHT_PER_WORKER * self.workers + 1):
                in_flight.append((payload, executor.submit(read_chunk_terms, read, payload)))
            while in_flight:
                if waiting is not None and not in_flight[0][1].done():
                    waiting()
                tagged, chunk = in_flight[0][1].result()
                tables = self._learn(chunk)
                in_flight.popleft()  # only now: a payload whose terms were lost is read again below
                for payload in itertools.islice(pending, 1):
                    in_flight.append((payload, executor.submit(read_chunk_terms, read, payload)))
                for (tag, article), terms in zip(tagged, tables.articles(chunk), strict=True):
                    yield tag, article, terms
        except (BrokenProcessPool, _LostTerms):
            self.close()
            left = [payload for payload, _ in in_flight]
            in_flight.clear()
            for payload in itertools.chain(left, pending):
                for tag, article in read(payload):
                    yield tag, article, None
        finally:
            # Left early (a bad payload, the writer failed): later chunks build on the terms sent before.
            for _, future in in_flight:
                if not future.cancel():
                    with contextlib.suppress(Exception):
                        self._learn(future.result()[1])

    def _learn(self, chunk: ChunkTerms) -> _WorkerTables:
        tables = self._tables.setdefault(chunk.worker, _WorkerTables())
        tables.learn(chunk)
        return tables

    def close(self) -> None:
        """Stop the workers."""
        if self._executor is not None:
            self._executor.shutdown(wait=True, cancel_futures=True)
            self._executor = None
            self._tables = {}

    def _start(self) -> ProcessPoolExecutor:
        if self._executor is None:
            import multiprocessing  # noqa: PLC0415
            from concurrent.futures import ProcessPoolExecutor  # noqa: PLC0415

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
    """A worker's tokenizer and its numbering of terms and pieces, kept from chunk to chunk."""

    def __init__(self) -> None:
        self.tokenizer = Tokenizer()
        self.numbers: dict[str, int] = {}
        self.terms_sent = 0
        self.pieces: dict[str, int] = {}
        self.pieces_sent = 0
        self.new_pieces: list[tuple[int, ...]] = []  # the terms of the pieces numbered since the last chunk

    def add_pieces(self, text: str, out: array[int]) -> None:
        """Append the numbers of the text's pieces to `out`, numbering the new ones."""
        pieces = self.tokenizer.pieces(text)
        before = len(out)
        try:
            # The common case, every piece known, is one call in C; a None (a new piece) raises TypeError.
            out.extend(map(self.pieces.get, pieces))  # type: ignore[arg-type]
        except TypeError:  # a piece not numbered yet (None): undo, number the new ones, then add them all
            del out[before:]
            found = list(map(self.pieces.get, pieces))
            for index in [index for index, number in enumerate(found) if number is None]:
                found[index] = self._number_piece(pieces[index])
            out.extend(found)  # type: ignore[arg-type]

    def _number_piece(self, piece: str) -> int:
        """A piece's number, numbering it (and any new terms it holds) if it is new."""
        number = self.pieces.get(piece)
        if number is None:
            numbers = self.numbers
            terms = self.tokenizer.piece_terms(piece)
            self.new_pieces.append(tuple(numbers.setdefault(term, len(numbers)) for term in terms))
            number = self.pieces[piece] = len(self.pieces)
        return number

    def chunk(self, articles: Sequence[Article]) -> ChunkTerms:
        if len(self.pieces) > _PIECE_LIMIT:  # the writer starts its table of this worker's pieces afresh
            self.pieces.clear()
            self.pieces_sent = 0
        pieces = array("i")  # a C array: numpy reads it without a conversion per number
        paragraph_pieces: list[int] = []
        title = array("i")
        for article in articles:
            # The title counts in the first paragraph, before its own terms (`index.engine.terms`).
            del title[:]
            self.add_pieces(article.title, title)
            for position, text in enumerate(article.paragraphs):
                before = len(pieces)
                if position == 0:
                    pieces.extend(repeated_title(title))
                self.add_pieces(text, pieces)
                paragraph_pieces.append(len(pieces) - before)
        chunk = ChunkTerms(
            worker=os.getpid(),
            first_term=self.terms_sent,
            new_terms=tuple(itertools.islice(self.numbers, self.terms_sent, None)),
            first_piece=self.pieces_sent,
            new_piece_lengths=np.array([len(terms) for terms in self.new_pieces], dtype=np.int64),
            new_piece_terms=np.fromiter(chain.from_iterable(self.new_pieces), dtype=np.int32),
            pieces=np.frombuffer(pieces, dtype=np.int32) if pieces else np.zeros(0, dtype=np.int32),
            paragraph_pieces=np.array(paragraph_pieces, dtype=np.int64),
            paragraphs=tuple(len(article.paragraphs) for article in articles),
            hashes=tuple(content_hash(article) for article in articles),
        )
        self.terms_sent, self.pieces_sent = len(self.numbers), len(self.pieces)
        self.new_pieces = []
        return chunk


_PIECE_LIMIT = 1_000_000


@functools.cache
def _worker_terms() -> _WorkerTerms:
    return _WorkerTerms()


def chunk_terms(articles: Sequence[Article]) -> ChunkTerms:
    """Tokenize articles as the writer would (`index.engine.terms`), in this worker's numbers."""
    return _worker_terms().chunk(articles)


def read_chunk_terms(
    read: Callable[[Payload], Sequence[tuple[Tag, Article]]], payload: Payload
) -> tuple[Sequence[tuple[Tag, Article]], ChunkTerms]:
    """Read a payload into articles (a chunk of a file), then tokenize them: both in this worker."""
    tagged = read(payload)
    return tagged, _worker_terms().chunk([article for _, article in tagged])
