"""Staging a big add in short transactions, out of sight, and publishing it whole in one short one.

SQLite has one writer at a time. A big add that held the write lock for its whole run would make every other
writer (the bot recording a question or a vote, an `/admin add`) wait for minutes. Instead its new sources
and segments are written, a few hundred milliseconds at a time, under a staging scope that no view holds
(`STAGING_PREFIX`), and its statistics are kept under that scope too. Questions never see them: a view reads
the segments of its own scopes only, and the postings of those segments only. `publish` then moves the
sources and segments to the real scope and adds the statistics in, in one transaction whose work is in
proportion to the number of sources and terms, not of paragraphs. A staging left by a crashed add is
recognised by its heartbeat and removed (`discard_abandoned`), so the add stays all or nothing.
"""

from __future__ import annotations

import os
import sqlite3
import time
from collections.abc import Sequence

from index.engine.database import get_meta, in_chunks, set_meta
from index.engine.frequencies import change_document_frequencies
from index.errors import SourceError

STAGING_PREFIX = "staging:"
"""Scopes starting with this hold a big add or a merge still being written; no view ever includes one."""

RETIRED_PREFIX = "retired:"
"""A segment merged away whose rows are still being cleared: `retired:{merged id}:{scope}`. No view reads it;
its paragraphs belong to the merged segment (see `index.engine.merging`)."""

ABANDONED_SECONDS = 600
"""A staging whose heartbeat is older than this belongs to an add that died: it is removed."""

_HEARTBEAT_PREFIX = "staging_heartbeat:"
MERGE_CLAIM_PREFIX = "staging_merge:"
"""Meta key of a merge being built under a staging scope; its value lists the segments it merges."""


def staging_scope(scope: str) -> str:
    """A fresh staging scope for an add into `scope` (unique to this process and moment)."""
    return f"{STAGING_PREFIX}{os.getpid()}.{time.time_ns()}:{scope}"


def scopes_clause(scopes: Sequence[str] | None) -> tuple[str, tuple[object, ...]]:
    """A `WHERE` clause on `scope` and its parameters: `scopes` only, or, for None, every scope but the
    staging and retired ones (what no listing, count or reindex may see)."""
    if scopes is None:
        return "WHERE substr(scope, 1, ?) != ? AND substr(scope, 1, ?) != ?", (
            len(STAGING_PREFIX),
            STAGING_PREFIX,
            len(RETIRED_PREFIX),
            RETIRED_PREFIX,
        )
    return f"WHERE scope IN ({', '.join('?' for _ in scopes)})", tuple(scopes)


def is_staging(scope: str) -> bool:
    """Whether a scope is a staging scope (hidden from every listing and view)."""
    return scope.startswith(STAGING_PREFIX)


def is_hidden(scope: str) -> bool:
    """Whether a segment's scope is a staging or a retired one: no view, count or check of totals reads it."""
    return scope.startswith((STAGING_PREFIX, RETIRED_PREFIX))


def real_scope(staging: str) -> str:
    """The scope a staging (or retired) scope belongs to."""
    return staging.split(":", 2)[2]


def beat(conn: sqlite3.Connection, staging: str) -> None:
    """Record, inside the caller's transaction, that the add writing `staging` is alive."""
    set_meta(conn, _HEARTBEAT_PREFIX + staging, str(time.time()))


def publish(conn: sqlite3.Connection, staging: str) -> None:
    """Make a staging's sources and segments part of its real scope, inside the caller's transaction."""
    scope = real_scope(staging)
    conn.execute("UPDATE sources SET scope = ? WHERE scope = ?", (scope, staging))
    conn.execute("UPDATE segments SET scope = ? WHERE scope = ?", (scope, staging))
    _add_document_frequencies(conn, staging, scope)
    row = conn.execute("SELECT paragraphs, tokens FROM scope_stats WHERE scope = ?", (staging,)).fetchone()
    if row is not None:
        conn.execute(
            "INSERT INTO scope_stats (scope, paragraphs, tokens) VALUES (?, ?, ?)"
            " ON CONFLICT (scope) DO UPDATE SET paragraphs = paragraphs + excluded.paragraphs,"
            " tokens = tokens + excluded.tokens",
            (scope, *row),
        )
    forget(conn, staging)


