"""What `storybot check` verifies: SQLite's own integrity check, then storybot's invariants.

SQLite sees pages and indexes, not what the BLOBs mean: a posting list cut short, a paragraph id that no
paragraph has, or a document frequency that drifted from the postings are all "ok" to it, and the first
makes ranking fail. So the postings are decoded and recounted here, against the paragraphs and statistics:

- every posting list decodes (three arrays of one length), its paragraph ids ascend and are in range;
- each posting names a paragraph of its segment (live), or one removed from it (a tombstone), with the
  paragraph's stored length;
- each scope's paragraph and token totals, each term's document frequency and the df histogram equal a
  recount, and each source's paragraph count equals its paragraphs.

Postings and statistics are derived from the paragraphs' text, so whatever is found here `reindex` can
rebuild (`IndexWriter.rebuild_postings`); damage SQLite itself reports needs a backup.
"""

from __future__ import annotations

import sqlite3
from collections import Counter

import numpy as np

from index.engine.database import get_meta
from index.engine.postings import DOC_DTYPE, LENGTH_DTYPE, TF_DTYPE

MAX_PROBLEMS = 20
"""Problems listed by kind before the rest are only counted: a summary, not a dump."""


def sqlite_problems(conn: sqlite3.Connection) -> list[str]:
    """What `PRAGMA integrity_check` reports, or nothing when it says "ok"."""
    rows = [str(row[0]) for row in conn.execute(f"PRAGMA integrity_check({MAX_PROBLEMS})")]
    return [] if rows == ["ok"] else [f"SQLite: {row}" for row in rows]


def invariant_problems(conn: sqlite3.Connection) -> list[str]:
    """What breaks storybot's own invariants (see the module docstring); empty when all hold."""
    found = _Problems()
    stored_next = get_meta(conn, "next_paragraph_id")
    highest = conn.execute("SELECT COALESCE(MAX(id), 0) FROM paragraphs").fetchone()[0]
    limit = max(int(stored_next) if stored_next and stored_next.isdigit() else 1, highest + 1)
    if stored_next is not None and int(stored_next) <= highest:
        found.add("ids", f"next_paragraph_id {stored_next} is not above the highest paragraph id {highest}")
    # Dense arrays by paragraph id: each one's segment (live or removed) and stored length.
    live_segment = np.full(limit, -1, dtype=np.int64)
    length_of = np.zeros(limit, dtype=np.int64)
    for paragraph_id, segment_id, length in conn.execute("SELECT id, segment_id, length FROM paragraphs"):
        live_segment[paragraph_id] = segment_id
        length_of[paragraph_id] = length
    dead_segment = np.full(limit, -1, dtype=np.int64)
    for paragraph_id, segment_id in conn.execute("SELECT paragraph_id, segment_id FROM tombstones"):
        if 0 < paragraph_id < limit:
            dead_segment[paragraph_id] = segment_id
        else:
            found.add("ids", f"a tombstone names paragraph {paragraph_id}, outside 1..{limit - 1}")
    segment_scope = dict(conn.execute("SELECT id, scope FROM segments").fetchall())
    known_terms = {row[0] for row in conn.execute("SELECT id FROM terms")}
    document_frequency: Counter[tuple[str, int]] = Counter()
    rows = conn.execute("SELECT rowid, term_id, segment_id, scope, docs, tfs, lengths FROM postings")
    for rowid, term_id, segment_id, scope, docs, tfs, lengths in rows:
        where = f"postings row {rowid} (term {term_id}, segment {segment_id})"
        if term_id not in known_terms:
            found.add("ids", f"{where}: no such term")
        if segment_scope.get(segment_id) != scope:
            found.add("ids", f"{where}: no such segment in scope {scope!r}")
        decoded = _decoded(docs, tfs, lengths)
        if decoded is None:
            found.add("postings", f"{where}: the posting list does not decode")
            continue
        live = _check_postings(where, segment_id, decoded, (live_segment, dead_segment, length_of), found)
        document_frequency[(scope, term_id)] += live
    _check_statistics(conn, document_frequency, found)
    return found.listed()


def _check_postings(
    where: str,
    segment_id: int,
    decoded: tuple[np.ndarray, np.ndarray, np.ndarray],
    paragraphs: tuple[np.ndarray, np.ndarray, np.ndarray],
    found: _Problems,
) -> int:
    """Check one decoded posting list against the paragraphs; how many live paragraphs it names."""
    ids, counts, sizes = decoded
    live_segment, dead_segment, length_of = paragraphs
    if len(ids) and (int(ids.min()) < 1 or int(ids.max()) >= len(live_segment)):
        found.add("ids", f"{where}: paragraph ids outside 1..{len(live_segment) - 1}")
        return 0
    if np.any(ids[1:] <= ids[:-1]):
        found.add("postings", f"{where}: paragraph ids do not ascend")
    if np.any(counts == 0):
        found.add("postings", f"{where}: a paragraph holds the term zero times")
    live = live_segment[ids] == segment_id
    dead = dead_segment[ids] == segment_id
    if np.any(~(live | dead)):
        found.add("ids", f"{where}: names paragraphs that are not in its segment")
    if np.any(sizes[live] != length_of[ids[live]]):
        found.add("postings", f"{where}: paragraph lengths differ from the paragraphs'")
    return int(np.count_nonzero(live))


