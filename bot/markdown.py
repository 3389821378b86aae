"""Text made safe for Discord: invisible characters removed, markdown and mentions escaped, clipped whole.

Article text is untrusted: it can hold `@everyone`, `<@id>`, markdown that would restyle the answer, and
zero-width or right-to-left characters that hide or reorder words. `escape` neutralises all of it with a
reversible scheme (a backslash before each markdown character and before a leading `-`, `#` or `>`; a
zero-width space after `@` in `@everyone`/`@here`), so `unescape` gives the text back, which is how a button
recovers the question from its message. The clipping helpers cut between escape units, never inside one, so a
clipped text renders the same.
"""

from __future__ import annotations

import re
import unicodedata
from urllib.parse import quote, urlsplit

ELLIPSIS = "…"
ZERO_WIDTH_SPACE = "\u200b"

_MARKDOWN_CHARS = frozenset("\\*_~`|<>[]")
_LINE_START_CHARS = frozenset("-#>")
"""Markdown only at the start of a line (lists, headings, quotes): escaped as the first character."""
_BLANK_LETTERS = frozenset("\u115f\u1160\u3164\uffa0\u2800")
"""Letters that render as nothing (used to fake empty names); removed with the format characters."""
_MASS_MENTION = re.compile(r"@(?=everyone|here)")
_WHITESPACE = re.compile(r"\s+")
_UNIT = re.compile(r"\\.|.", re.DOTALL)
_ESCAPED = re.compile(r"\\(.)", re.DOTALL)


def neutralise(text: str) -> str:
    """Whitespace runs made one space; control, format (zero-width, bidi) and blank characters gone."""
    return "".join(
        char
        for char in _WHITESPACE.sub(" ", text)
        if char not in _BLANK_LETTERS and unicodedata.category(char) not in ("Cc", "Cf", "Cs")
    )


def escape(text: str, *, strip: bool = True) -> str:
    """`text` neutralised, with markdown and mass mentions escaped, ready for any Discord text field."""
    safe = _MASS_MENTION.sub("@" + ZERO_WIDTH_SPACE, neutralise(text))
    if strip:
        safe = safe.strip()
    escaped = "".join("\\" + char if char in _MARKDOWN_CHARS else char for char in safe)
    return "\\" + escaped if escaped[:1] in _LINE_START_CHARS else escaped


def unescape(text: str) -> str:
    """The inverse of `escape` (up to the characters `neutralise` removed)."""
    return _ESCAPED.sub(r"\1", text).replace(ZERO_WIDTH_SPACE, "")


def clip(escaped: str, limit: int) -> str:
    """An escaped text cut to at most `limit` characters, ending in … when cut; never splits an escape."""
    if len(escaped) <= limit:
        return escaped
    if limit < len(ELLIPSIS):
        return ""
    kept: list[str] = []
    size = 0
    for unit in _UNIT.findall(escaped):
        if size + len(unit) > limit - len(ELLIPSIS):
            break
        kept.append(unit)
        size += len(unit)
    return "".join(kept).rstrip() + ELLIPSIS


def clip_start(escaped: str, limit: int) -> str:
    """Like `clip`, but keeps the end of the text and starts with … when cut."""
    if len(escaped) <= limit:
        return escaped
    if limit < len(ELLIPSIS):
        return ""
    kept: list[str] = []
    size = 0
    for unit in reversed(_UNIT.findall(escaped)):
        if size + len(unit) > limit - len(ELLIPSIS):
            break
        kept.append(unit)
        size += len(unit)
    return ELLIPSIS + "".join(reversed(kept)).lstrip()


def emphasised(text: str, sentence: str, limit: int) -> str:
    """`text` escaped with `sentence` (its best sentence) in bold, within `limit`, the sentence kept first."""
    start = text.find(sentence) if sentence.strip() else -1
    if start < 0:
        return clip(escape(text), limit)
    before = escape(text[:start], strip=False).lstrip()
    after = escape(text[start + len(sentence) :], strip=False).rstrip()
    bold = escape(sentence)
    if not bold:
        return clip(escape(text), limit)
    room = limit - 4 - len(bold)
    if room < 0:
        return "**" + clip(bold, limit - 4) + "**"
    if len(before) + len(after) > room:
        before_room = min(len(before), room // 2)
        after = clip(after, room - before_room) if after else after
        before = clip_start(before, room - len(after)) if before else before
        if len(before) + len(after) > room:
            before = ""
    return f"{before}**{bold}**{after}"


def safe_url(url: str | None) -> str | None:
    """An http(s) URL usable inside a markdown link `[text](url)`, or None."""
    if not url:
        return None
    url = url.strip()
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return None
    return quote(url, safe=":/?#[]@!$&'*+,;=%~-._")
