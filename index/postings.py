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
    """Collects the terms of a batch of paragraphs and turns them into one posting list per term."""

    def __init__(self) -> None:
        self._docs: dict[str, list[int]] = {}
        self._tfs: dict[str, list[int]] = {}
        self._lengths: dict[str, list[int]] = {}
        self.paragraphs = 0
        self.tokens = 0

    def add(self, doc_id: int, terms: list[str]) -> None:
        """Record one paragraph's terms (in order, with repeats)."""
        length = len(terms)
        self.paragraphs += 1
        self.tokens += length
        for term, tf in Counter(terms).items():
            docs = self._docs.get(term)
            if docs is None:
                self._docs[term] = [doc_id]
                self._tfs[term] = [min(tf, MAX_TF)]
                self._lengths[term] = [length]
            else:
                docs.append(doc_id)
                self._tfs[term].append(min(tf, MAX_TF))
                self._lengths[term].append(length)

    def document_frequencies(self) -> dict[str, int]:
        """How many of the batch's paragraphs hold each term."""
        return {term: len(docs) for term, docs in self._docs.items()}

    def posting_lists(self) -> dict[str, PostingList]:
        """The batch's posting lists, paragraphs in ascending id order."""
        return {
            term: PostingList(
                np.asarray(docs, dtype=DOC_DTYPE),
                np.asarray(self._tfs[term], dtype=TF_DTYPE),
                np.asarray(self._lengths[term], dtype=LENGTH_DTYPE),
            )
            for term, docs in self._docs.items()
        }
