"""What `StoryIndex` tells a progress callback: articles stored of the real total, sources read again."""

from __future__ import annotations

from pathlib import Path

from index import StoryIndex
from tests.conftest import write_jsonl


def test_add_paths_counts_articles_stored_out_of_every_article_in_the_files(
    empty_index: StoryIndex, tmp_path: Path
) -> None:
    articles = [
        {"id": f"n{number}", "title": f"Note {number}", "text": "\n\n".join(["A tide note."] * (number + 1))}
        for number in range(3)
    ]
    calls: list[tuple[int, int]] = []
    empty_index.add_paths(
        [write_jsonl(tmp_path / "a.jsonl", articles[:2]), write_jsonl(tmp_path / "b.jsonl", articles[2:])],
        progress=lambda done, total: calls.append((done, total)),
    )
    assert calls == [(1, 3), (2, 3), (3, 3)]


def test_reindex_counts_the_origins_it_reads_again(story_index: StoryIndex, tmp_path: Path) -> None:
    story_index.add_paths([write_jsonl(tmp_path / "a.jsonl", [{"id": "a", "title": "A", "text": "Text."}])])
    calls: list[tuple[int, int]] = []
    story_index.reindex(progress=lambda done, total: calls.append((done, total)))
    assert calls == [(1, 2), (2, 2)]
