"""What BM25 counts for an article: each paragraph's terms, with the title counted in the first one.

The writer (`index.engine.store`) and the tokenizing workers (`index.engine.parallel`) both follow this
rule, one on terms and the other on numbered pieces of text.
"""

from __future__ import annotations

from array import array
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TypeVar

import numpy as np
import numpy.typing as npt

from index.engine.tokenizer import Tokenizer

TITLE_WEIGHT = 2
"""How many times an article's title terms count in its first paragraph (measured; see the README)."""

_Run = TypeVar("_Run", list[str], "array[int]")


def repeated_title(title: _Run) -> _Run:
    """A title's terms (or pieces) as an article's first paragraph counts them: `TITLE_WEIGHT` times."""
    return title * TITLE_WEIGHT


def paragraph_terms(tokenizer: Tokenizer, article_title: str, paragraphs: Sequence[str]) -> list[list[str]]:
    """The terms BM25 counts for each paragraph; the title counts in the first one (an article's lead)."""
    title_terms = repeated_title(tokenizer.tokenize(article_title))
    terms = [tokenizer.tokenize(text) for text in paragraphs]
    if terms:
        terms[0] = title_terms + terms[0]
    return terms


@dataclass(frozen=True)
class ArticleTerms:
    """One article's terms as numbers into a worker's vocabulary: what `SegmentBuilder.add_numbered` takes."""

    vocabulary: list[str]
    """The worker's vocabulary (it grows as its chunks arrive; numbers already given never change)."""
    tokens: npt.NDArray[np.int32]
    lengths: npt.NDArray[np.int64]
    content_hash: str
