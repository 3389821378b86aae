"""Compose an answer from ranked paragraphs: decide whether it answers, cite it, pick its best sentence.

Whether the index answers a question is judged on the evidence of the best passage
(`index.engine.confidence`), not on the raw BM25 score: raw scores grow with the question's length and the
corpus's size, so no one threshold on them means the same thing twice.
A paragraph carried by several sources is shown once, citing the others (`index.repeats`).

A story develops: among passages of nearly equal score the newest comes first, and a passage whose question
terms a newer source in the same answer also holds is marked an earlier report, so a reader sees the
correction before the first report and knows which is which.
"""

from __future__ import annotations

from collections.abc import Sequence

from index.engine.confidence import confidence
from index.engine.occurrences import TermFinder, terms_by_sentence
from index.engine.searcher import Hit, SearchResult
from index.engine.sentences import sentence_ends
from index.models import ANSWER_THRESHOLD, DEFAULT_TOP, Answer, Citation, DateWindow, Passage, source_day
from index.repeats import Collapsed, collapse_repeats

NEARLY_EQUAL = 0.02
"""Two passages score nearly equal when the lower is within this share of the higher: then the newer goes
first. Measured on the passage-QA benchmark with every article given its own date (the README)."""

NOT_FOUND = "I couldn't find that in the indexed articles."
NO_WORDS = "Your question has no words I can search for: name who or what it is about."
EMPTY_INDEX = "No articles are indexed yet: add a source first."


def compose(
    question: str,
    result: SearchResult,
    top: int = DEFAULT_TOP,
    skip: int = 0,
    window: DateWindow | None = None,
) -> Answer:
    """Turn a search result into the user's answer: the `top` passages after the first `skip`.

    Repeats are collapsed over all the hits before the page is cut, so no page shows a copy of an earlier
    page's passage. Whether the articles answer is decided on the best passage of all, whatever the page.
    """
    matcher = SentenceMatcher(result.term_weights)
    # One group past the page tells whether another page has a passage; when the search stopped short of
    # every matching paragraph, the ones it did not fetch may hold one too.
    collapsed = collapse_repeats(result.hits, keep=skip + top + 1)
    more = len(collapsed) > skip + top or (len(result.hits) < result.matched and result.matched > skip + top)
    shown = newest_first(collapsed[: skip + top])[skip : skip + top]
    earlier = earlier_reports(shown, matcher)
    passages = tuple(
        _passage(rank, kept, matcher, is_earlier)
        for rank, (kept, is_earlier) in enumerate(zip(shown, earlier, strict=True), start=1)
    )
    if result.paragraphs == 0:
        return Answer(question, False, EMPTY_INDEX, (), 0)
    if window is not None and result.in_window == 0:
        return Answer(question, False, f"No indexed article is dated {window.describe()}.", (), 0)
    if not result.terms:
        return Answer(question, False, NO_WORDS, (), 0)
    sure = confidence(result.evidence) if result.evidence is not None else 0.0
    if sure < ANSWER_THRESHOLD:
        message = NOT_FOUND
        if result.unknown_names:
            message += f" They never mention {', '.join(result.unknown_names)}."
        message += " These are the closest passages, not an answer."
        return Answer(question, False, message, passages, result.matched, sure, more)
    noun = "passage matches" if result.matched == 1 else "passages match"
    return Answer(
        question, True, f"{result.matched} {noun} your question.", passages, result.matched, sure, more
    )


def newest_first(kept: Sequence[Collapsed]) -> list[Collapsed]:
    """The passages in score order, but newest first within each run of nearly equal scores.

    A run starts at a passage and takes the following ones scoring within `NEARLY_EQUAL` of it; the sort
    inside a run is stable, so passages of one day keep their score order.
    """
    ordered: list[Collapsed] = []
    start = 0
    while start < len(kept):
        lead = kept[start].hit.score
        floor = lead - abs(lead) * NEARLY_EQUAL  # rank-bm25's scores go negative in a tiny index
        end = start + 1
        while end < len(kept) and kept[end].hit.score >= floor:
            end += 1
        ordered.extend(sorted(kept[start:end], key=lambda one: _day(one.hit) or "", reverse=True))
        start = end
    return ordered


def earlier_reports(shown: Sequence[Collapsed], matcher: SentenceMatcher) -> list[bool]:
    """For each passage, whether a newer source among `shown` holds every question term it holds."""
    held = [matcher.terms_in(kept.hit.passage.text) for kept in shown]
    days = [_day(kept.hit) for kept in shown]
    return [
        bool(terms)
        and day is not None
        and any(
            other_day is not None
            and other_day > day
            and other.hit.passage.source_id != kept.hit.passage.source_id
            and terms <= other_terms
            for other, other_day, other_terms in zip(shown, days, held, strict=True)
        )
        for kept, day, terms in zip(shown, days, held, strict=True)
    ]


def _day(hit: Hit) -> str | None:
    return source_day(hit.passage.published, hit.passage.added_at)[0]


def _passage(rank: int, kept: Collapsed, matcher: SentenceMatcher, earlier: bool = False) -> Passage:
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
        earlier_report=earlier,
    )


def _citation(hit: Hit) -> Citation:
    stored = hit.passage
    return Citation(
        stored.source_id, stored.title, stored.url, stored.outlet, stored.published, stored.added_at
    )


class SentenceMatcher:
    """Finds the sentence of a paragraph that holds most of a question's informative weight.

    Tokenizing every sentence of a hundred results would cost about a millisecond each. Instead the terms
    are found as `index.engine.occurrences.TermFinder` finds them (word prefixes, no word confirmed), and
    the sentences are told apart by their ends alone: only the few paragraphs shown are split.
    """

    def __init__(self, term_weights: dict[str, float]) -> None:
        self._weights = term_weights
        self._finder = TermFinder(term_weights)

    def terms_in(self, text: str) -> frozenset[str]:
        """The question's informative terms that `text` holds."""
        return frozenset(term for _, term in self._finder.occurrences(text) if self._weights.get(term))

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
