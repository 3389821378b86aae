"""Document frequencies of a scope's terms, and the df histogram kept in step with them.

rank-bm25's average idf is taken over the vocabulary, so a view's average idf is read from the histogram of
its scopes' document frequencies (how many terms have each df) rather than from every term. Whatever changes
a scope's dfs (an article stored or removed, a big add's staging published) changes them here, so the
histogram never drifts from the dfs.
"""

from __future__ import annotations

import sqlite3
from collections import Counter
from collections.abc import Mapping

from index.engine.database import in_chunks


def change_document_frequencies(conn: sqlite3.Connection, scope: str, deltas: Mapping[int, int]) -> None:
    """Add `deltas` (by term id) to the scope's document frequencies, inside the caller's transaction: a
    term whose df falls to 0 leaves the scope, and the df histogram moves with every change."""
    changed = {term_id: delta for term_id, delta in deltas.items() if delta}
    if not changed:
        return
    current: dict[int, int] = {}
    for chunk, marks in in_chunks(list(changed)):
        query = f"SELECT term_id, df FROM term_stats WHERE scope = ? AND term_id IN ({marks})"
        current.update(conn.execute(query, [scope, *chunk]).fetchall())
    histogram: Counter[int] = Counter()
    upserts, deletes = [], []
    for term_id, delta in changed.items():
        old = current.get(term_id, 0)
        new = old + delta
        if old:
            histogram[old] -= 1
        if new > 0:
            histogram[new] += 1
            upserts.append((scope, term_id, new))
        else:
            deletes.append((scope, term_id))
    conn.executemany(
        "INSERT INTO term_stats (scope, term_id, df) VALUES (?, ?, ?)"
        " ON CONFLICT (scope, term_id) DO UPDATE SET df = excluded.df",
        upserts,
    )
    conn.executemany("DELETE FROM term_stats WHERE scope = ? AND term_id = ?", deletes)
    conn.executemany(
        "INSERT INTO df_histogram (scope, df, terms) VALUES (?, ?, ?)"
        " ON CONFLICT (scope, df) DO UPDATE SET terms = terms + excluded.terms",
        [(scope, df, change) for df, change in histogram.items() if change],
    )
    conn.execute("DELETE FROM df_histogram WHERE scope = ? AND terms <= 0", (scope,))
