"""The values that cross the core's boundary: what a reader produces, what is stored, what a question gets."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

SHARED_SCOPE = "shared"
"""The scope of sources every server and every DM sees (the built-in story among them)."""

GUILD_SCOPE_PREFIX = "guild:"
"""A Discord server's own sources are in the scope `guild:<server id>`."""

_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}(?:$|[T ])")


def guild_scope(guild_id: int | str) -> str:
    """The scope of one Discord server's own sources."""
    return f"{GUILD_SCOPE_PREFIX}{guild_id}"


def guild_of(scope: str) -> int | None:
    """The Discord server whose own sources `scope` holds (`guild_scope` inverted); None if no server's."""
    if not scope.startswith(GUILD_SCOPE_PREFIX):
        return None
    return int(scope.removeprefix(GUILD_SCOPE_PREFIX))


def iso_date(value: str | None) -> str | None:
    """The day of an ISO date or timestamp, its first 10 characters; None if `value` is not one."""
    if value and _ISO_DATE.match(value):
        return value[:10]
    return None


def source_day(published: str | None, added_at: str | None) -> tuple[str | None, bool]:
    """A source's day and whether it is only the day it was added: its publication day when that is an ISO
    date (or timestamp), else the day it was added. `SOURCE_DAY_SQL` is the same rule in SQL."""
    day = iso_date(published)
    if day is not None:
        return day, False
    return iso_date(added_at), True


_ISO_GLOB = "[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]"
SOURCE_DAY_SQL = (
    f"CASE WHEN s.published GLOB '{_ISO_GLOB}' OR s.published GLOB '{_ISO_GLOB}[T ]*'"
    " THEN substr(s.published, 1, 10) ELSE substr(s.added_at, 1, 10) END"
)
"""`source_day`'s day of the source `s` in SQL, for filtering and ordering by it inside a query."""


@dataclass(frozen=True)
class DateWindow:
    """The days a question's sources may be from, both ends included; None leaves that end open."""

    since: str | None = None
    """An ISO day (YYYY-MM-DD)."""
    until: str | None = None

    def holds(self, day: str | None) -> bool:
        """Whether a source of this day is inside the window (a source with no day is only in an open one)."""
        if day is None:
            return self.since is None and self.until is None
        return (self.since is None or day >= self.since) and (self.until is None or day <= self.until)

    def describe(self) -> str:
        """The window as a reader says it: "since 2024-05-27", "from 2024-05-01 to 2024-05-27"."""
        if self.since and self.until:
            return f"from {self.since} to {self.until}"
        if self.since:
            return f"since {self.since}"
        if self.until:
            return f"until {self.until}"
        return "at any date"


def view_scopes(guild_id: int | str | None) -> tuple[str, ...]:
    """What a question searches: the shared sources, and in a server that server's own too."""
    return (SHARED_SCOPE,) if guild_id is None else (SHARED_SCOPE, guild_scope(guild_id))


@dataclass(frozen=True)
class Article:
    """One article as read from a source, before it is stored: clean paragraphs and metadata."""

    source_id: str
    title: str
    paragraphs: tuple[str, ...]
    origin: str
    url: str | None = None
    outlet: str | None = None
    author: str | None = None
    published: str | None = None


def content_hash(article: Article) -> str:
    """A stable fingerprint of what an article says, to tell a changed source from an unchanged one.

    Each field is length-prefixed (None told apart from ""), so no two articles share the bytes hashed.
    """
    parts = [
        *map(_hashed_field, (article.title, article.url, article.outlet, article.author, article.published)),
        len(article.paragraphs).to_bytes(8, "little"),
        *map(_hashed_field, article.paragraphs),
    ]
    return hashlib.sha256(b"".join(parts)).hexdigest()


def _hashed_field(value: str | None) -> bytes:
    if value is None:
        return b"\x00"
    data = value.encode("utf-8", "surrogatepass")
    return b"\x01" + len(data).to_bytes(8, "little") + data


@dataclass(frozen=True)
class SourceRecord:
    """A stored source: where it came from, what it is, and how it was last read."""

    id: str
    title: str
    origin: str
    scope: str
    paragraphs: int
    content_hash: str
    added_at: str
    updated_at: str
    url: str | None = None
    outlet: str | None = None
    author: str | None = None
    published: str | None = None
    status: str = "ok"
    """"ok"; "stale" when the last re-read failed and the last good copy is kept."""
    error: str | None = None
    fetched_at: str | None = None
    """When the source was last read successfully (added, or re-read by a reindex)."""


@dataclass(frozen=True)
class FeedRecord:
    """A followed RSS or Atom feed: where its new articles go, and where polling stands."""

    id: int
    url: str
    scope: str
    channel_id: int | None
    title: str | None
    added_at: str
    polled_at: str | None = None
    status: str = "ok"
    """"ok", or "failed" when the last poll could not read the feed."""
    error: str | None = None
    etag: str | None = None
    last_modified: str | None = None


