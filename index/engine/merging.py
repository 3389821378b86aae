"""Merges that take turns with other writers: built out of sight in short transactions, swapped in by one.

After a big add, eight segments of 100,000 paragraphs are merged into one: hundreds of megabytes of postings
rewritten, which in one transaction would hold SQLite's write lock for many seconds. Instead:

1. `begin` (a short transaction) claims the segments, notes the removed paragraphs they hold (the dead set
   the merged postings leave out) and makes the merged segment under a staging scope, which no view reads.
2. `build`, in turns (`staging.Turns`), writes the merged postings a range of terms at a time.
3. `publish` (a short transaction) swaps it in: the merged segment takes the real scope and the old ones
   are retired (`retired:{merged id}:{scope}`), so a view reads either the old segments or the new one,
   with the same statistics. A removal that landed meanwhile left a tombstone on an old segment; any not in
   the dead set names a paragraph the merged postings still hold, so it is keyed to the merged segment,
   where it goes on hiding that paragraph.
4. `clear`, in turns, points the retired segments' paragraphs at the merged segment and deletes their
   postings, then the segments. Until then a paragraph naming a retired segment belongs to the merged one
   (`segments.live_segment`).

The old segments stay whole until publishing, so every commit leaves a valid index. A merge that dies while
building leaves a staging that `staging.discard_abandoned` removes once its heartbeat is old (the next merge
or add asks); one that dies while clearing leaves retired segments that the next merge goes on clearing.
"""

from __future__ import annotations

import contextlib
import sqlite3
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from index.engine.database import in_chunks, now, set_meta, write_transaction
from index.engine.segments import (
    dead_paragraphs,
    merge_term_range,
    retired_into,
    retired_scope,
    retired_segments,
    term_ranges,
)
from index.engine.staging import (
    MERGE_CLAIM_PREFIX,
    Turns,
    beat,
    discard,
    discard_abandoned,
    forget,
    staging_scope,
)

CLEARED_PARAGRAPHS = 20_000
"""Paragraphs of a retired segment pointed at their merged one per statement."""
CLEARED_POSTINGS = 2_000
"""Postings rows of a retired segment deleted per statement."""

Chooser = Callable[[set[int]], Sequence[int] | None]
"""Picks the next segments to merge, given the ids that running merges have claimed (which it must avoid)."""


@dataclass(frozen=True)
class Merge:
    """A merge being built: what it merges, where, and the removed paragraphs it leaves out."""

    scope: str
    staging: str
    """The staging scope the merged segment is built under."""
    inputs: tuple[int, ...]
    merged_id: int
    dead: npt.NDArray[np.uint32]
    """The paragraphs removed from the inputs when the merge began: the merged postings leave them out."""
    last_term: int


def claimed(conn: sqlite3.Connection) -> set[int]:
    """The segments that merges being built have claimed: no other merge may take them meanwhile."""
    rows = conn.execute(
        "SELECT value FROM meta WHERE key >= ? AND key < ?",
        (MERGE_CLAIM_PREFIX, MERGE_CLAIM_PREFIX + "\U0010ffff"),
    )
    return {int(part) for (value,) in rows for part in value.split(",") if part}


def begin(conn: sqlite3.Connection, scope: str, segment_ids: Sequence[int]) -> Merge:
    """Claim the segments and make their merged segment, empty and staged, inside the caller's transaction."""
    ids = tuple(segment_ids)
    marks = ",".join("?" * len(ids))
    dead = dead_paragraphs(conn, ids)
    # Each segment's count is that of the paragraphs its postings hold; the merged one drops the dead.
    held = conn.execute(f"SELECT COALESCE(SUM(paragraphs), 0) FROM segments WHERE id IN ({marks})", ids)
    staging = staging_scope(scope)
    cursor = conn.execute(
        "INSERT INTO segments (scope, paragraphs, created_at) VALUES (?, ?, ?)",
        (staging, int(held.fetchone()[0]) - len(dead), now()),
    )
    assert cursor.lastrowid is not None
    set_meta(conn, MERGE_CLAIM_PREFIX + staging, ",".join(map(str, ids)))
    beat(conn, staging)
    last_term = conn.execute("SELECT COALESCE(MAX(id), 0) FROM terms").fetchone()[0]
    return Merge(scope, staging, ids, cursor.lastrowid, dead, int(last_term))


def still_staged(conn: sqlite3.Connection, merge: Merge) -> bool:
    """Whether the merged segment is still there, staged (nothing, such as a rebuild, took it away)."""
    row = conn.execute("SELECT scope FROM segments WHERE id = ?", (merge.merged_id,)).fetchone()
    return row is not None and row[0] == merge.staging


