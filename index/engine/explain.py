"""Why a passage was chosen: its BM25 score taken apart term by term, and the second stage's readings.

The first stage's score is a sum over the question's tokens of idf * tf * (k1 + 1) / (tf + k1 * norm), where
norm = 1 - b + b * length / average length (`index.engine.ranking.term_impacts`). The explanation computes
each summand again from the paragraph's own terms (the title counted in an article's lead paragraph, as the
writer counts it), so the parts add up to the score the search gave; the second stage's parts are the ones
it scored with (`index.engine.rerank.Reading`).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Any

from index.engine.confidence import Evidence, confidence
from index.engine.ranking import BM25Parameters, CorpusStats
from index.engine.searcher import Hit, SearchResult
from index.engine.terms import repeated_title
from index.engine.tokenizer import Tokenizer
from index.models import ANSWER_THRESHOLD


@dataclass(frozen=True)
class TermContribution:
    """What one question term adds to a paragraph's BM25 score."""

    term: str
    asked: int
    """How many times the question yields the term (BM25 counts each time)."""
    tf: int
    """How many times the paragraph holds it (its article's title counted in the lead paragraph)."""
    idf: float
    length_norm: float
    """1 - b + b * length / average length: above 1 for a paragraph longer than the average."""
    contribution: float
    """`asked` * idf * tf * (k1 + 1) / (tf + k1 * length_norm)."""


@dataclass(frozen=True)
class Explanation:
    """Why a passage stands where it does in an answer: both stages' scores and the answer's confidence."""

    paragraph_id: int
    rank: int
    """Its place among the search's hits, from 1."""
    matched: tuple[TermContribution, ...]
    """The question terms the paragraph holds, largest contribution first."""
    missing: tuple[str, ...]
    """The question terms it does not hold."""
    length: int
    average_length: float
    bm25: float
    score: float
    """The second stage's score, which ordered the answer (equal to `bm25` if it did not read it)."""
    body: float | None
    title: float | None
    sentence: float | None
    proximity: float | None
    meaning: float | None
    """The static embedding's evidence (`index.engine.semantic`)."""
    follows: bool
    """It took on the evidence of the paragraph before it (a question about what followed)."""
    confidence: float
    threshold: float
    answered: bool
    evidence: Evidence | None
    """The best passage's evidence, on which the whole answer is judged."""

    def to_json(self) -> dict[str, Any]:
        """The `explanation` object of `storybot ask --explain --json`."""
        return _explanation_json(self)


def explain_hit(
    result: SearchResult, paragraph_id: int, params: BM25Parameters, tokenizer: Tokenizer
) -> Explanation | None:
    """Why the paragraph stands among `result`'s hits; None if it is not one of them."""
    found = [
        (rank, hit) for rank, hit in enumerate(result.hits, 1) if hit.passage.paragraph_id == paragraph_id
    ]
    if not found or result.stats is None:
        return None
    rank, hit = found[0]
    matched, missing = term_contributions(hit, result.terms, result.idf, result.stats, params, tokenizer)
    sure = confidence(result.evidence) if result.evidence is not None else 0.0
    reading = hit.reading
    return Explanation(
        paragraph_id,
        rank,
        matched,
        missing,
        hit.passage.length,
        result.stats.average_length,
        hit.bm25,
        hit.score,
        None if reading is None else reading.body,
        None if reading is None else reading.title,
        None if reading is None else reading.sentence,
        None if reading is None else reading.proximity,
        None if reading is None else reading.semantic,
        hit.follows is not None,
        sure,
        ANSWER_THRESHOLD,
        sure >= ANSWER_THRESHOLD,
        result.evidence,
    )


def term_contributions(
    hit: Hit,
    terms: tuple[str, ...],
    idf: dict[str, float],
    stats: CorpusStats,
    params: BM25Parameters,
    tokenizer: Tokenizer,
) -> tuple[tuple[TermContribution, ...], tuple[str, ...]]:
    """Each question term's part of `hit`'s BM25 score (largest first), and the terms it does not hold."""
    passage = hit.passage
    counted = tokenizer.tokenize(passage.text)
    if passage.position == 1:
        counted = repeated_title(tokenizer.tokenize(passage.title)) + counted
    tf = Counter(counted)
    asked = Counter(term for term in terms if idf.get(term, 0.0) > 0)
    norm = 1 - params.b + params.b * passage.length / stats.average_length if stats.average_length else 1.0
    k1 = params.k1
    matched = [
        TermContribution(
            term,
            times,
            tf[term],
            idf[term],
            norm,
            times * idf[term] * tf[term] * (k1 + 1) / (tf[term] + k1 * norm),
        )
        for term, times in asked.items()
        if tf[term]
    ]
    matched.sort(key=lambda part: -part.contribution)
    missing = tuple(dict.fromkeys(term for term in terms if not tf[term]))
    return tuple(matched), missing


def _explanation_json(explanation: Explanation) -> dict[str, Any]:
    evidence = explanation.evidence
    return {
        "paragraph_id": explanation.paragraph_id,
        "rank": explanation.rank,
        "matched": [
            {
                "term": part.term,
                "asked": part.asked,
                "tf": part.tf,
                "idf": round(part.idf, 4),
                "length_norm": round(part.length_norm, 4),
                "contribution": round(part.contribution, 4),
            }
            for part in explanation.matched
        ],
        "missing": list(explanation.missing),
        "length": explanation.length,
        "average_length": round(explanation.average_length, 2),
        "bm25": round(explanation.bm25, 4),
        "second_stage": None
        if explanation.body is None
        else {
            "body": round(explanation.body, 4),
            "title": round(explanation.title or 0.0, 4),
            "sentence": round(explanation.sentence or 0.0, 4),
            "proximity": round(explanation.proximity or 0.0, 4),
            "meaning": round(explanation.meaning or 0.0, 4),
            "follows": explanation.follows,
        },
        "score": round(explanation.score, 4),
        "confidence": round(explanation.confidence, 4),
        "threshold": explanation.threshold,
        "answered": explanation.answered,
        "evidence": None if evidence is None else dict(vars(evidence)),
    }
