"""Hostile paths and documents: each is passed over or refused with one line naming it, never a hang or crash.

A FIFO is never opened for reading (that would block until a writer came), so the FIFO tests would hang, not
fail, if the reader regressed.
"""

from __future__ import annotations

import json
import os
import socket
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from index import SourceError, StoryIndex
from index.sources import readers
from index.sources.readers import MAX_DEPTH, read_path, shown, source_files

ARTICLE = "Moon base\n\nThe lunar base opened on Monday.\n"


def write(path: Path, text: str = ARTICLE) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def read_with_skips(path: Path) -> tuple[list[str], list[tuple[str, str]]]:
    """The source ids read from `path`, and what the reader passed over."""
    skipped: list[tuple[str, str]] = []
    articles = read_path(path, skip=lambda name, reason: skipped.append((name, reason)))
    return [article.source_id for article in articles], skipped


def error_of(path: Path) -> str:
    with pytest.raises(SourceError) as caught:
        read_path(path)
    return str(caught.value)


@pytest.fixture
def short_tmp() -> Iterator[Path]:
    """A folder with a short path: a Unix socket's path is limited to about 107 bytes."""
    with tempfile.TemporaryDirectory(prefix="sb") as folder:
        yield Path(folder)


def test_a_fifo_in_a_directory_is_skipped_unopened(tmp_path: Path) -> None:
    write(tmp_path / "a-moon.txt")
    os.mkfifo(tmp_path / "b-pipe.txt")
    assert read_with_skips(tmp_path) == (
        ["a-moon"],
        [(str(tmp_path / "b-pipe.txt"), "a named pipe (FIFO), not a regular file; not opened")],
    )


def test_a_socket_and_a_link_to_a_device_in_a_directory_are_skipped(short_tmp: Path) -> None:
    write(short_tmp / "a-moon.txt")
    (short_tmp / "zero.txt").symlink_to("/dev/zero")
    with socket.socket(socket.AF_UNIX) as listener:
        listener.bind(str(short_tmp / "sock.md"))
        assert read_with_skips(short_tmp) == (
            ["a-moon"],
            [
                (str(short_tmp / "sock.md"), "a socket, not a regular file; not opened"),
                (str(short_tmp / "zero.txt"), "a device, not a regular file; not opened"),
            ],
        )


def test_a_fifo_named_on_the_command_line_is_refused(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "pipe.jsonl")
    assert error_of(tmp_path / "pipe.jsonl") == (
        f"{tmp_path / 'pipe.jsonl'}: a named pipe (FIFO), not a regular file or directory"
    )


def test_a_symlink_loop_as_the_path_is_one_line(tmp_path: Path) -> None:
    (tmp_path / "a.txt").symlink_to("b.txt")
    (tmp_path / "b.txt").symlink_to("a.txt")
    assert error_of(tmp_path / "a.txt") == f"{tmp_path / 'a.txt'}: cannot read (a symbolic link loop)"


def test_a_symlink_loop_inside_a_directory_is_skipped(tmp_path: Path) -> None:
    write(tmp_path / "moon.txt")
    (tmp_path / "x.txt").symlink_to("y.txt")
    (tmp_path / "y.txt").symlink_to("x.txt")
    (tmp_path / "self").symlink_to(tmp_path)
    ids, skipped = read_with_skips(tmp_path)
    assert ids == ["moon"]
    assert skipped == [
        (str(tmp_path / name), "cannot read (a symbolic link loop)") for name in ("x.txt", "y.txt")
    ]


@pytest.fixture
def deep_tree(tmp_path: Path) -> Iterator[Path]:
    """tmp_path holding top.txt, deepest.txt MAX_DEPTH folders down, and bottom.txt 1,100 folders down.

    The tree is removed here, bottom up: pytest's own cleanup (shutil.rmtree) recurses once a level and would
    fail on it, in this run and in every later one that sweeps old temporary folders.
    """
    write(tmp_path / "top.txt")
    reachable = tmp_path.joinpath(*["d"] * MAX_DEPTH)
    reachable.mkdir(parents=True)
    write(reachable / "deepest.txt")
    try:
        # One folder at a time relative to the last: pathlib's mkdir(parents=True) also recurses once a level.
        descriptor = os.open(reachable, os.O_RDONLY)
        for _ in range(1100 - MAX_DEPTH):
            os.mkdir("d", dir_fd=descriptor)
            inner = os.open("d", os.O_RDONLY, dir_fd=descriptor)
            os.close(descriptor)
            descriptor = inner
        with os.fdopen(os.open("bottom.txt", os.O_WRONLY | os.O_CREAT, dir_fd=descriptor), "w") as bottom:
            bottom.write(ARTICLE)
        os.close(descriptor)
        yield tmp_path
    finally:
        _remove_chain(reachable)


