"""A story as a sequence: its sources in date order, each with one sentence that says what it reported.

Without words to follow, each source is told by its lead sentence (news puts the event first). With words,
only the sources holding them are listed, each by the sentence of its best paragraph that holds most of
them, the same sentence an answer highlights.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence

from index.answers import SentenceMatcher
from index.engine.searcher import Searcher
from index.engine.sentences import sentence_ends
from index.models import SOURCE_DAY_SQL, Citation, DateWindow, TimelineEntry

MAX_ENTRIES = 500
"""The most sources a timeline lists (a story has tens; this bounds what one request reads)."""

ABOUT_DEPTH = 2000
"""How many best paragraphs for `about` are read to find the sources holding it."""


def timeline(
    conn: sqlite3.Connection,
    searcher: Searcher,
    scopes: Sequence[str],
    about: str | None = None,
    window: DateWindow | None = None,
) -> tuple[TimelineEntry, ...]:
    """The view's sources in date order (oldest first), or with `about` only those holding its words."""
    if about is None:
        entries = _lead_sentences(conn, scopes, window)
    else:
        entries = _best_sentences(searcher, about, scopes, window)
    ordered = sorted(entries, key=lambda entry: (entry.source.date or "", entry.source.added_at or ""))
    return tuple(ordered[:MAX_ENTRIES])


def _lead_sentences(
    conn: sqlite3.Connection, scopes: Sequence[str], window: DateWindow | None
) -> list[TimelineEntry]:
    marks = ",".join("?" * len(scopes))
    bounds, params = "", []
    if window is not None and window.since is not None:
        bounds += f" AND {SOURCE_DAY_SQL} >= ?"
        params.append(window.since)
    if window is not None and window.until is not None:
        bounds += f" AND {SOURCE_DAY_SQL} <= ?"
        params.append(window.until)
    rows = conn.execute(
        "SELECT s.id, s.title, s.url, s.outlet, s.published, s.added_at,"
        " (SELECT p.text FROM paragraphs p WHERE p.source_id = s.id ORDER BY p.position LIMIT 1)"
        f" FROM sources s WHERE s.scope IN ({marks}){bounds}"
        f" ORDER BY {SOURCE_DAY_SQL}, s.added_at, s.id LIMIT ?",
        [*scopes, *params, MAX_ENTRIES],
    ).fetchall()
    return [TimelineEntry(Citation(*row[:6]), _lead(row[6] or "")) for row in rows]


def _lead(text: str) -> str:
    ends = sentence_ends(text)
    return text[: ends[0]].strip() if ends else text.strip()


def _best_sentences(
    searcher: Searcher, about: str, scopes: Sequence[str], window: DateWindow | None
) -> list[TimelineEntry]:
    result = searcher.search(about, ABOUT_DEPTH, scopes, second_stage=False, window=window)
    matcher = SentenceMatcher(result.term_weights)
    entries: dict[str, TimelineEntry] = {}
    for hit in result.hits:  # best first: a source's first hit is its best paragraph
        stored = hit.passage
        if stored.source_id in entries:
            continue
        citation = Citation(
            stored.source_id, stored.title, stored.url, stored.outlet, stored.published, stored.added_at
        )
        entries[stored.source_id] = TimelineEntry(citation, matcher.best_sentence(stored.text))
    return list(entries.values())
