"""Fixtures shared by the whole suite: real SQLite files in tmp_path, the real tokenizer and ranking."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from index import StoryIndex

ROOT = Path(__file__).resolve().parents[1]
STORY = ROOT / "index" / "data" / "musk-twitter-ai-gpus.txt"
"""The built-in story as the package ships it; tests read nothing outside the repository."""


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "storybot.db"


@pytest.fixture
def story_index(db_path: Path) -> Iterator[StoryIndex]:
    """A new database holding the built-in story, as a first `storybot ask` creates it."""
    with StoryIndex(db_path) as index:
        yield index


@pytest.fixture
def empty_index(db_path: Path) -> Iterator[StoryIndex]:
    """A new database without the built-in story."""
    with StoryIndex(db_path, with_builtin_story=False) as index:
        yield index


def write_jsonl(path: Path, articles: list[dict[str, object]]) -> Path:
    """Write articles as a JSONL source file."""
    path.write_text("".join(json.dumps(article) + "\n" for article in articles), encoding="utf-8")
    return path


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """One line saying how many requests the fake Discord checked against Discord's OpenAPI spec."""
    from tests.fakediscord.spec.validator import SPEC_TOTALS, spec_source

    if SPEC_TOTALS["requests"]:
        terminalreporter.write_line(
            f"discord spec: {SPEC_TOTALS['requests']} requests checked against Discord's OpenAPI v10 "
            f"description ({spec_source()})"
        )
