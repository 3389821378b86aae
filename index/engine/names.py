"""A name a question mentions, read as the articles write it.

- Forgiven a slip: "Beyonse" is searched as the "Beyoncé" the articles hold. A capitalised word inside a
  question names something; when the view holds no such term, a term one slip away (a letter changed, left
  out, added, or two neighbours swapped) that it does hold is most likely what was meant.
- Glued to the next word: a page that lost the space after a linked name writes "Engadgetthe", which the
  tokenizer reads as one word; a name the view does not hold, but holds with a stopword glued after it,
  is searched as that term.
- By the surname: news names a person in full once ("Elon Musk") and by the surname after ("Musk"), so a
  question about "Elon" is searched as "Musk" where the articles never write "Elon" but before "Musk".

`index.engine.name_lookup` looks the candidates up in a view; this module says which are.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from typing import TypeGuard

from index.engine.tokenizer import STOPWORDS

MIN_CORRECTED_LENGTH = 4
"""Names shorter than this are not corrected: one slip away from a short word is too many other words."""


GLUE_WORDS = frozenset(word for word in STOPWORDS if len(word) >= 3)
"""The stopwords a name may be read as glued to: shorter ones would make other names of it ("Bart" + "on")."""


def glued_forms(word: str) -> list[str]:
    """The terms the name `word` may be read as with a stopword glued after it: the two run together,
    whole or but for the last letter (which the stemmer may take), for `glued_after` to confirm."""
    letters = word.lower()
    return sorted(
        {letters + stopword[:end] for stopword in GLUE_WORDS for end in (len(stopword) - 1, len(stopword))}
    )


def glued_after(word: str, term: str, terms_of: Callable[[str], list[str]]) -> bool:
    """Whether a term is the name `word` written with a stopword glued after it, as `terms_of` (the
    tokenizer) reads the two run together: "engadgetth" is "Engadget" + "the".

    The term must go on with all of the stopword but its last letter at least (the stemmer may take that
    off, as in "engadgetth"): it may take more of a glued word away ("Superbeing" is read "superb",
    "Bartonly" "barton"), and then the term is another word."""
    rest = term[len(word) :] if term.startswith(word.lower()) else ""
    return len(rest) >= 2 and any(
        stopword.startswith(rest) and len(rest) >= len(stopword) - 1 and terms_of(word + stopword) == [term]
        for stopword in GLUE_WORDS
    )


def one_slip_variants(term: str) -> list[str]:
    """Every lower-case ASCII word one slip from `term` (a letter changed, left out, added, or two
    neighbours swapped) that keeps its first two letters: what `one_slip_apart` accepts, for a vocabulary
    too big to scan."""
    letters = "abcdefghijklmnopqrstuvwxyz"
    variants = {term[:at] + term[at + 1 :] for at in range(len(term))}
    variants |= {term[:at] + term[at + 1] + term[at] + term[at + 2 :] for at in range(len(term) - 1)}
    variants |= {term[:at] + letter + term[at + 1 :] for at in range(len(term)) for letter in letters}
    variants |= {term[:at] + letter + term[at:] for at in range(len(term) + 1) for letter in letters}
    return sorted(word for word in variants if word != term and word[:2] == term[:2])


def one_slip_apart(first: str, second: str) -> bool:
    """Whether two different words are one insertion, deletion, substitution or swap of neighbours apart."""
    if first == second or abs(len(first) - len(second)) > 1:
        return False
    if len(first) == len(second):
        diffs = [index for index, (a, b) in enumerate(zip(first, second, strict=True)) if a != b]
        if len(diffs) == 1:
            return True
        return (
            len(diffs) == 2
            and diffs[1] == diffs[0] + 1
            and first[diffs[0]] == second[diffs[1]]
            and first[diffs[1]] == second[diffs[0]]
        )
    shorter, longer = sorted((first, second), key=len)
    for index, char in enumerate(shorter):
        if char != longer[index]:
            return shorter[index:] == longer[index + 1 :]
    return True


SURNAME_SAMPLE = 20
"""How many of the paragraphs holding a given name are read for the word after it."""

MAX_GIVEN_NAMES = 3
"""How many of a question's words are looked at as given names (each costs a read of a few paragraphs)."""

MAX_GIVEN_NAME_PARAGRAPHS = 50
"""A word in more paragraphs than this is not taken for a given name (and reading it would cost)."""


def surname_after(given: str, texts: Iterable[str]) -> str | None:
    """The surname that follows every occurrence of the word `given` (any case) in `texts`, as "Musk"
    follows "Elon"; None if one occurrence is anything else than the first of two capitalised words (a
    plain word, "Musk" after "Elon" after a name, or a name of three words, "New York City"), or there is
    none."""
    pattern = re.compile(
        rf"(?<![\w.-])(?:([A-Z]\w*)\s+)?((?i:{re.escape(given)}))(?!\w)(?:\s+([A-Z][a-z]\w*))?(\s+[A-Z])?"
    )
    following: set[str] = set()
    for text in texts:
        for match in pattern.finditer(text):
            before, written, after, further = match.groups()
            if _a_name(before) or not written[0].isupper() or after is None or further is not None:
                return None
            following.add(after)
            if len(following) > 1:
                return None
    surname = following.pop() if following else None
    return surname if surname is not None and surname.isalpha() and len(surname) >= 3 else None


def goes_by(surname: str, given: str, texts: Iterable[str]) -> bool:
    """Whether `texts` (that hold the surname) write it as a person's name: always capitalised, mostly
    alone, seldom after another capitalised word than the given name ("Sichuan University", "Murray
    Hill": there it is the last word of several names), as news goes on naming a person."""
    pattern = re.compile(rf"(?<![\w.-])(?:([A-Z][\w'’-]*)\s+)?((?i:{re.escape(surname)}))(?!\w)")
    alone = after_others = 0
    for text in texts:
        for before, written in (match.groups() for match in pattern.finditer(text)):
            if not written[0].isupper():
                return False  # also a plain word ("the world", "a new game")
            alone += not _a_name(before)
            after_others += _a_name(before) and before.lower() != given.lower()
    return alone > 0 and after_others * OTHER_NAMES_SHARE <= alone


def _a_name(word: str | None) -> TypeGuard[str]:
    """Whether a capitalised word before another is a name, not a sentence's first word ("Then Musk")."""
    return word is not None and word.lower() not in STOPWORDS


OTHER_NAMES_SHARE = 4
"""A surname may come after another name (a glitch, "Business InsiderElon Musk"; a title, "CEO Musk") once
for this many times it stands alone."""
