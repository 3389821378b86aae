"""Compose an answer from ranked paragraphs: decide whether it answers, cite it, pick its best sentence.

Whether the index answers a question is judged on the evidence of the best passage
(`index.engine.confidence`), not on the raw BM25 score: raw scores grow with the question's length and the
corpus's size, so no one threshold on them means the same thing twice.
A paragraph carried by several sources is shown once, citing the others (`index.repeats`).
"""

from __future__ import annotations

from index.engine.confidence import confidence
from index.engine.occurrences import TermFinder, terms_by_sentence
from index.engine.searcher import Hit, SearchResult
from index.engine.sentences import sentence_ends
from index.models import ANSWER_THRESHOLD, DEFAULT_TOP, Answer, Citation, Passage
from index.repeats import Collapsed, collapse_repeats

NOT_FOUND = "I couldn't find that in the indexed articles."
NO_WORDS = "Your question has no words I can search for: name who or what it is about."
EMPTY_INDEX = "No articles are indexed yet: add a source first."


def compose(question: str, result: SearchResult, top: int = DEFAULT_TOP, skip: int = 0) -> Answer:
    """Turn a search result into the user's answer: the `top` passages after the first `skip`.

    Repeats are collapsed over all the hits before the page is cut, so no page shows a copy of an earlier
    page's passage. Whether the articles answer is decided on the best passage of all, whatever the page.
    """
    matcher = SentenceMatcher(result.term_weights)
    shown = collapse_repeats(result.hits, keep=skip + top)[skip : skip + top]
    passages = tuple(_passage(rank, kept, matcher) for rank, kept in enumerate(shown, start=1))
    if result.paragraphs == 0:
        return Answer(question, False, EMPTY_INDEX, (), 0)
    if not result.terms:
        return Answer(question, False, NO_WORDS, (), 0)
    sure = confidence(result.evidence) if result.evidence is not None else 0.0
    if sure < ANSWER_THRESHOLD:
        message = NOT_FOUND
        if result.unknown_names:
            message += f" They never mention {', '.join(result.unknown_names)}."
        message += " These are the closest passages, not an answer."
        return Answer(question, False, message, passages, result.matched, sure)
    noun = "passage matches" if result.matched == 1 else "passages match"
    return Answer(question, True, f"{result.matched} {noun} your question.", passages, result.matched, sure)


def _passage(rank: int, kept: Collapsed, matcher: SentenceMatcher) -> Passage:
    hit = kept.hit
    stored = hit.passage
    return Passage(
        rank=rank,
        score=hit.score,
        text=stored.text,
        highlight=matcher.best_sentence(stored.text),
        paragraph=stored.position,
        paragraphs=stored.paragraphs,
        source=_citation(hit),
        paragraph_id=stored.paragraph_id,
        coverage=hit.coverage,
        also_in=tuple(map(_citation, kept.copies)),
        bm25=hit.bm25,
    )


def _citation(hit: Hit) -> Citation:
    stored = hit.passage
    return Citation(stored.source_id, stored.title, stored.url, stored.outlet, stored.published)


class SentenceMatcher:
    """Finds the sentence of a paragraph that holds most of a question's informative weight.

    Tokenizing every sentence of a hundred results would cost about a millisecond each. Instead the terms
    are found as `index.engine.occurrences.TermFinder` finds them (word prefixes, no word confirmed), and
    the sentences are told apart by their ends alone: only the few paragraphs shown are split.
    """

    def __init__(self, term_weights: dict[str, float]) -> None:
        self._weights = term_weights
        self._finder = TermFinder(term_weights)

    def best_sentence(self, text: str) -> str:
        """The sentence holding the most of the question's weight; the first one on a tie."""
        ends = sentence_ends(text)
        if len(ends) < 2:
            return text.strip()  # one sentence (or none): nothing to choose
        held = terms_by_sentence(text, self._finder.occurrences(text), ends)
        # Each sentence sums the weights of the distinct terms it holds, in the order of the terms.
        scores = [
            sum(weight for term, weight in self._weights.items() if term in held.get(sentence, ()))
            for sentence in range(len(ends))
        ]
        best = scores.index(max(scores))
        start = ends[best - 1] if best else 0
        return text[start : ends[best]].strip()
