"""The trade-off between declining and answering: the answers' confidences against a threshold."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from benchmarks.passages.data import Row

THRESHOLDS = [i / 20 for i in range(21)]


@dataclass(frozen=True)
class Confidences:
    """The confidence of the answers to questions that should be declined, and to those that should not."""

    offtopic: list[float | None]
    own: list[float | None]

    def declined(self, threshold: float) -> float:
        """Share of the off-topic questions declined at this threshold (a missing answer is not declined)."""
        return _share(self.offtopic, lambda c: c < threshold)

    def answered(self, threshold: float) -> float:
        """Share of the own questions answered at this threshold (a missing answer is not answered)."""
        return _share(self.own, lambda c: c >= threshold)


def _share(values: list[float | None], test: Callable[[float], bool]) -> float:
    return sum(value is not None and test(value) for value in values) / len(values) if values else 0.0


def confidences(
    answers: dict[str, Row], offtopic_ids: Sequence[str], own_ids: Sequence[str]
) -> Confidences | None:
    """The answers' confidences, or None if storybot's answers carry none."""
    if not answers or any("confidence" not in answer for answer in answers.values()):
        return None

    def of(ids: Sequence[str]) -> list[float | None]:
        return [float(answers[i]["confidence"]) if i in answers else None for i in ids]

    return Confidences(of(offtopic_ids), of(own_ids))


def rule_breaks(answers: dict[str, Row]) -> int:
    """Answers whose "answered" is not `confidence >= threshold`, the rule storybot states."""
    return sum(
        answer["answered"] is not (answer["confidence"] >= answer["threshold"])
        for answer in answers.values()
        if "threshold" in answer
    )


def curve(curves: dict[str, Confidences], shipped: set[float]) -> list[Row]:
    """One row per threshold (the grid and the shipped ones): each set's declined and answered shares."""
    rows = []
    for threshold in sorted(set(THRESHOLDS) | shipped):
        row: Row = {"threshold": threshold, "shipped": threshold in shipped}
        for name, values in curves.items():
            row[name] = {"declined": values.declined(threshold), "answered": values.answered(threshold)}
        rows.append(row)
    return rows
