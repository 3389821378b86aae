"""`StoryIndex`: the one object front-ends use to ask questions and manage sources.

It owns the database path, opens a SQLite connection per thread (connections are bound to the thread
that made them, and the bot asks from a thread pool), and builds the index from the built-in story the
first time a database is opened, so a new install answers at once.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import replace
from pathlib import Path

from index.answers import compose
from index.engine.database import backup_to, connect, get_meta, now, set_meta, write_transaction
from index.engine.feed_registry import FeedRegistry
from index.engine.parallel import TermsPool
from index.engine.posting_cache import DEFAULT_BUDGET_BYTES, PostingCache
from index.engine.ranking import BM25Parameters
from index.engine.searcher import Hit, Searcher
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
    IndexStats,
    Paragraph,
    ReindexReport,
    SourceRecord,
    Usage,
)
from index.sources.origins import UPLOAD_PREFIX, Loader, load_origin, read_builtin_story
from index.sources.readers import read_path

MAX_QUESTION_CHARS = 1000

Progress = Callable[[int, int], None]
"""Called with (done, total) as sources are processed."""


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
        self.feeds = FeedRegistry(self._connection)
        """The followed feeds and their polling state."""
        self._usage = UsageLog(self._connection)
        conn = self._connection()
        if with_builtin_story:
            self._load_builtin_once(conn)

    # -- questions ---------------------------------------------------------------------------------

    def ask(
        self, question: str, top: int = DEFAULT_TOP, scopes: Sequence[str] = (SHARED_SCOPE,), skip: int = 0
    ) -> Answer:
        """Answer a question from the view made of `scopes`; `skip` pages past earlier passages."""
        # Front-ends validate first too (the bot before a question takes a place in its limits, the CLI for
        # its one-line error); this check protects every other caller.
        text = validate_question(question)
        conn = self._connection()
        cache = getattr(self._local, "view_cache", None)
        if cache is None:
            cache = self._local.view_cache = {}
        searcher = Searcher(conn, self.tokenizer, self.params, cache, self._postings_cache)
        # Twice the passages shown so far: room for the copies that collapsing repeats takes out.
        result = searcher.search(text, 2 * (skip + top), scopes)
        return compose(text, result, top, skip)

    def first_stage(self, question: str, top: int = 10, scopes: Sequence[str] = (SHARED_SCOPE,)) -> list[Hit]:
        """The first stage's `top` paragraphs alone, by BM25Okapi (equal to rank-bm25's for the same tokens).

        What `ask` reorders and collapses: for checking the ranking against a reference, not for users.
        """
        text = validate_question(question)
        searcher = Searcher(self._connection(), self.tokenizer, self.params, None, self._postings_cache)
        return list(searcher.search(text, top, scopes, second_stage=False).hits[:top])

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

    def add_paths(
        self, paths: Iterable[Path], scope: str = SHARED_SCOPE, progress: Progress | None = None
    ) -> AddReport:
        """Read files and directories and store their articles; unreadable ones are reported, not fatal."""
        path_list = list(paths)
        articles: list[Article] = []
        failed: list[tuple[str, str]] = []
        for done, path in enumerate(path_list, start=1):
            try:
                articles.extend(read_path(path))
            except SourceError as error:
                failed.append((str(path), str(error)))
            if progress:
                progress(done, len(path_list))
        report = self.add_articles(articles, scope)
        return AddReport(report.added, report.updated, report.unchanged, report.removed, tuple(failed))

    def add_articles(self, articles: Sequence[Article], scope: str = SHARED_SCOPE) -> AddReport:
        """Store articles in one transaction: new ones added, changed ones replaced, unchanged left alone.

        Each scope keeps its own copy of an origin: a server adding a link another server (or the shared
        sources) already holds gets a source of its own, and never takes the other one over.
        """
        outcome: dict[str, list[SourceRecord]] = {"added": [], "updated": [], "unchanged": []}
        conn = self._connection()
        with write_transaction(conn):
            writer = IndexWriter(conn, self.tokenizer)
            prepared = self._terms_pool.terms(articles) if self._terms_pool.worth_it(articles) else None
            for article in articles:
                terms = next(prepared) if prepared is not None else None
                status, record = writer.upsert(_placed(conn, article, scope), scope, terms)
                outcome[status].append(record)
            writer.merge_small_segments(scope)
        return AddReport(tuple(outcome["added"]), tuple(outcome["updated"]), tuple(outcome["unchanged"]))

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

    def source(self, source_id: str) -> SourceRecord | None:
        """The stored source with this id, if any."""
        return IndexWriter(self._connection(), self.tokenizer).find_source(source_id)

    def sources(self, scopes: Sequence[str] | None = None) -> list[SourceRecord]:
        """The stored sources, oldest first; only those of `scopes` when given."""
        return IndexWriter(self._connection(), self.tokenizer).sources(scopes)

    def reindex(self, progress: Progress | None = None, load: Loader | None = None) -> ReindexReport:
        """Re-read every source from where it came (with `load`, else `self.loader`) and rebuild, atomically.

        A changed article is updated and an unchanged one left alone. A source that cannot be read keeps its
        last good copy and is marked stale; an uploaded file has nowhere to be read from and is kept as is.
        Any other failure rolls the whole transaction back, and questions go on being answered from the
        previous index.
        """
        started = time.perf_counter()
        read = load or self.loader
        conn = self._connection()
        # Each scope's copy of an origin is its own source; the origin is read once for all of them.
        groups = conn.execute(
            "SELECT origin, scope FROM sources GROUP BY origin, scope ORDER BY MIN(added_at), MIN(rowid)"
        ).fetchall()
        loaded, failed = _read_again(groups, read, progress)
        counts = {"added": 0, "updated": 0, "removed": 0}
        with write_transaction(conn):
            writer = IndexWriter(conn, self.tokenizer)
            for origin, scope, articles in loaded:
                before = {record.id for record in writer.sources_from(origin) if record.scope == scope}
                kept: set[str] = set()
                for article in articles:
                    status, record = writer.upsert(_placed(conn, article, scope), scope)
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
                    writer.mark_stale(record.id, reason)
                    stale.append((origin, record.scope))
            for (scope,) in conn.execute("SELECT DISTINCT scope FROM segments").fetchall():
                writer.merge_all(scope)
            seconds = time.perf_counter() - started
            set_meta(conn, "last_reindex_at", now())
            set_meta(conn, "last_reindex_seconds", f"{seconds:.3f}")
        sources, paragraphs = conn.execute(
            "SELECT COUNT(*), COALESCE(SUM(paragraphs), 0) FROM sources"
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
        )

    # -- bookkeeping -------------------------------------------------------------------------------

    def record_feedback(self, question: str, paragraph_ids: Sequence[int], vote: int, user_hash: str) -> None:
        """Store a 👍 (vote 1) or 👎 (vote -1) on an answer; `user_hash` is never the raw user id."""
        self._usage.record_feedback(question, paragraph_ids, vote, user_hash)

    def record_question(self, answered: bool, seconds: float) -> None:
        """Log that a question was answered (or not) and how long it took, for `/admin status`."""
        self._usage.record_question(answered, seconds)

    def usage(self) -> Usage:
        """Questions answered and not, feedback counts and answer latency percentiles."""
        return self._usage.usage()

    def get_setting(self, key: str) -> str | None:
        """A value the front-end keeps in the database (e.g. the hash of the last synced commands)."""
        return self._usage.get_setting(key)

    def set_setting(self, key: str, value: str) -> None:
        """Keep a front-end value in the database."""
        self._usage.set_setting(key, value)

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
            conn = connect(self.path)
            self._local.conn = conn
            with self._lock:
                self._connections.append(conn)
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


def _read_again(
    groups: Sequence[tuple[str, str]], read: Loader, progress: Progress | None
) -> tuple[list[tuple[str, str, list[Article]]], dict[str, str]]:
    """Read each group's origin (once for all its scopes): articles per group, and why origins failed."""
    loaded: list[tuple[str, str, list[Article]]] = []
    failed: dict[str, str] = {}
    results: dict[str, list[Article] | SourceError] = {}
    for done, (origin, scope) in enumerate(groups, start=1):
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
        if progress:
            progress(done, len(groups))
    return loaded, failed


