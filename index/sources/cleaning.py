"""Split an article's body into passages and drop the boilerplate news sites wrap around them.

Every reader (text, Markdown, HTML after extraction, JSONL) ends here, so the rules are the same for every
source. Each rule is about the shape of news pages in general (a repeated headline, a dateline, a desk tag),
never about the words of one story.
"""

from __future__ import annotations

import re
import unicodedata

_CR = re.compile(r"\r\n?")
# Characters that end a line the way "\n" does (str.splitlines agrees): form feed, separators, NEL.
_LINE_BREAKS = re.compile("[\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029]")
# Control characters (C0 and C1 but newline and tab) and the byte-order mark, which readers see mid-text
# when files are concatenated.
_CONTROL = re.compile("[\x00-\x08\x0e-\x1b\x1f\x7f-\x84\x86-\x9f\ufeff]")

# A line ends a sentence (or a heading-like unit) when its last character is one of these.
_SENTENCE_END = frozenset(".!?…:;\"”’')]»")
_LIST_MARKER = re.compile(r"(?:[-*+•·–—]|\d{1,3}[.)])\s")
_HAS_WORD = re.compile(r"[^\W_]")
_TOKEN = re.compile(r"[^\W_]+")

# Hard wrapping only happens at widths people read comfortably; wider lines are real paragraphs.
_WRAP_MIN, _WRAP_MAX = 30, 120
_WRAP_MIN_FILL = 0.6

# "– Jakarta –", "— LONDON —", "- Paris -": a place between spaced dashes, then a sentence starts.
_PLACE_WORD = r"(?:[A-Z][\w.'’]*|de|da|del|la|le|of|am|upon)"
_DASH_DATELINE = re.compile(
    rf"(?:^|(?<=\s))[-–—]{{1,2}}\s+[A-Z][\w.'’]*(?:\s+{_PLACE_WORD}){{0,3}}\s+[-–—]{{1,2}}\s+"
    r"(?=[\"“‘'(A-Z0-9])"
)
# "JAKARTA, March 3 (Reuters) -", "NEW YORK (AP) —", "JAKARTA, KOMPAS.com -", "WASHINGTON —".
_WIRE_DATELINE = re.compile(
    r"(?:^|(?<=\s))(?P<place>[A-Z][A-Z.'’-]+(?:\s+[A-Z][A-Z.'’-]+){0,3})"
    r"(?P<extra>(?:,\s*(?:[A-Z][a-z]{2,8}\.?\s+\d{1,2}(?:,\s*\d{4})?|[A-Z][\w.]*(?:\s+[A-Z][\w.]*){0,2}))?"
    r"(?:\s*\([A-Z][\w .&/-]{0,30}\))?)"
    r"\s*[-–—]{1,2}\s+(?=[\"“‘'(A-Z0-9])"
)
# Every dateline ends in a dash and a space; most paragraphs have none and so skip the costly patterns.
_DASH_SPACE = re.compile("[-–—] ")
# A dateline is the start of the story: look for it only this far in, behind a short promotional lead.
_DATELINE_REACH = 300
# "[FY/HBS]", "(AP)", "[ANT/RR]": short upper-case initials closing the last paragraph of a wire story.
_BRACKET_TAG = re.compile(r"\s*\[[A-Z]{1,6}(?:/[A-Z]{1,6})*\]\s*$")
_PAREN_TAG = re.compile(r"(?:^|(?<=[.!?\"”’\]]))\s*\([A-Z]{1,6}\)\s*$")
_SLASH_PAREN_TAG = re.compile(r"\s*\([A-Z]{1,6}(?:/[A-Z]{1,6})+\)\s*$")
_TAG_TAIL = 40
# A paragraph may repeat the title behind a few words of another language ("Berikut <title>").
_TITLE_EXTRA_WORDS = 3

MAX_PARAGRAPH_CHARS = 20_000
"""The longest passage kept whole (about ten pages of prose); a longer one is split at sentence ends, so one
huge paragraph never makes every answer that cites it megabytes long."""
# A sentence ends at end punctuation (and closing quotes) followed by white space: where a long one is cut.
_SENTENCE_BREAK = re.compile(r"(?<=[.!?…\"'”’)\]]) (?=[\"'“‘(\[]?[A-Z0-9])")


def normalize_text(text: str) -> str:
    """Return `text` in NFC with LF line ends and no control characters other than newline and tab."""
    text = _CR.sub("\n", text)
    text = _LINE_BREAKS.sub("\n", text)
    text = _CONTROL.sub("", text)
    return unicodedata.normalize("NFC", text)


def split_paragraphs(body: str, title: str) -> tuple[str, ...]:
    """Split `body` into clean passages: blocks between blank lines, joined or split by line as the source
    meant, with the repeated title, datelines, desk tags and empty paragraphs removed."""
    title_tokens = _tokens(title)
    passages: list[str] = []
    for block in _blocks(body):
        for paragraph in _block_paragraphs(block):
            text = _clean(" ".join(paragraph.split()))
            if text and _HAS_WORD.search(text) and not _repeats_title(text, title, title_tokens):
                passages.extend(split_long_paragraph(text) if len(text) > MAX_PARAGRAPH_CHARS else (text,))
    return tuple(passages)


