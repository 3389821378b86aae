"""BM25 in one SQLite file: tokenizing, storing posting lists in segments, ranking; no readers, no network."""
