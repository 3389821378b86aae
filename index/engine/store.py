"""The write side of the index: add, replace and remove articles, keeping BM25 statistics exact.

Each batch of new paragraphs becomes a segment: one postings row per term. Removing an article marks its
paragraphs dead (tombstones) and takes them out of the statistics at once; their postings are dropped when
segments are merged. So adding or removing one article costs work in proportion to that article, not to
the index, and every change is one SQLite transaction that readers see whole or not at all.
"""

from __future__ import annotations

import sqlite3
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import replace

from index.engine.database import get_meta, in_chunks, now, set_meta
from index.engine.frequencies import change_document_frequencies
from index.engine.merging import claimed
from index.engine.postings import PostingList, SegmentBuilder
from index.engine.segments import (
    MERGE_BUDGET,
    MERGE_BUDGET_PER_ADDED,
    live_segment,
    retired_into,
    rewrite_segments,
    tier_to_merge,
)
from index.engine.staging import is_staging, real_scope, scopes_clause
from index.engine.terms import ArticleTerms, paragraph_terms
from index.engine.tokenizer import Tokenizer
from index.models import Article, SourceRecord, content_hash

StoredCopy = tuple[SourceRecord | None, bool]
"""An article's stored copy, if any, and whether its id is taken: what `upsert` decides by."""

POSTINGS_PER_BATCH = 1_000
"""Postings rows a flush writes before it lets a big add take its turn (see `flush`)."""

KNOWN_TERMS_LIMIT = 200_000
"""The writer remembers the ids of at most about this many terms; past it, it forgets them and asks again."""


