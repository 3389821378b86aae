"""The read side of the index: from a question's terms to ranked paragraphs, in one SQLite snapshot.

A question reads only what it needs: the statistics of its view (the shared sources plus a server's own),
the df of its terms, and their posting lists. Everything is read inside one read transaction, so a writer
committing meanwhile is seen wholly or not at all. The first stage (`index.engine.ranking`) ranks by
BM25Okapi; the second (`index.engine.rerank`) reads its best paragraphs again; the best one's evidence is
gathered for the answer-or-abstain judgement (`index.engine.confidence`).
"""

from __future__ import annotations

import math
import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass, field, replace

import numpy as np
import numpy.typing as npt

from index.engine.confidence import Evidence, assess
from index.engine.name_lookup import NameLookup
from index.engine.posting_cache import PostingCache
from index.engine.ranking import (
    BM25Parameters,
    CorpusStats,
    QueryTerm,
    rank,
    term_idf,
)
from index.engine.rerank import Candidate, Reading, Reranker, asks_what_followed, rerank
from index.engine.tokenizer import Tokenizer
from index.engine.views import ViewCacheEntry, ViewReader
from index.models import SHARED_SCOPE, SOURCE_DAY_SQL, DateWindow


@dataclass(frozen=True)
class StoredPassage:
    """A paragraph as stored, with what a citation needs."""

    paragraph_id: int
    text: str
    position: int
    source_id: str
    title: str
    url: str | None
    outlet: str | None
    published: str | None
    paragraphs: int
    length: int
    """Its length in terms as BM25 counts it (the title's terms included in an article's lead paragraph)."""
    added_at: str | None = None
    """When its source was added (its date when the source gives no publication date)."""


@dataclass(frozen=True)
class Hit:
    """One ranked paragraph: its final score, its first-stage BM25 score, and the share of the question's
    informative weight it holds."""

    passage: StoredPassage
    score: float
    coverage: float
    bm25: float
    """The first stage's BM25Okapi score (equal to rank-bm25's for the same tokens)."""
    follows: StoredPassage | None = None
    """The paragraph before it, whose evidence it took by carrying on from it (`index.engine.rerank`)."""
    reading: Reading | None = None
    """The second stage's parts of `score` (None when the second stage did not read it)."""


@dataclass(frozen=True)
class SearchResult:
    """The ranked paragraphs for a question, with what the answer composer needs to judge them."""

    terms: tuple[str, ...]
    term_weights: dict[str, float]
    known_terms: frozenset[str]
    hits: tuple[Hit, ...]
    """Best first from rank 1: the `wanted` asked for where as many match, plus the second stage's depth."""
    matched: int
    paragraphs: int
    """How many paragraphs the view holds (0: nothing indexed there)."""
    unknown_names: tuple[str, ...] = ()
    """Names the question mentions that no paragraph of the view holds ("France")."""
    evidence: Evidence | None = None
    """What the best hit shows about whether it answers (`index.engine.confidence`)."""
    corrections: dict[str, str] = field(default_factory=dict)
    """Names searched as another term (`index.engine.names`): one the view does not hold as the term one slip
    away that it does ("beyons": "beyonc"), a given name as the surname it always comes before ("elon":
    "musk")."""
    in_window: int | None = None
    """With a date window, how many of the view's paragraphs are from sources inside it (None: no window)."""
    idf: dict[str, float] = field(default_factory=dict)
    """The idf of each question term the view holds, as the first stage weighed it."""
    stats: CorpusStats | None = None
    """The view's statistics the first stage scored with."""


