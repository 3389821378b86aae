"""When and how segments are merged: a size-tiered policy within a budget of work, and the rewrite itself.

Every write adds a segment; a question reads one postings row per term and segment, so segments must stay
few, but merging rewrites postings, so it must never make one small write slow. Segments are grouped in
tiers by size (a power of 8 in paragraphs); when a tier holds SEGMENTS_PER_TIER of them they become one
segment of the next tier, as in a log-structured merge. A write may rewrite at most MERGE_BUDGET
paragraphs, or MERGE_BUDGET_PER_ADDED times what it added when that is more: adding one article to a
million-paragraph index never rewrites its big segments, while bulk loads merge as they go (each paragraph
is rewritten a logarithmic number of times). `reindex` merges everything.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from index.engine.postings import PostingList
from index.engine.staging import RETIRED_PREFIX

SEGMENTS_PER_TIER = 8
"""Segments of about the same size are merged once this many exist."""

MERGE_BUDGET = 20_000
"""Paragraphs a write may rewrite when merging segments, at the least (well under a second's work)."""

MERGE_BUDGET_PER_ADDED = 10
"""A big write may rewrite this many paragraphs per paragraph it adds: bulk loads merge as they go."""

TERMS_PER_MERGE_STEP = 128
"""A merge reads and writes the postings of this many term ids at a time."""

_Row = tuple[int, int, str, bytes, bytes, bytes]


def tier(paragraphs: int) -> int:
    """The size class of a segment: 0 below 8 paragraphs, 1 below 64, 2 below 512, and so on."""
    level, bound = 0, 8
    while paragraphs >= bound:
        level, bound = level + 1, bound * 8
    return level


def tier_to_merge(sizes: Sequence[tuple[int, int]], budget: int) -> list[int] | None:
    """The ids of the smallest full tier whose merge fits the budget, given (segment id, paragraphs)."""
    tiers: dict[int, list[tuple[int, int]]] = {}
    for segment_id, paragraphs in sizes:
        tiers.setdefault(tier(paragraphs), []).append((segment_id, paragraphs))
    for _, members in sorted(tiers.items()):
        if len(members) >= SEGMENTS_PER_TIER and sum(size for _, size in members) <= budget:
            return [segment_id for segment_id, _ in members]
    return None


def rewrite_segments(
    conn: sqlite3.Connection, scope: str, segment_ids: Sequence[int], merged_id: int
) -> None:
    """Move the postings of `segment_ids` into segment `merged_id`, without removed paragraphs' postings,
    in the caller's one transaction (a merge within a small write's budget; big ones take turns, see
    `index.engine.merging`)."""
    marks = ",".join("?" * len(segment_ids))
    ids = list(segment_ids)
    dead = dead_paragraphs(conn, ids)
    # A range of terms at a time, written before the next is read: a merge of millions of paragraphs never
    # holds all their postings in memory at once.
    last_term = conn.execute("SELECT COALESCE(MAX(id), 0) FROM terms").fetchone()[0]
    for low, high in term_ranges(last_term):
        merge_term_range(conn, scope, ids, merged_id, dead, low, high)
    # Segments merged away earlier whose paragraphs still name them (see `merging`) now belong here too.
    retirees = retired_into(conn, ids)
    moved = ",".join("?" * len(ids + retirees))
    conn.execute(f"DELETE FROM postings WHERE segment_id IN ({marks})", ids)
    conn.execute(
        f"UPDATE paragraphs SET segment_id = ? WHERE segment_id IN ({moved})", [merged_id, *ids, *retirees]
    )
    conn.execute(f"DELETE FROM tombstones WHERE segment_id IN ({marks})", ids)
    conn.execute(f"DELETE FROM segments WHERE id IN ({marks})", ids)
    for retiree in retirees:
        conn.execute("UPDATE segments SET scope = ? WHERE id = ?", (retired_scope(merged_id, scope), retiree))


def term_ranges(last_term: int) -> list[tuple[int, int]]:
    """The ranges of term ids a merge reads and writes one at a time, up to `last_term`."""
    return [(low, low + TERMS_PER_MERGE_STEP) for low in range(0, last_term + 1, TERMS_PER_MERGE_STEP)]


def dead_paragraphs(conn: sqlite3.Connection, segment_ids: Sequence[int]) -> npt.NDArray[np.uint32]:
    """The removed paragraphs whose postings the segments still hold (their tombstones), sorted."""
    marks = ",".join("?" * len(segment_ids))
    rows = conn.execute(
        f"SELECT paragraph_id FROM tombstones WHERE segment_id IN ({marks})", list(segment_ids)
    )
    return np.sort(np.array([row[0] for row in rows], dtype=np.uint32))


def merge_term_range(
    conn: sqlite3.Connection,
    scope: str,
    segment_ids: Sequence[int],
    merged_id: int,
    dead: npt.NDArray[np.uint32],
    low: int,
    high: int,
) -> None:
    """Write segment `merged_id`'s postings of the term ids from `low` up to `high`: the union of the
    segments' postings of those terms, without the `dead` paragraphs."""
    marks = ",".join("?" * len(segment_ids))
    rows = conn.execute(
        "SELECT term_id, docs, tfs, lengths FROM postings INDEXED BY postings_term"
        f" WHERE term_id >= ? AND term_id < ? AND segment_id IN ({marks}) ORDER BY term_id, segment_id",
        [low, high, *segment_ids],
    ).fetchall()
    batch: list[_Row] = []
    current_term, parts = -1, list[PostingList]()
    for term_id, docs, tfs, lengths in rows:
        if term_id != current_term and parts:
            batch.extend(_merged_row(current_term, merged_id, scope, parts, dead))
            parts = []
        current_term = term_id
        parts.append(PostingList.from_blobs(docs, tfs, lengths))
    if parts:
        batch.extend(_merged_row(current_term, merged_id, scope, parts, dead))
    conn.executemany(
        "INSERT INTO postings (term_id, segment_id, scope, docs, tfs, lengths) VALUES (?, ?, ?, ?, ?, ?)",
        batch,
    )


def retired_scope(merged_id: int, scope: str) -> str:
    """The scope of a segment merged into `merged_id` whose rows are still being cleared."""
    return f"{RETIRED_PREFIX}{merged_id}:{scope}"


def retired_segments(conn: sqlite3.Connection) -> dict[int, int]:
    """Every retired segment and the segment its paragraphs now belong to."""
    rows = conn.execute(
        "SELECT id, scope FROM segments WHERE scope >= ? AND scope < ?",
        (RETIRED_PREFIX, RETIRED_PREFIX + "\U0010ffff"),
    )
    return {segment_id: int(scope.split(":", 2)[1]) for segment_id, scope in rows}


def retired_into(conn: sqlite3.Connection, segment_ids: Sequence[int]) -> list[int]:
    """The retired segments whose paragraphs belong to one of `segment_ids`."""
    targets = set(segment_ids)
    return sorted(retiree for retiree, target in retired_segments(conn).items() if target in targets)


def live_segment(conn: sqlite3.Connection, segment_id: int) -> int:
    """The segment a paragraph naming `segment_id` belongs to: itself, or the one it was merged into."""
    row = conn.execute("SELECT scope FROM segments WHERE id = ?", (segment_id,)).fetchone()
    if row is not None and row[0].startswith(RETIRED_PREFIX):
        return int(row[0].split(":", 2)[1])
    return segment_id


def _merged_row(
    term_id: int, segment_id: int, scope: str, parts: list[PostingList], dead: npt.NDArray[np.uint32]
) -> list[_Row]:
    # Segments are not merged in id order (a big old one may join a small new one): sort the union.
    merged = PostingList.concatenate(parts).without(dead).in_order()
    if not len(merged):
        return []
    return [(term_id, segment_id, scope, *merged.to_blobs())]
