"""Where a question's terms occur in a paragraph, found without tokenizing the paragraph.

Tokenizing every word of the paragraphs an answer reads would cost more than ranking them. Instead each
term is looked for with `str.find` as a word prefix of the lower-cased text (Snowball stems are prefixes of
their words, but for a final "i" standing for "y" and a final "e" dropped before "-ing"), and numbers by a
pattern that also meets "10,000" for 10000. Given the tokenizer, each word found is confirmed to yield the
term, so "car" is not found in "career"; without it (highlighting a sentence) a prefix is taken as found.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Iterable

from index.engine.sentences import sentence_ends
from index.engine.tokenizer import Tokenizer

# The word starting where a needle was found, as the tokenizer reads words ("musk's", "10,000", "co-op").
_WORD = re.compile(r"\w+(?:(?:['.,-]|'s)\w+)*")


class TermFinder:
    """Finds the occurrences of a fixed set of terms in texts."""

    def __init__(self, terms: Iterable[str], tokenizer: Tokenizer | None = None) -> None:
        self._tokenizer = tokenizer
        self._needles: list[tuple[str, str]] = []
        self._numbers: list[tuple[re.Pattern[str], str]] = []
        for term in dict.fromkeys(terms):
            if term.replace(".", "").isdigit():
                # "10000" also appears as "10,000" or "10.000".
                pattern = re.compile(r"(?<![\d.,])" + "[,.]?".join(map(re.escape, term)) + r"(?!\d)")
                self._numbers.append((pattern, term))
            else:
                # A stem's last letter may not be in its word: "i" for "y" ("studi", "study"), or an "e" the
                # word drops before "-ing" ("hire", "hiring"). Not for short stems, whose needle would be a
                # prefix of too many words.
                needle = term[:-1] if len(term) > 3 and term[-1] in "ie" else term
                self._needles.append((needle, term))

    def occurrences(self, text: str) -> list[tuple[int, str]]:
        """(offset, term) for every occurrence in `text`, in the order of the text."""
        found: list[tuple[int, str]] = []
        lower = text.lower()
        # A word is confirmed as written ("GPUs" is an acronym's plural, "gpus" a word), where lower-casing
        # kept every offset (a few characters, such as "İ", lower-case to two).
        cased = text if len(lower) == len(text) else lower
        tokenizer = self._tokenizer
        for needle, term in self._needles:
            position = lower.find(needle)
            while position >= 0:
                if position == 0 or not lower[position - 1].isalnum():
                    word = _WORD.match(cased, position)
                    if tokenizer is None or (word and term in tokenizer.piece_terms(word.group())):
                        found.append((position, term))
                position = lower.find(needle, position + len(needle))
        for pattern, term in self._numbers:
            found.extend((match.start(), term) for match in pattern.finditer(text))
        found.sort()
        return found


def terms_by_sentence(
    text: str, found: list[tuple[int, str]], ends: list[int] | None = None
) -> dict[int, set[str]]:
    """The distinct terms of `found` (occurrences in `text`) by the number of the sentence holding them.

    `ends` are the text's `sentence_ends`, when the caller has them already.
    """
    if not found:
        return {}
    ends = sentence_ends(text) if ends is None else ends
    last = len(ends) - 1
    held: dict[int, set[str]] = {}
    for offset, term in found:
        held.setdefault(min(bisect.bisect_right(ends, offset), last), set()).add(term)
    return held