def _remove_chain(top: Path) -> None:
    """Remove the folders "d" nested under `top` (and any files in them), bottom up, without recursion."""
    here = Path.cwd()
    try:
        os.chdir(top)
        depth = 0
        while Path("d").is_dir():
            os.chdir("d")
            depth += 1
        for _ in range(depth):
            for entry in Path().iterdir():
                entry.unlink()
            os.chdir("..")
            Path("d").rmdir()
    finally:
        os.chdir(here)


def test_a_tree_1100_folders_deep_reads_what_is_in_reach_and_says_where_it_stopped(deep_tree: Path) -> None:
    ids, skipped = read_with_skips(deep_tree)
    assert ids == ["deepest", "top"]
    deepest = deep_tree.joinpath(*["d"] * (MAX_DEPTH + 1))
    assert skipped == [(str(deepest), f"more than {MAX_DEPTH} folders deep; not read")]


def test_a_file_name_that_is_not_utf8_is_named_with_escapes(tmp_path: Path) -> None:
    write(tmp_path / "moon.txt")
    raw = os.fsencode(tmp_path) + b"/caf\xe9.txt"
    Path(os.fsdecode(raw)).write_text(ARTICLE, encoding="utf-8")
    name = f"{tmp_path}/caf\\xe9.txt"

    assert shown(os.fsdecode(raw)) == name
    assert read_with_skips(tmp_path) == (
        ["moon"],
        [(name, "the name is not valid UTF-8; rename it to add it")],
    )
    assert error_of(Path(os.fsdecode(raw))) == f"{name}: the name is not valid UTF-8; rename it to add it"


def test_jsonl_nested_100000_deep_names_the_line(tmp_path: Path) -> None:
    good = json.dumps({"id": "a", "title": "A", "text": "Text."})
    path = write(tmp_path / "deep.jsonl", good + "\n" + "[" * 100_000 + "]" * 100_000 + "\n")
    assert error_of(path) == f"{path}: line 2: JSON nested too deeply"


def test_jsonl_with_a_lone_surrogate_names_the_line_and_key(tmp_path: Path) -> None:
    path = write(tmp_path / "s.jsonl", '{"id": "a", "title": "A\\ud800", "text": "Text."}\n')
    assert (
        error_of(path) == f"{path}: line 1: 'title' holds a lone surrogate escape (\\ud800-\\udfff), not text"
    )
    paired = write(tmp_path / "p.jsonl", '{"id": "a", "title": "A \\ud83d\\ude80", "text": "Text."}\n')
    assert read_path(paired)[0].title == "A \U0001f680"


def test_source_files_lists_only_regular_files(tmp_path: Path) -> None:
    story = write(tmp_path / "story.txt")
    os.mkfifo(tmp_path / "pipe.md")
    assert source_files(tmp_path) == [story]


def test_skipped_entries_reach_the_add_report_and_the_rest_is_added(
    empty_index: StoryIndex, tmp_path: Path
) -> None:
    write(tmp_path / "moon.txt")
    os.mkfifo(tmp_path / "pipe.txt")
    report = empty_index.add_paths([tmp_path])
    assert [record.id for record in report.added] == ["moon"]
    assert report.failed == ()
    assert report.skipped == (
        (str(tmp_path / "pipe.txt"), "a named pipe (FIFO), not a regular file; not opened"),
    )


def test_a_file_swapped_for_a_fifo_after_the_listing_is_refused_unopened(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pipe = tmp_path / "news.txt"
    os.mkfifo(pipe)
    # As if news.txt was a regular file when the folder was listed and became a FIFO before it was opened.
    monkeypatch.setattr(readers, "source_files", lambda _directory, _skip=None: [pipe])
    assert error_of(tmp_path) == f"{pipe}: a named pipe (FIFO), not a regular file; not read"
