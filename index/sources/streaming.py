"""Reading the operator's own files without holding them whole: JSONL in chunks of lines, the rest per file.

`storybot add` names files the operator chose, so they have no size cap; memory stays bounded instead. A
JSONL file is cut into `JsonlChunk`s of whole lines, undecoded, which `read_jsonl_chunk` turns into articles
(in a worker process when the writer uses them, see `index.engine.parallel`); any other file is one article
and is read whole. The articles and the error messages are those of `index.sources.readers.read_path`.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from index.errors import SourceError
from index.models import Article
from index.sources.readers import jsonl_line_article, kind_for_name, open_regular

CHUNK_BYTES = 1024 * 1024
"""About this many bytes of lines go into one chunk (some 2,500 paragraphs of news)."""

MAX_LINE_BYTES = 64 * 1024 * 1024
"""The longest JSONL line (one article) read; a longer one is refused by number, never read whole."""


@dataclass(frozen=True)
class JsonlChunk:
    """Consecutive lines of a JSONL file as bytes, with where they start: what `read_jsonl_chunk` reads."""

    name: str
    """The file, as errors and origins name it."""
    first_line: int
    data: bytes


def article_count(file: Path) -> int:
    """How many articles a file holds, counted before it is read: a JSONL file's lines, else one.

    A blank JSONL line is counted too (it holds none): the count is for a progress bar's total, cheaply
    read in blocks whatever the lines' lengths, and an add moves its count to the file's end when it ends.
    """
    if not is_jsonl(file):
        return 1
    lines, last = 0, b"\n"
    try:
        with open_regular(file) as handle:
            while block := handle.read(_COUNT_BLOCK_BYTES):
                lines += block.count(b"\n")
                last = block[-1:]
    except (OSError, SourceError):
        return 0  # reading it says what is wrong
    return lines + (last != b"\n")


_COUNT_BLOCK_BYTES = 1024 * 1024


def is_jsonl(file: Path) -> bool:
    """Whether a file is read line by line (JSONL) rather than whole."""
    return kind_for_name(str(file)) == "jsonl"


def jsonl_chunks(file: Path, chunk_bytes: int | None = None) -> Iterator[JsonlChunk]:
    """The file's lines in chunks of about `chunk_bytes` (default `CHUNK_BYTES`), read as they are needed."""
    name, chunk_bytes = str(file), chunk_bytes or CHUNK_BYTES
    line, lines, size, first = 1, list[bytes](), 0, 1
    try:
        with open_regular(file) as handle:
            while text := handle.readline(MAX_LINE_BYTES + 1):
                if len(text) > MAX_LINE_BYTES and not text.endswith(b"\n"):
                    raise SourceError(
                        f"{name}: line {line}: longer than the {MAX_LINE_BYTES:,}-byte limit for one article"
                    )
                lines.append(text)
                size += len(text)
                line += 1
                if size >= chunk_bytes:
                    yield JsonlChunk(name, first, b"".join(lines))
                    lines, size, first = [], 0, line
    except OSError as error:
        raise SourceError(f"{name}: cannot read ({error.strerror or error})") from None
    if lines or first == 1:
        yield JsonlChunk(name, first, b"".join(lines))


def read_jsonl_chunk(chunk: JsonlChunk) -> list[tuple[int, Article]]:
    """The chunk's articles with their line numbers; SourceError naming the file and line of a bad one."""
    name, data = chunk.name, chunk.data
    if chunk.first_line == 1 and not data.strip():
        raise SourceError(f"{name}: empty file")
    if b"\x00" in data:
        line = chunk.first_line + data.count(b"\n", 0, data.index(b"\x00"))
        raise SourceError(f"{name}: line {line}: binary content (contains NUL bytes), not text")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as error:
        line = chunk.first_line + data.count(b"\n", 0, error.start)
        raise SourceError(f"{name}: line {line}: not valid UTF-8") from None
    if chunk.first_line == 1:
        text = text.removeprefix("\ufeff")
    articles: list[tuple[int, Article]] = []
    for number, line_text in enumerate(text.split("\n"), start=chunk.first_line):
        if not line_text.strip():
            continue
        articles.append((number, jsonl_line_article(line_text, f"{name}: line {number}", name)))
    return articles
