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
from typing import Any

from index import (
    HEARTBEAT_SETTING,
    AddReport,
    Answer,
    Article,
    FeedRecord,
    Heartbeat,
    IndexStats,
    Paragraph,
    PollReport,
    ReindexReport,
    SourceRecord,
    StorybotError,
    StoryIndex,
    Usage,
)
from index.feeds import FeedPoller
from index.web.policy import FetchPolicy
from index.web.remote import read_link, read_upload

FEEDBACK_KEY_SETTING = "feedback_key"

log = logging.getLogger(__name__)


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
    ) -> None:
        """`stopping` is the event the index's loader checks (see `unless_stopping`); `stop()` sets it."""
        self.index = index
        self.fetch_policy = fetch_policy
        self.poller = poller
        self._stopping = stopping
        self._background: set[asyncio.Task[None]] = set()
        self._key_lock = threading.Lock()

    async def ask(self, question: str, top: int, scopes: Sequence[str]) -> Answer:
        """Answer a new question, and log whether it was answered and how long the search took."""
        started = time.perf_counter()
        answer = await asyncio.to_thread(self.index.ask, question, top, scopes)
        seconds = time.perf_counter() - started
        self._in_background(asyncio.to_thread(self.index.record_question, answer.answered, seconds))
        return answer

    async def page(self, question: str, top: int, scopes: Sequence[str], skip: int) -> Answer:
        """Later passages of a question already asked (not logged again)."""
        return await asyncio.to_thread(self.index.ask, question, top, scopes, skip)

    async def context(
        self, paragraph_id: int, scopes: Sequence[str]
    ) -> tuple[list[Paragraph], SourceRecord | None]:
        """The paragraph with one neighbour on each side, and the article it comes from; nothing unless the
        article is one of `scopes` (what questions asked where the button was clicked search)."""
        return await asyncio.to_thread(self._context, paragraph_id, tuple(scopes))

    async def sources(self, scopes: Sequence[str]) -> list[SourceRecord]:
        """The sources a question asked here would search."""
        return await asyncio.to_thread(self.index.sources, list(scopes))

    async def reindex(self, progress: Callable[[int, int], None]) -> ReindexReport:
        """Re-read every source (links fetched again) and rebuild; `progress` is called from a thread.

        ReindexStopped if `stop()` was called while the sources were being read (nothing was written).
        """

        def report_unless_stopping(done: int, total: int) -> None:
            progress(done, total)
            if self._stopping.is_set() and done < total:
                raise ReindexStopped

        return await asyncio.to_thread(self.index.reindex, report_unless_stopping)

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

    async def remove(self, source_id: str, scopes: Sequence[str]) -> SourceRecord:
        """Remove a source of one of `scopes`; UnknownSource for any other id, whoever holds it."""
        return await asyncio.to_thread(self.index.remove, source_id, list(scopes))

    async def managed(self, scopes: Sequence[str]) -> tuple[list[SourceRecord], list[FeedRecord]]:
        """The sources and followed feeds of `scopes`, for /admin sources and its autocompletes."""
        return await asyncio.to_thread(
            lambda: (self.index.sources(list(scopes)), self.index.feeds.followed(list(scopes)))
        )

    async def follow(self, url: str, scope: str, channel_id: int | None) -> PollReport:
        """Follow a feed in `scope` and index its current articles; SourceError if it is no feed."""
        return await self.poller.follow(url, scope, channel_id)

    async def unfollow(self, url: str, scopes: Sequence[str]) -> FeedRecord:
        """Stop following a feed of one of `scopes`; UnknownFeed if there is none."""
        return await asyncio.to_thread(self.index.feeds.unfollow, url, list(scopes))

    async def status(self) -> tuple[IndexStats, Usage]:
        """Index size and usage, for /admin status."""
        return await asyncio.to_thread(lambda: (self.index.stats(), self.index.usage()))

    async def record_feedback(
        self, question: str, paragraph_ids: Sequence[int], vote: int, user_id: int
    ) -> None:
        """Store a 👍 (1) or 👎 (-1) under a keyed hash of the user id, never the id itself."""
        await asyncio.to_thread(self._record_feedback, question, paragraph_ids, vote, user_id)

    async def get_setting(self, key: str) -> str | None:
        """A value the bot keeps in the database."""
        return await asyncio.to_thread(self.index.get_setting, key)

    async def set_setting(self, key: str, value: str) -> None:
        """Keep a value in the database."""
        await asyncio.to_thread(self.index.set_setting, key, value)

    async def record_heartbeat(self, heartbeat: Heartbeat) -> None:
        """Keep the bot's heartbeat in the database for `storybot health`; a failed write (a locked or
        read-only database) is logged, never raised: the bot answering matters more than its heartbeat."""
        try:
            await asyncio.to_thread(self.index.set_setting, HEARTBEAT_SETTING, heartbeat.to_setting())
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

    def _in_background(self, work: Coroutine[Any, Any, None]) -> None:
        task = asyncio.create_task(work)
        self._background.add(task)
        task.add_done_callback(self._finished)

    def _finished(self, task: asyncio.Task[None]) -> None:
        self._background.discard(task)
        if not task.cancelled() and (error := task.exception()) is not None:
            log.error("background bookkeeping failed", exc_info=error)
