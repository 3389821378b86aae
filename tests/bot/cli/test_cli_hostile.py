"""The command line under hostile input: bounded reading and output, one line per problem, no traceback."""

from __future__ import annotations

import io
import json
import os
from pathlib import Path

import pytest

from bot.cli.batch import MAX_LINE_BYTES, BatchError, BatchQuestion, check_batch
from bot.cli.output import MAX_LISTED, printable
from index import StoryIndex
from tests.bot.cli.runs import storybot
from tests.bot.cli.test_cli import timeless
from tests.conftest import write_jsonl

QUESTION = '{"id": 1, "question": "why did Musk leave OpenAI?"}\n'


def batch_error(db: Path, text: bytes, tmp_path: Path) -> str:
    """The one stderr line of `ask --batch` on a file holding `text`; stdout must stay empty."""
    path = tmp_path / "questions.jsonl"
    path.write_bytes(text)
    result = storybot(db, "ask", "--batch", str(path), "--json")
    assert result.exit_code == 1
    assert result.stdout == "", "a bad line must stop the batch before any answer"
    assert "Traceback" not in result.output
    [line] = result.stderr.splitlines()
    return line.removeprefix(f"Error: {path}: ")


# -- ask --batch ------------------------------------------------------------------------------------------


def test_batch_from_dev_zero_stops_at_the_line_limit(db_path: Path) -> None:
    result = storybot(db_path, "ask", "--batch", "/dev/zero", "--json")
    assert result.exit_code == 1
    assert result.stderr == f"Error: /dev/zero: line 1: over the {MAX_LINE_BYTES:,}-byte limit of a line\n"


def test_an_over_long_line_is_reported_by_number_and_nothing_is_answered(
    db_path: Path, tmp_path: Path
) -> None:
    long = json.dumps({"id": 3, "question": "a" * MAX_LINE_BYTES}).encode() + b"\n"
    assert batch_error(db_path, QUESTION.encode() * 2 + long, tmp_path) == (
        f"line 3: over the {MAX_LINE_BYTES:,}-byte limit of a line"
    )


def test_a_line_exactly_at_the_limit_is_read(db_path: Path, tmp_path: Path) -> None:
    start = '{"id": 1, "question": "why did Musk leave OpenAI?'
    line = start + " " * (MAX_LINE_BYTES - len(start) - 2) + '"}'
    assert len(line.encode()) == MAX_LINE_BYTES
    path = tmp_path / "q.jsonl"
    path.write_text(line + "\n" + QUESTION, encoding="utf-8")
    result = storybot(db_path, "ask", "--batch", str(path), "--json", "--top", "1")
    assert result.exit_code == 0, result.output
    assert [json.loads(answer)["id"] for answer in result.stdout.splitlines()] == [1, 1]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (b"[" * 4000 + b"]" * 4000 + b"\n", "line 2: JSON nested too deeply"),
        (b'{"id": 2, "question": "caf\xe9"}\n', "line 2: not valid UTF-8 (invalid byte at column 27)"),
        (
            b'{"id": 2, "question": "\\udc00"}\n',
            "line 2: holds a lone surrogate escape (\\ud800-\\udfff), not text",
        ),
        (
            b"[" * 100_000 + b"]" * 100_000 + b"\n",
            f"line 2: over the {MAX_LINE_BYTES:,}-byte limit of a line",
        ),
        (b'{"id": 2, "question": 3}\n', 'line 2: expected {"id": ..., "question": "..."}'),
    ],
    ids=["nested-4000", "latin-1", "lone-surrogate", "nested-100000", "not-a-question"],
)
def test_a_hostile_batch_line_is_one_line_by_number(
    db_path: Path, tmp_path: Path, text: bytes, message: str
) -> None:
    assert batch_error(db_path, QUESTION.encode() + text + QUESTION.encode(), tmp_path) == message


class _Pipe(io.RawIOBase):
    """A stream that cannot seek, as a pipe on stdin."""

    def __init__(self, data: bytes) -> None:
        self._data = io.BytesIO(data)

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        return self._data.readinto(buffer)


def test_a_pipe_is_checked_whole_then_answered_from_memory() -> None:
    pipe = io.BufferedReader(_Pipe(QUESTION.encode() + b'{"id": "b", "question": "x"}\n'))
    assert not pipe.seekable()
    assert check_batch(pipe) == [BatchQuestion(1, "why did Musk leave OpenAI?"), BatchQuestion("b", "x")]
    with pytest.raises(BatchError, match=r"^line 2: not valid JSON"):
        check_batch(io.BufferedReader(_Pipe(QUESTION.encode() + b"{\n")))


