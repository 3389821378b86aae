"""How a count reads: "1 source", "2 sources", "1,234 paragraphs", for every reply that counts something."""

from __future__ import annotations


def counted(count: int, noun: str, plural: str | None = None) -> str:
    """`count` with `noun`, plural unless it is exactly one (`plural` for nouns that do not take an s)."""
    return f"{count:,} {noun if count == 1 else plural or noun + 's'}"
