"""The `storybot` command line: answers for people and for programs, and one clear line for bad input."""

from __future__ import annotations

import json
import os
import re
import sqlite3
import subprocess
import sys
from contextlib import closing
from pathlib import Path

import pytest

from index.engine.schema import SCHEMA_VERSION
from tests.bot.cli.runs import assert_one_line_error, storybot
from tests.conftest import ROOT, write_jsonl


def timeless(output: str) -> str:
    """Output with the seconds of `storybot add`'s summary line (which vary) replaced by N."""
    return re.sub(r" in \d+\.\d\ds$", " in Ns", output, flags=re.MULTILINE)


def test_ask_prints_the_answer_with_its_citation(db_path: Path) -> None:
    result = storybot(db_path, "ask", "why did Musk leave OpenAI?")
    assert result.exit_code == 0, result.output
    assert "**That failed power struggle left Musk reeling and eventually leaving OpenAI.**" in result.stdout
    assert (
        "— Working on the Twitter AI Project, Elon Musk Purchases 10,000 GPUs · paragraph 10 of 15"
        in result.stdout
    )


def test_ask_json_has_exactly_the_documented_shape(db_path: Path) -> None:
    result = storybot(db_path, "ask", "How many GPUs did Musk purchase?", "--json", "--top", "2")
    answer = json.loads(result.stdout)
    assert set(answer) == {"question", "answered", "message", "confidence", "threshold", "results"}
    assert answer["threshold"] <= answer["confidence"] <= 1
    assert answer["question"] == "How many GPUs did Musk purchase?"
    assert answer["answered"] is True
    assert [r["rank"] for r in answer["results"]] == [1, 2]
    first = answer["results"][0]
    keys = {
        "rank",
        "score",
        "text",
        "highlight",
        "paragraph",
        "paragraphs",
        "source",
        "also_in",
        "earlier_report",
    }
    assert set(first) == keys
    assert first["also_in"] == []
    assert isinstance(first["score"], float) and first["score"] > 0
    assert first["highlight"] in first["text"]
    assert first["source"] == {
        "id": "musk-twitter-ai-gpus",
        "title": "Working on the Twitter AI Project, Elon Musk Purchases 10,000 GPUs",
        "url": None,
        "outlet": None,
        "published": None,
        "date": _added_day(db_path, "musk-twitter-ai-gpus"),
        "dated_by": "added",
    }
    assert first["earlier_report"] is False


def _added_day(db: Path, source_id: str) -> str:
    """The day a source was added: its date when it gives no publication date of its own."""
    with closing(sqlite3.connect(db)) as conn:
        (added_at,) = conn.execute("SELECT added_at FROM sources WHERE id = ?", (source_id,)).fetchone()
    return str(added_at)[:10]


def test_ask_batch_answers_every_line_in_order_with_its_id(db_path: Path, tmp_path: Path) -> None:
    batch = tmp_path / "q.jsonl"
    batch.write_text(
        '{"id": "a", "question": "why did Musk leave OpenAI?"}\n\n'
        '{"id": 7, "question": "Recommend a good pizza recipe"}\n'
        '{"id": "c", "question": ""}\n'
    )
    result = storybot(db_path, "ask", "--batch", str(batch), "--json", "--top", "1")
    assert result.exit_code == 0, result.output
    answers = [json.loads(line) for line in result.stdout.splitlines()]
    assert [answer["id"] for answer in answers] == ["a", 7, "c"]
    assert [answer["answered"] for answer in answers] == [True, False, False]
    assert set(answers[0]) == {"id", "question", "answered", "message", "confidence", "threshold", "results"}
    assert set(answers[2]) == set(answers[0]) and answers[2]["results"] == []
    assert "empty" in answers[2]["message"]


def test_ask_batch_names_a_malformed_line(db_path: Path, tmp_path: Path) -> None:
    batch = tmp_path / "q.jsonl"
    batch.write_text('{"id": "a", "question": "x"}\n{"id": "b", "question": \n')
    assert_one_line_error(storybot(db_path, "ask", "--batch", str(batch), "--json"), "line 2")


@pytest.mark.parametrize(
    ("question", "fragment"), [("", "empty"), ("   ", "empty"), ("x" * 1001, "1,001 characters")]
)
def test_ask_refuses_empty_and_overlong_questions(db_path: Path, question: str, fragment: str) -> None:
    assert_one_line_error(storybot(db_path, "ask", question), fragment, exit_code=None)


def test_add_then_sources_then_remove(db_path: Path, tmp_path: Path) -> None:
    path = write_jsonl(
        tmp_path / "news.jsonl", [{"id": "moon", "title": "Moon base opens", "text": "It opened."}]
    )
    added = storybot(db_path, "add", str(path))
    assert added.exit_code == 0
    assert (
        timeless(added.stdout) == "added 1, updated 0, unchanged 0, failed 0, skipped 0: 1 paragraph in Ns\n"
    )
    again = storybot(db_path, "add", "--verbose", str(path))
    assert timeless(again.stdout) == (
        "unchanged moon: Moon base opens (1 paragraph)\n"
        "added 0, updated 0, unchanged 1, failed 0, skipped 0: 1 paragraph in Ns\n"
    )
    listed = storybot(db_path, "sources").stdout.splitlines()
    assert [line.split("\t")[0] for line in listed] == ["musk-twitter-ai-gpus", "moon"]
    assert storybot(db_path, "remove", "moon").stdout == "removed moon: Moon base opens (1 paragraph)\n"
    assert_one_line_error(storybot(db_path, "remove", "moon"), "no source with id 'moon'", exit_code=None)


