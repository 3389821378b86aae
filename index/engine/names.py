"""A name a question mentions, forgiven a slip: "Beyonse" is searched as the "Beyoncé" the articles hold.

A capitalised word inside a question names something; when the view holds no such term, a term one slip
away (a letter changed, left out, added, or two neighbours swapped) that it does hold is most likely what
was meant. The search looks the candidates up (`Searcher._corrected_names`); this module says which are.
"""

from __future__ import annotations

MIN_CORRECTED_LENGTH = 4
"""Names shorter than this are not corrected: one slip away from a short word is too many other words."""


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
