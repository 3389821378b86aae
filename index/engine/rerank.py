"""The second stage: the first stage's best paragraphs read again, as a reader reads them.

BM25 sees a paragraph as a bag of terms. A reader also sees where the question's words stand: a paragraph
that holds them together in one sentence, or side by side, answers more surely than one that scatters them
over unrelated sentences. And a reader takes an article's title as telling what the whole article is about,
not as words of its first paragraph. So the `RERANK_DEPTH` best paragraphs of the first stage are scored
again from their own words:

- **BM25 of the paragraph's body**, with the first stage's idf and average length but more weight on length
  (`BODY_PARAMETERS`: among paragraphs that all hold the question's words, the shorter is more surely about
  them), and without the title the first stage counts in the lead paragraph of an article of several;
- **the title as evidence about the article**: the idf of the question's terms found in the title, added to
  every paragraph of the article alike, so it tells articles apart but never makes the lead win;
- **the best sentence**: the idf of the question's distinct terms that one sentence holds together;
- **proximity**: for each pair of distinct question terms, their idf (the rarer's) over the fewest words
  between them, where they come within `WINDOW` words; in both, the word naming the kind of answer ("year"
  in "What year ...") counts nothing: the answer gives a year, it need not stand by the word;
- **meaning**: how well the paragraph's words cover the question's, by a static token embedding
  (`index.engine.semantic`): 1.0 for a paragraph holding the question's own words, nearly as much for one
  holding their synonyms ("annual" for "yearly"), times the question's total idf so that it weighs as much
  against BM25 in every question; it is the one reading that sees words the question and the paragraph do
  not share, where the others all go wrong (the word naming the kind of answer weighs `KIND_SHARE` of its
  rarity there);
- **what followed**: when the question asks what came after something ("What did Musk do after ChatGPT
  launched?") and a paragraph opens by carrying on from the one before it ("One month later, he ..."), that
  paragraph takes on the evidence of the one before it, which names the event: news tells what followed in
  the next paragraph, not in the same words.

An article of one paragraph has no title reading: its title counts in its body, twice, as the first stage
counts it, since there the paragraph is the whole article and counting its title twice was measured best on
SciFact and Cranfield (see the README). The weights were measured on the SQuAD development set
(`benchmarks/passage_qa.py`); the README gives the effect of each.
"""

from __future__ import annotations

import re
from collections import Counter, deque
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace

from index.engine import semantic
from index.engine.occurrences import TermFinder, terms_by_sentence
from index.engine.ranking import BM25Parameters, CorpusStats, term_idf
from index.engine.terms import repeated_title
from index.engine.tokenizer import Tokenizer, normalise

WINDOW = 10
"""Two question terms more than this many words apart (stopwords counted) are not near each other."""


@dataclass(frozen=True)
class RerankWeights:
    """How much each reading of the paragraph adds to its body's BM25 score (measured, see the module)."""

    title: float = 1.0
    sentence: float = 0.25
    proximity: float = 0.4
    semantic: float = 1.5
    """Times the question's total idf times the paragraph's coverage of the question's meaning."""


BODY_PARAMETERS = BM25Parameters(k1=1.2, b=0.9)
"""k1 and b of the body's BM25 in the second stage. The first stage's (1.4 and 0.7, equal to rank-bm25's
reading of the same tokens) were chosen on whole documents, SciFact and Cranfield; among the paragraphs of
articles, length says more (SQuAD dev, both settings: top-1 +0.2 to +0.3 points; b 0.5 lost, k1 2.0 lost)."""

KIND_SHARE = 0.5
"""The share of its rarity the word naming the kind of answer ("year", "many") weighs in the meaning."""

DEFAULT_WEIGHTS = RerankWeights()
"""The weights a `Reranker` reads with unless given others."""


# A question about what followed an event, and a paragraph that carries on from the one before it.
_ASKS_WHAT_FOLLOWED = re.compile(
    r"\b(?:after|afterwards?|later|then|next|following|followed|subsequently|result|since)\b", re.IGNORECASE
)
_CARRIES_ON = re.compile(
    r"^\W*(?:(?:(?:one|two|three|four|a|some|several|a few|\d+)\s+)?(?:days?|weeks?|months?|years?|hours?)"
    r"\s+later|later|then|afterwards?|subsequently|soon after|next|after that|as a result"
    r"|following (?:this|that)|in response)\b",
    re.IGNORECASE,
)

FOLLOWED_SHARE = 1.0
"""The share of the paragraph before's score that a paragraph carrying on from it takes, for a question about
what followed."""