def test_reindex_and_stats(db_path: Path) -> None:
    result = storybot(db_path, "reindex")
    assert result.exit_code == 0
    assert result.stdout.startswith("reindexed 1 source, 15 paragraphs: 0 added, 0 changed, 0 removed in ")
    stats = storybot(db_path, "stats").stdout
    assert "sources: 1" in stats and "paragraphs: 15" in stats and "last reindex at: 20" in stats


def test_add_reports_a_malformed_line_by_number_and_adds_the_other_files(
    db_path: Path, tmp_path: Path
) -> None:
    good = write_jsonl(
        tmp_path / "good.jsonl", [{"id": "moon", "title": "Moon base opens", "text": "It opened."}]
    )
    bad = write_jsonl(
        tmp_path / "bad.jsonl",
        [{"id": f"story-{n}", "title": f"Story {n}", "text": f"Paragraph of story {n}."} for n in range(5)],
    )
    bad.write_text(bad.read_text(encoding="utf-8") + '{"id": "torn", "title"\n', encoding="utf-8")
    result = storybot(db_path, "add", str(good), str(bad))
    assert result.exit_code == 1
    assert re.fullmatch(
        r"added 1, updated 0, unchanged 0, failed 1, skipped 0: 1 paragraph in \d+\.\d\ds\n", result.stdout
    )
    assert f"{bad}: line 6: malformed JSON" in result.stderr
    assert "Traceback" not in result.output
    listed = storybot(db_path, "sources").stdout.splitlines()
    assert [line.split("\t")[0] for line in listed] == ["musk-twitter-ai-gpus", "moon"]


def test_add_missing_file(db_path: Path, tmp_path: Path) -> None:
    assert_one_line_error(storybot(db_path, "add", str(tmp_path / "nope.txt")), "nope.txt")


def test_add_unsupported_file(db_path: Path, tmp_path: Path) -> None:
    path = tmp_path / "slides.pptx"
    path.write_bytes(b"PK\x03\x04")
    assert_one_line_error(storybot(db_path, "add", str(path)), "slides.pptx")


def test_add_invalid_utf8(db_path: Path, tmp_path: Path) -> None:
    path = tmp_path / "latin1.txt"
    path.write_bytes("Title\n\nCaf\xe9 au lait".encode("latin-1"))
    assert_one_line_error(storybot(db_path, "add", str(path)), "latin1.txt", "UTF-8")


def test_add_malformed_jsonl_names_the_line(db_path: Path, tmp_path: Path) -> None:
    path = tmp_path / "bad.jsonl"
    path.write_text('{"id": "a", "title": "A", "text": "x"}\n{"id": "b", "title": 3, "text": "y"}\n')
    assert_one_line_error(storybot(db_path, "add", str(path)), "bad.jsonl", "line 2")
    assert "a" not in [line.split("\t")[0] for line in storybot(db_path, "sources").stdout.splitlines()]


def test_a_database_that_is_not_storybots(tmp_path: Path) -> None:
    other = tmp_path / "other.db"
    with closing(sqlite3.connect(other)) as conn:
        conn.execute("CREATE TABLE invoices (id INTEGER)")
        conn.commit()
    assert_one_line_error(storybot(other, "ask", "why?"), "not a storybot database", exit_code=None)
    text_file = tmp_path / "notes.db"
    text_file.write_text("hello, this is not SQLite at all" * 100)
    assert_one_line_error(storybot(text_file, "ask", "why?"), "not a storybot database", exit_code=None)


def test_a_database_from_a_newer_storybot(db_path: Path) -> None:
    storybot(db_path, "stats")
    with closing(sqlite3.connect(db_path)) as conn:
        conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
        conn.commit()
    assert_one_line_error(storybot(db_path, "ask", "why?"), "newer storybot", exit_code=None)


def test_a_database_location_that_cannot_be_written(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("a file where a directory should be")
    assert_one_line_error(
        storybot(blocker / "x.db", "ask", "why?"), "cannot create a database", exit_code=None
    )


def test_the_console_script_answers_in_a_new_process(tmp_path: Path) -> None:
    env = {**os.environ, "STORYBOT_DB": str(tmp_path / "env.db")}
    done = subprocess.run(
        [sys.executable, "-m", "bot", "ask", "Who co-founded OpenAI in 2015?", "--json"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=env,
        check=True,
    )
    assert json.loads(done.stdout)["results"][0]["text"].endswith("co-founded in 2015.")
    assert (tmp_path / "env.db").exists()
