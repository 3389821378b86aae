"""Turn text into the terms that BM25 counts: one tokenizer for paragraphs and questions.

Both sides go through the same normalisation (NFKC, case folding, accents and curly quotes, possessives),
the same English stopwords and the same Snowball stemmer, so a question's terms meet a paragraph's.
The one difference is deliberate: a paragraph also yields the parts of words the source glued together
("InsiderElon" -> "insider", "elon") and of hyphenated compounds, so a question naming a part finds
them, while a question's own compound ("OpenAI") stays whole and does not match every "open".
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterator, Sequence
from functools import lru_cache
from itertools import chain

import Stemmer

# NLTK's English stopword list, plus the apostrophe-free spellings our normalisation produces ("dont").
# Question words ("why", "who") are in it: they carry no topic, and BM25 should not look for them.
STOPWORDS: frozenset[str] = frozenset(
    """
    a about above after again against ain all am an and any are aren arent as at be because been before
    being below between both but by can couldn couldnt d did didn didnt do does doesn doesnt doing don
    dont down during each few for from further had hadn hadnt has hasn hasnt have haven havent having he
    her here hers herself him himself his how i if in into is isn isnt it its itself just ll m ma me
    mightn mightnt more most mustn mustnt my myself needn neednt no nor not now o of off on once only or
    other our ours ourselves out over own re s same shan shant she shes should shouldn shouldnt shouldve
    so some such t than that thatll the their theirs them themselves then there these they this those
    through to too under until up ve very was wasn wasnt we were weren werent what when where which
    while who whom why will with won wont wouldn wouldnt y you youd youll your youre yours yourself
    yourselves youve also would could may might must shall us
    """.split()  # noqa: SIM905 (a word list reads better as text)
)

# Characters that Unicode treats as quotes or dashes but NFKC leaves alone.
_PUNCTUATION = tuple(
    {
        "\u2018": "'",
        "\u2019": "'",
        "\u201a": "'",
        "\u201b": "'",
        "\u2032": "'",
        "\u02bc": "'",
        "`": "'",
        "\u201c": '"',
        "\u201d": '"',
        "\u201e": '"',
        "\u2010": "-",
        "\u2011": "-",
        "\u2012": "-",
        "\u2013": "-",
        "\u2014": "-",
        "\u2212": "-",
        "\u00ad": "",  # soft hyphen: invisible, must not split a word
        "\u200b": "",  # zero-width space, joiner and non-joiner: invisible, often pasted in
        "\u200c": "",
        "\u200d": "",
        "\u2060": "",
        "\ufeff": "",
    }.items()
)

# A word: letters and digits, with inner apostrophes, hyphens and (for numbers) separators.
# "10,000", "3.5", "co-founded", "Musk's" and "don't" each come out as one word to be refined below.
_WORD = re.compile(r"\w+(?:(?:['.,-]|'s)\w+)*", re.UNICODE)
_NUMBER = re.compile(r"\d+(?:[.,]\d+)*")
_THOUSANDS = re.compile(r"^\d{1,3}(?:,\d{3})+(?:\.\d+)?$")
# A glued join: a lower-case letter followed by an upper-case one ("InsiderElon", "OpenAI").
_CASE_JOIN = re.compile(r"(?<=[a-z])(?=[A-Z])")
# Combining marks (accents) as NFKD separates them: the blocks that Latin, Greek and Cyrillic use.
_COMBINING_MARK = re.compile("[\u0300-\u036f\u1ab0-\u1aff\u1dc0-\u1dff\u20d0-\u20ff\ufe20-\ufe2f]")
# A capitalised word that does not start a sentence: most likely a name.
# Dotted acronyms are one name ("U.S.", "L.A."), judged by the term their whole spelling gives.
_NAME_IN_SENTENCE = re.compile(r"(?<![.!?:]\s)(?<!^)(?<=\s)([A-Z](?:[\w'’-]|\.(?=\w))*)")
# An acronym's plural ("GPUs", "CEOs"): the Snowball stemmer keeps the "s" of "gpus", so drop it here.
_ACRONYM_PLURAL = re.compile(r"^([A-Z]{2,})s$")


_CACHE_LIMIT = 500_000


class Tokenizer:
    """Normalise, split, drop stopwords and stem; `for_query` decides whether glued parts are added."""

    def __init__(self, language: str = "english") -> None:
        self._stemmer = Stemmer.Stemmer(language)
        self._stem = lru_cache(maxsize=200_000)(self._stemmer.stemWord)
        # Words repeat far more than they vary: remembering each word's terms makes indexing fast.
        self._cache: tuple[dict[str, tuple[str, ...]], dict[str, tuple[str, ...]]] = ({}, {})

    def tokenize(self, text: str, *, for_query: bool = False) -> list[str]:
        """Return the terms of `text` in order; a paragraph (`for_query=False`) also yields glued parts."""
        cache = self._cache[for_query]
        if len(cache) > _CACHE_LIMIT:
            cache.clear()
        # No word spans white space, so the text is cut at white space (fast, in C) and each piece's terms
        # are remembered: "cells," is worked out once, then only looked up. The common case runs in C.
        pieces = _plain(text).split()
        known = list(map(cache.get, pieces))
        if None in known:
            for index, piece in enumerate(pieces):
                if known[index] is None:
                    known[index] = cache[piece] = self._piece_terms(piece, with_parts=not for_query)
        return list(chain.from_iterable(known))  # type: ignore[arg-type]

    def pieces(self, text: str) -> list[str]:
        """The white-space pieces of the normalised text, whose terms `piece_terms` gives."""
        return _plain(text).split()

    def piece_terms(self, piece: str) -> tuple[str, ...]:
        """The terms of one of a paragraph's `pieces`, glued parts included: `tokenize` piece by piece."""
        cache = self._cache[False]
        found = cache.get(piece)
        if found is None:
            if len(cache) > _CACHE_LIMIT:
                cache.clear()
            found = cache[piece] = self._piece_terms(piece, with_parts=True)
        return found

    def _piece_terms(self, piece: str, *, with_parts: bool) -> tuple[str, ...]:
        if piece.isascii() and piece.isalpha() and piece.islower():
            # A plain lower-case word ("cells"), most new pieces: no number, compound or glued join in it.
            term = self._term(piece)
            return (term,) if term else ()
        return tuple(self._terms_of_piece(piece, with_parts=with_parts))

    def words(self, text: str) -> list[str]:
        """The words of `text` as the tokenizer reads them, case kept ("Musk's", "10,000", "co-founded")."""
        return list(_words(text))

    def word_terms(self, question: str) -> list[tuple[str, list[str]]]:
        """Each word of a question as `words` reads it, with its query terms (none for a stopword)."""
        return [(word, self.tokenize(word, for_query=True)) for word in _words(question)]

    def kind_terms(self, question: str) -> frozenset[str]:
        """The terms of the words that name the kind of answer a question asks for ("year" in "What year
        did Chopin die?", "many" in "How many ..."): the answering paragraph need not hold them."""
        words = self.words(question)
        return frozenset(
            term
            for index, word in enumerate(words)
            if names_kind(words, index)
            for term in self.tokenize(word, for_query=True)
        )

    def named_terms(self, question: str) -> dict[str, str]:
        """Terms of the names a question mentions (capitalised words inside a sentence), with the word.

        "What is the capital of France?" names France. A question typed in Title Case names nothing,
        since there capitals say nothing about which words are names.
        """
        words = list(_words(question))
        capitalised = [word for word in words if word[0].isupper()]
        if len(capitalised) * 2 > len(words):
            return {}
        named: dict[str, str] = {}
        for match in _NAME_IN_SENTENCE.finditer(unicodedata.normalize("NFKC", question)):
            for term in self.tokenize(match.group(1), for_query=True):
                named.setdefault(term, match.group(1))
        return named

    def _terms_of_piece(self, piece: str, *, with_parts: bool) -> Iterator[str]:
        for raw in _WORD.findall(piece):
            word = raw.strip("'_")  # a trailing plural possessive ("founders'") goes with the quote
            yield from self._terms_of_word(word, with_parts=with_parts)

    def _terms_of_word(self, word: str, *, with_parts: bool) -> Iterator[str]:
        if not word:  # "_-x" strips to "-x": an empty piece before the hyphen
            return
        if word[0].isdigit() and _NUMBER.fullmatch(word):
            yield _normalise_number(word)
            return
        pieces = word.split("-")
        if len(pieces) > 1:
            # "co-founded": the pieces are the words; a paragraph also indexes the joined form.
            for piece in pieces:
                yield from self._terms_of_word(piece, with_parts=with_parts)
            if with_parts and sum(1 for piece in pieces if piece) > 1:
                joined = self._term("".join(pieces))
                if joined:
                    yield joined
            return
        acronym = _ACRONYM_PLURAL.match(word)
        if acronym:
            word = acronym.group(1)
        whole = self._term(word)
        if whole:
            yield whole
        if with_parts:
            parts = _CASE_JOIN.split(word)
            if len(parts) > 1:
                for part in parts:
                    term = self._term(part)
                    if term and term != whole:
                        yield term

    def _term(self, word: str) -> str | None:
        folded = word.casefold()
        if folded.endswith("'s"):
            folded = folded[:-2]
        folded = folded.replace("'", "")
        if not folded or folded in STOPWORDS:
            return None
        if folded.isdigit():
            return folded
        stem: str = self._stem(folded)
        return stem