def split_long_paragraph(text: str, limit: int = MAX_PARAGRAPH_CHARS) -> list[str]:
    """`text` (already one line of single spaces) cut into passages of at most `limit` characters.

    Whole sentences are packed into each passage; a sentence longer than the limit is cut between words,
    and a word longer than the limit (no space to cut at) is cut where the limit falls.
    """
    pieces: list[str] = []
    for sentence in _SENTENCE_BREAK.split(text):
        rest = sentence
        while len(rest) > limit:
            cut = rest.rfind(" ", 0, limit + 1)
            cut = cut if cut > 0 else limit
            pieces.append(rest[:cut])
            rest = rest[cut:].lstrip(" ")
        if rest:
            pieces.append(rest)
    passages: list[str] = []
    for piece in pieces:
        if passages and len(passages[-1]) + 1 + len(piece) <= limit:
            passages[-1] += " " + piece
        else:
            passages.append(piece)
    return passages


def _blocks(body: str) -> list[list[str]]:
    """Runs of non-blank lines, each line stripped; a whitespace-only line separates blocks."""
    blocks: list[list[str]] = []
    current: list[str] = []
    for raw in _CR.sub("\n", body).split("\n"):
        line = raw.strip()
        if line:
            current.append(line)
        elif current:
            blocks.append(current)
            current = []
    if current:
        blocks.append(current)
    return blocks


def _block_paragraphs(lines: list[str]) -> list[str]:
    """One paragraph for a hard-wrapped block; otherwise one per line, except that a line which ends
    mid-sentence and is followed by one starting in lower case is the same sentence."""
    if len(lines) == 1:
        return lines
    if _is_hard_wrapped(lines):
        return [_join_lines(lines)]
    paragraphs = [lines[0]]
    for line in lines[1:]:
        previous = paragraphs[-1]
        if previous[-1] not in _SENTENCE_END and line[0].islower():
            paragraphs[-1] = _join_lines([previous, line])
        else:
            paragraphs.append(line)
    return paragraphs


def _is_hard_wrapped(lines: list[str]) -> bool:
    """True for prose wrapped at a fixed width: 3+ lines, all but the last filled close to the widest,
    each broken because the next word would not fit, and not every line ending a sentence."""
    if len(lines) < 3 or any(_LIST_MARKER.match(line) for line in lines[1:]):
        return False
    body = lines[:-1]
    width = max(len(line) for line in body)
    if not _WRAP_MIN <= width <= _WRAP_MAX or len(lines[-1]) > width + 2:
        return False
    if any(len(line) < width * _WRAP_MIN_FILL for line in body):
        return False
    # A greedy wrapper breaks a line only when the next word does not fit on it.
    for line, following in zip(body, lines[1:], strict=True):
        if len(line) + 1 + len(following.split(" ", 1)[0]) <= width:
            return False
    return not all(line[-1] in _SENTENCE_END for line in body)


def _join_lines(lines: list[str]) -> str:
    """Join wrapped lines with a space; a word hyphenated across the break keeps its hyphen, no space."""
    joined = lines[0]
    for line in lines[1:]:
        if len(joined) > 1 and joined[-1] == "-" and joined[-2].isalpha() and line[0].isalpha():
            joined += line
        else:
            joined += " " + line
    return joined


def _clean(paragraph: str) -> str:
    """Remove a dateline (and the promotional lead in front of it) and a closing desk tag."""
    paragraph = paragraph[_dateline_end(paragraph) :]
    # Tags can stack ("... later. [AB/CD] (AP)"); each pass removes the last one.
    while paragraph.endswith(("]", ")")):
        start = max(0, len(paragraph) - _TAG_TAIL)
        match = (
            _BRACKET_TAG.search(paragraph, start)
            or _SLASH_PAREN_TAG.search(paragraph, start)
            or _PAREN_TAG.search(paragraph, start)
        )
        if match is None:
            break
        paragraph = paragraph[: match.start()].rstrip()
    return paragraph


def _dateline_end(paragraph: str) -> int:
    """Where the story starts after the earliest dateline near the start, or 0 if there is none."""
    if not _DASH_SPACE.search(paragraph, 0, _DATELINE_REACH):
        return 0
    head = paragraph[:_DATELINE_REACH]
    candidates: list[re.Match[str]] = []
    for dash in _DASH_DATELINE.finditer(head):
        # "the Jakarta - Bandung - Surabaya line" is a route, not a dateline: a dateline's opening dash
        # does not follow a capitalised word (unless that word ends a sentence).
        before = head[: dash.start()].split()
        if not before or not before[-1][0].isupper() or before[-1][-1] in _SENTENCE_END:
            candidates.append(dash)
            break
    for wire in _WIRE_DATELINE.finditer(head):
        # Without a date or agency, an upper-case word and a dash is a dateline only at the very start
        # and only if it is longer than an abbreviation ("US - China talks" is not one).
        if wire.group("extra") or (wire.start() == 0 and len(wire.group("place")) >= 4):
            candidates.append(wire)
            break
    if not candidates:
        return 0
    return min(candidates, key=lambda match: match.start()).end()


def _tokens(text: str) -> list[str]:
    return _TOKEN.findall(text.casefold())


def _repeats_title(paragraph: str, title: str, title_tokens: list[str]) -> bool:
    """True if the paragraph is the title, alone or with a few extra words before or after it."""
    if not title_tokens:
        return False
    # A cheap length bound first: most paragraphs are far longer than a title and a few words.
    if len(paragraph) > 2 * len(title) + 80:
        return False
    tokens = _tokens(paragraph)
    if tokens == title_tokens:
        return True
    extra = len(tokens) - len(title_tokens)
    # Short titles ("Update") must match exactly, or every short paragraph containing them would go.
    allowed = min(_TITLE_EXTRA_WORDS, len(title_tokens) // 2)
    if not 0 < extra <= allowed:
        return False
    size = len(title_tokens)
    return any(tokens[start : start + size] == title_tokens for start in range(extra + 1))
