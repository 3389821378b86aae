"""Processes the hardening tests start: a reader that keeps asking, and a writer that keeps changing sources.

Run as `python -m tests.hardening.workers reader DB OUT SECONDS` or `... writer DB SOURCES_DIR SECONDS`.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

from index import StoryIndex

QUESTIONS = [
    "why did Musk leave OpenAI?",
    "How many GPUs did Musk purchase?",
    "what did the lunar base open?",
    "Mars rover landing",
    "OpenAI funding from Microsoft",
]


def read(db: Path, out: Path, seconds: float) -> None:
    """Ask the questions in a loop; every answer (or error) goes to `out` as a JSON line."""
    deadline = time.monotonic() + seconds
    with StoryIndex(db, with_builtin_story=False) as index, out.open("w") as sink:
        while time.monotonic() < deadline:
            for question in QUESTIONS:
                try:
                    answer = index.ask(question, top=3).to_json()
                    sink.write(json.dumps({"ok": True, "answer": answer}) + "\n")
                except Exception as error:  # the test wants to see any error at all, whatever it is
                    sink.write(json.dumps({"ok": False, "error": repr(error)}) + "\n")


def write(db: Path, sources: Path, seconds: float) -> None:
    """Cycle through states: add a.jsonl, add b.jsonl, remove a, remove b; print each committed state."""
    deadline = time.monotonic() + seconds
    steps = [("add", "a"), ("add", "b"), ("remove", "a"), ("remove", "b")]
    with StoryIndex(db, with_builtin_story=False) as index:
        while time.monotonic() < deadline:
            for action, name in steps:
                if action == "add":
                    index.add_paths([sources / f"{name}.jsonl"])
                else:
                    index.remove(name)
                print(action, name, flush=True)


if __name__ == "__main__":
    role, db, target, seconds = sys.argv[1], Path(sys.argv[2]), Path(sys.argv[3]), float(sys.argv[4])
    (read if role == "reader" else write)(db, target, seconds)