ASKING_FOR = frozenset({"how", "what", "which", "whose"})
"""Question words after which a question names the kind of answer it wants ("how many", "what year")."""


def names_kind(words: Sequence[str], index: int) -> bool:
    """Whether the question's word at `index` names the kind of answer it wants (it follows "how",
    "what", "which" or "whose")."""
    return index > 0 and words[index - 1].casefold() in ASKING_FOR


def normalise(text: str) -> str:
    """`text` as the tokenizer reads it before cutting it into words (see `_plain`); case is kept."""
    return _plain(text)


def _plain(text: str) -> str:
    """`text` after Unicode normalisation, quotes and dashes unified and accents stripped; case is kept."""
    if text.isascii():
        return text.replace("`", "'")
    normal = unicodedata.normalize("NFKC", text)
    for char, replacement in _PUNCTUATION:  # a scan per character beats str.translate's per-character calls
        if char in normal:
            normal = normal.replace(char, replacement)
    if normal.isascii():  # curly quotes and dashes were the only non-ASCII characters
        return normal
    # Strip accents so "café" meets "cafe"; NFKD splits a letter from its combining marks.
    return _COMBINING_MARK.sub("", unicodedata.normalize("NFKD", normal))


def _words(text: str) -> Iterator[str]:
    """Yield the raw words of `text`, keeping case for the glued-word split."""
    for match in _WORD.finditer(_plain(text)):
        word = match.group().strip("'_")
        if word:
            yield word


def _normalise_number(number: str) -> str:
    """ "10,000" and "10000" are the same number; "3.5" keeps its point; "1,5" (decimal comma) its digits."""
    if _THOUSANDS.match(number):
        return number.replace(",", "")
    return number.replace(",", ".")