class IndexWriter:
    """Changes the index inside the caller's transaction (see `write_transaction`)."""

    def __init__(self, conn: sqlite3.Connection, tokenizer: Tokenizer) -> None:
        self._conn = conn
        self._tokenizer = tokenizer
        # New paragraphs of a batch go into one segment per scope, written by `flush`.
        self._pending: dict[str, tuple[int, SegmentBuilder]] = {}
        # Term ids looked up or made in this transaction (terms are never deleted, and a flush asks twice).
        self._known_terms: dict[str, int] = {}
        self._next_paragraph_id: int | None = None
        self._added = 0  # paragraphs this writer added: the measure of how much merging it may do

    # -- sources -----------------------------------------------------------------------------------

    def sources(self, scopes: Sequence[str] | None = None) -> list[SourceRecord]:
        """The stored sources, oldest first; only those of `scopes` when given (never a staged add's)."""
        return list(self.each_source(scopes))

    def each_source(self, scopes: Sequence[str] | None = None) -> Iterator[SourceRecord]:
        """The stored sources one at a time, in the order of `sources`: memory stays flat for any count."""
        within, params = scopes_clause(scopes)
        query = f"SELECT {_SOURCE_COLUMNS} FROM sources {within} ORDER BY added_at, rowid"
        for row in self._conn.execute(query, params):
            yield _source_from_row(row)

    def find_source(self, source_id: str) -> SourceRecord | None:
        """The stored source with this id, if any."""
        row = self._conn.execute(
            f"SELECT {_SOURCE_COLUMNS} FROM sources WHERE id = ?", (source_id,)
        ).fetchone()
        return _source_from_row(row) if row else None

    def sources_from(self, origin: str) -> list[SourceRecord]:
        """The sources read from one origin (a file, a JSONL file's articles, a link)."""
        rows = self._conn.execute(
            f"SELECT {_SOURCE_COLUMNS} FROM sources WHERE origin = ? ORDER BY id", (origin,)
        ).fetchall()
        return [_source_from_row(row) for row in rows]

    def upsert(
        self,
        article: Article,
        scope: str,
        terms: ArticleTerms | None = None,
        stored: StoredCopy | None = None,
    ) -> tuple[str, SourceRecord]:
        """Store an article: ("added" | "updated" | "unchanged", the stored source).

        `terms` are the article's terms when a worker tokenized it already (see `index.engine.parallel`);
        `stored` what `stored_copy` said of it in this transaction, if the caller asked already.
        """
        digest = terms.content_hash if terms is not None else content_hash(article)
        existing, id_taken = stored if stored is not None else self._existing_for(article)
        fetched_at = now()  # the article was just read successfully, whatever follows
        if existing and existing.content_hash == digest and existing.scope == scope:
            self._conn.execute(
                "UPDATE sources SET status = 'ok', error = NULL, fetched_at = ? WHERE id = ?",
                (fetched_at, existing.id),
            )
            return "unchanged", replace(existing, status="ok", error=None, fetched_at=fetched_at)
        added_at = existing.added_at if existing else fetched_at
        if existing:
            source_id = existing.id
        else:
            source_id = self._free_id(article.source_id) if id_taken else article.source_id
        if existing:
            self.remove(existing.id)
        updated_at = fetched_at
        self._conn.execute(
            "INSERT INTO sources (id, scope, title, url, outlet, author, published, origin, content_hash,"
            " paragraphs, added_at, updated_at, status, fetched_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'ok', ?)",
            (
                source_id,
                scope,
                article.title,
                article.url,
                article.outlet,
                article.author,
                article.published,
                article.origin,
                digest,
                len(article.paragraphs),
                added_at,
                updated_at,
                fetched_at,
            ),
        )
        self._index_paragraphs(source_id, scope, article, terms)
        record = SourceRecord(
            id=source_id,
            title=article.title,
            origin=article.origin,
            scope=scope,
            paragraphs=len(article.paragraphs),
            content_hash=digest,
            added_at=added_at,
            updated_at=updated_at,
            url=article.url,
            outlet=article.outlet,
            author=article.author,
            published=article.published,
            fetched_at=fetched_at,
        )
        return ("updated" if existing else "added"), record

    def mark_stale(self, source_id: str, error: str) -> None:
        """Keep a source's last good copy but record that it could not be read again."""
        self._conn.execute("UPDATE sources SET status = 'stale', error = ? WHERE id = ?", (error, source_id))

    def remove(self, source_id: str) -> bool:
        """Take a source and its paragraphs out of the index; False if there was no such source."""
        self.flush()
        row = self._conn.execute("SELECT scope, title FROM sources WHERE id = ?", (source_id,)).fetchone()
        if row is None:
            return False
        scope, title = row
        paragraphs = self._conn.execute(
            "SELECT id, text, length, segment_id FROM paragraphs WHERE source_id = ? ORDER BY position",
            (source_id,),
        ).fetchall()
        terms = paragraph_terms(self._tokenizer, title, [text for _, text, _, _ in paragraphs])
        df_delta: Counter[str] = Counter()
        for paragraph_terms_ in terms:
            df_delta.update(set(paragraph_terms_))
        self._change_document_frequencies(scope, {term: -count for term, count in df_delta.items()})
        self._change_scope_totals(scope, -len(paragraphs), -sum(length for _, _, length, _ in paragraphs))
        # A paragraph may still name a segment merged away (`index.engine.merging`): its tombstone goes
        # where its postings are now.
        segments = {segment_id: live_segment(self._conn, segment_id) for _, _, _, segment_id in paragraphs}
        self._conn.executemany(
            "INSERT INTO tombstones (paragraph_id, scope, segment_id) VALUES (?, ?, ?)",
            [(paragraph_id, scope, segments[segment_id]) for paragraph_id, _, _, segment_id in paragraphs],
        )
        self._conn.execute("DELETE FROM paragraphs WHERE source_id = ?", (source_id,))
        self._conn.execute("DELETE FROM sources WHERE id = ?", (source_id,))
        return True

    def stored_copy(self, article: Article) -> StoredCopy:
        """The stored copy of the article (by origin and id), if any, which `upsert` would update, and
        whether its id is taken (by it or another source)."""
        return self._existing_for(article)

    def _existing_for(self, article: Article) -> StoredCopy:
        """The stored copy of the article, if any, and whether its id is taken (by it or another source)."""
        same_id = self.find_source(article.source_id)
        if same_id is not None and same_id.origin == article.origin:
            return same_id, True
        # The id may have been suffixed ("story-2", `_free_id`) when another origin held it first: a range on
        # the (origin, id) index finds it without scanning the other articles of a big JSONL file. Only a
        # numeric suffix of 2 or more is one `_free_id` makes: "x-1" or "x-intro" beside "x" is another
        # article of the same file, not a copy of it.
        prefix = article.source_id + "-"
        row = self._conn.execute(
            f"SELECT {_SOURCE_COLUMNS} FROM sources"
            " WHERE origin = ? AND id >= ? AND id < ?"
            " AND substr(id, ?) NOT GLOB '*[^0-9]*' AND CAST(substr(id, ?) AS INTEGER) >= 2"
            " ORDER BY id LIMIT 1",
            (article.origin, prefix, prefix + "\U0010ffff", len(prefix) + 1, len(prefix) + 1),
        ).fetchone()
        return (_source_from_row(row) if row else None), same_id is not None

    def _free_id(self, wanted: str) -> str:
        candidate, counter = wanted, 1
        while self._conn.execute("SELECT 1 FROM sources WHERE id = ?", (candidate,)).fetchone():
            counter += 1
            candidate = f"{wanted}-{counter}"
        return candidate

    # -- paragraphs and postings -------------------------------------------------------------------

    def _index_paragraphs(
        self, source_id: str, scope: str, article: Article, terms: ArticleTerms | None
    ) -> None:
        if scope not in self._pending:
            self._pending[scope] = (self._new_segment(scope, 0), SegmentBuilder())
        segment_id, builder = self._pending[scope]
        first_id = self._reserve_paragraph_ids(len(article.paragraphs))
        if terms is None:
            lengths = []
            all_terms = paragraph_terms(self._tokenizer, article.title, article.paragraphs)
            for offset, words in enumerate(all_terms):
                builder.add(first_id + offset, words)
                lengths.append(len(words))
        else:
            builder.add_numbered(first_id, terms.vocabulary, terms.tokens, terms.lengths)
            lengths = terms.lengths.tolist()
        rows = [
            (first_id + offset, source_id, offset + 1, text, length, segment_id)
            for offset, (text, length) in enumerate(zip(article.paragraphs, lengths, strict=True))
        ]
        # Written now, not at `flush`: while the writer stores, the workers tokenize what comes next.
        self._conn.executemany(
            "INSERT INTO paragraphs (id, source_id, position, text, length, segment_id)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            rows,
        )

    @property
    def pending_paragraphs(self) -> int:
        """Paragraphs stored since the last `flush` whose postings are still in memory."""
        return sum(builder.paragraphs for _, builder in self._pending.values())

    def flush(self, between: Callable[[], None] | None = None) -> None:
        """Write the pending segments: their postings and their share of the statistics.

        `between` is called before the first statement and after each batch of postings rows: a big add's
        staged segments, which nothing reads until they are published, may be written over several
        transactions (it commits there once its turn is over, and begins the next).
        """
        # Built before anything is written: a big add calls this with the lock free, and `between` (first
        # called before any statement) takes it again.
        built = [
            (scope, segment_id, builder, builder.posting_lists(), builder.document_frequencies())
            for scope, (segment_id, builder) in self._pending.items()
        ]
        if between is not None:
            between()
        if self._next_paragraph_id is not None:
            set_meta(self._conn, "next_paragraph_id", str(self._next_paragraph_id))
        for scope, segment_id, builder, lists, frequencies in built:
            self._added += builder.paragraphs
            self._write_segment(scope, segment_id, lists, between)
            self._change_document_frequencies(scope, frequencies)
            self._change_scope_totals(scope, builder.paragraphs, builder.tokens)
            self._conn.execute(
                "UPDATE segments SET paragraphs = ? WHERE id = ?", (builder.paragraphs, segment_id)
            )
        self._pending.clear()

    def end_turn(self) -> None:
        """Before a commit that ends one of several short transactions: keep the paragraph counter stored,
        and read it again in the next (another writer may take ids in between)."""
        if self._next_paragraph_id is not None:
            set_meta(self._conn, "next_paragraph_id", str(self._next_paragraph_id))
        self._next_paragraph_id = None

    def _new_segment(self, scope: str, paragraphs: int) -> int:
        cursor = self._conn.execute(
            "INSERT INTO segments (scope, paragraphs, created_at) VALUES (?, ?, ?)",
            (scope, paragraphs, now()),
        )
        assert cursor.lastrowid is not None
        return cursor.lastrowid

    def _reserve_paragraph_ids(self, count: int) -> int:
        # Ids are never reused: a tombstone names a paragraph id for as long as its segment lives.
        if self._next_paragraph_id is None:
            stored = get_meta(self._conn, "next_paragraph_id")
            self._next_paragraph_id = int(stored) if stored is not None else 1
        first = self._next_paragraph_id
        self._next_paragraph_id += count
        return first

    def _write_segment(
        self,
        scope: str,
        segment_id: int,
        lists: dict[str, PostingList],
        between: Callable[[], None] | None,
    ) -> None:
        # A staged segment's postings name the scope they will serve: publishing moves only the segment.
        scope = real_scope(scope) if is_staging(scope) else scope
        terms = list(lists)
        for start in range(0, len(terms), POSTINGS_PER_BATCH):
            term_ids = self.term_ids(terms[start : start + POSTINGS_PER_BATCH], create=True)
            self._conn.executemany(
                "INSERT INTO postings (term_id, segment_id, scope, docs, tfs, lengths)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                (
                    (term_ids[term], segment_id, scope, *lists[term].to_blobs())
                    for term in terms[start : start + POSTINGS_PER_BATCH]
                ),
            )
            if between is not None:
                between()

    def term_ids(self, terms: Iterable[str], *, create: bool) -> dict[str, int]:
        """Map terms to their ids, creating the missing ones when `create` is set."""
        known = self._known_terms
        found = {term: known[term] for term in dict.fromkeys(terms) if term in known}
        wanted = [term for term in dict.fromkeys(terms) if term not in found]
        for chunk, marks in in_chunks(wanted):
            found.update(
                self._conn.execute(f"SELECT term, id FROM terms WHERE term IN ({marks})", chunk).fetchall()
            )
        missing = [term for term in wanted if term not in found]
        if create and missing:
            row = self._conn.execute("SELECT COALESCE(MAX(id), 0) FROM terms").fetchone()
            next_id = int(row[0]) + 1
            new_ids = {term: next_id + offset for offset, term in enumerate(missing)}
            self._conn.executemany(
                "INSERT INTO terms (id, term) VALUES (?, ?)", [(i, t) for t, i in new_ids.items()]
            )
            found.update(new_ids)
        # A cache of the vocabulary met, capped: a big add of a million distinct numbers would hold them all.
        if len(known) + len(found) > KNOWN_TERMS_LIMIT:
            known.clear()
        known.update(found)
        return found

    # -- statistics --------------------------------------------------------------------------------

    def _change_document_frequencies(self, scope: str, deltas: dict[str, int]) -> None:
        """Apply df changes (by term) and keep the df histogram (for rank-bm25's average idf) in step."""
        if not deltas:
            return
        ids = self.term_ids(deltas.keys(), create=True)
        change_document_frequencies(self._conn, scope, {ids[term]: delta for term, delta in deltas.items()})

    def _change_scope_totals(self, scope: str, paragraphs: int, tokens: int) -> None:
        self._conn.execute(
            "INSERT INTO scope_stats (scope, paragraphs, tokens) VALUES (?, ?, ?)"
            " ON CONFLICT (scope) DO UPDATE SET paragraphs = paragraphs + excluded.paragraphs,"
            " tokens = tokens + excluded.tokens",
            (scope, paragraphs, tokens),
        )

    # -- rebuilding after damage ----------------------------------------------------------------------

    def rebuild_postings(self) -> None:
        """Write every posting list and statistic again from the stored paragraphs, under their ids.

        What `storybot check` finds wrong in postings or statistics is derived data: the paragraphs' text
        and their sources' titles are the truth it came from. Removed paragraphs are gone for good after this.
        """
        self.flush()
        for table in ("postings", "tombstones", "term_stats", "df_histogram", "scope_stats"):
            self._conn.execute(f"DELETE FROM {table}")
        old_segments = [row[0] for row in self._conn.execute("SELECT id FROM segments")]
        scopes = [row[0] for row in self._conn.execute("SELECT DISTINCT scope FROM sources ORDER BY scope")]
        for scope in scopes:
            segment_id = self._new_segment(scope, 0)
            builder = SegmentBuilder()
            words_by_id: dict[int, list[str]] = {}
            sources = self._conn.execute("SELECT id, title FROM sources WHERE scope = ?", (scope,)).fetchall()
            for source_id, title in sources:
                rows = self._conn.execute(
                    "SELECT id, text FROM paragraphs WHERE source_id = ? ORDER BY position", (source_id,)
                ).fetchall()
                terms = paragraph_terms(self._tokenizer, title, [text for _, text in rows])
                words_by_id.update(zip((paragraph_id for paragraph_id, _ in rows), terms, strict=True))
            # A segment's posting lists hold their paragraphs in ascending id order.
            for paragraph_id in sorted(words_by_id):
                builder.add(paragraph_id, words_by_id[paragraph_id])
            self._conn.executemany(
                "UPDATE paragraphs SET length = ?, segment_id = ? WHERE id = ?",
                [(len(words), segment_id, paragraph_id) for paragraph_id, words in words_by_id.items()],
            )
            self._pending[scope] = (segment_id, builder)
        self._conn.execute(
            "UPDATE sources SET paragraphs ="
            " (SELECT COUNT(*) FROM paragraphs p WHERE p.source_id = sources.id)"
        )
        self._conn.execute("DELETE FROM paragraphs WHERE source_id NOT IN (SELECT id FROM sources)")
        highest = self._conn.execute("SELECT COALESCE(MAX(id), 0) FROM paragraphs").fetchone()[0]
        stored = get_meta(self._conn, "next_paragraph_id")
        if stored is None or not stored.isdigit() or int(stored) <= highest:
            self._next_paragraph_id = highest + 1
        self.flush()
        marks = ",".join("?" * len(old_segments))
        if old_segments:
            self._conn.execute(f"DELETE FROM segments WHERE id IN ({marks})", old_segments)

    # -- merging segments --------------------------------------------------------------------------

    def merge_small_segments(self, scope: str) -> None:
        """Keep a scope's segments few by merging segments of about the same size, within a budget of work.

        See `index.engine.segments` for the policy: adding one article never pays for rewriting big segments,
        while bulk loads merge as they go. Segments a merge being built elsewhere has claimed are left to it.
        """
        self.flush()
        budget = max(MERGE_BUDGET, MERGE_BUDGET_PER_ADDED * self._added)
        while True:
            sizes = self._segment_sizes(scope, claimed(self._conn))
            chosen = tier_to_merge(sizes, budget)
            if chosen is None:
                return
            budget -= sum(paragraphs for segment_id, paragraphs in sizes if segment_id in chosen)
            self.merge_segments(scope, chosen)

    def next_tier(self, scope: str, taken: set[int]) -> list[int] | None:
        """The next full tier of the scope's segments to merge within this writer's budget, leaving out the
        `taken` ones; None if none is due. Each one chosen is charged to the budget.

        What `merge_small_segments` does in one transaction, a merge at a time: see `merging.merge_in_turns`.
        """
        self.flush()
        sizes = self._segment_sizes(scope, taken)
        chosen = tier_to_merge(sizes, max(MERGE_BUDGET, MERGE_BUDGET_PER_ADDED * self._added))
        if chosen is None:
            return None
        self._added -= sum(paragraphs for segment_id, paragraphs in sizes if segment_id in chosen) // (
            MERGE_BUDGET_PER_ADDED
        )
        return chosen

    def _segment_sizes(self, scope: str, taken: set[int]) -> list[tuple[int, int]]:
        rows = self._conn.execute("SELECT id, paragraphs FROM segments WHERE scope = ? ORDER BY id", (scope,))
        return [(segment_id, paragraphs) for segment_id, paragraphs in rows if segment_id not in taken]

    def merge_all(self, scope: str) -> None:
        """Rewrite a scope's postings as one segment without dead paragraphs."""
        self.flush()
        ids = [row[0] for row in self._conn.execute("SELECT id FROM segments WHERE scope = ?", (scope,))]
        if (
            len(ids) > 1
            or self._conn.execute("SELECT 1 FROM tombstones WHERE scope = ? LIMIT 1", (scope,)).fetchone()
        ):
            self.merge_segments(scope, ids)

    def merge_segments(self, scope: str, segment_ids: Sequence[int]) -> None:
        """Replace the given segments by one, dropping the postings of removed paragraphs."""
        if not segment_ids:
            return
        # Paragraphs may still name segments merged into these ones earlier (`index.engine.merging`).
        held = [*segment_ids, *retired_into(self._conn, segment_ids)]
        marks = ",".join("?" * len(held))
        live_count = self._conn.execute(
            f"SELECT COUNT(*) FROM paragraphs WHERE segment_id IN ({marks})", held
        ).fetchone()[0]
        rewrite_segments(self._conn, scope, segment_ids, self._new_segment(scope, live_count))


_SOURCE_COLUMNS = (
    "id, title, origin, scope, paragraphs, content_hash, added_at, updated_at,"
    " url, outlet, author, published,"
    " status, error, fetched_at"
)
"""The columns of a source, in the order of SourceRecord's fields."""


def _source_from_row(row: Sequence[object]) -> SourceRecord:
    return SourceRecord(*row)  # type: ignore[arg-type]
