"""Hostile sources are refused or read safely, with a clear message, and nothing else in the index changes."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from index import StoryIndex

QUESTIONS = ["why did Musk leave OpenAI?", "How many GPUs did Musk purchase?"]


def _snapshot(index: StoryIndex) -> tuple[object, ...]:
    return (
        index.stats().paragraphs,
        [record.id for record in index.sources()],
        [index.ask(question).to_json() for question in QUESTIONS],
    )


def _binary(path: Path) -> Path:
    path = path / "photo.txt"
    path.write_bytes(bytes(range(256)) * 64)
    return path


def _invalid_utf8(path: Path) -> Path:
    path = path / "latin.md"
    path.write_bytes(b"# Title\n\nna\xefve caf\xe9\n")
    return path


def _huge(path: Path) -> Path:
    path = path / "huge.txt"
    with path.open("wb") as out:
        out.truncate(100 * 1024 * 1024)  # 100 MB, sparse: no need to write it
    return path


def _deep_html(path: Path) -> Path:
    path = path / "deep.html"
    path.write_text("<html><body>" + "<div>" * 100_000 + "deep text" + "</div>" * 100_000 + "</body></html>")
    return path


def _jsonl_wrong_types(path: Path) -> Path:
    path = path / "bad.jsonl"
    path.write_text(
        json.dumps({"id": "ok", "title": "Fine", "text": "Fine text."})
        + "\n"
        + json.dumps({"id": 7, "title": ["x"], "text": None})
        + "\n"
    )
    return path


def _jsonl_missing_fields(path: Path) -> Path:
    path = path / "missing.jsonl"
    path.write_text(json.dumps({"id": "x", "text": "No title here."}) + "\n")
    return path


@pytest.mark.parametrize(
    ("make", "fragment"),
    [
        (_binary, "photo.txt"),
        (_invalid_utf8, "UTF-8"),
        (_huge, "huge.txt"),
        (_jsonl_wrong_types, "line 2"),
        (_jsonl_missing_fields, "line 1"),
    ],
    ids=["binary", "invalid-utf8", "100MB", "jsonl-wrong-types", "jsonl-missing-fields"],
)
def test_a_hostile_file_is_refused_and_changes_nothing(
    story_index: StoryIndex, tmp_path: Path, make: Callable[[Path], Path], fragment: str
) -> None:
    before = _snapshot(story_index)
    report = story_index.add_paths([make(tmp_path)])
    assert not report.added
    assert len(report.failed) == 1
    assert fragment in report.failed[0][1]
    assert "\n" not in report.failed[0][1]
    assert _snapshot(story_index) == before


def test_deeply_nested_html_is_read_or_refused_safely(story_index: StoryIndex, tmp_path: Path) -> None:
    before = _snapshot(story_index)
    report = story_index.add_paths([_deep_html(tmp_path)])
    if report.failed:
        assert _snapshot(story_index) == before
    else:
        assert [record.paragraphs for record in report.added] == [1]


def test_scripts_and_tracking_junk_never_become_passages(story_index: StoryIndex, tmp_path: Path) -> None:
    page = tmp_path / "tracked.html"
    page.write_text(
        "<html><head><title>Harbour reopens</title>"
        "<script>window.dataLayer=[];gtag('config','UA-1');document.write('<p>INJECTED</p>')</script>"
        "<style>p{color:red}</style></head><body>"
        '<img src="https://tracker.example/pixel.gif?id=1" width="1" height="1">'
        "<noscript><iframe src='https://tracker.example/ns'></iframe>TRACKING NOSCRIPT</noscript>"
        "<article><h1>Harbour reopens</h1>"
        "<p>The harbour bridge reopened on Monday after two years of repairs to its steel deck.</p>"
        "<p>Engineers replaced every cable, and traffic returned to all four lanes by the evening.</p>"
        "</article><script>track('pageview')</script></body></html>"
    )
    report = story_index.add_paths([page])
    assert [record.title for record in report.added] == ["Harbour reopens"]
    texts = [p.text for p in story_index.ask("harbour bridge cables traffic", top=5).results]
    assert any("steel deck" in text for text in texts)
    joined = " ".join(texts)
    for junk in ("INJECTED", "gtag", "dataLayer", "TRACKING", "pageview", "color:red"):
        assert junk not in joined