def test_a_file_is_checked_then_rewound_to_be_answered_without_holding_it() -> None:
    file = io.BytesIO(QUESTION.encode() * 3)
    assert check_batch(file) is None
    assert file.tell() == 0


# -- add and sources ----------------------------------------------------------------------------------------


def test_add_of_a_directory_with_many_fifos_lists_a_bounded_number(db_path: Path, tmp_path: Path) -> None:
    folder = tmp_path / "news"
    folder.mkdir()
    (folder / "moon.txt").write_text("Moon base\n\nIt opened on Monday.\n", encoding="utf-8")
    for number in range(MAX_LISTED + 5):
        os.mkfifo(folder / f"pipe-{number:02}.txt")

    result = storybot(db_path, "add", str(folder))
    verbose = storybot(db_path, "add", "--verbose", str(folder))

    assert result.exit_code == 0, result.output
    assert timeless(result.stdout) == (
        f"added 1, updated 0, unchanged 0, failed 0, skipped {MAX_LISTED + 5}: 1 paragraph in Ns\n"
    )
    lines = result.stderr.splitlines()
    assert (
        lines[0] == f"skipped {folder / 'pipe-00.txt'}: a named pipe (FIFO), not a regular file; not opened"
    )
    assert len(lines) == MAX_LISTED + 1
    assert lines[-1] == "... and 5 more (--verbose lists them all)"
    assert len(verbose.stderr.splitlines()) == MAX_LISTED + 5
    assert verbose.stdout.startswith("unchanged moon: Moon base (1 paragraph)\n")


def test_add_of_many_bad_files_lists_a_bounded_number_of_errors(db_path: Path, tmp_path: Path) -> None:
    missing = [str(tmp_path / f"gone-{number}.txt") for number in range(MAX_LISTED + 1)]
    result = storybot(db_path, "add", *missing)
    assert result.exit_code == 1
    assert timeless(result.stdout) == (
        f"added 0, updated 0, unchanged 0, failed {MAX_LISTED + 1}, skipped 0: 0 paragraphs in Ns\n"
    )
    lines = result.stderr.splitlines()
    assert lines[0] == f"Error: {missing[0]}: no such file or directory"
    assert lines[-1] == "... and 1 more (--verbose lists them all)"


def test_add_of_a_name_that_is_not_utf8_prints_it_escaped(db_path: Path, tmp_path: Path) -> None:
    name = os.fsdecode(os.fsencode(tmp_path) + b"/caf\xe9.txt")
    Path(name).write_text("Cafe\n\nCoffee is served.\n", encoding="utf-8")
    result = storybot(db_path, "add", name)
    assert result.exit_code == 1
    assert (
        result.stderr == f"Error: {tmp_path}/caf\\xe9.txt: the name is not valid UTF-8; rename it to add it\n"
    )


def test_add_of_a_symlink_loop_is_one_line(db_path: Path, tmp_path: Path) -> None:
    (tmp_path / "a.txt").symlink_to("b.txt")
    (tmp_path / "b.txt").symlink_to("a.txt")
    result = storybot(db_path, "add", str(tmp_path / "a.txt"))
    assert result.exit_code == 1
    assert result.stderr == f"Error: {tmp_path / 'a.txt'}: cannot read (a symbolic link loop)\n"


def test_printable_escapes_what_a_utf8_terminal_cannot_show() -> None:
    assert printable("plain café") == "plain café"
    assert printable(os.fsdecode(b"caf\xe9")) == "caf\\xe9"
    assert printable("a\ud800b") == "a\\ud800b"


def test_sources_json_is_streamed_as_the_same_json_array(db_path: Path, tmp_path: Path) -> None:
    articles = [{"id": f"n{number}", "title": f"Note {number}", "text": "Some text."} for number in range(3)]
    with StoryIndex(db_path) as index:
        index.add_paths([write_jsonl(tmp_path / "notes.jsonl", articles)])
        expected = [dict(vars(record)) for record in index.sources()]
    result = storybot(db_path, "sources", "--json")
    assert result.exit_code == 0, result.output
    assert result.stdout == json.dumps(expected, ensure_ascii=False, indent=2) + "\n"
    assert [source["id"] for source in json.loads(result.stdout)] == [
        "musk-twitter-ai-gpus",
        "n0",
        "n1",
        "n2",
    ]


def test_sources_json_of_no_sources_is_an_empty_array(db_path: Path) -> None:
    assert storybot(db_path, "remove", "musk-twitter-ai-gpus").exit_code == 0
    assert storybot(db_path, "sources", "--json").stdout == "[]\n"
