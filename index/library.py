"""`StoryIndex`: the one object front-ends use to ask questions and manage sources.

It owns the database path, opens a SQLite connection per thread (connections are bound to the thread
that made them, and the bot asks from a thread pool), and builds the index from the built-in story the
first time a database is opened, so a new install answers at once.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path

from index.adding import PathAdder, Progress, Stored, placed_article
from index.answers import compose
from index.engine.database import (
    backup_to,
    can_write,
    connect,
    get_meta,
    now,
    read_snapshot,
    set_meta,
    storage_errors,
    unread_log,
    write_transaction,
)
from index.engine.explain import Explanation, explain_hit
from index.engine.feed_registry import FeedRegistry
from index.engine.integrity import invariant_problems, sqlite_problems
from index.engine.parallel import TermsPool
from index.engine.posting_cache import DEFAULT_BUDGET_BYTES, PostingCache
from index.engine.ranking import BM25Parameters
from index.engine.searcher import Hit, Searcher
from index.engine.staging import (
    scopes_clause,
)
from index.engine.store import IndexWriter
from index.engine.tokenizer import Tokenizer
from index.engine.usage import UsageLog
from index.errors import QuestionError, SourceError, UnknownSource
from index.models import (
    DEFAULT_TOP,
    SHARED_SCOPE,
    AddReport,
    Answer,
    Article,
    CheckReport,
    DateWindow,
    IndexStats,
    Paragraph,
    ReindexReport,
    SourceRecord,
    TimelineEntry,
    Usage,
)
from index.sources.origins import UPLOAD_PREFIX, Loader, load_origin, read_builtin_story
from index.timeline import timeline

MAX_QUESTION_CHARS = 1000

EXPLAINED_DEPTH = 50
"""How deep among a question's hits a passage is looked for to be explained (a later page's top passage)."""


def validate_question(question: str) -> str:
    """The question, stripped; QuestionError if it is empty or over the length limit."""
    text = question.strip()
    if not text:
        raise QuestionError("the question is empty: ask about the story, e.g. 'why did Musk leave OpenAI?'")
    if len(text) > MAX_QUESTION_CHARS:
        raise QuestionError(
            f"the question is {len(text):,} characters long; the limit is {MAX_QUESTION_CHARS:,}"
        )
    return text


class StoryIndex:
    """The index in one SQLite file: ask questions, add, remove and list sources, reindex."""

    def __init__(
        self,
        path: Path | str,
        *,
        params: BM25Parameters | None = None,
        with_builtin_story: bool = True,
        loader: Loader = load_origin,
        workers: int | None = None,
        postings_cache_bytes: int = DEFAULT_BUDGET_BYTES,
    ) -> None:
        self.path = Path(path)
        self.params = params or BM25Parameters()
        self.tokenizer = Tokenizer()
        self.loader = loader
        """How `reindex` reads an origin again; a front-end that can fetch links installs one that does."""
        # Big batches are tokenized by `workers` processes (default: the cores, up to 4; 1: none).
        self._terms_pool = TermsPool(workers)
        # Recent question terms' posting lists, shared by every thread's questions (0 bytes: none kept).
        self._postings_cache = PostingCache(postings_cache_bytes)
        self._local = threading.local()
        self._connections: list[sqlite3.Connection] = []
        self._lock = threading.Lock()
        self.read_only = not can_write(self.path)
        """Whether the file (or its folder) cannot be written here: questions are answered, nothing stored."""
        self.notices: tuple[str, ...] = ()
        """What a front-end should tell its user once: a read-only file's missing story or unread log."""
        self.feeds = FeedRegistry(self._connection, self.path)
        """The followed feeds and their polling state."""
        self._usage = UsageLog(self._connection)
        try:
            self._open(with_builtin_story)
        except BaseException:
            self.close()  # a failed open (a full disk, a damaged file) leaves no connection or worker behind
            raise

    @storage_errors
    def _open(self, with_builtin_story: bool) -> None:
        conn = self._connection()
        notices = []
        if self.read_only and unread_log(self.path):
            notices.append(
                f"{self.path} is read-only here, and the write-ahead log beside it cannot be read without a "
                "-shm file this folder cannot hold: changes since its last checkpoint are not seen"
            )
        if with_builtin_story and not self.read_only:
            self._load_builtin_once(conn)
        elif with_builtin_story and get_meta(conn, "builtin_loaded") is None:
            notices.append(
                f"{self.path} is read-only here and was never given the built-in story: only its own sources "
                "are searched"
            )
        self.notices = tuple(notices)

    # -- questions ---------------------------------------------------------------------------------

    @storage_errors
    def ask(
        self,
        question: str,
        top: int = DEFAULT_TOP,
        scopes: Sequence[str] = (SHARED_SCOPE,),
        skip: int = 0,
        window: DateWindow | None = None,
    ) -> Answer:
        """Answer a question from the view made of `scopes`; `skip` pages past earlier passages; with a
        `window`, only from sources dated inside it."""
        # Front-ends validate first too (the bot before a question takes a place in its limits, the CLI for
        # its one-line error); this check protects every other caller.
        text = validate_question(question)
        # Twice the passages shown so far: room for the copies that collapsing repeats takes out.
        result = self._searcher().search(text, 2 * (skip + top), scopes, window=window)
        return compose(text, result, top, skip, window)

    @storage_errors
    def explain(
        self,
        question: str,
        paragraph_id: int,
        scopes: Sequence[str] = (SHARED_SCOPE,),
        window: DateWindow | None = None,
    ) -> Explanation | None:
        """Why the paragraph is among the question's passages; None if it is not among them (any more)."""
        text = validate_question(question)
        result = self._searcher().search(text, EXPLAINED_DEPTH, scopes, window=window)
        return explain_hit(result, paragraph_id, self.params, self.tokenizer)

    @storage_errors
    def timeline(
        self,
        scopes: Sequence[str] = (SHARED_SCOPE,),
        about: str | None = None,
        window: DateWindow | None = None,
    ) -> tuple[TimelineEntry, ...]:
        """The view's sources in date order, each with one sentence; with `about`, those holding its words."""
        words = validate_question(about) if about is not None else None
        return timeline(self._connection(), self._searcher(), scopes, words, window)

    def _searcher(self) -> Searcher:
        """A searcher on this thread's connection, with its view cache and the shared posting cache."""
        cache = getattr(self._local, "view_cache", None)
        if cache is None:
            cache = self._local.view_cache = {}
        return Searcher(self._connection(), self.tokenizer, self.params, cache, self._postings_cache)

    @storage_errors
    def first_stage(self, question: str, top: int = 10, scopes: Sequence[str] = (SHARED_SCOPE,)) -> list[Hit]:
        """The first stage's `top` paragraphs alone, by BM25Okapi (equal to rank-bm25's for the same tokens).

        What `ask` reorders and collapses: for checking the ranking against a reference, not for users.
        """
        text = validate_question(question)
        searcher = Searcher(self._connection(), self.tokenizer, self.params, None, self._postings_cache)
        return list(searcher.search(text, top, scopes, second_stage=False).hits[:top])

    @storage_errors
    def context(self, paragraph_id: int, before: int = 1, after: int = 1) -> list[Paragraph]:
        """The paragraph and its neighbours in its article, in order."""
        conn = self._connection()
        row = conn.execute(
            "SELECT source_id, position FROM paragraphs WHERE id = ?", (paragraph_id,)
        ).fetchone()
        if row is None:
            return []
        source_id, position = row
        rows = conn.execute(
            "SELECT id, source_id, position, text FROM paragraphs"
            " WHERE source_id = ? AND position BETWEEN ? AND ?"
            " ORDER BY position",
            (source_id, position - before, position + after),
        ).fetchall()
        return [Paragraph(*row) for row in rows]

    # -- sources -----------------------------------------------------------------------------------

    @storage_errors
    def add_paths(
        self,
        paths: Iterable[Path],
        scope: str = SHARED_SCOPE,
        progress: Progress | None = None,
        on_stored: Stored | None = None,
    ) -> AddReport:
        """Read files and directories and store their articles, streamed, each path all or nothing.

        A path that cannot be read (a missing file, a malformed JSONL line) is reported and leaves nothing
        behind, and the others are still stored. Files have no size cap: a JSONL file is read in chunks (by
        the tokenizing workers when it is big), so memory stays bounded. New articles are staged in short
        transactions and published at the end of their path in one (`index.engine.staging`), so other
        writers take turns with a big add instead of waiting for it. Inside a directory, what is not a
        regular file (a FIFO, socket or device), a link loop, a folder too deep or a name that is not UTF-8
        is passed over and reported as skipped. `progress` is told (articles stored, articles in all the
        files), the total counted from the files' lines before the first is stored.

        The report counts every article but keeps the records of the first `MAX_REPORTED_RECORDS` of each
        kind only; `on_stored` is told of each one as it is written (a path that then fails is reported as
        failed, and nothing of it is kept).
        """
        adder = PathAdder(self._connection(), self.tokenizer, self._terms_pool)
        return adder.add(paths, scope, progress, on_stored)

    @storage_errors
    def add_articles(
        self, articles: Sequence[Article], scope: str = SHARED_SCOPE, progress: Progress | None = None
    ) -> AddReport:
        """Store articles in one transaction: new ones added, changed ones replaced, unchanged left alone.

        Each scope keeps its own copy of an origin: a server adding a link another server (or the shared
        sources) already holds gets a source of its own, and never takes the other one over. `progress` is
        told the paragraphs stored so far after each article.
        """
        outcome: dict[str, list[SourceRecord]] = {"added": [], "updated": [], "unchanged": []}
        total = sum(len(article.paragraphs) for article in articles)
        done = 0
        conn = self._connection()
        with write_transaction(conn):
            writer = IndexWriter(conn, self.tokenizer)
            prepared = self._terms_pool.terms(articles) if self._terms_pool.worth_it(articles) else None
            for article in articles:
                terms = next(prepared) if prepared is not None else None
                status, record = writer.upsert(placed_article(conn, article, scope), scope, terms)
                outcome[status].append(record)
                done += len(article.paragraphs)
                if progress:
                    progress(done, total)
            writer.merge_small_segments(scope)
        return AddReport(tuple(outcome["added"]), tuple(outcome["updated"]), tuple(outcome["unchanged"]))

    @storage_errors
    def remove(self, source_id: str, scopes: Sequence[str] | None = None) -> SourceRecord:
        """Remove a source; with `scopes`, only if it belongs to one of them (a server removes its own)."""
        conn = self._connection()
        with write_transaction(conn):
            writer = IndexWriter(conn, self.tokenizer)
            record = writer.find_source(source_id)
            if record is None or (scopes is not None and record.scope not in scopes):
                raise UnknownSource(f"no source with id {source_id!r}; `storybot sources` lists them")
            writer.remove(source_id)
            writer.merge_small_segments(record.scope)
        return record

    @storage_errors
    def source(self, source_id: str) -> SourceRecord | None:
        """The stored source with this id, if any."""
        return IndexWriter(self._connection(), self.tokenizer).find_source(source_id)

    @storage_errors
    def sources(self, scopes: Sequence[str] | None = None) -> list[SourceRecord]:
        """The stored sources, oldest first; only those of `scopes` when given."""
        return IndexWriter(self._connection(), self.tokenizer).sources(scopes)

    def each_source(self, scopes: Sequence[str] | None = None) -> Iterator[SourceRecord]:
        """The stored sources one at a time, as `sources` orders them; read them before the index closes."""
        writer = IndexWriter(self._connection(), self.tokenizer)
        return writer.each_source(scopes)

    @storage_errors
    def reindex(
        self,
        progress: Progress | None = None,
        load: Loader | None = None,
        scopes: Sequence[str] | None = None,
    ) -> ReindexReport:
        """Re-read every source from where it came (with `load`, else `self.loader`) and rebuild, atomically;
        with `scopes`, only the sources of those scopes (a server's admin re-reads that server's alone).

        A changed article is updated and an unchanged one left alone. A source that cannot be read keeps its
        last good copy and is marked stale; an uploaded file has nowhere to be read from and is kept as is.
        Origins are read before the write transaction, so a `remove` or `add` may land meanwhile: each
        origin's sources are compared under the write lock with what was listed, and one that changed is
        left as that change made it (`kept_newer`). Postings or statistics that `check` finds broken are
        rebuilt from the paragraphs first. Any other failure rolls the whole transaction back, and
        questions go on being answered from the previous index.
        """
        started = time.perf_counter()
        read = load or self.loader
        conn = self._connection()
        # Each scope's copy of an origin is its own source; the origin is read once for all of them.
        within, params = scopes_clause(scopes)
        listed = _source_versions(conn, scopes)
        groups = [(origin, scope, len(versions)) for (origin, scope), versions in listed.items()]
        loaded, failed = _read_again(groups, read, progress)
        read_scopes = {scope for _, scope, _ in groups}
        with read_snapshot(conn):
            broken = tuple(invariant_problems(conn))
        counts = {"added": 0, "updated": 0, "removed": 0}
        kept_newer: list[tuple[str, str]] = []
        with write_transaction(conn):
            writer = IndexWriter(conn, self.tokenizer)
            if broken:
                writer.rebuild_postings()
            current = _source_versions(conn, scopes)
            changed = {group for group in listed if current.get(group, frozenset()) != listed[group]}
            for origin, scope, articles in loaded:
                if (origin, scope) in changed:
                    kept_newer.append((origin, scope))
                    continue
                before = {record.id for record in writer.sources_from(origin) if record.scope == scope}
                kept: set[str] = set()
                for article in articles:
                    status, record = writer.upsert(placed_article(conn, article, scope), scope)
                    kept.add(record.id)
                    if status in counts:
                        counts[status] += 1
                for gone in before - kept:
                    writer.remove(gone)
                    counts["removed"] += 1
            writer.flush()
            stale: list[tuple[str, str]] = []
            for origin, reason in failed.items():
                for record in writer.sources_from(origin):
                    if record.scope not in read_scopes:
                        continue  # another scope's copy, not read by this reindex
                    if (origin, record.scope) in changed:
                        continue  # re-added or edited meanwhile: that copy was just read
                    writer.mark_stale(record.id, reason)
                    stale.append((origin, record.scope))
            for (scope,) in conn.execute(f"SELECT DISTINCT scope FROM segments {within}", params).fetchall():
                writer.merge_all(scope)
            seconds = time.perf_counter() - started
            set_meta(conn, "last_reindex_at", now())
            set_meta(conn, "last_reindex_seconds", f"{seconds:.3f}")
        sources, paragraphs = conn.execute(
            f"SELECT COUNT(*), COALESCE(SUM(paragraphs), 0) FROM sources {within}", params
        ).fetchone()
        return ReindexReport(
            sources=sources,
            paragraphs=paragraphs,
            added=counts["added"],
            removed=counts["removed"],
            changed=counts["updated"],
            seconds=time.perf_counter() - started,
            failed=tuple(failed.items()),
            failed_scopes=tuple(stale),
            kept_newer=tuple(kept_newer),
            rebuilt=broken,
        )

    def check(self) -> CheckReport:
        """SQLite's integrity check, then storybot's invariants (postings decode, ids, statistics).

        Not translated into errors: damage is what this reports, as a `CheckReport`.
        """
        conn = self._connection()
        with read_snapshot(conn):
            try:
                found_by_sqlite = sqlite_problems(conn)
            except sqlite3.DatabaseError as error:
                return CheckReport(sqlite_problems=(f"SQLite: {error}",))
            try:
                broken = invariant_problems(conn)
            except sqlite3.DatabaseError as error:
                broken = [f"cannot read the index's tables: {error}"]
        return CheckReport(tuple(found_by_sqlite), tuple(broken))

    # -- bookkeeping -------------------------------------------------------------------------------

    @storage_errors
    def record_feedback(self, question: str, paragraph_ids: Sequence[int], vote: int, user_hash: str) -> None:
        """Store a 👍 (vote 1) or 👎 (vote -1) on an answer; `user_hash` is never the raw user id."""
        self._usage.record_feedback(question, paragraph_ids, vote, user_hash)

    @storage_errors
    def record_question(self, answered: bool, seconds: float) -> None:
        """Log that a question was answered (or not) and how long it took, for `/admin status`."""
        self._usage.record_question(answered, seconds)

    @storage_errors
    def usage(self) -> Usage:
        """Questions answered and not, feedback counts and answer latency percentiles."""
        return self._usage.usage()

    @storage_errors
    def get_setting(self, key: str) -> str | None:
        """A value the front-end keeps in the database (e.g. the hash of the last synced commands)."""
        return self._usage.get_setting(key)

    @storage_errors
    def set_setting(self, key: str, value: str) -> None:
        """Keep a front-end value in the database."""
        self._usage.set_setting(key, value)

    @storage_errors
    def stats(self) -> IndexStats:
        """Size and health of the index."""
        return self._usage.stats()

    def backup(self, target: Path) -> None:
        """Write a consistent copy of the live database to the new file `target` (DatabaseError if not)."""
        backup_to(self._connection(), target)

    def close(self) -> None:
        """Close every connection this object opened (each thread's), and stop any tokenizing workers."""
        self._terms_pool.close()
        self._postings_cache.clear()
        with self._lock:
            for conn in self._connections:
                conn.close()
            self._connections.clear()
        self._local = threading.local()

    def __enter__(self) -> StoryIndex:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def _connection(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            with self._lock:
                # Later threads' connections skip the header read: see `connect`.
                conn = connect(self.path, read_only=self.read_only, first=not self._connections)
                self._connections.append(conn)
            self._local.conn = conn
        return conn

    def _load_builtin_once(self, conn: sqlite3.Connection) -> None:
        # Only a brand-new database gets the story; one whose owner removed it stays without.
        if get_meta(conn, "builtin_loaded") is not None:
            return
        articles = read_builtin_story()
        with write_transaction(conn):
            if get_meta(conn, "builtin_loaded") is not None:
                return
            writer = IndexWriter(conn, self.tokenizer)
            for article in articles:
                writer.upsert(article, SHARED_SCOPE)
            writer.flush()
            set_meta(conn, "builtin_loaded", now())


_Versions = dict[tuple[str, str], frozenset[tuple[str, str, str]]]
"""Per (origin, scope): its sources' (id, content hash, updated at), which any add, edit or remove changes."""


def _source_versions(conn: sqlite3.Connection, scopes: Sequence[str] | None) -> _Versions:
    """Every (origin, scope) group of `scopes` (None: all), oldest first, with the versions of its sources."""
    groups: dict[tuple[str, str], set[tuple[str, str, str]]] = {}
    within, params = scopes_clause(scopes)
    rows = conn.execute(
        f"SELECT origin, scope, id, content_hash, updated_at FROM sources {within} ORDER BY added_at, rowid",
        params,
    )
    for origin, scope, source_id, digest, updated_at in rows:
        groups.setdefault((origin, scope), set()).add((source_id, digest, updated_at))
    return {group: frozenset(versions) for group, versions in groups.items()}


def _read_again(
    groups: Sequence[tuple[str, str, int]], read: Loader, progress: Progress | None
) -> tuple[list[tuple[str, str, list[Article]]], dict[str, str]]:
    """Read each group's origin (once for all its scopes): articles per group, and why origins failed.

    Progress counts sources (a group holds `count` of them), the unit the summary counts too.
    """
    loaded: list[tuple[str, str, list[Article]]] = []
    failed: dict[str, str] = {}
    results: dict[str, list[Article] | SourceError] = {}
    total = sum(count for _, _, count in groups)
    done = 0
    for origin, scope, count in groups:
        if not origin.startswith(UPLOAD_PREFIX):
            if origin not in results:
                try:
                    results[origin] = read(origin)
                except SourceError as read_error:
                    results[origin] = read_error
            result = results[origin]
            if isinstance(result, SourceError):
                failed[origin] = str(result)
            else:
                loaded.append((origin, scope, result))
        done += count
        if progress:
            progress(done, total)
    return loaded, failed
