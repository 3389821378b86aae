"""Eight reader processes ask while a writer adds and removes articles: no error, no torn answer.

The full run lasts 60 s (STORYBOT_SOAK_SECONDS=60); CI runs it for a few seconds.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from index import StoryIndex
from tests.conftest import ROOT, write_jsonl
from tests.hardening.workers import QUESTIONS

SECONDS = float(os.environ.get("STORYBOT_SOAK_SECONDS", "4"))
READERS = 8
ARTICLES = {
    "a": {"id": "a", "title": "Moon base opens", "text": "The lunar base opened.\n\nMusk sent GPUs."},
    "b": {"id": "b", "title": "Mars rover lands", "text": "The Mars rover landed.\n\nOpenAI cheered."},
}


def _answers_in_state(tmp_path: Path, state: tuple[str, ...]) -> dict[str, str]:
    """The answers (as JSON text) a database holding the built-in story plus `state` gives."""
    db = tmp_path / f"state-{'-'.join(state) or 'base'}.db"
    with StoryIndex(db) as index:
        for name in state:
            index.add_paths([tmp_path / "sources" / f"{name}.jsonl"])
        return {question: json.dumps(index.ask(question, top=3).to_json()) for question in QUESTIONS}


def test_readers_see_only_committed_states_while_a_writer_works(tmp_path: Path) -> None:
    sources = tmp_path / "sources"
    sources.mkdir()
    for name, article in ARTICLES.items():
        write_jsonl(sources / f"{name}.jsonl", [article])
    db = tmp_path / "live.db"
    StoryIndex(db).close()
    command = [sys.executable, "-m", "tests.hardening.workers"]
    readers = [
        subprocess.Popen([*command, "reader", str(db), str(tmp_path / f"r{i}.jsonl"), str(SECONDS)], cwd=ROOT)
        for i in range(READERS)
    ]
    writer = subprocess.run(
        [*command, "writer", str(db), str(sources), str(SECONDS)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    for reader in readers:
        assert reader.wait(timeout=SECONDS + 60) == 0
    assert writer.returncode == 0, writer.stderr
    assert len(writer.stdout.splitlines()) >= 4, "the writer should have gone round its states at least once"

    # The states the writer passes through: base, {a}, {a, b}, {b}.
    expected: dict[str, set[str]] = {question: set() for question in QUESTIONS}
    for state in [(), ("a",), ("a", "b"), ("b",)]:
        for question, answer in _answers_in_state(tmp_path, state).items():
            expected[question].add(answer)
    seen = 0
    for i in range(READERS):
        for line in (tmp_path / f"r{i}.jsonl").read_text().splitlines():
            record = json.loads(line)
            assert record["ok"], record["error"]
            answer = record["answer"]
            assert json.dumps(answer) in expected[answer["question"]], answer
            seen += 1
    assert seen >= READERS * len(QUESTIONS)
