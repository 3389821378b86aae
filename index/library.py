"""`StoryIndex`: the one object front-ends use to ask questions and manage sources.

It owns the database path, opens a SQLite connection per thread (connections are bound to the thread
that made them, and the bot asks from a thread pool), and builds the index from the built-in story the
first time a database is opened, so a new install answers at once.
"""

from __future__ import annotations

import contextlib
import sqlite3
import threading
import time
from collections.abc import Callable, Generator, Iterable, Iterator, Sequence
from dataclasses import replace
from pathlib import Path

from index.answers import compose
from index.engine.database import (
    MMAP_BYTES,
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
from index.engine.merging import merge_in_turns
from index.engine.parallel import TermsPool
from index.engine.posting_cache import DEFAULT_BUDGET_BYTES, PostingCache
from index.engine.ranking import BM25Parameters
from index.engine.searcher import Hit, Searcher
from index.engine.staging import (
    SeenIds,
    Turns,
    UnchangedIds,
    discard,
    discard_abandoned,
    is_staging,
    publish,
    scopes_clause,
    staging_scope,
)
from index.engine.store import IndexWriter
from index.engine.terms import ArticleTerms
from index.engine.tokenizer import Tokenizer
from index.engine.usage import UsageLog
from index.errors import QuestionError, SourceError, UnknownSource
from index.models import (
    DEFAULT_TOP,
    MAX_REPORTED_RECORDS,
    SHARED_SCOPE,
    STORED_KINDS,
    AddReport,
    Answer,
    Article,
    CheckReport,
    DateWindow,
    IndexStats,
    Paragraph,
    ReindexReport,
    SourceRecord,
    StoredKind,
    StoredTotal,
    TimelineEntry,
    Usage,
    content_hash,
)
from index.sources.origins import UPLOAD_PREFIX, Loader, load_origin, read_builtin_story
from index.sources.readers import local_files, read_path
from index.sources.streaming import article_count, is_jsonl, jsonl_chunks, read_jsonl_chunk
from index.timeline import timeline

MAX_QUESTION_CHARS = 1000

EXPLAINED_DEPTH = 50
"""How deep among a question's hits a passage is looked for to be explained (a later page's top passage)."""

Progress = Callable[[int, int], None]
"""Called with (done, total): articles stored by `add_paths`, paragraphs by `add_articles`, sources read
again by `reindex`."""

Stored = Callable[[StoredKind, SourceRecord], None]
"""Called with each article `add_paths` stores, as it stores it ("added", "updated" or "unchanged")."""

SEGMENT_PARAGRAPHS = 100_000
"""A big add writes a segment per this many paragraphs, so the postings it holds in memory stay bounded."""
WAL_AUTOCHECKPOINT_PAGES = 1000
"""SQLite's default: the log is copied back into the file whenever a commit leaves it this many pages long."""
PARALLEL_BYTES = 4 * 1024 * 1024
"""A JSONL file of at least this size (some 10,000 paragraphs) is read and tokenized by worker processes."""


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
        report = AddReport()
        failed: list[tuple[str, str]] = []
        skipped: list[tuple[str, str]] = []
        listed: list[tuple[Path, list[Path], int]] = []
        for path in paths:
            try:
                files = local_files(path, lambda shown, reason: skipped.append((shown, reason)))
            except SourceError as error:
                failed.append((str(path), str(error)))
                continue
            # Counted once, before anything is stored: the progress bar's true total.
            listed.append((path, files, sum(article_count(file) for file in files)))
        counter = _ArticleCounter(progress, sum(count for _, _, count in listed))
        conn = self._connection()
        with write_transaction(conn):
            discard_abandoned(conn)
        # Many short commits would each copy the log back into the file (an automatic checkpoint, with its
        # fsync); the add checkpoints once at its end instead. And its pages are read, not mapped: a big add
        # touches hundreds of megabytes of the file once, which a memory map would count in its RSS.
        conn.execute("PRAGMA wal_autocheckpoint = 0")
        conn.execute("PRAGMA mmap_size = 0")
        try:
            for path, files, count in listed:
                try:
                    stored = self._add_path(conn, path, files, scope, counter.advance, on_stored)
                    report = report.merged(stored)
                except SourceError as error:
                    failed.append((str(path), str(error)))
                counter.reach(count)
        finally:
            conn.execute(f"PRAGMA wal_autocheckpoint = {WAL_AUTOCHECKPOINT_PAGES}")
            conn.execute(f"PRAGMA mmap_size = {MMAP_BYTES}")
            conn.execute("PRAGMA wal_checkpoint(PASSIVE)")
        return replace(report, failed=tuple(failed), skipped=tuple(skipped))

    def _add_path(
        self,
        conn: sqlite3.Connection,
        path: Path,
        files: list[Path],
        scope: str,
        stored_one: Callable[[], None],
        on_stored: Stored | None,
    ) -> AddReport:
        """Stage the new articles of one path in short transactions, then publish them with the rest.

        Articles stored already and changed are written in the publishing transaction itself, so a path is
        still all or nothing: the files holding some are read a second time there rather than kept in
        memory. Unchanged ones cost nothing there: only their read time is recorded, after publishing.
        """
        staging = staging_scope(scope)
        turns = Turns(conn, staging)
        writer = IndexWriter(conn, self.tokenizer)
        outcome = _Stored(on_stored)
        seen = SeenIds(conn, str(Path(path).expanduser().resolve()))
        unchanged = UnchangedIds(conn)
        read_at = now()
        try:
            known_in = self._stage_path(
                conn, files, scope, writer, turns, seen, (unchanged, read_at), outcome, stored_one
            )
            writer.end_turn()
            turns.commit()  # the last segment's postings are built with the lock free
            writer.flush(_turn_taker(writer, turns))
            turns.ensure()
            for file, version in known_in:
                self._store_known(conn, file, version, scope, staging, writer, outcome)
            writer.flush()
            publish(conn, staging)
            turns.finish()
        except BaseException:
            turns.rollback()
            with contextlib.suppress(sqlite3.Error), write_transaction(conn):
                discard(conn, staging)
            raise
        finally:
            with contextlib.suppress(sqlite3.Error):
                seen.close()
        try:
            unchanged.record_read(Turns(conn, None), read_at)
        finally:
            with contextlib.suppress(sqlite3.Error):
                unchanged.close()
        # Merging is not part of the add: each merge is built in turns and swapped in by a short transaction.
        merge_in_turns(conn, scope, lambda taken: writer.next_tier(scope, taken))
        return outcome.report()

    def _stage_path(
        self,
        conn: sqlite3.Connection,
        files: list[Path],
        scope: str,
        writer: IndexWriter,
        turns: Turns,
        seen: SeenIds,
        unchanged_at: tuple[UnchangedIds, str],
        outcome: _Stored,
        stored_one: Callable[[], None],
    ) -> list[tuple[Path, _FileVersion]]:
        """Write a path's new articles under the staging scope and note its unchanged ones; the files holding
        changed articles (to be read again when publishing), with their size and time as they were read."""
        known_in: list[tuple[Path, _FileVersion]] = []
        staging = turns.staging
        assert staging is not None  # an add's turns always name its staging
        unchanged, read_at = unchanged_at
        take_turn = _turn_taker(writer, turns)

        def end_turn() -> None:
            # The workers have not tokenized the next articles yet: the lock is free while they do.
            writer.end_turn()
            turns.commit(rest=False)

        for file in files:
            name, count, version, has_known = str(file), 0, _file_version(file), False
            # Closed at once when a bad line stops the file: its workers' chunks in flight are let go.
            with contextlib.closing(self._read_file(file, end_turn)) as read:
                for line, article, terms in read:
                    turns.ensure()
                    seen.check(article.source_id, name, line)
                    count += 1
                    stored_one()
                    placed = _placed(conn, article, scope)
                    stored = writer.stored_copy(placed)
                    existing = stored[0]
                    if existing is None:
                        _, record = writer.upsert(placed, staging, terms, stored)
                        outcome.record("added", replace(record, scope=scope))
                    elif _unchanged(existing, placed, terms, scope):
                        unchanged.add(existing.id, existing.content_hash)
                        outcome.record(
                            "unchanged", replace(existing, status="ok", error=None, fetched_at=read_at)
                        )
                    else:
                        has_known = True
                    # A segment per so many paragraphs keeps the postings held in memory bounded.
                    if writer.pending_paragraphs >= SEGMENT_PARAGRAPHS:
                        writer.end_turn()
                        turns.commit()  # the segment's postings are built with the lock free
                        writer.flush(take_turn)
                    take_turn()
            if not count:
                raise SourceError(f"{name}: empty file")
            if has_known:
                known_in.append((file, version))
        return known_in

    def _store_known(
        self,
        conn: sqlite3.Connection,
        file: Path,
        version: _FileVersion,
        scope: str,
        staging: str,
        writer: IndexWriter,
        outcome: _Stored,
    ) -> None:
        """Read a file again and write its articles already stored (updated or unchanged) into `scope`.

        The staged ones are passed over (their stored copy is the staged one). A file changed since the
        first read is refused, so the path stays what one read of it held.
        """
        if _file_version(file) != version:
            raise SourceError(f"{file}: changed while it was being added; add it again")
        with contextlib.closing(self._read_file(file)) as read:
            for _line, article, terms in read:
                placed = _placed(conn, article, scope)
                stored = writer.stored_copy(placed)
                existing = stored[0]
                if (
                    existing is None
                    or existing.scope == staging
                    or _unchanged(existing, placed, terms, scope)
                ):
                    continue  # staged, or unchanged: both counted when the file was first read
                status, record = writer.upsert(placed, scope, terms, stored)
                outcome.record(_kind(status), record)

    def _read_file(
        self, file: Path, waiting: Callable[[], None] | None = None
    ) -> Generator[tuple[int | None, Article, ArticleTerms | None]]:
        """A file's articles with their JSONL line, and their terms when workers tokenized them; `waiting` is
        called before waiting for the workers (see `TermsPool.read_terms`)."""
        if not is_jsonl(file):
            for article in read_path(file):
                yield None, article, None
            return
        chunks = jsonl_chunks(file)
        if self._terms_pool.workers > 1 and file.stat().st_size >= PARALLEL_BYTES:
            with contextlib.closing(self._terms_pool.read_terms(chunks, read_jsonl_chunk, waiting)) as read:
                yield from read
            return
        for chunk in chunks:
            for line, article in read_jsonl_chunk(chunk):
                yield line, article, None

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
                status, record = writer.upsert(_placed(conn, article, scope), scope, terms)
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


class _ArticleCounter:
    """Tells `progress` of each article stored, out of the total counted before the first."""

    def __init__(self, progress: Progress | None, total: int) -> None:
        self._progress, self.total, self.done, self._reached = progress, total, 0, 0

    def advance(self) -> None:
        self.done += 1
        if self._progress:
            self._progress(min(self.done, self.total), self.total)

    def reach(self, path_total: int) -> None:
        """A path has ended, stored or failed: the count moves to where its articles end."""
        self._reached += path_total
        if self.done != self._reached:
            self.done = self._reached
            if self._progress:
                self._progress(min(self.done, self.total), self.total)


class _Stored:
    """What storing articles did: every article counted by kind, the first `MAX_REPORTED_RECORDS` of each
    kept, and each one told to `on_stored` as it is stored."""

    def __init__(self, on_stored: Stored | None = None) -> None:
        self._on_stored = on_stored
        self._first: dict[StoredKind, list[SourceRecord]] = {kind: [] for kind in STORED_KINDS}
        self._totals: dict[StoredKind, StoredTotal] = {kind: StoredTotal() for kind in STORED_KINDS}

    def record(self, kind: StoredKind, record: SourceRecord) -> None:
        if len(self._first[kind]) < MAX_REPORTED_RECORDS:
            self._first[kind].append(record)
        self._totals[kind] = self._totals[kind].plus(StoredTotal(1, record.paragraphs))
        if self._on_stored is not None:
            self._on_stored(kind, record)

    def report(self) -> AddReport:
        """What was stored, as a report (its failures are the caller's)."""
        added, updated, unchanged = (tuple(self._first[kind]) for kind in STORED_KINDS)
        totals = (self._totals["added"], self._totals["updated"], self._totals["unchanged"])
        return AddReport(added, updated, unchanged, totals=totals)


_FileVersion = tuple[int, int, int]
"""A file's inode, size and modification time: whether it changed between two reads."""


def _file_version(file: Path) -> _FileVersion:
    status = file.stat()
    return status.st_ino, status.st_size, status.st_mtime_ns


def _turn_taker(writer: IndexWriter, turns: Turns) -> Callable[[], None]:
    """What ends a big add's transaction once it has had its turn, and begins the next (or the first, after
    the lock was let go to build a segment's postings)."""

    def take_turn() -> None:
        if turns.due():
            writer.end_turn()
            turns.commit()
        turns.ensure()

    return take_turn


def _unchanged(existing: SourceRecord, placed: Article, terms: ArticleTerms | None, scope: str) -> bool:
    """Whether the writer would find the stored copy unchanged: same scope, same content hash."""
    digest = terms.content_hash if terms is not None else content_hash(placed)
    return existing.scope == scope and existing.content_hash == digest


def _kind(status: str) -> StoredKind:
    """The writer's status as a report's kind."""
    for kind in STORED_KINDS:
        if status == kind:
            return kind
    raise ValueError(f"unknown status {status!r}")


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


def _is_copy_id(source_id: str, wanted: str) -> bool:
    """Whether `source_id` is `wanted` or `wanted` numbered as a copy ("story-2", never "story-1")."""
    if source_id == wanted:
        return True
    number = source_id.removeprefix(f"{wanted}-")
    return number != source_id and number.isdigit() and number.isascii() and int(number) >= 2


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
    # Copies of this article: its id, or the id with a number of 2 or more that a copy placed here got.
    # "x-1" or "x-intro" beside "x" is another article, and so is anything a running add has staged (one
    # add refuses a repeated id, so its staging never holds a copy of the article it places).
    copies = [
        (source_id, source_scope)
        for source_id, source_scope in rows
        if _is_copy_id(source_id, wanted) and not is_staging(source_scope)
    ]
    if not copies:
        return article
    mine = sorted(
        (source_id for source_id, source_scope in copies if source_scope == scope),
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
