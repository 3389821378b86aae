"""Posting lists as compact arrays: built in memory for a batch of paragraphs, stored as BLOBs.

A posting list says, for one term, which paragraphs hold it (`docs`), how often (`tfs`) and how long each
of those paragraphs is (`lengths`). Keeping the length beside the posting lets a question score a term
from its own rows alone, without touching the other paragraphs of a million-paragraph index.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

DOC_DTYPE = np.dtype("<u4")
TF_DTYPE = np.dtype("<u2")
LENGTH_DTYPE = np.dtype("<u4")
MAX_TF = int(np.iinfo(TF_DTYPE).max)


@dataclass(frozen=True)
class PostingList:
    """The paragraphs that hold one term, with the term's count and each paragraph's length."""

    docs: npt.NDArray[np.uint32]
    tfs: npt.NDArray[np.uint16]
    lengths: npt.NDArray[np.uint32]

    @classmethod
    def from_blobs(cls, docs: bytes, tfs: bytes, lengths: bytes) -> PostingList:
        """Read a stored posting list without copying."""
        return cls(
            np.frombuffer(docs, dtype=DOC_DTYPE),
            np.frombuffer(tfs, dtype=TF_DTYPE),
            np.frombuffer(lengths, dtype=LENGTH_DTYPE),
        )

    def to_blobs(self) -> tuple[bytes, bytes, bytes]:
        """The three BLOBs stored in a postings row."""
        return (
            self.docs.astype(DOC_DTYPE, copy=False).tobytes(),
            self.tfs.astype(TF_DTYPE, copy=False).tobytes(),
            self.lengths.astype(LENGTH_DTYPE, copy=False).tobytes(),
        )

    def __len__(self) -> int:
        return int(self.docs.shape[0])

    @staticmethod
    def concatenate(parts: list[PostingList]) -> PostingList:
        """One list from several segments' lists of the same term."""
        if len(parts) == 1:
            return parts[0]
        return PostingList(
            np.concatenate([part.docs for part in parts]),
            np.concatenate([part.tfs for part in parts]),
            np.concatenate([part.lengths for part in parts]),
        )

    def without(self, dead: npt.NDArray[np.uint32]) -> PostingList:
        """The list minus the given paragraphs (removed ones, when segments are merged)."""
        if dead.size == 0:
            return self
        keep = ~np.isin(self.docs, dead)
        return PostingList(self.docs[keep], self.tfs[keep], self.lengths[keep])


class SegmentBuilder:
    """Collects the terms of a batch of paragraphs and turns them into one posting list per term.

    Postings are gathered as flat columns (term number, paragraph, count, length) and grouped by term
    with one stable numpy sort at the end: far less Python work per posting than a list per term.
    """

    def __init__(self) -> None:
        self._numbers: dict[str, int] = {}
        self._term_column: list[int] = []
        self._doc_column: list[int] = []
        self._tf_column: list[int] = []
        self._length_column: list[int] = []
        self.paragraphs = 0
        self.tokens = 0

    def add(self, doc_id: int, terms: list[str]) -> None:
        """Record one paragraph's terms (in order, with repeats)."""
        length = len(terms)
        self.paragraphs += 1
        self.tokens += length
        counts = Counter(terms)
        numbers = self._numbers
        for term in counts:
            if term not in numbers:
                numbers[term] = len(numbers)
        self._term_column.extend(map(numbers.__getitem__, counts))
        self._tf_column.extend(counts.values())
        self._doc_column.extend([doc_id] * len(counts))
        self._length_column.extend([length] * len(counts))

    def posting_lists(self) -> dict[str, PostingList]:
        """The batch's posting lists, paragraphs in ascending id order within each."""
        if not self._term_column:
            return {}
        term_numbers = np.asarray(self._term_column, dtype=np.int64)
        order = np.argsort(term_numbers, kind="stable")  # stable: paragraphs stay in the order added
        docs = np.asarray(self._doc_column, dtype=DOC_DTYPE)[order]
        tfs = np.minimum(np.asarray(self._tf_column, dtype=np.int64)[order], MAX_TF).astype(TF_DTYPE)
        lengths = np.asarray(self._length_column, dtype=LENGTH_DTYPE)[order]
        bounds = np.flatnonzero(np.diff(term_numbers[order])) + 1
        starts = np.concatenate(([0], bounds))
        ends = np.concatenate((bounds, [len(order)]))
        names = list(self._numbers)
        first_terms = term_numbers[order][starts]
        return {
            names[number]: PostingList(docs[start:end], tfs[start:end], lengths[start:end])
            for number, start, end in zip(first_terms.tolist(), starts.tolist(), ends.tolist(), strict=True)
        }

    def document_frequencies(self) -> dict[str, int]:
        """How many of the batch's paragraphs hold each term."""
        counts = np.bincount(np.asarray(self._term_column, dtype=np.int64), minlength=len(self._numbers))
        return dict(zip(self._numbers, counts.tolist(), strict=True))
