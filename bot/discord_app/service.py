"""The bot's use of the core: each call runs the blocking `StoryIndex` in a worker thread.

`StoryIndex` opens one SQLite connection per thread, so calling it from the default thread pool is safe.
Bookkeeping that users need not wait for (the question log) runs after the answer, in the background.
Links are fetched on the event loop (aiohttp, never blocking it); parsing and indexing run in threads.
`stop()` makes a running reindex give up before it writes anything, so the bot can stop promptly.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import logging
import secrets
import sqlite3
import threading
import time
from collections.abc import Callable, Coroutine, Sequence
from datetime import UTC, datetime
from typing import Any

from bot.discord_app.picks import picked_feed, picked_source
from bot.discord_app.time_zones import ServerZone, canonical_zone, zone_in_use, zone_key
from index import (
    EVERYTHING,
    HEARTBEAT_SETTING,
    AddReport,
    Answer,
    Article,
    DateWindow,
    Explanation,
    FeedRecord,
    Heartbeat,
    IndexStats,
    Paragraph,
    PollReport,
    ReadOnlyDatabase,
    ReindexLeases,
    ReindexReport,
    SourceRecord,
    StorybotError,
    StoryIndex,
    TimelineEntry,
    UnknownFeed,
    UnknownSource,
    Usage,
    parse_window,
)
from index.feeds import FeedPoller
from index.web.policy import FetchPolicy
from index.web.remote import read_link, read_upload

FEEDBACK_KEY_SETTING = "feedback_key"

log = logging.getLogger(__name__)

READ_ONLY_WARNING = (
    "the database %s is read-only here: questions are answered, but nothing is recorded (question log, "
    "votes, settings) and admin changes are refused"
)


class ReindexStopped(Exception):
    """The bot is stopping: a reindex gave up while reading its sources, before writing anything."""


def unless_stopping(
    load: Callable[[str], list[Article]], stopping: threading.Event
) -> Callable[[str], list[Article]]:
    """`load`, refusing with `ReindexStopped` once `stopping` is set: a reindex run for the bot reads no
    source after the bot began to stop."""

    def load_unless_stopping(origin: str) -> list[Article]:
        if stopping.is_set():
            raise ReindexStopped
        return load(origin)

    return load_unless_stopping


class StoryService:
    """Async front of the index for the bot's handlers."""

    def __init__(
        self,
        index: StoryIndex,
        fetch_policy: FetchPolicy,
        poller: FeedPoller,
        stopping: threading.Event,
        *,
        time_zone: str = "UTC",
        heartbeat_key: str = HEARTBEAT_SETTING,
    ) -> None:
        """`stopping` is the event the index's loader checks (see `unless_stopping`); `stop()` sets it.
        `time_zone` is the operator's zone: where relative dates ("yesterday") in since/until are counted
        in DMs and in servers that chose none (`/admin timezone`). `heartbeat_key` is the setting this
        process's heartbeat is kept under (`index.heartbeat_setting` of its shards)."""
        self.index = index
        self._heartbeat_key = heartbeat_key
        self.time_zone = time_zone
        self.clock: Callable[[], datetime] = lambda: datetime.now(UTC)
        """The instant relative dates count from (a test sets a fixed one)."""
        self.fetch_policy = fetch_policy
        self.poller = poller
        self._stopping = stopping
        self._background: set[asyncio.Task[object]] = set()
        self._key_lock = threading.Lock()
        self._read_only_lock = threading.Lock()
        self._warned_read_only = False

    async def ask(
        self, question: str, top: int, scopes: Sequence[str], window: DateWindow | None = None
    ) -> Answer:
        """Answer a new question, and log whether it was answered and how long the search took."""
        started = time.perf_counter()
        answer = await asyncio.to_thread(self.index.ask, question, top, scopes, 0, window)
        seconds = time.perf_counter() - started
        self._in_background(
            asyncio.to_thread(self._bookkeeping, lambda: self.index.record_question(answer.answered, seconds))
        )
        return answer

    async def page(
        self, question: str, top: int, scopes: Sequence[str], skip: int, window: DateWindow | None = None
    ) -> Answer:
        """Later passages of a question already asked (not logged again)."""
        return await asyncio.to_thread(self.index.ask, question, top, scopes, skip, window)

    async def window(self, since: str | None, until: str | None, guild_id: int | None) -> DateWindow | None:
        """The days `since` and `until` name as a member typed them, in the time zone of the server (or the
        operator's in a DM); DateError if one is no date (dateparser's first call loads its data, so off
        the event loop)."""

        def window() -> DateWindow | None:
            zone = self._zone_for(guild_id).name
            return parse_window(since, until, zone, self.clock())

        return await asyncio.to_thread(window)

    async def zone_for(self, guild_id: int | None) -> ServerZone:
        """The time zone dates are read in for a server (its own, else the operator's); a DM's is the
        operator's."""
        return await asyncio.to_thread(self._zone_for, guild_id)

    async def set_zone(self, guild_id: int, typed: str) -> ServerZone:
        """Read a server's dates in the IANA zone `typed` from now on; DateError if there is no such zone,
        ReadOnlyDatabase if the database cannot be written."""

        def set_zone() -> ServerZone:
            name = canonical_zone(typed)  # the first call lists the tz database: off the event loop too
            self.index.set_setting(zone_key(guild_id), name)
            return ServerZone(name, True)

        return await asyncio.to_thread(set_zone)

    @property
    def read_only(self) -> bool:
        """Whether the database cannot be written here: answers work, bookkeeping and admin changes do not."""
        return self.index.read_only

    def warn_read_only(self) -> None:
        """Log once that the database is read-only (then stay quiet: every question would say it again)."""
        with self._read_only_lock:  # writes skipped in several threads at once still log one line
            if self._warned_read_only:
                return
            self._warned_read_only = True
        log.warning(READ_ONLY_WARNING, self.index.path)

    async def explain(
        self, question: str, paragraph_id: int, scopes: Sequence[str], window: DateWindow | None
    ) -> Explanation | None:
        """Why the paragraph is among the question's passages; None if it is not among them any more."""
        return await asyncio.to_thread(self.index.explain, question, paragraph_id, scopes, window)

    async def timeline(
        self, scopes: Sequence[str], about: str | None, window: DateWindow | None = None
    ) -> tuple[TimelineEntry, ...]:
        """The view's sources in date order; with `about`, only those holding its words; with `window`,
        only those dated inside it."""
        return await asyncio.to_thread(self.index.timeline, scopes, about, window)

    async def context(
        self, paragraph_id: int, scopes: Sequence[str]
    ) -> tuple[list[Paragraph], SourceRecord | None]:
        """The paragraph with one neighbour on each side, and the article it comes from; nothing unless the
        article is one of `scopes` (what questions asked where the button was clicked search)."""
        return await asyncio.to_thread(self._context, paragraph_id, tuple(scopes))

    async def sources(self, scopes: Sequence[str]) -> list[SourceRecord]:
        """The sources a question asked here would search."""
        return await asyncio.to_thread(self.index.sources, list(scopes))

    async def reindex(self, progress: Callable[[int, int], None], scope: str, holder: str) -> ReindexReport:
        """Re-read the sources of `scope` (a scope, or EVERYTHING; links fetched again) and rebuild, under
        the reindex lease of `scope` held for `holder`; `progress` is called from a thread.

        LeaseTaken if another reindex (in any process on the database) holds an overlapping lease;
        ReindexStopped if `stop()` was called while the sources were being read (nothing was written).
        """

        def report_unless_stopping(done: int, total: int) -> None:
            progress(done, total)
            if self._stopping.is_set() and done < total:
                raise ReindexStopped

        def reindex_under_lease() -> ReindexReport:
            scopes = None if scope == EVERYTHING else [scope]
            with ReindexLeases(self.index.path) as leases, leases.holding(scope, holder):
                return self.index.reindex(report_unless_stopping, scopes=scopes)

        return await asyncio.to_thread(reindex_under_lease)

    def stop(self) -> None:
        """Make a running reindex give up before its next source (thread-safe)."""
        self._stopping.set()

    async def add_link(self, url: str, scope: str) -> AddReport:
        """Fetch a link and index its article into `scope`; SourceError says why not."""
        articles = await read_link(url, self.fetch_policy)
        return await asyncio.to_thread(self.index.add_articles, articles, scope)

    async def add_upload(self, data: bytes, filename: str, scope: str) -> AddReport:
        """Index an uploaded file (txt, md, html, jsonl) into `scope`; SourceError says why not."""
        max_bytes = self.fetch_policy.max_bytes
        articles = await asyncio.to_thread(read_upload, data, filename, scope=scope, max_bytes=max_bytes)
        return await asyncio.to_thread(self.index.add_articles, articles, scope)

    async def remove(self, picked: str, scopes: Sequence[str]) -> SourceRecord:
        """Remove the source of one of `scopes` that `picked` names (an autocomplete key, a full id or the
        article's link); UnknownSource for anything else, whoever holds it."""

        def remove() -> SourceRecord:
            record = picked_source(picked, self.index.sources(list(scopes)))
            if record is None:
                raise UnknownSource(f"no source {picked!r} here; `/admin sources` lists them")
            return self.index.remove(record.id, [record.scope])

        return await asyncio.to_thread(remove)

    async def managed(self, scopes: Sequence[str]) -> tuple[list[SourceRecord], list[FeedRecord]]:
        """The sources and followed feeds of `scopes`, for /admin sources and its autocompletes."""
        return await asyncio.to_thread(
            lambda: (self.index.sources(list(scopes)), self.index.feeds.followed(list(scopes)))
        )

    async def follow(self, url: str, scope: str, channel_id: int | None) -> PollReport:
        """Follow a feed in `scope` and index its current articles; SourceError if it is no feed."""
        return await self.poller.follow(url, scope, channel_id)

    async def unfollow(self, picked: str, scopes: Sequence[str]) -> FeedRecord:
        """Stop following the feed of one of `scopes` that `picked` names (an autocomplete key or the
        feed's link); UnknownFeed if there is none."""

        def unfollow() -> FeedRecord:
            feed = picked_feed(picked, self.index.feeds.followed(list(scopes)))
            if feed is None:
                raise UnknownFeed(f"no followed feed {picked!r} here; `/admin sources` lists the feeds")
            return self.index.feeds.unfollow(feed.url, [feed.scope])

        return await asyncio.to_thread(unfollow)

    async def status(self) -> tuple[IndexStats, Usage]:
        """Index size and usage, for /admin status."""
        return await asyncio.to_thread(lambda: (self.index.stats(), self.index.usage()))

    async def record_feedback(
        self, question: str, paragraph_ids: Sequence[int], vote: int, user_id: int
    ) -> bool:
        """Store a 👍 (1) or 👎 (-1) under a keyed hash of the user id, never the id itself; False if it
        could not be stored because the database is read-only."""
        return await asyncio.to_thread(
            self._bookkeeping, lambda: self._record_feedback(question, paragraph_ids, vote, user_id)
        )

    async def get_setting(self, key: str) -> str | None:
        """A value the bot keeps in the database."""
        return await asyncio.to_thread(self.index.get_setting, key)

    async def set_setting(self, key: str, value: str) -> None:
        """Keep a value in the database; ReadOnlyDatabase if it cannot be written."""
        await asyncio.to_thread(self.index.set_setting, key, value)

    async def remember(self, key: str, value: str) -> bool:
        """Keep a value the bot can do without (a cache, such as the synced commands' hash); False, with
        the one read-only warning, if the database cannot be written."""
        return await asyncio.to_thread(self._bookkeeping, lambda: self.index.set_setting(key, value))

    async def record_heartbeat(self, heartbeat: Heartbeat) -> None:
        """Keep the bot's heartbeat in the database for `storybot health`; a failed write (a locked or
        read-only database) is logged, never raised: the bot answering matters more than its heartbeat."""
        try:
            await asyncio.to_thread(self.index.set_setting, self._heartbeat_key, heartbeat.to_setting())
        except (StorybotError, sqlite3.Error) as error:
            log.warning("could not record the bot's heartbeat for `storybot health`: %s", error)

    async def drain(self) -> None:
        """Wait for background bookkeeping (before closing the index)."""
        if self._background:
            await asyncio.gather(*self._background, return_exceptions=True)

    def user_hash(self, user_id: int) -> str:
        """A stable pseudonym for a user: HMAC-SHA256 of the id under a key kept in the database."""
        with self._key_lock:
            key = self.index.get_setting(FEEDBACK_KEY_SETTING)
            if key is None:
                key = secrets.token_hex(32)
                self.index.set_setting(FEEDBACK_KEY_SETTING, key)
        return hmac.new(bytes.fromhex(key), str(user_id).encode(), hashlib.sha256).hexdigest()

    def _bookkeeping(self, write: Callable[[], None]) -> bool:
        """Run a write the answer does not depend on; on a read-only database skip it (or, if the database
        turned read-only meanwhile, swallow the refusal), warn once, and say False."""
        if self.index.read_only:
            self.warn_read_only()
            return False
        try:
            write()
        except ReadOnlyDatabase:
            self.warn_read_only()
            return False
        return True

    def _zone_for(self, guild_id: int | None) -> ServerZone:
        chosen = None if guild_id is None else self.index.get_setting(zone_key(guild_id))
        return zone_in_use(chosen, self.time_zone)

    def _record_feedback(self, question: str, paragraph_ids: Sequence[int], vote: int, user_id: int) -> None:
        self.index.record_feedback(question, paragraph_ids, vote, self.user_hash(user_id))

    def _context(
        self, paragraph_id: int, scopes: tuple[str, ...]
    ) -> tuple[list[Paragraph], SourceRecord | None]:
        paragraphs = self.index.context(paragraph_id, before=1, after=1)
        if not paragraphs:
            return paragraphs, None
        source = self.index.source(paragraphs[0].source_id)
        if source is None or source.scope not in scopes:
            return [], None  # the same answer as for a paragraph that is gone: nothing leaks
        return paragraphs, source

    def _in_background(self, work: Coroutine[Any, Any, object]) -> None:
        task = asyncio.create_task(work)
        self._background.add(task)
        task.add_done_callback(self._finished)

    def _finished(self, task: asyncio.Task[object]) -> None:
        self._background.discard(task)
        if not task.cancelled() and (error := task.exception()) is not None:
            log.error("background bookkeeping failed", exc_info=error)
