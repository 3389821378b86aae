"""A reindex reads its origins before it takes the write lock; a `remove` or an `add` of an edited file that
lands meanwhile must survive it. The loader is the hook that makes the race happen, every time, at the
worst moment: after the reindex listed the sources and read one, before it writes."""

from __future__ import annotations

from pathlib import Path

from index import StoryIndex
from index.models import Article
from index.sources.origins import load_origin


def _write(path: Path, title: str, text: str) -> Path:
    path.write_text(f"{title}\n\n{text}\n", encoding="utf-8")
    return path


def test_a_remove_during_reindex_is_not_undone(tmp_path: Path) -> None:
    db = tmp_path / "storybot.db"
    moon = _write(tmp_path / "moon.txt", "Moon base", "Astronauts opened a base on the moon.")
    mars = _write(tmp_path / "mars.txt", "Mars rover", "A rover found ice on Mars.")
    with StoryIndex(db) as index:
        index.add_paths([moon, mars])

    def read_then_someone_removes(origin: str) -> list[Article]:
        articles = load_origin(origin)
        if origin == str(moon):
            with StoryIndex(db) as other:  # another process, as `storybot remove` is
                assert other.remove("moon").id == "moon"
        return articles

    with StoryIndex(db) as index:
        report = index.reindex(load=read_then_someone_removes)
        assert [record.id for record in index.sources()] == ["musk-twitter-ai-gpus", "mars"]
        assert report.kept_newer == ((str(moon), "shared"),)
        assert not index.ask("who opened a base on the moon?").answered
        assert index.check().ok


def test_an_edit_during_reindex_is_not_undone(tmp_path: Path) -> None:
    db = tmp_path / "storybot.db"
    moon = _write(tmp_path / "moon.txt", "Moon base", "Astronauts opened a base on the moon.")
    with StoryIndex(db) as index:
        index.add_paths([moon])

    def read_then_someone_edits(origin: str) -> list[Article]:
        articles = load_origin(origin)  # the old text, read before the edit
        if origin == str(moon):
            _write(moon, "Moon base", "The moon base was closed after a month.")
            with StoryIndex(db) as other:
                assert [record.id for record in other.add_paths([moon]).updated] == ["moon"]
        return articles

    with StoryIndex(db) as index:
        report = index.reindex(load=read_then_someone_edits)
        stored = index.context(index.ask("when was the moon base closed?").results[0].paragraph_id, 0, 0)
        assert [paragraph.text for paragraph in stored] == ["The moon base was closed after a month."]
        assert report.kept_newer == ((str(moon), "shared"),)
        assert report.changed == 0
        assert index.check().ok


def test_an_unchanged_source_is_still_reindexed_beside_a_changed_one(tmp_path: Path) -> None:
    db = tmp_path / "storybot.db"
    moon = _write(tmp_path / "moon.txt", "Moon base", "Astronauts opened a base on the moon.")
    mars = _write(tmp_path / "mars.txt", "Mars rover", "A rover found ice on Mars.")
    with StoryIndex(db) as index:
        index.add_paths([moon, mars])
    _write(mars, "Mars rover", "A rover found water on Mars.")  # changed on disk: the reindex picks it up

    def read_then_someone_removes(origin: str) -> list[Article]:
        articles = load_origin(origin)
        if origin == str(moon):
            with StoryIndex(db) as other:
                other.remove("moon")
        return articles

    with StoryIndex(db) as index:
        report = index.reindex(load=read_then_someone_removes)
        assert report.changed == 1
        assert report.kept_newer == ((str(moon), "shared"),)
        assert [record.id for record in index.sources()] == ["musk-twitter-ai-gpus", "mars"]
        assert "water" in index.ask("what did the rover find on Mars?").results[0].text