def _placed(conn: sqlite3.Connection, article: Article, scope: str) -> Article:
    """The article under the id its scope knows it by, so that the writer updates that scope's own source.

    The writer finds an article's stored copy by origin and id, whatever the scope. A server re-adding a link
    keeps its own source; a server adding a link that only another scope holds gets a fresh id, so it never
    takes the other one's source over.
    """
    wanted = article.source_id
    rows = conn.execute(
        "SELECT id, scope FROM sources WHERE origin = ? AND (id = ? OR (id >= ? AND id < ?))",
        (article.origin, wanted, wanted + "-", wanted + "-\U0010ffff"),
    ).fetchall()
    if not rows:
        return article
    numbered = f"{wanted}-"
    mine = sorted(
        (
            source_id
            for source_id, source_scope in rows
            if source_scope == scope and (source_id == wanted or source_id.removeprefix(numbered).isdigit())
        ),
        key=lambda source_id: (source_id != wanted, len(source_id), source_id),
    )
    if mine:
        return replace(article, source_id=mine[0])
    counter = 2
    while True:
        candidate = f"{wanted}-{counter}"
        taken = conn.execute(
            "SELECT 1 FROM sources WHERE id = ? OR (origin = ? AND id >= ? AND id < ?) LIMIT 1",
            (candidate, article.origin, candidate + "-", candidate + "-\U0010ffff"),
        ).fetchone()
        if taken is None:
            return replace(article, source_id=candidate)
        counter += 1
