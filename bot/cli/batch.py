"""The questions file of `storybot ask --batch`: JSONL of {"id", "question"}, read with every line bounded.

The whole file is checked before the first question is answered, so a bad line (by number) stops the batch
with nothing printed: either every line is answered or none is. A line is read at most `MAX_LINE_BYTES` (+1)
at a time, so `/dev/zero` or a file with no newline costs that much memory, never more.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import IO, Any

MAX_LINE_BYTES = 8192
"""The longest line of a questions file: room for a 1,000-character question even written in \\u escapes."""


class BatchError(Exception):
    """A line of a questions file cannot be read as a question; the message names the line."""


@dataclass(frozen=True)
class BatchQuestion:
    """One line of a questions file: the caller's id (any JSON value) and the question's text."""

    id: Any
    question: str


def check_batch(handle: IO[bytes]) -> list[BatchQuestion] | None:
    """Check every line; the questions kept in memory only when the file cannot be read a second time.

    A regular file is read again by `read_batch` to answer it, so a long batch is never held whole.
    """
    if handle.seekable():
        for _ in read_batch(handle):
            pass
        handle.seek(0)
        return None
    return list(read_batch(handle))


def read_batch(handle: IO[bytes]) -> Iterator[BatchQuestion]:
    """The questions of a file, in order (blank lines skipped); BatchError for the first bad line."""
    number = 0
    while line := handle.readline(MAX_LINE_BYTES + 1):
        number += 1
        if len(line.rstrip(b"\r\n")) > MAX_LINE_BYTES:
            raise BatchError(f"line {number}: over the {MAX_LINE_BYTES:,}-byte limit of a line")
        question = _question(line, number)
        if question is not None:
            yield question


def _question(line: bytes, number: int) -> BatchQuestion | None:
    try:
        text = line.decode("utf-8")
    except UnicodeDecodeError as error:
        raise BatchError(
            f"line {number}: not valid UTF-8 (invalid byte at column {error.start + 1})"
        ) from None
    if not text.strip():
        return None
    # Checked before parsing: how deep json.loads goes before a RecursionError differs between Pythons.
    if _nesting(text) > MAX_NESTING:
        raise BatchError(f"line {number}: JSON nested too deeply")
    try:
        item = json.loads(text)
    except json.JSONDecodeError as error:
        raise BatchError(f"line {number}: not valid JSON ({error.msg})") from None
    except RecursionError:
        raise BatchError(f"line {number}: JSON nested too deeply") from None
    if not isinstance(item, dict) or not isinstance(item.get("question"), str) or "id" not in item:
        raise BatchError(f'line {number}: expected {{"id": ..., "question": "..."}}')
    # Only a \u escape makes a lone surrogate, which could be neither answered nor printed as UTF-8.
    if "\\u" in text and not _encodable(item):
        raise BatchError(f"line {number}: holds a lone surrogate escape (\\ud800-\\udfff), not text")
    return BatchQuestion(item["id"], item["question"])


def _encodable(item: dict[str, Any]) -> bool:
    try:
        json.dumps(item, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


MAX_NESTING = 64
"""Arrays and objects one batch line may nest: `{"id": ..., "question": "..."}` needs one or two."""


def _nesting(text: str) -> int:
    """The deepest nesting of arrays and objects in a JSON text, brackets inside strings not counted."""
    depth = deepest = 0
    in_string = escaped = False
    for char in text:
        if in_string:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif char in "]}":
            depth -= 1
    return deepest