def _decoded(docs: object, tfs: object, lengths: object) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
    if not all(isinstance(blob, bytes) for blob in (docs, tfs, lengths)):
        return None
    assert isinstance(docs, bytes) and isinstance(tfs, bytes) and isinstance(lengths, bytes)
    count, rest = divmod(len(docs), DOC_DTYPE.itemsize)
    if rest or len(tfs) != count * TF_DTYPE.itemsize or len(lengths) != count * LENGTH_DTYPE.itemsize:
        return None
    return (
        np.frombuffer(docs, dtype=DOC_DTYPE).astype(np.int64),
        np.frombuffer(tfs, dtype=TF_DTYPE),
        np.frombuffer(lengths, dtype=LENGTH_DTYPE).astype(np.int64),
    )


def _check_statistics(
    conn: sqlite3.Connection, document_frequency: Counter[tuple[str, int]], found: _Problems
) -> None:
    rows = conn.execute("SELECT scope, term_id, df FROM term_stats")
    stored_df = {(scope, term_id): df for scope, term_id, df in rows}
    counted_df = {key: df for key, df in document_frequency.items() if df}
    for key in sorted(stored_df.keys() | counted_df.keys()):
        if stored_df.get(key, 0) != counted_df.get(key, 0):
            found.add(
                "statistics",
                f"term {key[1]} in scope {key[0]!r}: df {stored_df.get(key, 0)}, a recount finds "
                f"{counted_df.get(key, 0)}",
            )
    histogram = Counter((scope, df) for (scope, _), df in stored_df.items())
    stored_histogram = {
        (scope, df): terms for scope, df, terms in conn.execute("SELECT scope, df, terms FROM df_histogram")
    }
    if stored_histogram != dict(histogram):
        found.add("statistics", "the df histogram differs from a recount of the document frequencies")
    totals = {
        scope: (paragraphs, tokens)
        for scope, paragraphs, tokens in conn.execute(
            "SELECT s.scope, COUNT(p.id), COALESCE(SUM(p.length), 0)"
            " FROM paragraphs p JOIN sources s ON s.id = p.source_id GROUP BY s.scope"
        )
    }
    stored_totals = {
        scope: (paragraphs, tokens)
        for scope, paragraphs, tokens in conn.execute("SELECT scope, paragraphs, tokens FROM scope_stats")
        if paragraphs or tokens
    }
    for scope in sorted(totals.keys() | stored_totals.keys()):
        if totals.get(scope, (0, 0)) != stored_totals.get(scope, (0, 0)):
            found.add(
                "statistics",
                f"scope {scope!r}: {stored_totals.get(scope, (0, 0))} paragraphs and tokens stored, "
                f"a recount finds {totals.get(scope, (0, 0))}",
            )
    for source_id, stored, counted in conn.execute(
        "SELECT s.id, s.paragraphs, (SELECT COUNT(*) FROM paragraphs p WHERE p.source_id = s.id)"
        " FROM sources s WHERE s.paragraphs != (SELECT COUNT(*) FROM paragraphs p WHERE p.source_id = s.id)"
    ):
        found.add("statistics", f"source {source_id!r}: {stored} paragraphs stored, {counted} found")
    orphans = conn.execute(
        "SELECT COUNT(*) FROM paragraphs p"
        " WHERE NOT EXISTS (SELECT 1 FROM sources s WHERE s.id = p.source_id)"
    ).fetchone()[0]
    if orphans:
        found.add("ids", f"{orphans} paragraphs belong to no source")


class _Problems:
    """Problems by kind, the first `MAX_PROBLEMS` of each listed and the rest counted."""

    def __init__(self) -> None:
        self._listed: dict[str, list[str]] = {}
        self._more: Counter[str] = Counter()

    def add(self, kind: str, problem: str) -> None:
        shown = self._listed.setdefault(kind, [])
        if len(shown) < MAX_PROBLEMS:
            shown.append(f"{kind}: {problem}")
        else:
            self._more[kind] += 1

    def listed(self) -> list[str]:
        lines = [line for shown in self._listed.values() for line in shown]
        lines.extend(f"{kind}: and {count} more" for kind, count in self._more.items())
        return lines
