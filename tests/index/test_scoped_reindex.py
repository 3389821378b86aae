"""A reindex scoped to some scopes re-reads their sources only, and counts sources in progress and summary."""

from __future__ import annotations

from pathlib import Path

from index import SHARED_SCOPE, Article, StoryIndex
from index.sources.origins import load_origin
from tests.conftest import write_jsonl

MOON = {"id": "moon", "title": "Moon base", "text": "Astronauts built a lunar base near the pole."}
SUN = {"id": "sun", "title": "Sun flare", "text": "A solar flare disturbed radio signals."}


def _recording_loader(read: list[str]):  # type: ignore[no-untyped-def]
    def load(origin: str) -> list[Article]:
        read.append(Path(origin).name)
        return load_origin(origin)

    return load


def _three_scopes(index: StoryIndex, tmp_path: Path) -> None:
    index.add_paths([write_jsonl(tmp_path / "one.jsonl", [MOON, SUN])], scope="guild:1")
    index.add_paths([write_jsonl(tmp_path / "two.jsonl", [MOON])], scope="guild:2")
    index.add_paths([write_jsonl(tmp_path / "shared.jsonl", [SUN])], scope=SHARED_SCOPE)


def test_a_server_reindex_reads_that_servers_sources_only(empty_index: StoryIndex, tmp_path: Path) -> None:
    _three_scopes(empty_index, tmp_path)
    read: list[str] = []
    report = empty_index.reindex(load=_recording_loader(read), scopes=["guild:1"])
    assert read == ["one.jsonl"]
    assert (report.sources, report.paragraphs) == (2, 2)


def test_a_shared_reindex_leaves_the_servers_alone(empty_index: StoryIndex, tmp_path: Path) -> None:
    _three_scopes(empty_index, tmp_path)
    write_jsonl(tmp_path / "two.jsonl", [{**MOON, "text": "The lunar base closed."}])
    read: list[str] = []
    report = empty_index.reindex(load=_recording_loader(read), scopes=[SHARED_SCOPE])
    assert read == ["shared.jsonl"]
    assert report.changed == 0
    assert empty_index.ask("lunar base", scopes=["guild:2"]).results[0].text.startswith("Astronauts")


def test_a_failing_origin_marks_only_the_reindexed_scopes_copy_stale(
    empty_index: StoryIndex, tmp_path: Path
) -> None:
    same = write_jsonl(tmp_path / "same.jsonl", [MOON])
    empty_index.add_paths([same], scope="guild:1")
    empty_index.add_paths([same], scope="guild:2")
    same.unlink()
    report = empty_index.reindex(scopes=["guild:1"])
    assert report.failed_scopes == ((str(same.resolve()), "guild:1"),)
    statuses = {record.scope: record.status for record in empty_index.sources()}
    assert statuses == {"guild:1": "stale", "guild:2": "ok"}


def test_progress_and_summary_count_sources(empty_index: StoryIndex, tmp_path: Path) -> None:
    _three_scopes(empty_index, tmp_path)  # three origins holding four sources
    steps: list[tuple[int, int]] = []
    report = empty_index.reindex(progress=lambda done, total: steps.append((done, total)))
    assert steps == [(2, 4), (3, 4), (4, 4)]
    assert report.sources == 4


def test_everything_is_the_default(empty_index: StoryIndex, tmp_path: Path) -> None:
    _three_scopes(empty_index, tmp_path)
    read: list[str] = []
    empty_index.reindex(load=_recording_loader(read))
    assert sorted(read) == ["one.jsonl", "shared.jsonl", "two.jsonl"]
