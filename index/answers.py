"""Compose an answer from ranked paragraphs: decide whether it answers, cite it, pick its best sentence.

Whether the index answers a question is judged on how much of the question's informative weight the best
passage covers (each term weighted by its rarity in the view), not on the raw BM25 score: raw scores grow
with the question's length and the corpus's size, so no one threshold on them means the same thing twice.
"""

from __future__ import annotations

import re

from index.models import Answer, Citation, Passage
from index.searcher import Hit, SearchResult
from index.tokenizer import Tokenizer

MIN_COVERAGE = 0.25
"""The share of the question's informative weight the best passage must hold to count as an answer."""

NOT_FOUND = "I couldn't find that in the indexed articles."
NO_WORDS = "Your question has no words I can search for: name who or what it is about."
EMPTY_INDEX = "No articles are indexed yet: add a source first."

_SENTENCE_END = re.compile(r"(?<=[.!?…])[\"'”’)\]]*\s+(?=[\"'“‘(\[]?[A-Z0-9])")


def split_sentences(text: str) -> list[str]:
    """Split a paragraph into sentences at end punctuation followed by a capital or digit."""
    return [part.strip() for part in _SENTENCE_END.split(text) if part.strip()]


def compose(question: str, result: SearchResult, tokenizer: Tokenizer, indexed_paragraphs: int) -> Answer:
    """Turn a search result into the user's answer (answered, message, cited passages)."""
    passages = tuple(_passage(rank, hit, result, tokenizer) for rank, hit in enumerate(result.hits, start=1))
    if indexed_paragraphs == 0:
        return Answer(question, False, EMPTY_INDEX, (), 0)
    if not result.terms:
        return Answer(question, False, NO_WORDS, (), 0)
    if result.unknown_names:
        names = ", ".join(result.unknown_names)
        message = f"{NOT_FOUND} They never mention {names}. These are the closest passages, not an answer."
        return Answer(question, False, message, passages, result.matched)
    if not passages or passages[0].coverage < MIN_COVERAGE:
        return Answer(question, False, NOT_FOUND + " These are the closest passages, not an answer.", passages, result.matched)
    noun = "passage matches" if result.matched == 1 else "passages match"
    return Answer(question, True, f"{result.matched} {noun} your question.", passages, result.matched)


def _passage(rank: int, hit: Hit, result: SearchResult, tokenizer: Tokenizer) -> Passage:
    stored = hit.passage
    citation = Citation(stored.source_id, stored.title, stored.url, stored.outlet, stored.published)
    return Passage(
        rank=rank,
        score=hit.score,
        text=stored.text,
        highlight=best_sentence(stored.text, result.term_weights, tokenizer),
        paragraph=stored.position,
        paragraphs=stored.paragraphs,
        source=citation,
        paragraph_id=stored.paragraph_id,
        coverage=hit.coverage,
    )


def best_sentence(text: str, term_weights: dict[str, float], tokenizer: Tokenizer) -> str:
    """The sentence holding the most of the question's informative weight; the first one on a tie."""
    sentences = split_sentences(text)
    if not sentences:
        return text
    best, best_weight = sentences[0], 0.0
    for sentence in sentences:
        present = set(tokenizer.tokenize(sentence))
        weight = sum(value for term, value in term_weights.items() if term in present)
        if weight > best_weight:
            best, best_weight = sentence, weight
    return best
