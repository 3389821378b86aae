"""`storybot ask --since/--until/--explain` and `storybot timeline`, as a user types them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.bot.cli.runs import storybot
from tests.conftest import write_jsonl

QUESTION = "How many people were hurt when the bridge collapsed?"


@pytest.fixture
def story_db(tmp_path: Path) -> Path:
    db = tmp_path / "bridge.db"
    source = write_jsonl(
        tmp_path / "bridge.jsonl",
        [
            {
                "id": "monday",
                "title": "Bridge collapses",
                "outlet": "Morning Star",
                "published": "2024-05-20",
                "text": "The river bridge collapsed on Monday morning. Five people were hurt in the fall.",
            },
            {
                "id": "tuesday",
                "title": "Toll rises",
                "outlet": "Evening Post",
                "published": "2024-05-21",
                "text": "Twelve people were hurt when the bridge collapsed, officials said on Tuesday.",
            },
        ],
    )
    added = storybot(db, "add", str(source))
    assert added.exit_code == 0, added.output
    return db


def test_ask_shows_each_passages_date_and_marks_the_earlier_report(story_db: Path) -> None:
    result = storybot(story_db, "ask", QUESTION, "--top", "2")

    assert result.exit_code == 0, result.output
    assert "   — Toll rises · Evening Post · paragraph 1 of 1 · 2024-05-21\n" in result.stdout
    assert (
        "   — Bridge collapses · Morning Star · paragraph 1 of 1 · 2024-05-20 · earlier report\n"
        in result.stdout
    )


def test_since_and_until_limit_the_answer_to_those_days(story_db: Path) -> None:
    since = json.loads(storybot(story_db, "ask", QUESTION, "--json", "--since", "2024-05-21").stdout)
    until = json.loads(storybot(story_db, "ask", QUESTION, "--json", "--until", "2024-05-20").stdout)

    # The built-in story, added today, is in the range too (it shares no word that counts with the question).
    assert [result["source"]["id"] for result in since["results"]] == ["tuesday", "musk-twitter-ai-gpus"]
    assert [result["source"]["id"] for result in until["results"]] == ["monday"]
    assert since["results"][0]["source"]["date"] == "2024-05-21"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--since", "soonish"), "Error: bad date: 'soonish' is not a date I can read: try 2024-05-27,"),
        (("--since", "2024-05-21", "--until", "2024-05-01"), "Error: bad date: the range ends (2024-05-01)"),
    ],
)
def test_a_bad_date_is_one_clear_line(story_db: Path, args: tuple[str, ...], message: str) -> None:
    result = storybot(story_db, "ask", QUESTION, *args)

    assert result.exit_code == 1
    assert result.stderr.count("\n") == 1 and result.stderr.startswith(message)
    assert "Traceback" not in result.output


def test_a_bad_time_zone_is_named(story_db: Path) -> None:
    result = storybot(
        story_db, "ask", QUESTION, "--since", "yesterday", env={"STORYBOT_TIME_ZONE": "Mars/Base"}
    )

    assert result.exit_code == 1
    assert "unknown time zone 'Mars/Base'" in result.stderr


def test_explain_takes_the_top_passage_apart(story_db: Path) -> None:
    text = storybot(story_db, "ask", QUESTION, "--explain")
    data = json.loads(storybot(story_db, "ask", QUESTION, "--explain", "--json").stdout)

    assert text.exit_code == 0, text.output
    explanation = data["explanation"]
    assert explanation["paragraph_id"] is not None and explanation["rank"] == 1
    assert {row["term"] for row in explanation["matched"]} == {"peopl", "hurt", "bridg", "collaps"}
    assert sum(row["contribution"] for row in explanation["matched"]) == pytest.approx(
        explanation["bm25"], abs=1e-3
    )
    assert explanation["missing"] == ["mani"]
    assert "Why passage 1 (hit 1 of the search):" in text.stdout
    assert "  not in the passage: mani\n" in text.stdout
    assert "  confidence " in text.stdout and "(threshold 0.45): answered" in text.stdout
    assert "second stage" in text.stdout


def test_timeline_lists_the_sources_oldest_first(story_db: Path) -> None:
    result = storybot(story_db, "timeline")
    about = json.loads(storybot(story_db, "timeline", "officials", "--json").stdout)

    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[:4] == [
        "2024-05-20  Bridge collapses · Morning Star",
        "    The river bridge collapsed on Monday morning.",
        "2024-05-21  Toll rises · Evening Post",
        "    Twelve people were hurt when the bridge collapsed, officials said on Tuesday.",
    ]
    assert lines[4].startswith("added ")  # the built-in story gives no publication date
    assert [(entry["id"], entry["date"]) for entry in about] == [("tuesday", "2024-05-21")]


def test_timeline_of_words_no_source_holds(story_db: Path) -> None:
    result = storybot(story_db, "timeline", "volcano")

    assert result.exit_code == 0
    assert result.stdout == "no source mentions 'volcano'\n"


def test_explain_is_for_one_question_not_a_batch(story_db: Path, tmp_path: Path) -> None:
    batch = tmp_path / "q.jsonl"
    batch.write_text('{"id": 1, "question": "who was hurt?"}\n', encoding="utf-8")

    result = storybot(story_db, "ask", "--batch", str(batch), "--json", "--explain")

    assert result.exit_code == 2
    assert "--explain explains one QUESTION's answer, not a --batch" in result.stderr