def discard(conn: sqlite3.Connection, staging: str) -> None:
    """Remove everything a staging holds, inside the caller's transaction (an add that failed or died)."""
    segment_ids = [row[0] for row in conn.execute("SELECT id FROM segments WHERE scope = ?", (staging,))]
    for chunk, marks in in_chunks(segment_ids):
        conn.execute(f"DELETE FROM postings WHERE segment_id IN ({marks})", chunk)
        conn.execute(f"DELETE FROM paragraphs WHERE segment_id IN ({marks})", chunk)
        conn.execute(f"DELETE FROM segments WHERE id IN ({marks})", chunk)
    # Paragraphs whose segment was not written yet still name their source.
    conn.execute(
        "DELETE FROM paragraphs WHERE source_id IN (SELECT id FROM sources WHERE scope = ?)", (staging,)
    )
    conn.execute("DELETE FROM sources WHERE scope = ?", (staging,))
    forget(conn, staging)


def discard_abandoned(conn: sqlite3.Connection, now: float | None = None) -> list[str]:
    """Remove the stagings of adds that died (no heartbeat for `ABANDONED_SECONDS`); their names."""
    moment = time.time() if now is None else now
    found = {
        row[0]
        for row in conn.execute(
            "SELECT DISTINCT scope FROM sources WHERE scope >= ? AND scope < ?",
            (STAGING_PREFIX, STAGING_PREFIX + "\U0010ffff"),
        )
    }
    found.update(
        row[0]
        for row in conn.execute(
            "SELECT DISTINCT scope FROM segments WHERE scope >= ? AND scope < ?",
            (STAGING_PREFIX, STAGING_PREFIX + "\U0010ffff"),
        )
    )
    abandoned = []
    for staging in sorted(found):
        heartbeat = get_meta(conn, _HEARTBEAT_PREFIX + staging)
        if heartbeat is None or moment - float(heartbeat) > ABANDONED_SECONDS:
            discard(conn, staging)
            abandoned.append(staging)
    return abandoned


def _add_document_frequencies(conn: sqlite3.Connection, staging: str, scope: str) -> None:
    """Add the staging's document frequencies to the scope's, keeping its df histogram in step."""
    staged = conn.execute("SELECT term_id, df FROM term_stats WHERE scope = ?", (staging,)).fetchall()
    change_document_frequencies(conn, scope, dict(staged))


def forget(conn: sqlite3.Connection, staging: str) -> None:
    """Drop a staging's own statistics, heartbeat and merge claim, inside the caller's transaction."""
    for table in ("term_stats", "df_histogram", "scope_stats"):
        conn.execute(f"DELETE FROM {table} WHERE scope = ?", (staging,))
    conn.execute(
        "DELETE FROM meta WHERE key IN (?, ?)", (_HEARTBEAT_PREFIX + staging, MERGE_CLAIM_PREFIX + staging)
    )


TURN_SECONDS = 0.5
"""A big add commits what it staged about this often. Another writer waits for a turn and the step that
overran it: with 0.8 s, a separate process writing meanwhile waited up to 1.84 s at a million paragraphs;
with 0.5 s, 1.34 s, and the add took as long (benchmarks/SCALE.md)."""

GAP_SECONDS = 0.1
"""Then it leaves the lock free this long; SQLite's busy handler tries again at least every 100 ms."""


class Turns:
    """Short write transactions one after another, with a pause between them that lets other writers in."""

    def __init__(self, conn: sqlite3.Connection, staging: str | None) -> None:
        self._conn = conn
        self.staging = staging
        """The staging scope whose heartbeat each commit records (None: work with nothing staged)."""
        self._started: float | None = None

    def ensure(self) -> None:
        """Be inside a write transaction: begin one if none is open."""
        if self._started is None:
            self._conn.execute("BEGIN IMMEDIATE")
            self._started = time.monotonic()

    def due(self, ahead: float = 0.0) -> bool:
        """Whether the open transaction has held the lock for its turn, or would have after `ahead` more
        seconds (the length of a step like the last one: the turn ends before it rather than after)."""
        return self._started is not None and time.monotonic() - self._started + ahead >= TURN_SECONDS

    def commit(self, *, rest: bool = True) -> None:
        """Commit the open transaction (with a heartbeat), then leave the lock to others for a moment
        (without `rest`: the caller is about to wait for something else, and the lock is free meanwhile)."""
        if self._started is None:
            return
        if self.staging is not None:
            beat(self._conn, self.staging)
        self._conn.execute("COMMIT")
        self._started = None
        if rest:
            time.sleep(GAP_SECONDS)

    def finish(self) -> None:
        """Commit the transaction that published the staging (its heartbeat is gone with it)."""
        if self._started is not None:
            self._started = None
            self._conn.execute("COMMIT")

    def rollback(self) -> None:
        """Roll the open transaction back, if one is open."""
        if self._started is not None:
            self._started = None
            # SQLite has already rolled back a transaction that a full disk stopped (a failed COMMIT too).
            if self._conn.in_transaction:
                self._conn.execute("ROLLBACK")