def asks_what_followed(question: str) -> bool:
    """Whether a question asks what came after something ("after", "later", "next", "as a result")."""
    return _ASKS_WHAT_FOLLOWED.search(question) is not None


@dataclass(frozen=True)
class Candidate:
    """What the second stage needs of one first-stage hit."""

    source: str
    text: str
    title: str
    position: int
    """The paragraph's place in its article, from 1."""
    paragraphs: int
    """How many paragraphs its article has (1: the paragraph is the article)."""
    length: int
    """Its length in terms as the first stage counts it (the title's terms included in a lead paragraph)."""
    bm25: float


@dataclass(frozen=True)
class Reading:
    """A candidate's second-stage score and the parts it is made of."""

    score: float
    body: float
    title: float
    sentence: float
    proximity: float
    semantic: float = 0.0
    follows: int | None = None
    """The index of the candidate whose evidence it took, carrying on from it (see `rerank`)."""


class Reranker:
    """Scores first-stage candidates again from where the question's terms stand; one per question."""

    def __init__(
        self,
        tokenizer: Tokenizer,
        terms: Sequence[str],
        idf: dict[str, float],
        stats: CorpusStats,
        params: BM25Parameters,
        weights: RerankWeights | None = None,
        *,
        question: str = "",
        rarity: Mapping[str, float] | None = None,
        body_params: BM25Parameters = BODY_PARAMETERS,
    ) -> None:
        self._question = question
        self._body_params = body_params
        self._rarity = rarity
        """How informative each question term is in the view (`index.engine.searcher`), for the meaning."""
        self._tokenizer = tokenizer
        self._terms = [term for term in terms if idf.get(term, 0.0) > 0]
        """The question's terms with weight, repeats kept: BM25 counts a repeated question term again."""
        self._idf = {term: idf[term] for term in self._terms}
        # A question term no paragraph of the view holds adds nothing to BM25, yet it is often the word whose
        # meaning decides ("quit" asked of a story that says "leaving"): the meaning counts it as a term one
        # paragraph holds. Summed in the question's order: a set's order changes with each process's string
        # hashing, and so would the last bit of the sum, and of the scores readers of one database agree on.
        self._meaning_idf = sum(self._idf[term] for term in dict.fromkeys(self._terms))
        """What the meaning's coverage is scaled by: the idf of the question's distinct terms."""
        unseen = sum(1 for term in dict.fromkeys(terms) if idf.get(term, 0.0) <= 0)
        if unseen and stats.paragraphs:
            self._meaning_idf += unseen * term_idf(1, stats, params)
        self._finder = TermFinder(self._idf, tokenizer)
        self._kind = tokenizer.kind_terms(question)
        """The terms naming the kind of answer asked for, which the answer need not stand near."""
        self._placed_idf = {term: 0.0 if term in self._kind else weight for term, weight in self._idf.items()}
        self._stats = stats
        self._weights = weights or DEFAULT_WEIGHTS
        self._titles: dict[str, list[str]] = {}
        """Each title's terms, found once: the candidates of a question share their articles."""

    def read(self, candidate: Candidate) -> Reading:
        """The candidate's second-stage score."""
        weights = self._weights
        text = normalise(candidate.text)
        found = self._finder.occurrences(text)
        if candidate.paragraphs <= 1:
            body, title = self._body(candidate, found), 0.0
        else:
            body, title = self._body(candidate, found), self._title(candidate)
        # Where the word naming the kind of answer stands ("year" in "What year ...") says nothing of
        # where the answer does: the best sentence and proximity leave it out.
        placed = self._placed_idf
        sentence = weights.sentence * _best_sentence(text, found, placed)
        near = weights.proximity * _proximity(text, found, placed)
        return Reading(body + title + sentence + near, body, title, sentence, near)

    def meanings(self, candidates: Sequence[Candidate]) -> list[float]:
        """Each candidate's semantic evidence: the weight times the question's total idf times how well the
        paragraph's words cover the question's meaning (`index.engine.semantic`): 0 without a weight or a
        question."""
        if not self._weights.semantic or not self._question or not candidates:
            return [0.0] * len(candidates)
        # Each word of the question as the tokenizer reads it ("NEAR(leave," is "NEAR" and "leave"), with
        # its rarest term's weight (0 for a stopword).
        known = self._rarity
        rarity: dict[str, float] | None = None
        if known:
            words = self._tokenizer.word_terms(self._question)
            rarity = {
                word.lower(): max((known.get(term, 0.0) for term in terms), default=0.0)
                for word, terms in words
            }
            for word, terms in words:  # the paragraph need not say the kind of answer, only give it
                if self._kind.intersection(terms):
                    rarity[word.lower()] *= KIND_SHARE
        coverage = semantic.shipped_embedding().coverage(self._question, [c.text for c in candidates], rarity)
        scale = self._weights.semantic * self._meaning_idf
        return [scale * float(share) for share in coverage]

    def _title(self, candidate: Candidate) -> float:
        """The idf of the distinct question terms the article's title holds."""
        in_title = set(self._title_terms(candidate.title))
        return self._weights.title * sum(self._idf[term] for term in set(self._terms) & in_title)

    def _title_terms(self, title: str) -> list[str]:
        terms = self._titles.get(title)
        if terms is None:
            terms = self._titles[title] = self._tokenizer.tokenize(title)
        return terms

    def _body(self, candidate: Candidate, found: list[tuple[int, str]]) -> float:
        """BM25Okapi with `BODY_PARAMETERS` over the counts of the question's terms found in the paragraph and
        its length, as the first stage counts them but for the title in the lead of an article of several."""
        counts = Counter(term for _, term in found)
        length = candidate.length
        if candidate.paragraphs <= 1:
            counts.update(repeated_title(self._title_terms(candidate.title)))
        elif candidate.position == 1:
            length -= len(repeated_title(self._title_terms(candidate.title)))
        k1, b = self._body_params.k1, self._body_params.b
        saturation = k1 * (1 - b + b * max(length, 1) / max(self._stats.average_length, 1e-9))
        return sum(  # a repeated question term counts again, as in the first stage
            self._idf[term] * counts[term] * (k1 + 1) / (counts[term] + saturation)
            for term in self._terms
            if counts[term]
        )


