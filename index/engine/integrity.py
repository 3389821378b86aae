"""What `storybot check` verifies: SQLite's own integrity check, then storybot's invariants.

SQLite sees pages and indexes, not what the BLOBs mean: a posting list cut short, a paragraph id that no
paragraph has, or a document frequency that drifted from the postings are all "ok" to it, and the first
makes ranking fail. So the postings are decoded and recounted here, against the paragraphs and statistics:

- every posting list decodes (three arrays of one length), its paragraph ids ascend and are in range;
- each posting names a paragraph of its segment (live), or one removed from it (a tombstone), with the
  paragraph's stored length;
- each scope's paragraph and token totals, each term's document frequency and the df histogram equal a
  recount, and each source's paragraph count equals its paragraphs.

What a running add or merge has staged, and what a merge retired and is still clearing, is checked as what
it is (`index.engine.staging`, `index.engine.merging`): a merge's postings are looked for among its input
segments' paragraphs and counted nowhere, a retired segment's postings are only decoded, and a staging's
own totals are not compared, since an add counts a segment's paragraphs only once it has written it.

Postings and statistics are derived from the paragraphs' text, so whatever is found here `reindex` can
rebuild (`IndexWriter.rebuild_postings`); damage SQLite itself reports needs a backup.
"""

from __future__ import annotations

import sqlite3
from collections import Counter
from collections.abc import Sequence
from typing import NamedTuple

import numpy as np
import numpy.typing as npt

from index.engine.database import get_meta
from index.engine.postings import DOC_DTYPE, LENGTH_DTYPE, TF_DTYPE
from index.engine.staging import MERGE_CLAIM_PREFIX, RETIRED_PREFIX, is_hidden, is_staging, real_scope

MAX_PROBLEMS = 20
"""Problems listed by kind before the rest are only counted: a summary, not a dump."""


def sqlite_problems(conn: sqlite3.Connection) -> list[str]:
    """What `PRAGMA integrity_check` reports, or nothing when it says "ok"."""
    rows = [str(row[0]) for row in conn.execute(f"PRAGMA integrity_check({MAX_PROBLEMS})")]
    return [] if rows == ["ok"] else [f"SQLite: {row}" for row in rows]


def invariant_problems(conn: sqlite3.Connection) -> list[str]:
    """What breaks storybot's own invariants (see the module docstring); empty when all hold."""
    found = _Problems()
    segments = _Segments.read(conn)
    paragraphs = _paragraph_table(conn, found, segments.key)
    known_terms = {row[0] for row in conn.execute("SELECT id FROM terms")}
    document_frequency: Counter[tuple[str, int]] = Counter()
    batch: list[_Row] = []
    batched = 0
    rows = conn.execute("SELECT rowid, term_id, segment_id, scope, docs, tfs, lengths FROM postings")
    for row in rows:
        _, term_id, segment_id, scope, docs, tfs, lengths = row
        if term_id not in known_terms:
            found.add("ids", f"{_where(row)}: no such term")
        if segments.serves.get(segment_id) != scope:
            found.add("ids", f"{_where(row)}: no such segment in scope {scope!r}")
        if not _decodes(docs, tfs, lengths):
            found.add("postings", f"{_where(row)}: the posting list does not decode")
            continue
        if segment_id in segments.retired:
            continue  # a merged-away segment's copy, being cleared: the merged segment holds these now
        batch.append(row)
        batched += len(docs) // DOC_DTYPE.itemsize
        if batched >= _BATCH_POSTINGS:
            _check_postings(batch, paragraphs, segments, found, document_frequency)
            batch, batched = [], 0
    if batch:
        _check_postings(batch, paragraphs, segments, found, document_frequency)
    _check_statistics(conn, document_frequency, found)
    return found.listed()


