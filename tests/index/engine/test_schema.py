"""Opening a database of an older layout migrates it in place, and it answers as a new one would."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import numpy as np

from index import StoryIndex
from index.engine.postings import PostingList
from index.engine.schema import SCHEMA_VERSION
from index.sources.origins import read_builtin_story

QUESTION = "Why did Musk leave OpenAI?"


def as_version_3(path: Path) -> int:
    """Turn a current database back into version 3: a stored sentences column, one list out of id order.

    Returns the rowid of the posting list it put out of order.
    """
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("ALTER TABLE paragraphs ADD COLUMN sentences TEXT NOT NULL DEFAULT ''")
    rowid, docs, tfs, lengths = conn.execute(
        "SELECT rowid, docs, tfs, lengths FROM postings ORDER BY length(docs) DESC LIMIT 1"
    ).fetchone()
    stored = PostingList.from_blobs(docs, tfs, lengths)
    assert len(stored) > 2
    backwards = PostingList(stored.docs[::-1], stored.tfs[::-1], stored.lengths[::-1])
    conn.execute(
        "UPDATE postings SET docs = ?, tfs = ?, lengths = ? WHERE rowid = ?", (*backwards.to_blobs(), rowid)
    )
    conn.execute("UPDATE sources SET content_hash = 'a hash of the older kind'")
    conn.execute("PRAGMA user_version = 3")
    conn.close()
    return rowid


def test_version_3_is_migrated_to_sorted_lists_without_stored_sentences(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    with StoryIndex(path) as index:
        expected = index.ask(QUESTION)
    rowid = as_version_3(path)

    with StoryIndex(path) as index:
        migrated = index.ask(QUESTION)
        again = index.add_articles(read_builtin_story())
    assert migrated == expected
    assert [record.id for record in again.unchanged] == ["musk-twitter-ai-gpus"]  # hashed again, not changed
    assert not again.added and not again.updated

    conn = sqlite3.connect(path)
    assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION == 4
    columns = {row[1] for row in conn.execute("PRAGMA table_info(paragraphs)")}
    assert "sentences" not in columns or sqlite3.sqlite_version_info < (3, 35, 0)
    for (docs,) in conn.execute("SELECT docs FROM postings"):
        ids = np.frombuffer(docs, dtype="<u4")
        assert np.all(ids[1:] > ids[:-1])
    assert conn.execute("SELECT 1 FROM postings WHERE rowid = ?", (rowid,)).fetchone()
    conn.close()
