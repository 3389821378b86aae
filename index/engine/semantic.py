"""How well a paragraph's words cover a question's meaning, by a static token embedding (no model run).

BM25 and the second stage's other readings see only shared terms: "yearly" never meets "annual", nor "die"
"death". A static embedding gives each token of a vocabulary one vector, distilled once from a sentence
transformer (model2vec's method: the transformer's output for each token alone, reduced by PCA and weighted
by the token's rarity; `benchmarks/distill_static.py` makes it), so how near two words are is one dot
product, with numpy and the `tokenizers` package, no torch.

The reading here is a soft match: each content token of the question (stopwords and punctuation left out)
is met by the paragraph's nearest token, and the question's coverage is the mean of those cosines weighted
by the question tokens' row lengths (the distillation makes a frequent token's row short, so a rare word
counts more). A paragraph holding the question's own words covers it fully (1.0); one holding their
synonyms nearly. Measured against the cosine of the texts' mean vectors, and of the best sentence's, this
lifts the SQuAD development set the most (`benchmarks/semantic_rerank.py`).

The table is a folder holding `tokenizer.json` (the `tokenizers` package reads it), `embeddings.npy` (one
row per token id, int8) and `scales.npy` (each row's float32 scale). It is read once, on first use: a
process that never reaches the second stage never pays for it.
"""

from __future__ import annotations

import re
import string
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from itertools import chain
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

from index.engine.tokenizer import STOPWORDS

if TYPE_CHECKING:
    from tokenizers import Tokenizer as WordPiece

TABLE = Path(__file__).resolve().parents[1] / "data" / "static-embedding"
"""The table shipped with the package."""

WORDS_KEPT = 100_000
"""Words whose content token ids are remembered (a few MB), cleared when full."""

BLOCK = 230_000
"""Multiply-adds in one matrix product: under OpenBLAS's threshold (65,536 x 4) for splitting a product
among threads."""

TEXTS_KEPT = 20_000
"""Texts whose content tokens are remembered (a few MB), cleared when full."""


@dataclass(frozen=True)
class _Table:
    tokenizer: WordPiece
    unit: npt.NDArray[np.float32]
    """Each token's row at unit length."""
    weight: npt.NDArray[np.float32]
    """Each token's row length: how much it counts as a question token."""
    content: npt.NDArray[np.bool_]
    """Whether a token carries meaning: not a stopword, holding a letter or digit."""
    vocabulary: dict[str, int]
    """Each token's id (pieces after a word's first one start with `##`)."""
    unknown: int
    """The id of the token a word no pieces make up is read as."""