class _Segments(NamedTuple):
    """The segments as the checks see them, running adds' and merges' staged ones included."""

    serves: dict[int, str]
    """The scope each segment's postings name: a staged or retired segment's is the scope it belongs to."""
    counted_in: dict[int, str]
    """Where a segment's postings count in the statistics (a staged add's in its staging scope); absent for
    a merge being built and for retired segments, whose paragraphs are counted in other segments."""
    retired: set[int]
    key: npt.NDArray[np.int64]
    """By segment id, the segment a paragraph of it is looked for in: a retired segment's merged one, and
    for a merge being built, the merged segment for its inputs too (it holds the same paragraphs)."""

    @classmethod
    def read(cls, conn: sqlite3.Connection) -> _Segments:
        scopes = dict(conn.execute("SELECT id, scope FROM segments").fetchall())
        claims = {
            key.removeprefix(MERGE_CLAIM_PREFIX): [int(part) for part in value.split(",") if part]
            for key, value in conn.execute(
                "SELECT key, value FROM meta WHERE key >= ? AND key < ?",
                (MERGE_CLAIM_PREFIX, MERGE_CLAIM_PREFIX + "\U0010ffff"),
            )
        }
        serves = {
            segment_id: real_scope(scope) if is_hidden(scope) else scope
            for segment_id, scope in scopes.items()
        }
        retired = {
            segment_id: int(scope.split(":", 2)[1])
            for segment_id, scope in scopes.items()
            if scope.startswith(RETIRED_PREFIX)
        }
        merging = {segment_id: claims[scope] for segment_id, scope in scopes.items() if scope in claims}
        counted_in = {
            segment_id: scope
            for segment_id, scope in scopes.items()
            if segment_id not in merging and segment_id not in retired
        }
        highest = max(
            [0, *scopes, *retired.values(), *(part for parts in merging.values() for part in parts)]
        )
        key = np.arange(highest + 1, dtype=np.int64)
        for merged, inputs in merging.items():
            key[[part for part in inputs if part <= highest]] = merged
        for retiree, target in retired.items():
            key[retiree] = key[target]
        return cls(serves, counted_in, set(retired), key)


_BATCH_POSTINGS = 1 << 20
"""Postings checked together: numpy works on whole batches, and memory stays bounded in any index."""

_Row = tuple[int, int, int, str, bytes, bytes, bytes]
"""A postings row: rowid, term id, segment id, scope and the three BLOBs."""


class _Paragraphs(NamedTuple):
    """Dense arrays by paragraph id: the segment of each live and of each removed paragraph, and lengths."""

    live_segment: npt.NDArray[np.int64]
    dead_segment: npt.NDArray[np.int64]
    length: npt.NDArray[np.int64]


def _paragraph_table(conn: sqlite3.Connection, found: _Problems, key: npt.NDArray[np.int64]) -> _Paragraphs:
    stored_next = get_meta(conn, "next_paragraph_id")
    highest = conn.execute("SELECT COALESCE(MAX(id), 0) FROM paragraphs").fetchone()[0]
    limit = max(int(stored_next) if stored_next and stored_next.isdigit() else 1, highest + 1)
    if stored_next is not None and (not stored_next.isdigit() or int(stored_next) <= highest):
        found.add("ids", f"next_paragraph_id {stored_next} is not above the highest paragraph id {highest}")
    live = np.array(conn.execute("SELECT id, segment_id, length FROM paragraphs").fetchall(), dtype=np.int64)
    live = live.reshape(-1, 3)
    if np.any(live[:, 0] < 1):
        found.add("ids", "a paragraph has an id below 1")
        live = live[live[:, 0] >= 1]
    table = _Paragraphs(np.full(limit, -1, np.int64), np.full(limit, -1, np.int64), np.zeros(limit, np.int64))
    table.live_segment[live[:, 0]] = _keyed(key, live[:, 1])
    table.length[live[:, 0]] = live[:, 2]
    dead = np.array(
        conn.execute("SELECT paragraph_id, segment_id FROM tombstones").fetchall(), dtype=np.int64
    )
    dead = dead.reshape(-1, 2)
    outside = (dead[:, 0] < 1) | (dead[:, 0] >= limit)
    for paragraph_id in dead[outside, 0].tolist():
        found.add("ids", f"a tombstone names paragraph {paragraph_id}, outside 1..{limit - 1}")
    table.dead_segment[dead[~outside, 0]] = _keyed(key, dead[~outside, 1])
    return table


