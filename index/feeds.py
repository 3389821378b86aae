"""Following a developing story: RSS and Atom feeds polled with conditional GETs, new articles indexed.

`FeedPoller` is the whole job without Discord: follow a feed (its current articles are indexed at once), poll
the feeds that are due, and say what each poll indexed, so a front-end can announce it. The polling state
lives in SQLite (`index.engine.feed_registry`), so a restart carries on where polling stopped. One feed
failing, in any way, never stops the others.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import replace
from typing import Any
from urllib.parse import urljoin

from index.errors import FetchError, SourceError
from index.library import StoryIndex
from index.models import AddReport, Article, FeedItem, FeedRecord, PollReport
from index.web.fetcher import Fetched, Resolve, fetch, system_resolve
from index.web.policy import FEED_TYPES, FetchPolicy
from index.web.remote import read_link

DEFAULT_INTERVAL = 60 * 60.0
"""Seconds between two polls of a feed, unless the operator sets another interval."""

MAX_NEW_ITEMS = 20
"""Articles fetched per poll of one feed; older new entries beyond it are passed over."""

log = logging.getLogger(__name__)


def parse_feed(fetched: Fetched) -> tuple[str | None, list[FeedItem]]:
    """The title and entries of an RSS or Atom document, in feed order; SourceError if it is neither."""
    # Imported here: feedparser is only needed by the bot's poller and `storybot follow`.
    import feedparser  # noqa: PLC0415

    # Bytes, never a string: feedparser would take a string for a URL or a file name to open.
    parsed: Any = feedparser.parse(
        fetched.body,
        response_headers={"content-type": _content_type(fetched), "content-location": fetched.url},
    )
    if not parsed.get("version"):
        raise FetchError(f"{fetched.url}: not an RSS or Atom feed")
    items: list[FeedItem] = []
    seen: set[str] = set()
    for entry in parsed.entries:
        link = entry.get("link")
        link = urljoin(fetched.url, link) if link else None
        title = " ".join(str(entry.get("title") or "").split()) or link or "Untitled"
        key = str(entry.get("id") or link or title)
        if key not in seen:
            seen.add(key)
            items.append(FeedItem(key=key, title=title, link=link, published=_entry_day(entry)))
    title = " ".join(str(parsed.feed.get("title") or "").split()) or None
    return title, items


class FeedPoller:
    """Follows feeds and polls them for new articles, indexing each into its feed's scope."""

    def __init__(
        self,
        index: StoryIndex,
        policy: FetchPolicy,
        *,
        interval: float = DEFAULT_INTERVAL,
        max_items: int = MAX_NEW_ITEMS,
        concurrency: int = 4,
        resolve: Resolve = system_resolve,
    ) -> None:
        self.index = index
        self.policy = policy
        self.interval = interval
        self.max_items = max_items
        self._concurrency = concurrency
        self._resolve = resolve

    async def follow(self, url: str, scope: str, channel_id: int | None = None) -> PollReport:
        """Follow a feed and index its current articles; SourceError (nothing stored) if it is no feed."""
        fetched = await self._fetch_feed(url)
        title, items = await asyncio.to_thread(parse_feed, fetched)
        feed = await asyncio.to_thread(self.index.feeds.follow, url, scope, channel_id, title)
        return await self._take(feed, fetched, title, items)

    async def poll(self, feed: FeedRecord) -> PollReport:
        """Poll one feed: a conditional GET, then the new entries' articles fetched and indexed."""
        try:
            fetched = await self._fetch_feed(feed.url, feed.etag, feed.last_modified)
            if fetched.not_modified:
                validators = (fetched.etag or feed.etag, fetched.last_modified or feed.last_modified)
                updated = await asyncio.to_thread(
                    self.index.feeds.record_poll, feed.id, validators=validators
                )
                return PollReport(updated or feed, not_modified=True)
            title, items = await asyncio.to_thread(parse_feed, fetched)
        except SourceError as error:
            updated = await asyncio.to_thread(self.index.feeds.record_poll, feed.id, error=str(error))
            return PollReport(updated or feed, error=str(error))
        return await self._take(feed, fetched, title, items)

    async def poll_due(self, owns: Callable[[str], bool] = lambda _scope: True) -> list[PollReport]:
        """Poll every feed that is due (and whose scope `owns` says this process serves), a few at a time."""
        due = await asyncio.to_thread(self.index.feeds.due, self.interval)
        gate = asyncio.Semaphore(self._concurrency)

        async def guarded(feed: FeedRecord) -> PollReport:
            async with gate:
                try:
                    return await self.poll(feed)
                except Exception as error:  # one failing feed never stops the others
                    log.exception("polling the feed %s failed", feed.url)
                    reason = f"{type(error).__name__}: {error}"
                    # Noted as polled, or a feed that always fails this way would be retried at once.
                    await asyncio.to_thread(self._note_failure, feed.id, reason)
                    return PollReport(feed, error=reason)

        return list(await asyncio.gather(*(guarded(feed) for feed in due if owns(feed.scope))))

    async def seconds_until_due(self) -> float | None:
        """How long until the next poll is due (0 when one is); None when no feed is followed."""
        return await asyncio.to_thread(self.index.feeds.seconds_until_due, self.interval)

    async def _fetch_feed(
        self, url: str, etag: str | None = None, last_modified: str | None = None
    ) -> Fetched:
        return await fetch(
            url,
            self.policy,
            accept=FEED_TYPES,
            etag=etag,
            last_modified=last_modified,
            resolve=self._resolve,
        )

    async def _take(
        self, feed: FeedRecord, fetched: Fetched, title: str | None, items: list[FeedItem]
    ) -> PollReport:
        """Fetch and index the entries not taken yet, then note the poll."""
        unseen = await asyncio.to_thread(self.index.feeds.unseen, feed.id, [item.key for item in items])
        new = [item for item in items if item.key in unseen]
        chosen, passed_over = new[: self.max_items], new[self.max_items :]
        articles: list[Article] = []
        taken: list[FeedItem] = []
        failed: list[tuple[str, str]] = []
        for item in chosen:
            if item.link is None:
                taken.append(item)  # nothing to fetch: an entry without a link is only noted
                continue
            try:
                read = await read_link(item.link, self.policy, resolve=self._resolve)
                # The page's own date wins; the feed's says when an undated page appeared.
                articles.extend(
                    replace(article, published=article.published or item.published) for article in read
                )
            except SourceError as error:
                failed.append((item.link, str(error)))
            else:
                taken.append(item)
        report = (
            await asyncio.to_thread(self.index.add_articles, articles, feed.scope)
            if articles
            else AddReport()
        )
        # New validators only after a complete read: with a failed entry the next poll reads the feed again.
        validators = None if failed else (fetched.etag, fetched.last_modified)
        updated = await asyncio.to_thread(
            self.index.feeds.record_poll,
            feed.id,
            title=title,
            validators=validators,
            seen=[*taken, *passed_over],
        )
        return PollReport(
            updated or feed,
            indexed=report.added + report.updated + report.unchanged,
            new_items=tuple(item for item in taken if item.link is not None),
            failed=tuple(failed),
        )

    def _note_failure(self, feed_id: int, reason: str) -> None:
        try:
            self.index.feeds.record_poll(feed_id, error=reason)
        except Exception:  # the database itself may be what failed; the next round tries again
            log.exception("could not note the failed poll of feed %s", feed_id)


def _entry_day(entry: Any) -> str | None:
    """The day an entry was published (else updated), in UTC as feedparser reads it; None if neither."""
    for key in ("published_parsed", "updated_parsed"):
        moment = entry.get(key)
        if moment:
            return f"{moment.tm_year:04d}-{moment.tm_mon:02d}-{moment.tm_mday:02d}"
    return None


def _content_type(fetched: Fetched) -> str:
    if fetched.charset:
        return f"{fetched.media_type}; charset={fetched.charset}"
    return fetched.media_type
