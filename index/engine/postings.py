"""Posting lists as compact arrays: built in memory for a batch of paragraphs, stored as BLOBs.

A posting list says, for one term, which paragraphs hold it (`docs`), how often (`tfs`) and how long each
of those paragraphs is (`lengths`). Keeping the length beside the posting lets a question score a term
from its own rows alone, without touching the other paragraphs of a million-paragraph index.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from index.errors import DamagedDatabase

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
        """Read a stored posting list without copying; DamagedDatabase if the three BLOBs do not agree.

        Only their sizes are checked here (cheap on every read); `storybot check` checks the rest.
        """
        if not all(isinstance(blob, bytes) for blob in (docs, tfs, lengths)):
            raise DamagedDatabase("a posting list is not stored as BLOBs")
        count = len(docs) // DOC_DTYPE.itemsize
        if (
            len(docs) % DOC_DTYPE.itemsize
            or len(tfs) != count * TF_DTYPE.itemsize
            or len(lengths) != count * LENGTH_DTYPE.itemsize
        ):
            raise DamagedDatabase(
                f"a posting list does not decode ({len(docs)}, {len(tfs)} and {len(lengths)} bytes)"
            )
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

    def in_order(self) -> PostingList:
        """The list with its paragraphs in ascending id order, as stored lists must be (for binary search)."""
        if len(self) < 2 or bool(np.all(self.docs[1:] > self.docs[:-1])):
            return self
        order = np.argsort(self.docs, kind="stable")
        return PostingList(self.docs[order], self.tfs[order], self.lengths[order])

    def without(self, dead: npt.NDArray[np.uint32]) -> PostingList:
        """The list minus the given paragraphs (removed ones, when segments are merged)."""
        if dead.size == 0:
            return self
        keep = ~np.isin(self.docs, dead)
        return PostingList(self.docs[keep], self.tfs[keep], self.lengths[keep])


class SegmentBuilder:
    """Collects the terms of a batch of paragraphs and turns them into one posting list per term.

    Each token is kept as a term number in one flat column; at the end one numpy sort of (term, paragraph)
    keys counts the term frequencies and groups the postings by term. Per token, Python does only a dict
    lookup, which keeps indexing fast.
    """

    def __init__(self) -> None:
        self._numbers: dict[str, int] = {}
        self._tokens: list[int] = []
        self._blocks: list[npt.NDArray[np.int64]] = []  # term numbers added in bulk; `_tokens` follows them
        self._remaps: list[tuple[list[str], npt.NDArray[np.int64]]] = []  # a worker's numbers to ours
        self._doc_ids: list[int] = []
        self._lengths: list[int] = []
        self._built: dict[str, PostingList] | None = None
        self.paragraphs = 0
        self.tokens = 0

    def add(self, doc_id: int, terms: list[str]) -> None:
        """Record one paragraph's terms (in order, with repeats)."""
        numbers = self._numbers
        found = list(map(numbers.get, terms))
        if None in found:
            for index, term in enumerate(terms):
                if found[index] is None:
                    found[index] = numbers.setdefault(term, len(numbers))
        self._tokens.extend(found)  # type: ignore[arg-type]
        self._built = None
        self._doc_ids.append(doc_id)
        self._lengths.append(len(terms))
        self.paragraphs += 1
        self.tokens += len(terms)

    def add_numbered(
        self,
        first_doc_id: int,
        vocabulary: list[str],
        tokens: npt.NDArray[np.int32],
        lengths: npt.NDArray[np.int64],
    ) -> None:
        """Record consecutive paragraphs whose terms come as numbers into `vocabulary` (from a worker).

        A vocabulary only grows, and its numbers never change: each one's translation to our numbers is
        kept and extended.
        """
        remap = self._remap_for(vocabulary)
        if self._tokens:
            self._blocks.append(np.asarray(self._tokens, dtype=np.int64))
            self._tokens = []
        self._blocks.append(remap[tokens])
        self._built = None
        self._doc_ids.extend(range(first_doc_id, first_doc_id + len(lengths)))
        self._lengths.extend(lengths.tolist())
        self.paragraphs += len(lengths)
        self.tokens += int(lengths.sum())

    def _remap_for(self, vocabulary: list[str]) -> npt.NDArray[np.int64]:
        index = next((i for i, (known, _) in enumerate(self._remaps) if known is vocabulary), None)
        if index is None:
            index = len(self._remaps)
            self._remaps.append((vocabulary, np.zeros(0, dtype=np.int64)))
        remap = self._remaps[index][1]
        if len(remap) < len(vocabulary):
            numbers = self._numbers
            new = vocabulary[len(remap) :]
            tail = np.fromiter((numbers.setdefault(term, len(numbers)) for term in new), np.int64, len(new))
            remap = np.concatenate((remap, tail))
            self._remaps[index] = (vocabulary, remap)
        return remap

    def posting_lists(self) -> dict[str, PostingList]:
        """The batch's posting lists, paragraphs in ascending id order within each."""
        if self._built is None:
            self._built = self._build()
        return self._built

    def document_frequencies(self) -> dict[str, int]:
        """How many of the batch's paragraphs hold each term."""
        return {term: len(postings) for term, postings in self.posting_lists().items()}

    def _build(self) -> dict[str, PostingList]:
        if not self.tokens:
            return {}
        lengths = np.asarray(self._lengths, dtype=np.int64)
        rows = np.repeat(np.arange(len(lengths), dtype=np.int64), lengths)
        column = np.concatenate([*self._blocks, np.asarray(self._tokens, dtype=np.int64)])
        # One key per token, ordered by term then paragraph; equal keys are repeats of a term in a paragraph.
        token_keys = column * len(lengths) + rows
        keys, tfs = np.unique(token_keys, return_counts=True)
        terms, rows = np.divmod(keys, len(lengths))
        docs = np.asarray(self._doc_ids, dtype=DOC_DTYPE)[rows]
        tf_column = np.minimum(tfs, MAX_TF).astype(TF_DTYPE)
        length_column = lengths[rows].astype(LENGTH_DTYPE)
        bounds = np.flatnonzero(np.diff(terms)) + 1
        starts = np.concatenate(([0], bounds)).tolist()
        ends = np.concatenate((bounds, [len(keys)])).tolist()
        names = list(self._numbers)
        return {
            names[number]: PostingList(docs[start:end], tf_column[start:end], length_column[start:end])
            for number, start, end in zip(terms[starts].tolist(), starts, ends, strict=True)
        }
