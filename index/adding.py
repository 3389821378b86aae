"""Adding files and directories: each path's new articles staged in short transactions, then published whole.

`StoryIndex.add_paths` is the way in; this is its pipeline. A path's files are read (JSONL in chunks, by the
tokenizing workers when big), its new articles written under a staging scope no question sees, in
transactions of about `TURN_SECONDS` with the lock left free between them, and at the path's end the staging
is published in one short transaction, with the articles already stored and changed written there, so a path
is all or nothing whatever its size. The segment merges that follow take turns the same way
(`index.engine.merging`).
"""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Callable, Generator, Iterable
from dataclasses import replace
from pathlib import Path

from index.engine.database import MMAP_BYTES, now, write_transaction
from index.engine.merging import merge_in_turns
from index.engine.parallel import TermsPool
from index.engine.staging import (
    SeenIds,
    Turns,
    UnchangedIds,
    discard,
    discard_abandoned,
    is_staging,
    publish,
    staging_scope,
)
from index.engine.store import IndexWriter
from index.engine.terms import ArticleTerms
from index.engine.tokenizer import Tokenizer
from index.errors import SourceError
from index.models import (
    MAX_REPORTED_RECORDS,
    SHARED_SCOPE,
    STORED_KINDS,
    AddReport,
    Article,
    SourceRecord,
    StoredKind,
    StoredTotal,
    content_hash,
)
from index.sources.readers import local_files, read_path
from index.sources.streaming import article_count, is_jsonl, jsonl_chunks, read_jsonl_chunk

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


class PathAdder:
    """Adds files and directories to the index on one connection (the calling thread's)."""

    def __init__(self, conn: sqlite3.Connection, tokenizer: Tokenizer, terms_pool: TermsPool) -> None:
        self._conn = conn
        self._tokenizer = tokenizer
        self._terms_pool = terms_pool

    def add(
        self,
        paths: Iterable[Path],
        scope: str = SHARED_SCOPE,
        progress: Progress | None = None,
        on_stored: Stored | None = None,
    ) -> AddReport:
        """Store the articles of `paths` under `scope`, each path all or nothing (`StoryIndex.add_paths`)."""
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
        conn = self._conn
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
        writer = IndexWriter(conn, self._tokenizer)
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
                    placed = placed_article(conn, article, scope)
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
                placed = placed_article(conn, article, scope)
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


def _is_copy_id(source_id: str, wanted: str) -> bool:
    """Whether `source_id` is `wanted` or `wanted` numbered as a copy ("story-2", never "story-1")."""
    if source_id == wanted:
        return True
    number = source_id.removeprefix(f"{wanted}-")
    return number != source_id and number.isdigit() and number.isascii() and int(number) >= 2


def placed_article(conn: sqlite3.Connection, article: Article, scope: str) -> Article:
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