class Searcher:
    """Ranks paragraphs for questions; one per thread, since it holds a SQLite connection."""

    def __init__(
        self,
        conn: sqlite3.Connection,
        tokenizer: Tokenizer,
        params: BM25Parameters,
        cache: dict[tuple[str, ...], ViewCacheEntry] | None = None,
        postings_cache: PostingCache | None = None,
    ) -> None:
        self._conn = conn
        self._tokenizer = tokenizer
        self._params = params
        self._views = ViewReader(conn, params, cache, postings_cache)
        self._names = NameLookup(conn, tokenizer, params, self._views)

    def search(
        self,
        question: str,
        wanted: int,
        scopes: Sequence[str] = (SHARED_SCOPE,),
        *,
        second_stage: bool = True,
        window: DateWindow | None = None,
    ) -> SearchResult:
        """The best paragraphs for the view made of `scopes`, best first from rank 1.

        At least `wanted` where as many match, and up to `RERANK_DEPTH`: the second stage reorders the
        first stage's best, and an answer collapses repeated paragraphs, so it needs spares to fill with.
        With a `window`, only paragraphs of sources dated inside it are scored.
        """
        terms = tuple(self._tokenizer.tokenize(question, for_query=True))
        view = tuple(dict.fromkeys(scopes))
        named = self._tokenizer.named_terms(question)
        self._conn.execute("BEGIN")
        try:
            corrections = self._names.corrected(named, view) | self._names.surnames(question, terms, view)
            if corrections:
                terms = tuple(corrections.get(term, term) for term in terms)
            followed = asks_what_followed(question)
            result = self._search(
                terms, view, max(wanted, RERANK_DEPTH), followed, second_stage, window, question
            )
        finally:
            self._conn.execute("COMMIT")
        unknown = tuple(
            dict.fromkeys(
                word for term, word in named.items() if corrections.get(term, term) not in result.known_terms
            )
        )
        best = result.hits[0] if result.hits else None
        evidence = assess(
            question,
            result.terms,
            result.known_terms,
            bool(unknown),
            (_evidence_text(best), best.passage.title) if best else None,
            self._tokenizer,
            corrections,
            [corrections.get(term, term) for term in named],
        )
        return replace(result, unknown_names=unknown, evidence=evidence, corrections=corrections)

    def _search(
        self,
        terms: tuple[str, ...],
        view: tuple[str, ...],
        count: int,
        what_followed: bool = False,
        second_stage: bool = True,
        window: DateWindow | None = None,
        question: str = "",
    ) -> SearchResult:
        state = self._views.state(view)
        stats = state.stats
        dead, in_window = state.dead, None
        if window is not None:
            # Outside the window is treated as removed: the same mask that keeps tombstoned paragraphs out
            # of the scores, so the window restricts what is ranked, not what is shown after the top-k.
            # The statistics stay the view's, so a passage scores the same with or without a window.
            outside = self._outside(view, window)
            dead = np.union1d(dead, outside)
            in_window = max(stats.paragraphs - len(outside), 0)
        distinct = list(dict.fromkeys(terms))
        ids, dfs = self._views.terms(distinct, view, state.terms)
        weights = {
            term: _coverage_weight(dfs.get(ids.get(term, -1), 0), stats.paragraphs) for term in distinct
        }
        idfs = {term_id: term_idf(dfs.get(term_id, 0), stats, self._params) for term_id in ids.values()}
        postings = self._views.postings(idfs, view, state)
        query: list[QueryTerm] = []
        seen: set[str] = set()
        for term in terms:
            if term not in ids:
                continue
            weight = 0.0 if term in seen else weights[term]
            seen.add(term)
            scored = postings.get(ids[term])
            if scored is None:
                continue  # known to the vocabulary, but in no segment of this view
            query.append(QueryTerm.from_postings(idfs[ids[term]], weight, scored))
        ranking = rank(query, stats, self._params, count, dead)
        total_weight = sum(weights.values()) or 1.0
        winners = [int(paragraph_id) for paragraph_id in ranking.ids]
        rows = self._passages(winners)
        first_stage = [
            Hit(rows[paragraph_id], float(score), float(coverage) / total_weight, float(score))
            for paragraph_id, score, coverage in zip(winners, ranking.scores, ranking.coverage, strict=True)
            if paragraph_id in rows
        ]
        term_idf_of = {term: idfs[term_id] for term, term_id in ids.items() if term_id in idfs}
        hits = (
            self._second_stage(first_stage, terms, term_idf_of, stats, what_followed, question, weights)
            if second_stage
            else tuple(first_stage)
        )
        if window is not None and hits:  # what followed a hit is read by place, maybe outside the window
            placed = np.array([hit.passage.paragraph_id for hit in hits], dtype=np.int64)
            inside = ~np.isin(placed, dead)
            hits = tuple(hit for hit, keep in zip(hits, inside, strict=True) if keep)
        known = frozenset(term for term in distinct if dfs.get(ids.get(term, -1), 0) > 0)
        return SearchResult(
            terms,
            weights,
            known,
            hits,
            ranking.matched,
            stats.paragraphs,
            in_window=in_window,
            idf=term_idf_of,
            stats=stats,
        )

    def _outside(self, view: tuple[str, ...], window: DateWindow) -> npt.NDArray[np.int64]:
        """The ids of the view's paragraphs whose sources are dated outside `window`, ascending."""
        bounds, params = [], []
        if window.since is not None:
            bounds.append(f"{SOURCE_DAY_SQL} < ?")
            params.append(window.since)
        if window.until is not None:
            bounds.append(f"{SOURCE_DAY_SQL} > ?")
            params.append(window.until)
        if not bounds:
            return np.zeros(0, dtype=np.int64)
        marks = ",".join("?" * len(view))
        rows = self._conn.execute(
            f"SELECT p.id FROM sources s JOIN paragraphs p ON p.source_id = s.id"
            f" WHERE s.scope IN ({marks}) AND ({' OR '.join(bounds)}) ORDER BY p.id",
            [*view, *params],
        ).fetchall()
        return np.array([row[0] for row in rows], dtype=np.int64)

    def _second_stage(
        self,
        hits: list[Hit],
        terms: tuple[str, ...],
        idf: dict[str, float],
        stats: CorpusStats,
        what_followed: bool,
        question: str = "",
        rarity: dict[str, float] | None = None,
    ) -> tuple[Hit, ...]:
        """The first `RERANK_DEPTH` hits in the order `index.engine.rerank` reads them; the rest as they were.

        For a question about what followed, the paragraphs right after the two best are read too, though
        they may share no word with the question: that is where news tells what happened next.
        """
        head, tail = hits[:RERANK_DEPTH], hits[RERANK_DEPTH:]
        if what_followed:
            # A paragraph after one of the best is taken from the later hits if it is there, else read.
            place = {(hit.passage.source_id, hit.passage.position): index for index, hit in enumerate(hits)}
            after = [(hit.passage.source_id, hit.passage.position + 1) for hit in head[:FOLLOWED_PROBES]]
            moved = {place[spot] for spot in after if place.get(spot, -1) >= RERANK_DEPTH}
            head = head + [hits[index] for index in sorted(moved)]
            tail = [hit for index, hit in enumerate(hits) if index >= RERANK_DEPTH and index not in moved]
            missing = [spot for spot in after if spot not in place]
            head += [Hit(passage, 0.0, 0.0, 0.0) for passage in self._passages_at(missing)]
        reranker = Reranker(
            self._tokenizer, terms, idf, stats, self._params, question=question, rarity=rarity
        )
        candidates = [
            Candidate(
                hit.passage.source_id,
                hit.passage.text,
                hit.passage.title,
                hit.passage.position,
                hit.passage.paragraphs,
                hit.passage.length,
                hit.bm25,
            )
            for hit in head
        ]
        order = rerank(candidates, reranker, what_followed=what_followed)
        rescored = [
            Hit(
                head[index].passage,
                reading.score,
                head[index].coverage,
                head[index].bm25,
                None if reading.follows is None else head[reading.follows].passage,
                reading,
            )
            for index, reading in order
        ]
        return (*rescored, *tail)

    def _passages(self, paragraph_ids: list[int]) -> dict[int, StoredPassage]:
        if not paragraph_ids:
            return {}
        where = f"p.id IN ({','.join('?' * len(paragraph_ids))})"
        return {passage.paragraph_id: passage for passage in self._stored(where, paragraph_ids)}

    def _passages_at(self, places: list[tuple[str, int]]) -> list[StoredPassage]:
        """The paragraphs at these (source id, position) places that exist."""
        if not places:
            return []
        where = " OR ".join("(p.source_id = ? AND p.position = ?)" for _ in places)
        return self._stored(where, [value for place in places for value in place])

    def _stored(self, where: str, params: Sequence[object]) -> list[StoredPassage]:
        rows = self._conn.execute(
            "SELECT p.id, p.text, p.position, s.id, s.title, s.url, s.outlet, s.published, s.paragraphs,"
            f" p.length, s.added_at FROM paragraphs p JOIN sources s ON s.id = p.source_id WHERE {where}",
            params,
        ).fetchall()
        return [StoredPassage(int(row[0]), *row[1:]) for row in rows]


FOLLOWED_PROBES = 2
"""For a question about what followed, how many of the best paragraphs have the one after them read too."""

RERANK_DEPTH = 10
"""How many of the first stage's best paragraphs the second stage reads again (and an answer may draw on)."""


def _coverage_weight(df: int, paragraphs: int) -> float:
    """How informative a question term is: rarer is more. A term the index never saw counts as the rarest."""
    return max(math.log((paragraphs + 1) / (max(df, 1) + 0.5)), 1e-6)


def _evidence_text(hit: Hit) -> str:
    """What a hit's evidence is read from: its text, after the paragraph it carries on from, if any."""
    return hit.passage.text if hit.follows is None else f"{hit.follows.text}\n\n{hit.passage.text}"