class StaticEmbedding:
    """A static token embedding read from a folder, loaded once, on first use; safe to share by threads."""

    def __init__(self, folder: Path) -> None:
        self._folder = folder
        self._lock = threading.Lock()
        self._table: _Table | None = None
        self._words: dict[str, tuple[int, ...]] = {}
        """Each word met so far and its content token ids: reading words costs the most, and they repeat."""
        self._chunks: dict[str, tuple[int, ...]] = {}
        """Each lower-case white-space chunk met so far ("musk's,") with its word's content token ids."""
        self._texts: dict[str, npt.NDArray[np.int32]] = {}

    def _load(self) -> _Table:
        table = self._table
        if table is not None:
            return table
        with self._lock:
            if self._table is None:
                from tokenizers import Tokenizer  # noqa: PLC0415 (loaded with the table, on first use)

                tokenizer = Tokenizer.from_str((self._folder / "tokenizer.json").read_text(encoding="utf-8"))
                rows = np.load(self._folder / "embeddings.npy").astype(np.float32)
                rows *= np.load(self._folder / "scales.npy").astype(np.float32)[:, None]
                lengths = np.linalg.norm(rows, axis=1).astype(np.float32)
                vocabulary = tokenizer.get_vocab()
                content = np.ones(len(rows), dtype=np.bool_)
                for token, token_id in vocabulary.items():
                    if token_id < len(rows) and (token in STOPWORDS or not any(c.isalnum() for c in token)):
                        content[token_id] = False
                unit = rows / np.maximum(lengths, 1e-9)[:, None]
                unknown = vocabulary.get("[UNK]", 0)
                self._table = _Table(tokenizer, unit, lengths, content, vocabulary, unknown)
            return self._table

    def token_ids(self, text: str) -> list[int]:
        """The text's content token ids, in order, as the tokenizer gives them for the whole text (no special
        tokens, no stopwords or punctuation)."""
        words = _words(text)
        ids = self._ids_of(words)
        return [token for word in words for token in ids[word]]

    def _ids_of(self, words: list[str]) -> dict[str, tuple[int, ...]]:
        """Each of `words` with its content token ids (those not met before read together)."""
        known = self._words
        found = {word: known[word] for word in words if word in known}
        unseen = [word for word in dict.fromkeys(words) if word not in found]
        if unseen:
            table = self._load()
            if len(known) + len(unseen) > WORDS_KEPT:
                known.clear()  # another thread may be reading it: each reads its own `found`
            # An ASCII word is split here as the tokenizer would: at each punctuation mark (a token of its
            # own, never content), then each run of letters and digits by WordPiece. A call into the
            # tokenizer costs more than splitting a word, and most words are ASCII.
            others = []
            for word in unseen:
                pieces = _ascii_pieces(word, table) if word.isascii() else None
                if pieces is None:
                    others.append(word)
                else:
                    known[word] = found[word] = tuple(token for token in pieces if table.content[token])
            if others:
                encodings = table.tokenizer.encode_batch_fast(others, add_special_tokens=False)
                for word, encoding in zip(others, encodings, strict=True):
                    known[word] = found[word] = tuple(token for token in encoding.ids if table.content[token])
        return found

    def _content(self, text: str) -> npt.NDArray[np.int32]:
        """The text's distinct content tokens, remembered for the texts met last (most questions of a
        story read the same few paragraphs again)."""
        held = self._texts.get(text)
        if held is None:
            # Each white-space chunk ("musk's,") is looked up as it stands, in C (`map`): most were met
            # before, and stripping word by word in Python cost twice as much as the rest of this.
            chunks = text.lower().split()
            ids = list(map(self._chunks.get, chunks))
            if None in ids:
                resolved = self._resolve(
                    [chunk for chunk, got in zip(chunks, ids, strict=True) if got is None]
                )
                ids = [
                    resolved[chunk] if got is None else got for chunk, got in zip(chunks, ids, strict=True)
                ]
            held = np.array(sorted(set(chain.from_iterable(filter(None, ids)))), dtype=np.int32)
            if len(self._texts) >= TEXTS_KEPT:
                self._texts.clear()
            self._texts[text] = held
        return held

    def _resolve(self, chunks: list[str]) -> dict[str, tuple[int, ...]]:
        """Each of the lower-case white-space `chunks` with the content token ids of its word (the chunk
        without the marks around it), remembered."""
        words = {chunk: chunk.strip(_MARKS) for chunk in dict.fromkeys(chunks)}
        ids = self._ids_of([word for word in words.values() if word])
        known = self._chunks
        if len(known) + len(words) > WORDS_KEPT:
            known.clear()  # another thread may be reading it: each keeps what it resolved
        resolved = {chunk: ids.get(word, ()) for chunk, word in words.items()}
        known.update(resolved)
        return resolved

    def coverage(
        self,
        question: str,
        texts: Sequence[str | tuple[str, ...]],
        rarity: Mapping[str, float] | None = None,
    ) -> npt.NDArray[np.float32]:
        """For each text, how well its tokens cover the question's content tokens: 0 to 1 (the weighted mean
        over the question's tokens of the nearest text token's cosine, below 0 taken as 0; 0 for a
        question or text without content tokens). A text given in parts (an article's title and a
        paragraph) has the tokens of them all: each part is remembered as read on its own.

        A question token weighs its row length, times, given `rarity` (how rare each of the question's
        words, lower case, is where the texts come from), its word's rarity: "Musk" is a rare word of
        English but, in a story about him, in every paragraph, and the word no paragraph holds is the one
        whose meaning must be found.
        """
        out = np.zeros(len(texts), dtype=np.float32)
        asked = self._content(question)
        if not len(asked) or not texts:
            return out
        table = self._load()
        held = [
            self._content(text)
            if isinstance(text, str)
            else np.unique(np.concatenate([self._content(part) for part in text] or [np.zeros(0, np.int32)]))
            for text in texts
        ]
        sizes = np.array([len(tokens) for tokens in held])
        present = sizes > 0
        if not present.any():
            return out
        # Each text token's cosine with each question token, then the nearest per question token within each
        # text's run of rows. The product is taken in blocks small enough for OpenBLAS to keep to this
        # thread: threaded, it waits for woken helper threads at every question (p95 4.5 ms against 0.3).
        rows = table.unit[np.concatenate(held)]
        columns = np.ascontiguousarray(table.unit[asked].T)
        cosines = np.empty((len(rows), len(asked)), dtype=np.float32)
        step = max(BLOCK // (len(asked) * rows.shape[1]), 1)
        for start in range(0, len(rows), step):
            np.matmul(rows[start : start + step], columns, out=cosines[start : start + step])
        starts = (np.cumsum(sizes) - sizes)[present]
        nearest = np.maximum.reduceat(cosines, starts, axis=0)
        weights = table.weight[asked]
        if rarity is not None:
            rarer = weights * self._rarities(asked, rarity)
            weights = rarer if rarer.sum() > 0 else weights
        weights = weights / weights.sum()
        out[present] = np.clip(nearest, 0.0, 1.0) @ weights
        return out

    def _rarities(self, asked: npt.NDArray[np.int32], rarity: Mapping[str, float]) -> npt.NDArray[np.float32]:
        """Each of the question's tokens `asked` with the rarity of its word (the rarest, for a token of
        several words)."""
        ids = self._ids_of(list(rarity))
        of: dict[int, float] = {}
        for word, weight in rarity.items():
            for token in ids[word]:
                of[token] = max(of.get(token, 0.0), weight)
        return np.array([of.get(int(token), 0.0) for token in asked], dtype=np.float32)


_LONGEST_WORD = 100
"""WordPiece reads a longer word as the unknown token (BERT's `max_input_chars_per_word`)."""


def _ascii_pieces(word: str, table: _Table) -> list[int] | None:
    """An ASCII lower-case word's content-bearing WordPiece ids (its marks left out); None when a run is too
    long for this."""
    pieces: list[int] = []
    for run in _RUNS.findall(word):
        ids = _pieces(run, table)
        if ids is None:
            return None
        pieces.extend(ids)
    return pieces


_RUNS = re.compile(r"[a-z0-9]+")


def _pieces(word: str, table: _Table) -> list[int] | None:
    """A plain lower-case word's WordPiece ids, longest piece first from the left; None when the word is
    too long for this (the tokenizer then reads it)."""
    if len(word) > _LONGEST_WORD:
        return None
    vocabulary, pieces, start = table.vocabulary, [], 0
    while start < len(word):
        end = len(word)
        while end > start:
            piece = word[start:end] if start == 0 else "##" + word[start:end]
            token = vocabulary.get(piece)
            if token is not None:
                pieces.append(token)
                break
            end -= 1
        else:
            return [table.unknown]  # no piece fits: the whole word is unknown, as in WordPiece
        start = end
    return pieces


def _words(text: str) -> list[str]:
    """The text's white-space-separated words, lower case, without the punctuation around them: the
    tokenizer is uncased and splits punctuation off as tokens of its own (never content tokens), so each
    word's content tokens are the same, and a word is met again whatever its case or the mark after it."""
    return [word for word in (chunk.strip(_MARKS) for chunk in text.lower().split()) if word]


_MARKS = string.punctuation + "“”‘’«»–—…·•"
"""Marks stripped from a word's ends (a rarer one left on only makes its word remembered apart)."""

_shipped: StaticEmbedding | None = None
_shipped_lock = threading.Lock()


def shipped_embedding() -> StaticEmbedding:
    """The table shipped with the package, one for the process (it is read on first use)."""
    global _shipped  # noqa: PLW0603 (one lazily read table for the process)
    with _shipped_lock:
        if _shipped is None:
            _shipped = StaticEmbedding(TABLE)
        return _shipped
