"""Where the sentences of a paragraph end: found when a passage is read, never stored."""

from __future__ import annotations

import re

# End punctuation, any closing quotes or brackets, white space, then what starts a sentence.
_SENTENCE_END = re.compile(r"[.!?…][\"'”’)\]]*(\s+)(?=[\"'“‘(\[]?[A-Z0-9])")


def sentence_ends(text: str) -> list[int]:
    """The offset where each sentence of a paragraph ends: at end punctuation before a capital or digit.

    No sentence comes out blank: each but the last holds its end punctuation, and the last starts at the
    capital or digit the split looked for. Only an all-blank text has none.
    """
    if not text or text.isspace():
        return []
    ends = [match.start(1) for match in _SENTENCE_END.finditer(text)]
    ends.append(len(text))
    return ends
