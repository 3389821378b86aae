"""The followed feeds and where polling stands, kept in the index's database so polling survives restarts.

One row per feed and scope (`feeds`): where its articles go, the channel that hears about them, the
validators of the last full read (ETag, Last-Modified) for a conditional GET, and when it was last polled.
`feed_items` remembers the entries already taken, so a restart never indexes or announces one twice.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

from index.engine.database import in_chunks, now, storage_errors, write_transaction
from index.errors import UnknownFeed
from index.models import FeedItem, FeedRecord

_FEED_COLUMNS = "id, url, scope, channel_id, title, added_at, polled_at, status, error, etag, last_modified"


class FeedRegistry:
    """Reads and writes the feed tables; `connection` gives the calling thread's SQLite connection."""

    def __init__(self, connection: Callable[[], sqlite3.Connection], path: Path) -> None:
        self._connection = connection
        self.path = path
        """The database's file, named by the storage errors its methods raise."""

    @storage_errors
    def follow(self, url: str, scope: str, channel_id: int | None, title: str | None) -> FeedRecord:
        """Follow a feed in a scope; following it again there only changes the channel (and title)."""
        conn = self._connection()
        with write_transaction(conn):
            conn.execute(
                "INSERT INTO feeds (url, scope, channel_id, title, added_at) VALUES (?, ?, ?, ?, ?)"
                " ON CONFLICT (url, scope) DO UPDATE SET channel_id = excluded.channel_id,"
                " title = COALESCE(excluded.title, feeds.title)",
                (url, scope, channel_id, title, now()),
            )
        record = self.find(url, scope)
        assert record is not None
        return record

    @storage_errors
    def unfollow(self, url: str, scopes: Sequence[str]) -> FeedRecord:
        """Stop following a feed of one of `scopes` (its articles stay); UnknownFeed if there is none."""
        conn = self._connection()
        with write_transaction(conn):
            marks = ",".join("?" * len(scopes))
            row = conn.execute(
                f"SELECT {_FEED_COLUMNS} FROM feeds WHERE url = ? AND scope IN ({marks}) ORDER BY id LIMIT 1",
                [url, *scopes],
            ).fetchone()
            if row is None:
                raise UnknownFeed(f"no followed feed {url!r} here; `/admin sources` lists the feeds")
            conn.execute("DELETE FROM feeds WHERE id = ?", (row[0],))
        return FeedRecord(*row)

    @storage_errors
    def find(self, url: str, scope: str) -> FeedRecord | None:
        """The feed followed at `url` in `scope`, if any."""
        row = (
            self._connection()
            .execute(f"SELECT {_FEED_COLUMNS} FROM feeds WHERE url = ? AND scope = ?", (url, scope))
            .fetchone()
        )
        return FeedRecord(*row) if row else None

    @storage_errors
    def followed(self, scopes: Sequence[str] | None = None) -> list[FeedRecord]:
        """The followed feeds, oldest first; only those of `scopes` when given."""
        query = f"SELECT {_FEED_COLUMNS} FROM feeds"
        params: list[str] = []
        if scopes is not None:
            query += f" WHERE scope IN ({','.join('?' * len(scopes))})"
            params = list(scopes)
        return [FeedRecord(*row) for row in self._connection().execute(query + " ORDER BY id", params)]

    @storage_errors
    def due(self, interval: float, at: datetime | None = None) -> list[FeedRecord]:
        """The feeds never polled, or last polled `interval` seconds or more before `at` (now)."""
        moment = at or datetime.now(UTC)
        return [feed for feed in self.followed() if _next_poll(feed, interval) <= moment]

    @storage_errors
    def seconds_until_due(self, interval: float, at: datetime | None = None) -> float | None:
        """How long until the next feed is due (0 when one is), or None when no feed is followed."""
        moment = at or datetime.now(UTC)
        feeds = self.followed()
        if not feeds:
            return None
        return max(0.0, min((_next_poll(feed, interval) - moment).total_seconds() for feed in feeds))

    @storage_errors
    def unseen(self, feed_id: int, keys: Sequence[str]) -> set[str]:
        """The entry keys of a feed not taken yet."""
        conn = self._connection()
        seen: set[str] = set()
        for chunk, marks in in_chunks(keys):
            seen.update(
                row[0]
                for row in conn.execute(
                    f"SELECT key FROM feed_items WHERE feed_id = ? AND key IN ({marks})", [feed_id, *chunk]
                )
            )
        return set(keys) - seen

    @storage_errors
    def record_poll(
        self,
        feed_id: int,
        *,
        error: str | None = None,
        title: str | None = None,
        validators: tuple[str | None, str | None] | None = None,
        seen: Sequence[FeedItem] = (),
    ) -> FeedRecord | None:
        """Note a poll: when, how it went, the entries taken, and (after a complete read) the validators.

        Without `validators` the previous ones are kept, so the next poll reads the feed in full again if
        it changed: entries that failed this time are tried again then.
        """
        conn = self._connection()
        # Milliseconds: a poll interval may be short (tests use a second or so).
        polled_at = datetime.now(UTC).isoformat(timespec="milliseconds")
        with write_transaction(conn):
            if conn.execute("SELECT 1 FROM feeds WHERE id = ?", (feed_id,)).fetchone() is None:
                return None  # unfollowed while it was being polled
            conn.execute(
                "UPDATE feeds SET polled_at = ?, status = ?, error = ?, title = COALESCE(?, title)"
                " WHERE id = ?",
                (polled_at, "failed" if error else "ok", error, title, feed_id),
            )
            if validators is not None:
                conn.execute(
                    "UPDATE feeds SET etag = ?, last_modified = ? WHERE id = ?", (*validators, feed_id)
                )
            conn.executemany(
                "INSERT OR IGNORE INTO feed_items (feed_id, key, link, seen_at) VALUES (?, ?, ?, ?)",
                [(feed_id, item.key, item.link, polled_at) for item in seen],
            )
        row = conn.execute(f"SELECT {_FEED_COLUMNS} FROM feeds WHERE id = ?", (feed_id,)).fetchone()
        return FeedRecord(*row) if row else None


def _next_poll(feed: FeedRecord, interval: float) -> datetime:
    if feed.polled_at is None:
        return datetime.min.replace(tzinfo=UTC)
    return datetime.fromisoformat(feed.polled_at) + timedelta(seconds=interval)