@dataclass(frozen=True)
class FeedItem:
    """One entry of a feed: the article it links to."""

    key: str
    """The entry's id (guid), else its link: what tells a new entry from one already seen."""
    title: str
    link: str | None
    published: str | None = None
    """The entry's own date (ISO day), for an article whose page gives none."""


@dataclass(frozen=True)
class PollReport:
    """What one poll of a feed did: the articles it indexed, and what went wrong."""

    feed: FeedRecord
    indexed: tuple[SourceRecord, ...] = ()
    new_items: tuple[FeedItem, ...] = ()
    """The new entries whose articles were indexed, in feed order (what an announcement lists)."""
    not_modified: bool = False
    error: str | None = None
    """Why the feed itself could not be read (the feed is then marked failed)."""
    failed: tuple[tuple[str, str], ...] = ()
    """(link, reason) for new entries whose article could not be read; they are tried again later."""


DEFAULT_TOP = 3
"""Passages an answer shows unless the asker says otherwise (the CLI's --top, /ask's results)."""

ANSWER_THRESHOLD = 0.45
"""The confidence an answer's best passage needs for the articles to count as answering the question."""


@dataclass(frozen=True)
class Citation:
    """What a user needs to trust a passage: which article, where to read it, and when it appeared."""

    id: str
    title: str
    url: str | None
    outlet: str | None
    published: str | None
    added_at: str | None = None
    """When the source was added: its date when it gives no publication date of its own."""

    @property
    def date(self) -> str | None:
        """The source's day (YYYY-MM-DD): published, else added (see `date_is_added`)."""
        return source_day(self.published, self.added_at)[0]

    @property
    def date_is_added(self) -> bool:
        """Whether `date` is only when the source was added, since it gives no publication date."""
        return source_day(self.published, self.added_at)[1]

    def to_json(self) -> dict[str, Any]:
        """The `source` object of the JSON answer."""
        return {
            "id": self.id,
            "title": self.title,
            "url": self.url,
            "outlet": self.outlet,
            "published": self.published,
            "date": self.date,
            "dated_by": "added" if self.date_is_added else "published",
        }


@dataclass(frozen=True)
class TimelineEntry:
    """One source in a story's timeline: when, who, and the sentence that tells what it reported."""

    source: Citation
    sentence: str

    def to_json(self) -> dict[str, Any]:
        """One entry of `storybot timeline --json`."""
        return {**self.source.to_json(), "sentence": self.sentence}


@dataclass(frozen=True)
class Passage:
    """A ranked paragraph: its text, score, place in its article, source and best-matching sentence."""

    rank: int
    score: float
    text: str
    highlight: str
    paragraph: int
    paragraphs: int
    source: Citation
    paragraph_id: int
    coverage: float
    also_in: tuple[Citation, ...] = ()
    """The other sources carrying the same paragraph (a syndicated story, a page added twice), best first."""
    bm25: float = 0.0
    """The first stage's BM25Okapi score; `score` is the second stage's, which ordered the passages."""
    earlier_report: bool = False
    """A newer source in the same answer holds every question term this passage holds."""

    def to_json(self) -> dict[str, Any]:
        """The JSON shape of one result of `storybot ask --json`."""
        return {
            "rank": self.rank,
            "score": self.score,
            "text": self.text,
            "highlight": self.highlight,
            "paragraph": self.paragraph,
            "paragraphs": self.paragraphs,
            "source": self.source.to_json(),
            "also_in": [citation.to_json() for citation in self.also_in],
            "earlier_report": self.earlier_report,
        }


@dataclass(frozen=True)
class Answer:
    """The reply to a question: answered or not, a plain message, and the passages (closest ones if not)."""

    question: str
    answered: bool
    message: str
    results: tuple[Passage, ...]
    matched: int = 0
    """How many paragraphs share at least one informative term with the question."""
    confidence: float = 0.0
    """How surely the best passage answers, in [0, 1]: answered exactly when it reaches `ANSWER_THRESHOLD`."""
    more: bool = False
    """Whether a later page has passages to show: `matched` counts copies, which are collapsed into one."""

    def to_json(self) -> dict[str, Any]:
        """Exactly the documented object of `storybot ask --json`."""
        return {
            "question": self.question,
            "answered": self.answered,
            "message": self.message,
            "confidence": round(self.confidence, 4),
            "threshold": ANSWER_THRESHOLD,
            "results": [passage.to_json() for passage in self.results],
        }


@dataclass(frozen=True)
class Paragraph:
    """A stored paragraph with its place in its article, for showing context around a passage."""

    id: int
    source_id: str
    position: int
    text: str


MAX_REPORTED_RECORDS = 20
"""An add's report keeps the records of the first this many articles of each kind (added, updated,
unchanged) and only counts the rest, so its memory does not grow with the articles: enough for the CLI's
summary and the `/admin add` reply. `storybot add --verbose` is told of each article as it is stored."""

StoredKind = Literal["added", "updated", "unchanged"]
STORED_KINDS: tuple[StoredKind, ...] = ("added", "updated", "unchanged")