class SeenIds:
    """The source ids a big add has met under one path, in a temporary table rather than in memory.

    A million articles' ids held in a Python dict cost some hundred megabytes; SQLite's temporary database
    keeps them on disk behind a small page cache, at the cost of one insert per article. A second use of an
    id is an error naming both places (by line in one file, else the two files).
    """

    def __init__(self, conn: sqlite3.Connection, path: str) -> None:
        self._conn = conn
        self._path = path
        conn.execute(
            "CREATE TEMP TABLE IF NOT EXISTS add_seen_ids"
            " (id TEXT PRIMARY KEY, file TEXT NOT NULL, line INTEGER) WITHOUT ROWID"
        )
        conn.execute("DELETE FROM temp.add_seen_ids")

    def check(self, source_id: str, file: str, line: int | None) -> None:
        """SourceError if `source_id` was met before under this path, in this file (by line) or another."""
        inserted = self._conn.execute(
            "INSERT INTO temp.add_seen_ids (id, file, line) VALUES (?, ?, ?) ON CONFLICT DO NOTHING",
            (source_id, file, line),
        ).rowcount
        if inserted:
            return
        seen_file, seen_line = self._conn.execute(
            "SELECT file, line FROM temp.add_seen_ids WHERE id = ?", (source_id,)
        ).fetchone()
        if seen_file == file and line is not None:
            raise SourceError(f"{file}: line {line}: duplicate id {source_id!r} (first on line {seen_line})")
        raise SourceError(f"{self._path}: duplicate source id {source_id!r} ({seen_file} and {file})")

    def close(self) -> None:
        """Let the ids go (the table stays, empty, for the connection's next add)."""
        self._conn.execute("DELETE FROM temp.add_seen_ids")


RECORDED_READS = 5_000
"""Unchanged sources whose new read time one statement records."""


class UnchangedIds:
    """The stored articles a big add found unchanged, in a temporary table: nothing of them is rewritten.

    Their read time (and an `ok` status in place of a `stale` one) is all that changes; it is recorded after
    the path is published, a few thousand sources a statement in turns, so even a re-add of a big file that
    is stored already keeps its publishing transaction short.
    """

    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn = conn
        conn.execute("CREATE TEMP TABLE IF NOT EXISTS add_unchanged (id TEXT NOT NULL, hash TEXT NOT NULL)")
        conn.execute("DELETE FROM temp.add_unchanged")

    def add(self, source_id: str, digest: str) -> None:
        """Note a source found unchanged (by its content hash as it was read)."""
        self._conn.execute("INSERT INTO temp.add_unchanged (id, hash) VALUES (?, ?)", (source_id, digest))

    def record_read(self, turns: Turns, fetched_at: str) -> None:
        """Record that the sources were read at `fetched_at` (those still holding the same text), in turns."""
        last = 0
        while True:
            turns.ensure()
            rows = self._conn.execute(
                "SELECT rowid, id, hash FROM temp.add_unchanged WHERE rowid > ? ORDER BY rowid LIMIT ?",
                (last, RECORDED_READS),
            ).fetchall()
            if not rows:
                break
            last = rows[-1][0]
            self._conn.executemany(
                "UPDATE sources SET status = 'ok', error = NULL, fetched_at = ?"
                " WHERE id = ? AND content_hash = ?",
                [(fetched_at, source_id, digest) for _, source_id, digest in rows],
            )
            if turns.due():
                turns.commit()
        turns.finish()

    def close(self) -> None:
        """Let the ids go (the table stays, empty, for the connection's next add)."""
        self._conn.execute("DELETE FROM temp.add_unchanged")
