"""Whether the articles answer a question: a judgement on the best passage, calibrated on questions.

A question written on a paragraph shares its informative words with it, often in one sentence; a question
about something else shares at most a few common words by chance. How informative a word is cannot come
from the view alone: an index of one article (the story bot's case) has too few paragraphs to tell "year"
from "Nintendo". So each question word is weighed by how rare it is in English at large (wordfreq's Zipf
frequency: 7 for a word never seen, about 1 for "the"), and the evidence is the share of that weight the
best passage holds, the most that one of its sentences holds, the share the view knows at all, how many
distinct terms matched, whether a name the question mentions is unknown to the view, and how well the
passage covers the question's meaning by the second stage's static embedding, with the same English
weights (`index.engine.semantic`: a paragraph saying the question in other words). A logistic model
turns it into a confidence in [0, 1]; its weights were fitted on the SQuAD development set's own and
off-topic questions, each article alone (`python benchmarks/calibrate.py` fits them again and prints them).
"""

from __future__ import annotations

import math
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from functools import lru_cache

from index.engine.occurrences import TermFinder, terms_by_sentence
from index.engine.semantic import shipped_embedding
from index.engine.tokenizer import Tokenizer, names_kind, normalise

RAREST = 7.0
"""The weight of a word wordfreq has never seen (a Zipf frequency of 0 counts as this rare)."""

COMMONEST = 0.5
"""The least weight a word carries: even a very common word says a little about the topic."""


@dataclass(frozen=True)
class Evidence:
    """What the best passage shows about whether it answers the question (each share in [0, 1])."""

    covered: float
    """The share of the question's English weight that the passage and its article's title hold."""
    sentence: float
    """The most of that share one sentence of the passage holds."""
    known: float
    """The share of the question's English weight the view holds anywhere."""
    matched: int
    """Distinct question terms the passage holds."""
    distinct: int
    """Distinct question terms."""
    unknown_name: bool
    """The question names something (a capitalised word inside a sentence) that no paragraph holds."""
    name_held: bool = False
    """The passage holds a name the question mentions."""
    meaning: float = 0.0
    """How well the passage and its title cover the question's meaning (`index.engine.semantic`), each word
    weighed by its rarity in English."""

    def features(self) -> tuple[float, ...]:
        """The model's inputs, in the order of `WEIGHTS`."""
        return (
            self.covered,
            self.sentence,
            self.known,
            min(self.matched, 4) / 4,
            self.matched / max(self.distinct, 1),
            float(self.unknown_name),
            float(self.name_held),
            self.meaning,
            1.0,
        )


WEIGHTS = (2.2, 2.2, 0.92, 2.32, 1.66, -1.73, 0.51, 3.25, -6.7)
"""The logistic model's weights for `Evidence.features`, the last the bias (from benchmarks/calibrate.py)."""


def confidence(evidence: Evidence, weights: Sequence[float] = WEIGHTS) -> float:
    """How surely the passage answers, in [0, 1]."""
    z = sum(weight * value for weight, value in zip(weights, evidence.features(), strict=True))
    return 1 / (1 + math.exp(-z))


def english_weights(question: str, tokenizer: Tokenizer) -> dict[str, float]:
    """Each question term's weight: the rarity in English of the rarest word of the question yielding it.

    The word right after "how", "what", "which" or "whose" names the kind of answer, not the topic ("how
    many", "what year", "which role"): the passage need not hold it, so it weighs least.
    """
    return _term_weights(_word_weights(tokenizer.words(question)), tokenizer)


def _term_weights(words: Sequence[tuple[str, float]], tokenizer: Tokenizer) -> dict[str, float]:
    """Each query term of the weighed words with the weight of the rarest word yielding it."""
    weights: dict[str, float] = {}
    for word, rarity in words:
        for term in tokenizer.tokenize(word, for_query=True):
            weights[term] = max(weights.get(term, 0.0), rarity)
    return weights


def _word_weights(words: Sequence[str]) -> list[tuple[str, float]]:
    """Each word with its rarity in English, the least for the word naming the kind of answer."""
    return [
        (word, COMMONEST if names_kind(words, index) else _rarity(word.casefold()))
        for index, word in enumerate(words)
    ]


def assess(
    question: str,
    terms: Sequence[str],
    known: Collection[str],
    unknown_name: bool,
    passage: tuple[str, str] | None,
    tokenizer: Tokenizer,
    corrections: dict[str, str] | None = None,
    named: Collection[str] = (),
) -> Evidence:
    """The evidence that `passage` (its text, and its article's title) answers the question.

    `corrections` maps a misspelt name's term to the term it was searched as, which weighs as the name.
    """
    distinct = list(dict.fromkeys(terms))
    word_weights = _word_weights(tokenizer.words(question))
    weights = _term_weights(word_weights, tokenizer)
    for written, searched in (corrections or {}).items():
        weights[searched] = max(weights.get(searched, 0.0), weights.get(written, RAREST))
    weight = {term: weights.get(term, COMMONEST) for term in distinct}
    total = sum(weight.values()) or 1.0
    known_share = sum(weight[term] for term in distinct if term in known) / total
    if passage is None or not distinct:
        return Evidence(0.0, 0.0, known_share, 0, len(distinct), unknown_name)
    text, title = passage
    plain = normalise(text)
    found = TermFinder(distinct, tokenizer).occurrences(plain)
    held = {term for _, term in found}
    held |= set(tokenizer.tokenize(title)) & set(distinct)  # what the article is about, whatever paragraph
    best = max(
        (sum(weight[term] for term in group) for group in terms_by_sentence(plain, found).values()),
        default=0.0,
    )
    covered = sum(weight[term] for term in held) / total
    name_held = any(term in held for term in named)
    rarity: dict[str, float] = {}
    for word, word_weight in word_weights:
        rarity[word.lower()] = max(rarity.get(word.lower(), 0.0), word_weight)
    meaning = float(shipped_embedding().coverage(question, [(title, text)], rarity)[0])
    return Evidence(
        covered, best / total, known_share, len(held), len(distinct), unknown_name, name_held, meaning
    )


@lru_cache(maxsize=100_000)
def _rarity(word: str) -> float:
    # Imported here: wordfreq takes a tenth of a second, which only questions pay. Its small English list
    # (the 30,000 commonest words) loads ten times faster than the large one and judged the same (measured
    # with benchmarks/calibrate.py): a word outside it is rare enough to weigh as the rarest.
    from wordfreq import zipf_frequency  # noqa: PLC0415

    zipf = zipf_frequency(word, "en", wordlist="small")
    return max(RAREST - zipf, COMMONEST) if zipf > 0 else RAREST