def rerank(
    candidates: Sequence[Candidate], reranker: Reranker, *, what_followed: bool = False
) -> list[tuple[int, Reading]]:
    """Indexes into `candidates`, best second-stage score first (ties keep the first stage's order).

    With `what_followed`, a candidate that carries on from the one before it in its article, itself a
    candidate, adds `FOLLOWED_SHARE` of that one's score, and goes before it on a tie.
    """
    readings = [
        replace(reading, score=reading.score + meaning, semantic=meaning)
        for reading, meaning in zip(
            (reranker.read(candidate) for candidate in candidates), reranker.meanings(candidates), strict=True
        )
    ]
    if what_followed:
        at = {(c.source, c.position): index for index, c in enumerate(candidates)}
        before = [at.get((c.source, c.position - 1)) for c in candidates]
        readings = [
            replace(
                reading, score=reading.score + FOLLOWED_SHARE * readings[previous].score, follows=previous
            )
            if previous is not None and _CARRIES_ON.match(candidate.text)
            else reading
            for candidate, reading, previous in zip(candidates, readings, before, strict=True)
        ]
    # On a tie the paragraph telling what followed goes first: it is what such a question asks for.
    order = sorted(
        range(len(candidates)),
        key=lambda index: (-readings[index].score, readings[index].follows is None, index),
    )
    return [(index, readings[index]) for index in order]


def _best_sentence(text: str, found: list[tuple[int, str]], idf: dict[str, float]) -> float:
    """The most idf of distinct question terms that one sentence holds."""
    held = terms_by_sentence(text, found).values()
    return max((sum(idf[term] for term in terms) for terms in held), default=0.0)


def _proximity(text: str, found: list[tuple[int, str]], idf: dict[str, float]) -> float:
    """The sum over pairs of distinct question terms within `WINDOW` words of the rarer's idf over the
    distance."""
    if len(idf) < 2:
        return 0.0
    closest: dict[tuple[str, str], int] = {}
    recent: deque[tuple[int, str]] = deque()  # (word number, term) of the occurrences within the window
    words = previous = 0
    # Occurrences come in text order, and each is compared with the earlier ones still within the window:
    # every pair near enough is met once. Words are counted by the spaces between them.
    for offset, term in found:
        words += text.count(" ", previous, offset)
        previous = offset
        while recent and words - recent[0][0] > WINDOW:
            recent.popleft()
        for seen, other in recent:
            if other != term and words > seen:
                pair = (term, other) if term < other else (other, term)
                distance = words - seen
                if distance < closest.get(pair, WINDOW + 1):
                    closest[pair] = distance
        recent.append((words, term))
    return sum(min(idf[first], idf[second]) / distance for (first, second), distance in closest.items())
