"""answer_cost.py times the answer phase from two checkouts: each runs the phase module it has."""

from __future__ import annotations

import importlib.util
from pathlib import Path

from benchmarks.answer_cost import storybot_phases
from benchmarks.paths import ROOT


def test_this_checkout_runs_the_scaling_package() -> None:
    assert storybot_phases(ROOT) == "benchmarks.scaling.storybot"
    assert importlib.util.find_spec(storybot_phases(ROOT)) is not None


def test_a_checkout_from_before_the_move_runs_scale_storybot(tmp_path: Path) -> None:
    (tmp_path / "benchmarks").mkdir()
    (tmp_path / "benchmarks" / "scale_storybot.py").write_text("")
    assert storybot_phases(tmp_path) == "benchmarks.scale_storybot"
