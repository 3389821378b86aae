"""Collapse repeated paragraphs in a ranking: one wire story carried by three outlets is shown once.

Two paragraphs are copies when their normalised words are the same, or when they differ only by a frame: a
byline or dateline before the text, a desk tag or credit after it ("[FY/HBS]", "(Reuters)"), set off from
the text by a dash, bracket, colon or the like. A changed word, figure or sentence is never a frame (a
sentence is set off by a full stop or a comma at most), so two reports of "12 killed" and "14 killed" stay
two passages. The best-ranked copy is kept; the others are its citations, one per source (an article
repeating its own paragraph is not another source).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property

from index.engine.searcher import Hit

MIN_SHARED_WORDS = 8
"""A frame is allowed only around a shared run of at least this many words: shorter paragraphs (a caption,
"Shares fell on Monday.") collapse only when their normalised words are equal, since a word or two more at
their end is as likely a new fact as a tag."""

MAX_FRAME_WORDS = 8
"""At most this many words of each paragraph may lie outside the shared run (at its start and end together):
room for "By Jane Doe and John Smith, Reuters —" or "Reporting by Jane Doe; Editing by John Smith"."""

MAX_FRAME_SHARE = 0.25
"""The words outside the shared run may also be at most this share of the run's: a four-word byline needs a
run of 16 words, so a short paragraph cannot pass for a copy of a longer one that says more."""

MAX_COMPARED_CHARS = 5000
"""A longer paragraph (no news paragraph is; a hostile source's can hold 100,000 characters) collapses only
with the very same text: normalising and comparing it word by word would cost milliseconds a question."""

_STRAIGHT = {
    **dict.fromkeys("‘’‚‛′´", "'"),
    **dict.fromkeys("“”„‟″«»", '"'),
    **dict.fromkeys("‐‑‒–−", "-"),
    **dict.fromkeys("—―", " - "),
    **dict.fromkeys("\u00ad\u180e\u200b\u200c\u200d\u200e\u200f\u202a\u202b\u202c\u202d\u202e", ""),
    **dict.fromkeys("\u2060\u2061\u2062\u2063\u2064\ufeff", ""),
}
"""Curly quotes and dashes made straight; soft hyphens, zero-width and direction marks (invisible, so never a
difference between two copies) removed. An em dash always sets apart, spaced or not ("WASHINGTON—The"); a
hyphen, en dash or minus may join ("3–5")."""
_UNSTRAIGHT = re.compile(f"[{re.escape(''.join(_STRAIGHT))}]")
_WORD = re.compile(r"[^\W_]+")
"""A word: letters and digits. Everything else ("don't", "10,000", "co-founder" hold two words) separates."""
_ASCII_SEPARATORS = str.maketrans({chr(code): " " for code in range(128) if not chr(code).isalnum()})
"""`_WORD`'s separators in ASCII, as a table: splitting an ASCII text with it is five times faster."""
_SET_OFF = re.compile(r"[-()\[\]{}<>:;/|•·*=~#]")
"""What parts a byline or tag from the text: not a full stop or comma, which part sentences and clauses."""
_JOINER = re.compile(r"[-'.,:/]")
"""One such mark alone between two words joins them ("co-founder", "10:30", "and/or"): it sets nothing off."""
_PROBES = (1 / 3, 1 / 2, 2 / 3)
"""Where in a paragraph a word must be found in the other's, near the same place, for the two to be copies."""


@dataclass(frozen=True)
class Collapsed:
    """A hit kept in an answer, and the copies of its paragraph in other sources, in rank order."""

    hit: Hit
    copies: tuple[Hit, ...] = ()


@dataclass(frozen=True)
class Wording:
    """A paragraph as copies are compared: its normalised text and words (punctuation and spaces separate)."""

    text: str
    words: tuple[str, ...]
    whole: str | None = None
    """The stripped text of a paragraph over `MAX_COMPARED_CHARS` (which has no words): compared whole."""

    def gap(self, index: int) -> str:
        """What stands between `words[index - 1]` and `words[index]` (before the first, after the last)."""
        spans = self._spans
        start = spans[index - 1][1] if index else 0
        end = spans[index][0] if index < len(spans) else len(self.text)
        return self.text[start:end]

    @cached_property
    def _spans(self) -> tuple[tuple[int, int], ...]:
        # Found only for the few paragraphs whose frames are looked at: most are told apart by their words.
        return tuple(match.span() for match in _WORD.finditer(self.text))


def normalised(text: str) -> str:
    """NFKC, case-folded, curly quotes and dashes made straight, invisible characters removed."""
    if text.isascii():
        return text.lower()  # nothing to normalise, fold or unify: the common case, made cheap
    # One pass with a lookup per mark found: much faster here than `str.translate` or a pass per kind.
    return _UNSTRAIGHT.sub(_straight, unicodedata.normalize("NFKC", text).casefold())


def wording(text: str) -> Wording:
    """The normalised words of a paragraph, as copies are compared."""
    if len(text) > MAX_COMPARED_CHARS:
        return Wording("", (), text.strip())
    plain = normalised(text)
    if plain.isascii():
        return Wording(plain, tuple(plain.translate(_ASCII_SEPARATORS).split()))
    return Wording(plain, tuple(_WORD.findall(plain)))


def are_copies(first: Wording, second: Wording) -> bool:
    """Whether two paragraphs say the same, up to a byline or tag set off at the start or end of either.

    They are when their normalised words are equal (their stripped texts, over `MAX_COMPARED_CHARS`), or
    when one run of at least `MIN_SHARED_WORDS` words is in both and leaves outside it, in each, at most
    `MAX_FRAME_WORDS` words and `MAX_FRAME_SHARE` of the run, every such frame parted from the run by a
    dash, bracket, colon, semicolon, slash or the like (`_SET_OFF`, not a lone `_JOINER`).
    """
    if first.whole is not None or second.whole is not None:
        return first.whole == second.whole
    a, b = first.words, second.words
    if a == b:
        return True
    if min(len(a), len(b)) < MIN_SHARED_WORDS or abs(len(a) - len(b)) > MAX_FRAME_WORDS:
        return False
    # Frames hold at most a fifth of a paragraph at either end, so its words at a third, half and two thirds
    # are in the run: each is in the other paragraph, shifted by no more than the frames' words.
    for share in _PROBES:
        probe = int(len(a) * share)
        if a[probe] not in b[max(0, probe - MAX_FRAME_WORDS) : probe + MAX_FRAME_WORDS + 1]:
            return False
    for start_a in range(min(MAX_FRAME_WORDS, len(a) - MIN_SHARED_WORDS) + 1):
        for start_b in range(min(MAX_FRAME_WORDS, len(b) - MIN_SHARED_WORDS) + 1):
            if a[start_a] != b[start_b]:
                continue
            least = max(len(a) - start_a, len(b) - start_b) - MAX_FRAME_WORDS
            # The longest run may end inside a credit the two share a word of ("— Reporting by Jane Doe",
            # "— Reporting by John Roe"): the shorter ones, down to what the frames allow, are tried too.
            for shared in range(_shared_run(a, start_a, b, start_b), max(least, MIN_SHARED_WORDS) - 1, -1):
                if _is_frame(first, start_a, shared) and _is_frame(second, start_b, shared):
                    return True
    return False


def collapse_repeats(hits: Sequence[Hit], keep: int | None = None) -> tuple[Collapsed, ...]:
    """The hits with repeats collapsed, in rank order: each best-ranked copy with its other sources' copies.

    A hit joins the best-ranked group holding a copy of it (the kept hit or one of its copies), so no later
    passage repeats an earlier one; a copy in a source the group already cites is dropped unlisted. With
    `keep`, only the first `keep` groups are made: later hits are looked at only as copies of those.
    """
    groups: list[tuple[Hit, list[Hit], set[str]]] = []
    # Each hit's words are found once. Equal words are looked up; only hits whose lengths leave room for
    # frames are compared (at most n²/2 of them, n ≤ 30 in an answer).
    same: dict[str | tuple[str, ...], int] = {}
    by_length: dict[int, list[tuple[int, Wording]]] = {}
    for hit in hits:
        words = wording(hit.passage.text)
        key = words.whole if words.whole is not None else words.words
        count = len(words.words)
        group = same.get(key, len(groups))
        lengths = (
            range(count - MAX_FRAME_WORDS, count + MAX_FRAME_WORDS + 1) if count >= MIN_SHARED_WORDS else ()
        )
        for length in lengths:
            for number, member in by_length.get(length, ()):
                if number < group and are_copies(member, words):
                    group = number
        if group == len(groups):
            if keep is not None and len(groups) >= keep:
                continue  # neither shown nor a copy of what is: nothing later is compared with it
            groups.append((hit, [], {hit.passage.source_id}))
        elif hit.passage.source_id not in groups[group][2]:
            groups[group][2].add(hit.passage.source_id)
            groups[group][1].append(hit)
        same.setdefault(key, group)
        if count >= MIN_SHARED_WORDS:
            by_length.setdefault(count, []).append((group, words))
    return tuple(Collapsed(hit, tuple(copies)) for hit, copies, _ in groups)


def _shared_run(a: tuple[str, ...], start_a: int, b: tuple[str, ...], start_b: int) -> int:
    """How many words from `a[start_a]` and `b[start_b]` on are the same, if enough are to leave only frames.

    A run shorter than either paragraph's words less `MAX_FRAME_WORDS` cannot qualify, so that much is
    compared at once (one C-level tuple comparison) and only the last few words one by one; 0 when it fails.
    """
    longest = min(len(a) - start_a, len(b) - start_b)
    least = max(len(a) - start_a - MAX_FRAME_WORDS, len(b) - start_b - MAX_FRAME_WORDS, MIN_SHARED_WORDS)
    if least > longest or a[start_a : start_a + least] != b[start_b : start_b + least]:
        return 0
    run = least
    while run < longest and a[start_a + run] == b[start_b + run]:
        run += 1
    return run


def _is_frame(paragraph: Wording, start: int, shared: int) -> bool:
    """Whether the words before `start` and after the run of `shared` words are a set-off byline or tag."""
    end = start + shared
    outside = len(paragraph.words) - shared
    if shared < MIN_SHARED_WORDS or outside > MAX_FRAME_WORDS or outside > shared * MAX_FRAME_SHARE:
        return False
    # A frame that is not set off continues the run's sentence, or is another sentence: it says more.
    return (not start or _sets_off(paragraph.gap(start))) and (
        end == len(paragraph.words) or _sets_off(paragraph.gap(end))
    )


def _straight(mark: re.Match[str]) -> str:
    return _STRAIGHT[mark[0]]


def _sets_off(gap: str) -> bool:
    return _SET_OFF.search(gap) is not None and _JOINER.fullmatch(gap) is None
