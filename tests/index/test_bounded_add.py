"""A big `add` with bounded memory: the report counts every article but keeps only the first few records,
`--verbose` is told of each article as it is stored, duplicate ids are still caught, and re-added articles
are read again when publishing instead of being held."""

from __future__ import annotations

import re
from pathlib import Path

from click.testing import CliRunner

from bot.cli import cli
from index import MAX_REPORTED_RECORDS, SHARED_SCOPE, SourceRecord, StoredKind, StoredTotal, StoryIndex
from tests.conftest import write_jsonl

COUNT = 5_000


def _notes(count: int, start: int = 0, edited: range = range(0)) -> list[dict[str, object]]:
    """Tiny one-paragraph articles; those numbered in `edited` with a changed text."""
    return [
        {
            "id": f"n{number}",
            "title": f"Note {number}",
            "text": f"A short note on the tides, number {number}." + (" Edited." if number in edited else ""),
        }
        for number in range(start, start + count)
    ]


def _shared_sources(index: StoryIndex) -> dict[str, str]:
    """Each shared source's id and content hash, the built-in story left out."""
    return {
        record.id: record.content_hash
        for record in index.sources([SHARED_SCOPE])
        if record.id.startswith("n")
    }


def test_the_report_counts_every_article_and_keeps_only_the_first_records(tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "notes.jsonl", _notes(COUNT))
    with StoryIndex(tmp_path / "db.sqlite", workers=1) as index:
        report = index.add_paths([path])
        assert [record.id for record in report.added] == [
            f"n{number}" for number in range(MAX_REPORTED_RECORDS)
        ]
        assert report.total("added") == StoredTotal(COUNT, COUNT)
        assert report.total("updated") == report.total("unchanged") == StoredTotal()
        assert report.updated == report.unchanged == ()
        again = index.add_paths([path])
        assert again.added == () and len(again.unchanged) == MAX_REPORTED_RECORDS
        assert again.total("unchanged") == StoredTotal(COUNT, COUNT)
        assert len(_shared_sources(index)) == COUNT


def test_every_stored_article_is_told_as_it_is_stored(tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "notes.jsonl", _notes(COUNT))
    told: list[tuple[StoredKind, str]] = []

    def tell(kind: StoredKind, record: SourceRecord) -> None:
        told.append((kind, record.id))

    with StoryIndex(tmp_path / "db.sqlite", workers=1) as index:
        index.add_paths([path], on_stored=tell)
        assert told == [("added", f"n{number}") for number in range(COUNT)]
        told.clear()
        write_jsonl(path, _notes(COUNT, edited=range(100, 130)))
        report = index.add_paths([path], on_stored=tell)
    assert sorted(told) == sorted(
        ("updated" if number in range(100, 130) else "unchanged", f"n{number}") for number in range(COUNT)
    )
    assert report.total("updated") == StoredTotal(30, 30)
    assert report.total("unchanged") == StoredTotal(COUNT - 30, COUNT - 30)


def test_new_and_already_stored_articles_of_one_file_end_as_a_fresh_add_of_it(tmp_path: Path) -> None:
    mixed = write_jsonl(tmp_path / "notes.jsonl", _notes(300))
    with StoryIndex(tmp_path / "db.sqlite", workers=1) as index:
        index.add_paths([mixed])
        write_jsonl(mixed, _notes(600, edited=range(50, 100)))
        report = index.add_paths([mixed])
        question = index.ask("a note on the tides, number 75").to_json()
        sources = _shared_sources(index)
    assert report.total("added").articles == 300
    assert report.total("updated").articles == 50
    assert report.total("unchanged").articles == 250
    with StoryIndex(tmp_path / "fresh.sqlite", workers=1) as fresh:
        fresh.add_paths([mixed])
        assert _shared_sources(fresh) == sources
        assert fresh.ask("a note on the tides, number 75").to_json() == question


def test_a_duplicate_id_far_into_a_file_is_caught_by_line_and_nothing_is_stored(tmp_path: Path) -> None:
    articles = _notes(COUNT)
    articles.append({"id": "n7", "title": "Again", "text": "A second use of an id."})
    path = write_jsonl(tmp_path / "notes.jsonl", articles)
    with StoryIndex(tmp_path / "db.sqlite", workers=1) as index:
        report = index.add_paths([path])
        assert report.failed == (
            (str(path), f"{path}: line {COUNT + 1}: duplicate id 'n7' (first on line 8)"),
        )
        assert report.total("added") == StoredTotal() and report.added == ()
        assert _shared_sources(index) == {}


def test_a_duplicate_id_across_the_files_of_a_directory_names_both(tmp_path: Path) -> None:
    folder = tmp_path / "notes"
    folder.mkdir()
    first = write_jsonl(folder / "a.jsonl", _notes(400))
    second = write_jsonl(folder / "b.jsonl", _notes(10, start=395))
    with StoryIndex(tmp_path / "db.sqlite", workers=1) as index:
        report = index.add_paths([folder])
        assert report.failed == (
            (str(folder), f"{folder.resolve()}: duplicate source id 'n395' ({first} and {second})"),
        )
        assert _shared_sources(index) == {}
        # The ids met are let go with the path: the same files added one by one are not duplicates
        # (the second file's n395 to n399 come from another origin, so they get ids of their own).
        one_by_one = index.add_paths([first, second])
    assert one_by_one.failed == ()
    assert one_by_one.total("added") == StoredTotal(410, 410)


def test_add_verbose_prints_every_article_and_the_summary_counts_them_all(tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "notes.jsonl", _notes(COUNT))
    result = CliRunner().invoke(cli, ["--db", str(tmp_path / "db.sqlite"), "add", "--verbose", str(path)])
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[:-1] == [f"added n{number}: Note {number} (1 paragraph)" for number in range(COUNT)]
    assert re.fullmatch(
        r"added 5,000, updated 0, unchanged 0, failed 0, skipped 0: 5,000 paragraphs in \d+\.\d\ds", lines[-1]
    )


def test_a_file_changed_before_its_stored_articles_are_read_again_is_refused_whole(tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "notes.jsonl", _notes(10))
    with StoryIndex(tmp_path / "db.sqlite", workers=1) as index:
        index.add_paths([path])
        # Changed articles are read again when publishing (unchanged ones are not: nothing of theirs is).
        write_jsonl(path, _notes(20, edited=range(3)))

        def edit_meanwhile(kind: StoredKind, record: SourceRecord) -> None:
            with path.open("a", encoding="utf-8") as handle:
                handle.write('{"id": "late", "title": "Late", "text": "Written during the add."}\n')

        report = index.add_paths([path], on_stored=edit_meanwhile)
        assert report.failed == ((str(path), f"{path}: changed while it was being added; add it again"),)
        assert sorted(_shared_sources(index)) == sorted(f"n{number}" for number in range(10))
