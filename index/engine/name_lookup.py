"""The names a question mentions, looked up in a view (`index.engine.names` says which words qualify).

Two readings, both inside the search's read transaction: a name the view does not hold, searched as the
term one slip away that it does ("Beyonse"), and a given name searched as the surname the articles go on
naming the person by ("Elon" as "Musk"). Each reads the view's vocabulary and, for a given name, a few
paragraphs.
"""

from __future__ import annotations

import sqlite3

from index.engine.database import in_chunks
from index.engine.names import (
    MAX_GIVEN_NAME_PARAGRAPHS,
    MAX_GIVEN_NAMES,
    MIN_CORRECTED_LENGTH,
    SURNAME_SAMPLE,
    glued_after,
    glued_forms,
    goes_by,
    one_slip_apart,
    one_slip_variants,
    surname_after,
)
from index.engine.ranking import BM25Parameters, term_idf
from index.engine.tokenizer import Tokenizer
from index.engine.views import ViewReader

SLIP_SCAN = 2_000
"""The most vocabulary terms read to find a name's slips; past it, the few hundred slips are looked up."""


class NameLookup:
    """Reads a question's names against a view; one per `Searcher`, on its connection."""

    def __init__(
        self, conn: sqlite3.Connection, tokenizer: Tokenizer, params: BM25Parameters, views: ViewReader
    ) -> None:
        self._conn = conn
        self._tokenizer = tokenizer
        self._params = params
        self._views = views

    def corrected(self, named: dict[str, str], view: tuple[str, ...]) -> dict[str, str]:
        """For each name the view does not hold, the term it holds the name glued to a stopword after it
        ("Engadgetthe"), else the term one slip away ("Beyonse"), if any.

        The glued forms are looked up whole (a few hundred, however big the vocabulary), the slips among the
        terms sharing the name's first two letters (`_slips`, bounded too). The candidate in most
        paragraphs wins.
        """
        if not named:
            return {}
        state = self._views.state(view)
        ids, dfs = self._views.terms(list(named), view, state.terms)
        corrections: dict[str, str] = {}
        for term, word in named.items():
            if dfs.get(ids.get(term, -1), 0) or len(term) < MIN_CORRECTED_LENGTH or not term.isalpha():
                continue
            glued = [
                candidate
                for candidate in self._in_vocabulary(glued_forms(word))
                if glued_after(word, candidate, self._tokenizer.tokenize)
            ]
            near = glued or [candidate for candidate in self._slips(term) if one_slip_apart(term, candidate)]
            if not near:
                continue
            near_ids, near_dfs = self._views.terms(near, view, state.terms)
            held = [(near_dfs.get(near_ids[c], 0), c) for c in near if near_ids.get(c, -1) in near_dfs]
            if held:
                corrections[term] = min(held, key=lambda pair: (-pair[0], pair[1]))[1]  # most paragraphs
        return corrections

    def _in_vocabulary(self, terms: list[str]) -> list[str]:
        """Those of `terms` that some paragraph of the index holds (or held)."""
        return [
            term
            for chunk, marks in in_chunks(terms)
            for (term,) in self._conn.execute(f"SELECT term FROM terms WHERE term IN ({marks})", chunk)
        ]

    def _slips(self, term: str) -> list[str]:
        """The vocabulary's terms that may be one slip from `term`: those sharing its first two letters,
        one letter longer or shorter at most, read from one indexed range while it is short; where it is
        long (a big vocabulary), the slips of an ASCII term are looked up whole instead."""
        query = "SELECT term FROM terms WHERE term >= ? AND term < ? AND length(term) BETWEEN ? AND ?"
        bounds = (term[:2], term[:2] + "\U0010ffff", len(term) - 1, len(term) + 1)
        if not term.isascii():
            return [found for (found,) in self._conn.execute(query, bounds)]
        rows = self._conn.execute(f"{query} LIMIT ?", (*bounds, SLIP_SCAN + 1)).fetchall()
        if len(rows) <= SLIP_SCAN:
            return [found for (found,) in rows]
        return self._in_vocabulary(one_slip_variants(term))

    def surnames(self, question: str, terms: tuple[str, ...], view: tuple[str, ...]) -> dict[str, str]:
        """For a given name the view only ever writes before one surname, the surname ("elon": "musk"),
        where the question does not name it too and the articles go on naming the person by it
        (`names.goes_by`).

        The words looked at are the question's capitalised ones after its first (all its words, for a
        question typed in lower case) held by a few paragraphs; a few paragraphs of each are read.
        """
        typed_lower = question == question.lower()
        given: dict[str, str] = {}
        for place, (word, found) in enumerate(self._tokenizer.word_terms(question)):
            if word.isalpha() and len(found) == 1 and (typed_lower or (place and word[0].isupper())):
                given.setdefault(found[0], word)
        if not given:
            return {}
        state = self._views.state(view)
        ids, dfs = self._views.terms(list(given), view, state.terms)
        rare = [term for term in given if 0 < dfs.get(ids.get(term, -1), 0) <= MAX_GIVEN_NAME_PARAGRAPHS]
        surnames: dict[str, str] = {}
        for term in rare[:MAX_GIVEN_NAMES]:
            surname = surname_after(given[term], self._texts_holding(ids[term], dfs[ids[term]], view))
            found = self._tokenizer.tokenize(surname or "", for_query=True)
            if surname is None or len(found) != 1 or found[0] in terms:
                continue
            surname_ids, surname_dfs = self._views.terms(found, view, state.terms)
            surname_df = surname_dfs.get(surname_ids.get(found[0], -1), 0)
            if surname_df >= 2 * dfs[ids[term]] and goes_by(
                surname, given[term], self._texts_holding(surname_ids[found[0]], surname_df, view)
            ):
                surnames[term] = found[0]
        return surnames

    def _texts_holding(self, term_id: int, df: int, view: tuple[str, ...]) -> list[str]:
        """The texts of a few of the view's paragraphs that hold the term (`SURNAME_SAMPLE`)."""
        state = self._views.state(view)
        idf = term_idf(df, state.stats, self._params)
        postings = self._views.postings({term_id: idf}, view, state).get(term_id)
        if postings is None:
            return []
        holding = [int(doc) for docs in postings.docs for doc in docs[:SURNAME_SAMPLE]][:SURNAME_SAMPLE]
        return [
            text
            for chunk, marks in in_chunks(holding)
            for (text,) in self._conn.execute(f"SELECT text FROM paragraphs WHERE id IN ({marks})", chunk)
        ]
