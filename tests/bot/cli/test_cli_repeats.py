"""`storybot ask` on a syndicated story: the wire paragraph once, with the other outlets that carry it."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from bot.cli import cli
from tests.conftest import write_jsonl
from tests.index.test_repeats import JUNE, MUSEUM, QUESTION, WIRE, WIRE_ARTICLES


@pytest.fixture
def wire_db(tmp_path: Path) -> Path:
    """A database holding the built-in story and the wire articles, added from a JSONL file."""
    db = tmp_path / "wire.db"
    records: list[dict[str, object]] = [
        {
            "id": article.source_id,
            "title": article.title,
            "text": "\n\n".join(article.paragraphs),
            "url": article.url,
            "outlet": article.outlet,
        }
        for article in WIRE_ARTICLES
    ]
    source = write_jsonl(tmp_path / "wire.jsonl", records)
    added = CliRunner().invoke(cli, ["--db", str(db), "add", str(source)])
    assert added.exit_code == 0, added.output
    return db


def test_ask_json_lists_the_other_sources_in_also_in(wire_db: Path) -> None:
    result = CliRunner().invoke(cli, ["--db", str(wire_db), "ask", QUESTION, "--json", "--top", "3"])
    assert result.exit_code == 0, result.output
    results = json.loads(result.stdout)["results"]
    assert [(r["rank"], r["source"]["id"], r["text"]) for r in results] == [
        (1, "herald", WIRE),
        (2, "weekly", JUNE),
        (3, "courier", MUSEUM),
    ]
    added = results[0]["source"]["date"]  # none of them says when it was published: all added today
    assert results[0]["source"]["dated_by"] == "added"
    undated = {"published": None, "date": added, "dated_by": "added"}
    assert results[0]["also_in"] == [
        {
            "id": "courier",
            "title": "Courier wire",
            "url": "https://courier.example/ferry-terminal",
            "outlet": "Daily Courier",
            **undated,
        },
        {"id": "gazette", "title": "Gazette wire", "url": None, "outlet": "Coast Gazette", **undated},
    ]
    assert [r["also_in"] for r in results[1:]] == [[], []]


def test_ask_prints_also_in_under_the_citation(wire_db: Path) -> None:
    result = CliRunner().invoke(cli, ["--db", str(wire_db), "ask", QUESTION, "--top", "2"])
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    citation = next(
        number
        for number, line in enumerate(lines)
        if re.fullmatch(
            r"   — Harbour news · Harbour Herald · paragraph 2 of 4 · added \d{4}-\d{2}-\d{2}", line
        )
    )
    assert lines[citation + 1 : citation + 3] == [
        "     https://herald.example/ferry",
        "     also in: Daily Courier, Coast Gazette",
    ]
    assert result.stdout.count("also in:") == 1
    assert result.stdout.count("The harbour authority said on Tuesday") == 2  # the wire copy, and June's