def _keyed(key: npt.NDArray[np.int64], segment_ids: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
    """`key` of each segment id; ids outside it (no such segment) as they are."""
    inside = (segment_ids >= 0) & (segment_ids < len(key))
    return np.where(inside, key[np.where(inside, segment_ids, 0)], segment_ids)


def _check_postings(
    batch: list[_Row],
    paragraphs: _Paragraphs,
    segments: _Segments,
    found: _Problems,
    document_frequency: Counter[tuple[str, int]],
) -> None:
    """Check a batch of decodable posting lists against the paragraphs, all at once; count live postings."""
    counts = np.array([len(row[4]) // DOC_DTYPE.itemsize for row in batch], dtype=np.int64)
    docs = np.frombuffer(b"".join(row[4] for row in batch), dtype=DOC_DTYPE).astype(np.int64)
    tfs = np.frombuffer(b"".join(row[5] for row in batch), dtype=TF_DTYPE)
    sizes = np.frombuffer(b"".join(row[6] for row in batch), dtype=LENGTH_DTYPE).astype(np.int64)
    owner = np.repeat(np.arange(len(batch)), counts)  # the batch row of each posting
    segment = _keyed(segments.key, np.array([row[2] for row in batch], dtype=np.int64))[owner]
    limit = len(paragraphs.live_segment)
    outside = (docs < 1) | (docs >= limit)
    inside = np.where(outside, 0, docs)
    descending = np.zeros(len(docs), dtype=bool)
    descending[1:] = (owner[1:] == owner[:-1]) & (docs[1:] <= docs[:-1])
    live = ~outside & (paragraphs.live_segment[inside] == segment)
    dead = ~outside & (paragraphs.dead_segment[inside] == segment)
    checks = (
        ("ids", outside, f"paragraph ids outside 1..{limit - 1}"),
        ("postings", descending, "paragraph ids do not ascend"),
        ("postings", tfs == 0, "a paragraph holds the term zero times"),
        ("ids", ~outside & ~(live | dead), "names paragraphs that are not in its segment"),
        (
            "postings",
            live & (sizes != paragraphs.length[inside]),
            "paragraph lengths differ from the paragraphs'",
        ),
    )
    for kind, broken, problem in checks:
        for index in np.unique(owner[broken]).tolist():
            found.add(kind, f"{_where(batch[index])}: {problem}")
    live_per_row = np.bincount(owner[live], minlength=len(batch)).tolist()
    for row, live_count in zip(batch, live_per_row, strict=True):
        counted_in = segments.counted_in.get(row[2])
        if counted_in is not None:
            document_frequency[(counted_in, row[1])] += live_count


def _where(row: Sequence[object]) -> str:
    return f"postings row {row[0]} (term {row[1]}, segment {row[2]})"


def _decodes(docs: object, tfs: object, lengths: object) -> bool:
    if not (isinstance(docs, bytes) and isinstance(tfs, bytes) and isinstance(lengths, bytes)):
        return False
    count, rest = divmod(len(docs), DOC_DTYPE.itemsize)
    return (
        not rest and len(tfs) == count * TF_DTYPE.itemsize and len(lengths) == count * LENGTH_DTYPE.itemsize
    )


def _check_statistics(
    conn: sqlite3.Connection, document_frequency: Counter[tuple[str, int]], found: _Problems
) -> None:
    rows = conn.execute("SELECT scope, term_id, df FROM term_stats")
    stored_df = {(scope, term_id): df for scope, term_id, df in rows}
    counted_df = {key: df for key, df in document_frequency.items() if df}
    for key in sorted(stored_df.keys() | counted_df.keys()):
        if is_staging(key[0]):
            continue  # a running add counts a staged segment's terms once all its postings are written
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
        if is_staging(scope):
            continue  # a running add counts its paragraphs when it writes their segment, not before
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