@dataclass(frozen=True)
class StoredTotal:
    """How many articles of one kind an add stored, and their paragraphs."""

    articles: int = 0
    paragraphs: int = 0

    def plus(self, other: StoredTotal) -> StoredTotal:
        return StoredTotal(self.articles + other.articles, self.paragraphs + other.paragraphs)


@dataclass(frozen=True)
class AddReport:
    """What adding sources did: how many articles of each kind, the first few of each, what failed.

    `added`, `updated` and `unchanged` hold at most `MAX_REPORTED_RECORDS` records each; `total(kind)` counts
    them all.
    """

    added: tuple[SourceRecord, ...] = ()
    updated: tuple[SourceRecord, ...] = ()
    unchanged: tuple[SourceRecord, ...] = ()
    removed: tuple[str, ...] = ()
    failed: tuple[tuple[str, str], ...] = ()
    """(origin, reason) pairs for sources that could not be read."""
    skipped: tuple[tuple[str, str], ...] = ()
    """(path, reason) pairs for directory entries passed over unread (FIFOs, devices, link loops, ...)."""
    totals: tuple[StoredTotal, StoredTotal, StoredTotal] | None = None
    """The (added, updated, unchanged) totals when more were stored than the records kept; None when the
    records are all of them."""

    def total(self, kind: StoredKind) -> StoredTotal:
        """How many articles of `kind` were stored (kept as records or not), and their paragraphs."""
        if self.totals is not None:
            return self.totals[STORED_KINDS.index(kind)]
        records = self.records(kind)
        return StoredTotal(len(records), sum(record.paragraphs for record in records))

    def records(self, kind: StoredKind) -> tuple[SourceRecord, ...]:
        """The records kept of `kind`: the first `MAX_REPORTED_RECORDS` at most."""
        return {"added": self.added, "updated": self.updated, "unchanged": self.unchanged}[kind]

    def merged(self, other: AddReport) -> AddReport:
        """Both reports in one: totals added up, records kept up to `MAX_REPORTED_RECORDS` of each kind."""
        added, updated, unchanged = (
            (self.records(kind) + other.records(kind))[:MAX_REPORTED_RECORDS] for kind in STORED_KINDS
        )
        added_total, updated_total, unchanged_total = (
            self.total(kind).plus(other.total(kind)) for kind in STORED_KINDS
        )
        return AddReport(
            added,
            updated,
            unchanged,
            self.removed + other.removed,
            self.failed + other.failed,
            self.skipped + other.skipped,
            (added_total, updated_total, unchanged_total),
        )


@dataclass(frozen=True)
class ReindexReport:
    """The end summary of a reindex."""

    sources: int
    paragraphs: int
    added: int
    removed: int
    changed: int
    seconds: float
    failed: tuple[tuple[str, str], ...] = field(default_factory=tuple)
    """(origin, reason) for each origin that could not be read again (its sources were marked stale)."""
    failed_scopes: tuple[tuple[str, str], ...] = field(default_factory=tuple)
    """(origin, scope) of each source marked stale: whose sources failed."""
    kept_newer: tuple[tuple[str, str], ...] = field(default_factory=tuple)
    """(origin, scope) of each source group changed (added, edited, removed) while the reindex read it: left
    as that change made it, not overwritten with what the reindex had read."""
    rebuilt: tuple[str, ...] = field(default_factory=tuple)
    """What `storybot check` would have found broken in postings or statistics: rebuilt from paragraphs."""

    def failures_in(self, scopes: Sequence[str]) -> tuple[tuple[str, str], ...]:
        """The (origin, reason) failures of sources in `scopes`: what one server's admins may see."""
        visible = {origin for origin, scope in self.failed_scopes if scope in scopes}
        return tuple((origin, reason) for origin, reason in self.failed if origin in visible)

    def failure_reasons(self) -> tuple[str, ...]:
        """Why each origin in `failed` was not read, naming it once (the core's reasons often name it)."""
        return tuple(
            error if error.startswith(origin) else f"{origin}: {error}" for origin, error in self.failed
        )


@dataclass(frozen=True)
class IndexStats:
    """Size and health of the index, for `storybot stats` and `/admin status`."""

    sources: int
    paragraphs: int
    terms: int
    segments: int
    database_bytes: int
    schema_version: int
    last_reindex_at: str | None
    last_reindex_seconds: float | None


@dataclass(frozen=True)
class Usage:
    """How the bot is used: questions answered and not, feedback, and answer latency."""

    answered: int
    unanswered: int
    thumbs_up: int
    thumbs_down: int
    latency_p50: float | None
    latency_p95: float | None


@dataclass(frozen=True)
class CheckReport:
    """What `storybot check` found: SQLite's own verdict on the file, and storybot's invariants."""

    sqlite_problems: tuple[str, ...] = ()
    """What `PRAGMA integrity_check` reports (pages, indexes): only a backup repairs these."""
    invariant_problems: tuple[str, ...] = ()
    """Broken postings or statistics, which `storybot reindex` rebuilds from the paragraphs."""

    @property
    def ok(self) -> bool:
        """Whether nothing was found."""
        return not self.sqlite_problems and not self.invariant_problems
