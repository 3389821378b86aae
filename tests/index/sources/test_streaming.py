"""Streaming the operator's JSONL files: chunks of whole lines read as needed, errors by line number."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from index import SourceError
from index.sources import streaming
from index.sources.readers import local_files, read_path
from index.sources.streaming import jsonl_chunks, read_jsonl_chunk


def _record(number: int) -> str:
    return json.dumps({"id": f"s{number}", "title": f"Story {number}", "text": f"Text of story {number}."})


def _streamed(path: Path, chunk_bytes: int) -> list[tuple[int, str]]:
    return [
        (line, article.source_id)
        for chunk in jsonl_chunks(path, chunk_bytes)
        for line, article in read_jsonl_chunk(chunk)
    ]


def test_chunks_hold_whole_lines_and_give_the_articles_read_path_gives(tmp_path: Path) -> None:
    path = tmp_path / "news.jsonl"
    path.write_text("\ufeff" + "\n".join(_record(n) if n % 7 else "" for n in range(200)), encoding="utf-8")
    chunks = list(jsonl_chunks(path, 1000))
    assert len(chunks) > 10
    assert all(
        len(chunk.data) < 1000 + 200 for chunk in chunks
    )  # a chunk passes its size by one line at most
    assert all(chunk.data.endswith(b"\n") for chunk in chunks[:-1])
    streamed = [article for chunk in chunks for _, article in read_jsonl_chunk(chunk)]
    assert streamed == read_path(path)
    lines = [line for line, _ in _streamed(path, 1000)]
    assert lines == [n + 1 for n in range(200) if n % 7]


def test_errors_name_the_line_in_any_chunk(tmp_path: Path) -> None:
    path = tmp_path / "news.jsonl"
    lines = [_record(n) for n in range(100)]
    lines[76] = lines[76].replace("Text", "Te\udcffxt")
    path.write_bytes("\n".join(lines).encode("utf-8", "surrogateescape"))
    with pytest.raises(SourceError, match=r"news\.jsonl: line 77: not valid UTF-8$"):
        _streamed(path, 500)
    path.write_bytes("\n".join([*lines[:50], '{"id": "x", "title": "y", "text": "\x00"}']).encode())
    with pytest.raises(SourceError, match=r"line 51: binary content \(contains NUL bytes\), not text$"):
        _streamed(path, 500)


def test_a_line_over_the_limit_is_refused_by_number_without_being_read_whole(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(streaming, "MAX_LINE_BYTES", 1000)
    path = tmp_path / "news.jsonl"
    path.write_text(_record(1) + "\n" + json.dumps({"id": "big", "title": "t", "text": "x" * 5000}) + "\n")
    with pytest.raises(SourceError, match=r"line 2: longer than the 1,000-byte limit for one article$"):
        _streamed(path, 100)


@pytest.mark.parametrize("content", ["", "\n\n  \n"])
def test_an_empty_jsonl_file_is_said_to_be_empty(tmp_path: Path, content: str) -> None:
    path = tmp_path / "empty.jsonl"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(SourceError, match=r"empty\.jsonl: empty file$"):
        _streamed(path, 100)


def test_local_files_of_a_directory_and_of_paths_that_are_not_there(tmp_path: Path) -> None:
    (tmp_path / "b.md").write_text("# B\n\nText.", encoding="utf-8")
    (tmp_path / "a.txt").write_text("A\n\nText.", encoding="utf-8")
    (tmp_path / "skip.pdf").write_bytes(b"%PDF")
    assert local_files(tmp_path) == [tmp_path.resolve() / "a.txt", tmp_path.resolve() / "b.md"]
    with pytest.raises(SourceError, match=r"nope\.jsonl: no such file or directory$"):
        local_files(tmp_path / "nope.jsonl")
    with pytest.raises(SourceError, match=r"skip\.pdf: unsupported file type '\.pdf'"):
        local_files(tmp_path / "skip.pdf")