def publish(conn: sqlite3.Connection, merge: Merge) -> bool:
    """Swap the merged segment in for its inputs, inside the caller's transaction; False (and the staged
    segment discarded) if an input is gone meanwhile."""
    if not still_staged(conn, merge):
        forget(conn, merge.staging)
        return False
    ids = list(merge.inputs)
    marks = ",".join("?" * len(ids))
    present = conn.execute(
        f"SELECT COUNT(*) FROM segments WHERE id IN ({marks}) AND scope = ?", [*ids, merge.scope]
    ).fetchone()[0]
    if present != len(ids):
        discard(conn, merge.staging)
        return False
    # Tombstones of the dead set name paragraphs the merged postings left out: they are done with. The rest
    # landed while the merge was built, on paragraphs it holds: they move to it with their postings.
    for chunk, dead_marks in in_chunks(merge.dead.tolist()):
        conn.execute(f"DELETE FROM tombstones WHERE paragraph_id IN ({dead_marks})", chunk)
    conn.execute(
        f"UPDATE tombstones SET segment_id = ? WHERE segment_id IN ({marks})", [merge.merged_id, *ids]
    )
    retiring = retired_scope(merge.merged_id, merge.scope)
    for retiree in retired_into(conn, ids):
        conn.execute("UPDATE segments SET scope = ? WHERE id = ?", (retiring, retiree))
    conn.execute(f"UPDATE segments SET scope = ? WHERE id IN ({marks})", [retiring, *ids])
    conn.execute("UPDATE segments SET scope = ? WHERE id = ?", (merge.scope, merge.merged_id))
    forget(conn, merge.staging)
    return True


def build(conn: sqlite3.Connection, merge: Merge) -> bool:
    """Write the merged postings in turns, then publish; whether the merge was published.

    A failure discards what was staged and is raised; the old segments were never touched.
    """
    turns = Turns(conn, merge.staging)
    try:
        step = 0.0  # how long the last range took: ranges of common terms take longest
        for low, high in term_ranges(merge.last_term):
            turns.ensure()
            if not still_staged(conn, merge):
                forget(conn, merge.staging)
                turns.finish()
                return False
            started = time.monotonic()
            merge_term_range(conn, merge.scope, merge.inputs, merge.merged_id, merge.dead, low, high)
            step = time.monotonic() - started
            if turns.due(ahead=step):
                turns.commit()
        turns.ensure()
        published = publish(conn, merge)
        turns.finish()
        return published
    except BaseException:
        turns.rollback()
        with contextlib.suppress(sqlite3.Error), write_transaction(conn):
            discard(conn, merge.staging)
        raise


def clear_step(conn: sqlite3.Connection) -> bool:
    """Clear some of one retired segment's rows, inside the caller's transaction; False if none is left."""
    retired = retired_segments(conn)
    if not retired:
        return False
    retiree, target = min(retired.items())
    moved = conn.execute(
        "UPDATE paragraphs SET segment_id = ?"
        " WHERE id IN (SELECT id FROM paragraphs WHERE segment_id = ? LIMIT ?)",
        (target, retiree, CLEARED_PARAGRAPHS),
    ).rowcount
    deleted = conn.execute(
        "DELETE FROM postings WHERE rowid IN (SELECT rowid FROM postings WHERE segment_id = ? LIMIT ?)",
        (retiree, CLEARED_POSTINGS),
    ).rowcount
    if not moved and not deleted:
        conn.execute("DELETE FROM segments WHERE id = ?", (retiree,))
    return True


def clear(conn: sqlite3.Connection) -> None:
    """Clear every retired segment, in turns."""
    turns = Turns(conn, None)
    try:
        while True:
            turns.ensure()
            if not clear_step(conn):
                break
            if turns.due():
                turns.commit()
        turns.finish()
    except BaseException:
        turns.rollback()
        raise


def merge_in_turns(conn: sqlite3.Connection, scope: str, choose: Chooser) -> int:
    """Merge what `choose` picks, one merge after another, each taking turns; then clear what they retired.

    Also removes what merges or adds that died left staged, and clears what they left retired. The number of
    merges published.
    """
    published = 0
    while True:
        with write_transaction(conn):
            discard_abandoned(conn)
            chosen = choose(claimed(conn))
            merge = begin(conn, scope, chosen) if chosen else None
        if merge is None:
            break
        published += build(conn, merge)
    clear(conn)
    return published
