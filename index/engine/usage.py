"""What the front-ends keep beside the index: feedback, the question log, usage figures, settings, stats.

Plain bookkeeping in the index's database, shaped like `FeedRegistry`: the log is handed a function that
gives the calling thread's connection.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Sequence

from index.engine.database import get_meta, now, set_meta, write_transaction
from index.engine.schema import SCHEMA_VERSION
from index.engine.staging import scopes_clause
from index.models import IndexStats, Usage


class UsageLog:
    """Reads and writes the bookkeeping tables; `connection` gives the calling thread's SQLite connection."""

    def __init__(self, connection: Callable[[], sqlite3.Connection]) -> None:
        self._connection = connection

    def record_feedback(self, question: str, paragraph_ids: Sequence[int], vote: int, user_hash: str) -> None:
        """Store a 👍 (vote 1) or 👎 (vote -1) on an answer; `user_hash` is never the raw user id."""
        if vote not in (-1, 1):
            raise ValueError("vote must be 1 or -1")
        conn = self._connection()
        with write_transaction(conn):
            conn.execute(
                "INSERT INTO feedback (question, paragraph_ids, vote, user_hash, created_at)"
                " VALUES (?, ?, ?, ?, ?)",
                (question, ",".join(map(str, paragraph_ids)), vote, user_hash, now()),
            )

    def record_question(self, answered: bool, seconds: float) -> None:
        """Log that a question was answered (or not) and how long it took, for `/admin status`."""
        conn = self._connection()
        with write_transaction(conn):
            conn.execute(
                "INSERT INTO questions (answered, seconds, created_at) VALUES (?, ?, ?)",
                (int(answered), seconds, now()),
            )

    def usage(self) -> Usage:
        """Questions answered and not, feedback counts and answer latency percentiles."""
        conn = self._connection()
        answered, unanswered = conn.execute(
            "SELECT COALESCE(SUM(answered), 0), COALESCE(SUM(1 - answered), 0) FROM questions"
        ).fetchone()
        up, down = conn.execute(
            "SELECT COALESCE(SUM(vote = 1), 0), COALESCE(SUM(vote = -1), 0) FROM feedback"
        ).fetchone()
        latencies = sorted(
            row[0] for row in conn.execute("SELECT seconds FROM questions ORDER BY id DESC LIMIT 10000")
        )
        return Usage(
            int(answered),
            int(unanswered),
            int(up),
            int(down),
            _percentile(latencies, 50),
            _percentile(latencies, 95),
        )

    def get_setting(self, key: str) -> str | None:
        """A value the front-end keeps in the database (e.g. the hash of the last synced commands)."""
        return get_meta(self._connection(), f"setting:{key}")

    def set_setting(self, key: str, value: str) -> None:
        """Keep a front-end value in the database."""
        conn = self._connection()
        with write_transaction(conn):
            set_meta(conn, f"setting:{key}", value)

    def stats(self) -> IndexStats:
        """Size and health of the index."""
        conn = self._connection()
        # What a running add has staged, and a merge's segment being built or merged away, is not the index's.
        within, params = scopes_clause(None)
        sources, paragraphs = conn.execute(
            f"SELECT COUNT(*), COALESCE(SUM(paragraphs), 0) FROM sources {within}", params
        ).fetchone()
        terms = conn.execute("SELECT COUNT(*) FROM terms").fetchone()[0]
        segments = conn.execute(f"SELECT COUNT(*) FROM segments {within}", params).fetchone()[0]
        page_count = conn.execute("PRAGMA page_count").fetchone()[0]
        page_size = conn.execute("PRAGMA page_size").fetchone()[0]
        last_at = get_meta(conn, "last_reindex_at")
        last_seconds = get_meta(conn, "last_reindex_seconds")
        return IndexStats(
            sources=sources,
            paragraphs=paragraphs,
            terms=terms,
            segments=segments,
            database_bytes=page_count * page_size,
            schema_version=SCHEMA_VERSION,
            last_reindex_at=last_at,
            last_reindex_seconds=float(last_seconds) if last_seconds else None,
        )


def _percentile(sorted_values: list[float], percent: int) -> float | None:
    if not sorted_values:
        return None
    rank = max(0, min(len(sorted_values) - 1, round(percent / 100 * len(sorted_values) + 0.5) - 1))
    return sorted_values[rank]
