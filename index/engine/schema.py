"""The SQLite file's layout, its version, and how an open database is checked and migrated.

`index.engine.database.connect` opens the file and brings it here before anything else reads it.

The file stays a plain SQLite database: `sqlite-utils tables storybot.db` or Datasette can read it.
Posting lists are stored as little-endian uint32/uint16 arrays in BLOBs, one row per term and segment,
so a question reads only the rows of its own terms and nothing is rebuilt in memory at start.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from pathlib import Path

from index.engine.postings import PostingList
from index.errors import DatabaseError, NotStorybotDatabase, ReadOnlyDatabase
from index.models import Article, content_hash

APPLICATION_ID = 0x53544259  # "STBY": marks the file as storybot's in its header (PRAGMA application_id)
SCHEMA_VERSION = 4

_SCHEMA_V1 = """
CREATE TABLE meta (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
CREATE TABLE sources (
    id TEXT PRIMARY KEY,
    scope TEXT NOT NULL DEFAULT 'shared',
    title TEXT NOT NULL,
    url TEXT,
    outlet TEXT,
    author TEXT,
    published TEXT,
    origin TEXT NOT NULL,
    content_hash TEXT NOT NULL,
    paragraphs INTEGER NOT NULL,
    added_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    status TEXT NOT NULL DEFAULT 'ok',
    error TEXT
);
CREATE INDEX sources_origin ON sources(origin, id);
CREATE INDEX sources_scope ON sources(scope);
CREATE TABLE paragraphs (
    id INTEGER PRIMARY KEY,
    source_id TEXT NOT NULL REFERENCES sources(id),
    position INTEGER NOT NULL,
    text TEXT NOT NULL,
    length INTEGER NOT NULL,
    segment_id INTEGER NOT NULL,
    sentences TEXT NOT NULL DEFAULT '',
    UNIQUE (source_id, position)
);
CREATE TABLE terms (
    id INTEGER PRIMARY KEY,
    term TEXT NOT NULL UNIQUE
);
CREATE TABLE term_stats (
    scope TEXT NOT NULL,
    term_id INTEGER NOT NULL,
    df INTEGER NOT NULL,
    PRIMARY KEY (scope, term_id)
) WITHOUT ROWID;
CREATE TABLE df_histogram (
    scope TEXT NOT NULL,
    df INTEGER NOT NULL,
    terms INTEGER NOT NULL,
    PRIMARY KEY (scope, df)
) WITHOUT ROWID;
CREATE TABLE scope_stats (
    scope TEXT PRIMARY KEY,
    paragraphs INTEGER NOT NULL,
    tokens INTEGER NOT NULL
);
CREATE TABLE segments (
    id INTEGER PRIMARY KEY,
    scope TEXT NOT NULL,
    paragraphs INTEGER NOT NULL,
    created_at TEXT NOT NULL
);
CREATE TABLE postings (
    term_id INTEGER NOT NULL,
    segment_id INTEGER NOT NULL REFERENCES segments(id),
    scope TEXT NOT NULL,
    docs BLOB NOT NULL,
    tfs BLOB NOT NULL,
    lengths BLOB NOT NULL
);
CREATE INDEX postings_term ON postings(term_id, scope);
CREATE INDEX postings_segment ON postings(segment_id);
CREATE TABLE tombstones (
    paragraph_id INTEGER PRIMARY KEY,
    scope TEXT NOT NULL,
    segment_id INTEGER NOT NULL
);
CREATE INDEX tombstones_segment ON tombstones(segment_id);
CREATE TABLE feedback (
    id INTEGER PRIMARY KEY,
    question TEXT NOT NULL,
    paragraph_ids TEXT NOT NULL,
    vote INTEGER NOT NULL CHECK (vote IN (-1, 1)),
    user_hash TEXT NOT NULL,
    created_at TEXT NOT NULL
);
CREATE TABLE questions (
    id INTEGER PRIMARY KEY,
    answered INTEGER NOT NULL,
    seconds REAL NOT NULL,
    created_at TEXT NOT NULL
);
"""

_V2_FEEDS = """
ALTER TABLE sources ADD COLUMN fetched_at TEXT;
CREATE TABLE feeds (
    id INTEGER PRIMARY KEY,
    url TEXT NOT NULL,
    scope TEXT NOT NULL,
    channel_id INTEGER,
    title TEXT,
    etag TEXT,
    last_modified TEXT,
    added_at TEXT NOT NULL,
    polled_at TEXT,
    status TEXT NOT NULL DEFAULT 'ok',
    error TEXT,
    UNIQUE (url, scope)
);
CREATE TABLE feed_items (
    feed_id INTEGER NOT NULL REFERENCES feeds(id) ON DELETE CASCADE,
    key TEXT NOT NULL,
    link TEXT,
    seen_at TEXT NOT NULL,
    PRIMARY KEY (feed_id, key)
) WITHOUT ROWID;
"""
"""Version 2: when each source was last read successfully, and the followed feeds with their polling state
(conditional GET validators, items already seen), so polling carries on where it stopped after a restart."""


def _migrate_to_v2(conn: sqlite3.Connection) -> None:
    _run_script(conn, _V2_FEEDS)


_V3_SEGMENT_INDEX = """
CREATE INDEX paragraphs_segment ON paragraphs(segment_id);
"""
"""Version 3: paragraphs found by segment, so merging a few small segments reads only their paragraphs,
not the whole table (a merge in a million-paragraph index went from half a second to milliseconds)."""


def _migrate_to_v3(conn: sqlite3.Connection) -> None:
    _run_script(conn, _V3_SEGMENT_INDEX)


def _migrate_to_v4(conn: sqlite3.Connection) -> None:
    """v4: posting lists in ascending paragraph order, sentence ends no longer stored, a new content hash.

    A question now finds its winners' coverage by binary search in the lists, and a merge of segments not
    in id order could leave a list out of order: those are sorted here, once. Sentence ends are found when
    a passage is shown; the column goes where SQLite can drop columns (3.35) and is left empty elsewhere.
    The content hash no longer goes through JSON (a third of its cost): each source's is worked out again
    from what is stored, so an unchanged source stays "unchanged".
    """
    if sqlite3.sqlite_version_info >= (3, 35, 0):
        conn.execute("ALTER TABLE paragraphs DROP COLUMN sentences")
    _sort_posting_lists(conn)
    _hash_sources_again(conn)


def _sort_posting_lists(conn: sqlite3.Connection) -> None:
    reordered = []
    for rowid, docs, tfs, lengths in conn.execute(
        "SELECT rowid, docs, tfs, lengths FROM postings"
    ).fetchall():
        stored = PostingList.from_blobs(docs, tfs, lengths)
        ordered = stored.in_order()
        if ordered is not stored:
            reordered.append((*ordered.to_blobs(), rowid))
    conn.executemany("UPDATE postings SET docs = ?, tfs = ?, lengths = ? WHERE rowid = ?", reordered)


def _hash_sources_again(conn: sqlite3.Connection) -> None:
    sources = conn.execute("SELECT id, title, url, outlet, author, published FROM sources").fetchall()
    for source_id, title, url, outlet, author, published in sources:
        texts = conn.execute(
            "SELECT text FROM paragraphs WHERE source_id = ? ORDER BY position", (source_id,)
        )
        article = Article(
            source_id, title, tuple(text for (text,) in texts), "", url, outlet, author, published
        )
        conn.execute("UPDATE sources SET content_hash = ? WHERE id = ?", (content_hash(article), source_id))


# Each migration takes the database from version N to N + 1; index i migrates from i + 1 to i + 2.
MIGRATIONS: list[Callable[[sqlite3.Connection], None]] = [_migrate_to_v2, _migrate_to_v3, _migrate_to_v4]


def check_identity(conn: sqlite3.Connection, target: Path) -> None:
    """Refuse a database that is another application's or a newer storybot's, only reading it.

    Nothing is written before this passes, so a file that is not storybot's is left as it was.
    """
    # Imported here: sqlite-utils brings click, which importing the core (the bot's settings) need not load.
    import sqlite_utils  # noqa: PLC0415

    application_id = conn.execute("PRAGMA application_id").fetchone()[0]
    version = conn.execute("PRAGMA user_version").fetchone()[0]
    if application_id == 0 and version == 0:
        tables = sqlite_utils.Database(conn).table_names()
        if not tables:
            return  # a new database: `migrate` makes it
        raise NotStorybotDatabase(
            f"{target} is not a storybot database (it has other tables: {', '.join(tables[:5])}); "
            "it was left untouched"
        )
    if application_id != APPLICATION_ID:
        raise NotStorybotDatabase(f"{target} is not a storybot database; it was left untouched")
    if version > SCHEMA_VERSION:
        raise DatabaseError(
            f"{target} was written by a newer storybot (schema {version}, this one knows {SCHEMA_VERSION}); "
            "upgrade storybot to use it"
        )


def check_version(conn: sqlite3.Connection, target: Path) -> None:
    """For a database opened read-only: refuse one that is empty or needs migrating (that takes a writer)."""
    if conn.execute("PRAGMA application_id").fetchone()[0] != APPLICATION_ID:
        raise ReadOnlyDatabase(f"{target} is empty, and read-only here: storybot cannot make its tables")
    version = conn.execute("PRAGMA user_version").fetchone()[0]
    if version < SCHEMA_VERSION:
        raise ReadOnlyDatabase(
            f"{target} has schema {version} and needs upgrading to {SCHEMA_VERSION}, which needs write "
            "access: open it once where it can be written"
        )


def migrate(conn: sqlite3.Connection) -> None:
    """Make a new database, or bring one `check_identity` accepted to the current schema."""
    if conn.execute("PRAGMA application_id").fetchone()[0] == 0:
        # A new database is made as version 1 and migrated like any old one: one layout, one code path.
        _create(conn)
    version = conn.execute("PRAGMA user_version").fetchone()[0]
    while version < SCHEMA_VERSION:
        conn.execute("BEGIN IMMEDIATE")
        try:
            # Another process may have migrated between our look and our lock.
            version = conn.execute("PRAGMA user_version").fetchone()[0]
            if version < SCHEMA_VERSION:
                MIGRATIONS[version - 1](conn)
                version += 1
                conn.execute(f"PRAGMA user_version = {version}")
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise


def _create(conn: sqlite3.Connection) -> None:
    conn.execute("BEGIN IMMEDIATE")
    try:
        # Another process may have created it between our look and our lock.
        if conn.execute("PRAGMA application_id").fetchone()[0] == APPLICATION_ID:
            conn.execute("COMMIT")
            return
        _run_script(conn, _SCHEMA_V1)
        conn.execute(f"PRAGMA application_id = {APPLICATION_ID}")
        conn.execute("PRAGMA user_version = 1")
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise


def _run_script(conn: sqlite3.Connection, script: str) -> None:
    # executescript() would commit first; statements one by one keep a creation or migration atomic.
    for statement in script.split(";"):
        if statement.strip():
            conn.execute(statement)
