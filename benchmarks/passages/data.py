"""The SQuAD set as the benchmark reads it: JSONL rows, the set's three files, an article's paragraphs."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any, cast

TOP = 10
"""Results asked of every engine, and the depth of MRR@10."""

Row = dict[str, Any]
Ranked = list[tuple[str, int] | None]
Run = dict[str, tuple[bool, Ranked]]
"""What score.py's load_run returns: {question id: (answered, [(article id, 0-based paragraph), ...])}."""


class BadInput(Exception):
    """A file to read is missing or not JSONL, or the folder to keep is not empty."""


def read_jsonl(path: Path) -> list[Row]:
    """The JSON objects of a JSONL file, blank lines skipped."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as error:
        raise BadInput(f"{path}: {error.strerror}") from error
    rows = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            rows.append(json.loads(line))
        except json.JSONDecodeError as error:
            raise BadInput(f"{path}:{number}: not JSON ({error.msg})") from error
    return rows


def write_jsonl(path: Path, rows: Sequence[Row]) -> None:
    """Write rows as JSONL, one object a line."""
    path.write_text("".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows), encoding="utf-8")


@dataclass(frozen=True)
class QaSet:
    """The SQuAD set: articles, questions tied to a paragraph, off-topic questions asked of an article."""

    articles: list[Row]
    questions: list[Row]
    offtopic: list[Row]

    @classmethod
    def read(cls, folder: Path) -> QaSet:
        """Read the three files of the set's folder."""
        return cls(
            *(read_jsonl(folder / name) for name in ("articles.jsonl", "questions.jsonl", "offtopic.jsonl"))
        )

    def dated(self) -> QaSet:
        """The set with each article published on a day of its own (the first on 2024-01-01, then one a day):
        all articles in one index then hold passages of different dates, which answers order newest first
        among nearly equal scores, as a developing story's would be."""
        first = date(2024, 1, 1)
        articles = [
            {**article, "published": (first + timedelta(days=number)).isoformat()}
            for number, article in enumerate(self.articles)
        ]
        return QaSet(articles, self.questions, self.offtopic)

    def own(self, article_id: str) -> list[Row]:
        """The questions written on this article."""
        return [q for q in self.questions if q["article"] == article_id]

    def offtopic_for(self, article_id: str) -> list[Row]:
        """The off-topic questions asked against this article."""
        return [q for q in self.offtopic if q["article"] == article_id]


def paragraphs(article: Row) -> list[str]:
    """An article's paragraphs as the set numbers them."""
    return cast(list[str], article["text"].split("\n\n"))
