"""Where the benchmarks find the project and the data beside it, defined once.

`ROOT` is the checkout; `SHARED` is the sibling `shared/` folder that holds the evaluation sets (SQuAD,
SciFact, the story's development questions), which are not part of the repository.
"""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"


def require(path: Path) -> Path:
    """`path`, or exit with one line saying what is missing and where the benchmarks look for it."""
    if not path.exists():
        raise SystemExit(
            f"{path}: not found. The benchmarks read the public evaluation sets (SQuAD, SciFact, Cranfield,"
            f" the story's questions) from a shared/ folder beside the checkout, {SHARED}: put a copy there."
        )
    return path
