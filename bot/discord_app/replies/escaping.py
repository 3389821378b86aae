"""Text made safe for Discord: invisible characters removed, markdown and mentions escaped, clipped whole.

Article text is untrusted: it can hold `@everyone`, `<@id>`, markdown that would restyle the answer, and
zero-width or right-to-left characters that hide or reorder words. `escape` neutralises all of it with a
reversible scheme (a backslash before each markdown character, before a leading `-`, `#` or `>` and after
a leading number of a list, `1\\.`; a zero-width space after `@` in `@everyone`/`@here`), so `unescape` gives
the text back, which is how a button recovers the question from its message. Links keep their `_` and `~`
(an escape would break them in clients): inside a link they start no markup, and every mark outside a link
that could start some is escaped. The clipping helpers cut between escape units, never inside one, so a
clipped text renders the same.

Passages can be long (a hostile source can hold a 100,000-character paragraph) and the formatter runs on the
event loop, so `escape_clipped` escapes only as much of a text as its clip can show.
"""

from __future__ import annotations

import re
import string
import unicodedata
from urllib.parse import quote, urlsplit

ELLIPSIS = "…"
ZERO_WIDTH_SPACE = "\u200b"

_MARKDOWN = str.maketrans({char: "\\" + char for char in "\\*_~`|<>[]"})
_LINK_MARKDOWN = str.maketrans({"*": "\\*"})
"""Inside a link only `*` is escaped: `_` and `~` are common in links and an escape breaks them, while the
formatter's own `**` around a sentence could otherwise close on a `**` inside one."""
_LINK = re.compile(r"(?i:https?)://[\w\-.~:/?#@!$&'()*+,;=%]*[\w\-~/#@$&()*+=%]", re.ASCII)
"""A link as Discord's clients link it, limited to the characters a URL may hold unencoded (RFC 3986), so no
backslash, backtick, `|`, bracket or space, and no trailing punctuation (`see https://x.example/a.`)."""
_ESCAPED_LINK = re.compile(r"(?i:https?)://(?:[\w\-.~:/?#@!$&'()+,;=%]|\\\*)*", re.ASCII)
"""A link once escaped (its `*` as `\\*`), to tell where a cut falls."""
_LINK_CHARS = frozenset(string.ascii_letters + string.digits + "_-.~:/?#@!$&'()*+,;=%\\")
"""What a link (escaped) is made of: a cut inside a run of these may be inside a link."""
_LINE_START = re.compile(r"(\s*)([-#>]|[0-9]+(?=[.)] ))")
"""Markdown only at the start of a line (lists, headings, quotes, numbered lists): escaped there."""
_BLANK_LETTERS = frozenset("\u115f\u1160\u3164\uffa0\u2800")
"""Letters that render as nothing (used to fake empty names); removed with the format characters."""
_MASS_MENTION = re.compile(r"@(?=everyone|here)")
_WHITESPACE = re.compile(r"\s+")
_BLANK = re.compile("[\u115f\u1160\u3164\uffa0\u2800]")
_WINDOW_MARGIN = 32
"""Raw characters escaped past a clip's limit, so that a cut window clips exactly like the whole text."""
_ESCAPED = re.compile(r"\\(.)", re.DOTALL)


def neutralise(text: str) -> str:
    """Whitespace runs made one space; control, format (zero-width, bidi) and blank characters gone."""
    collapsed = _WHITESPACE.sub(" ", text)
    # Fast path: printable text (no Cc, Cf or Cs) without blank letters has nothing to remove.
    if collapsed.isprintable() and not _BLANK.search(collapsed):
        return collapsed
    return "".join(
        char
        for char in collapsed
        if char not in _BLANK_LETTERS and unicodedata.category(char) not in ("Cc", "Cf", "Cs")
    )


def escape(text: str, *, strip: bool = True) -> str:
    """`text` neutralised, with markdown and mass mentions escaped, ready for any Discord text field."""
    safe = _MASS_MENTION.sub("@" + ZERO_WIDTH_SPACE, neutralise(text))
    if strip:
        safe = safe.strip()
    escaped = _escape_markdown(safe)
    line_start = _LINE_START.match(escaped)
    if line_start is None:
        return escaped
    space, mark = line_start.groups()
    mark = f"{mark}\\" if mark[0].isdigit() else f"\\{mark}"  # `1\. x`, `\# x`
    return space + mark + escaped[line_start.end() :]


def _escape_markdown(text: str) -> str:
    """Markdown characters escaped, but for the `_` and `~` of links (as `discord.utils.escape_markdown`
    does with `ignore_links=True`): `https://example.com/a_b_c` stays clickable."""
    if "://" not in text:
        return text.translate(_MARKDOWN)
    pieces = []
    done = 0
    for link in _LINK.finditer(text):
        pieces += [text[done : link.start()].translate(_MARKDOWN), link.group().translate(_LINK_MARKDOWN)]
        done = link.end()
    pieces.append(text[done:].translate(_MARKDOWN))
    return "".join(pieces)


def escape_head(text: str, limit: int, *, strip: bool = True) -> str:
    """`escape(text)`, or the escape of a start of it long enough that `clip(..., limit)` gives the same."""
    size = limit + _WINDOW_MARGIN
    while size < len(text):
        escaped = escape(text[:size], strip=strip)
        if len(escaped) > limit + _WINDOW_MARGIN // 2:
            return escaped
        size *= 2
    return escape(text, strip=strip)


def escape_tail(text: str, limit: int, *, strip: bool = True) -> str:
    """Like `escape_head`, for the end of `text` and `clip_start`.

    A window starts where no link can go on from before it (at a run of link characters' start), so a link
    the cut falls in is the same link as in the whole text, and `clip_start` passes over the same end.
    """
    size = limit + _WINDOW_MARGIN
    while size < len(text):
        start = len(text) - size
        while start > 0 and text[start - 1] in _LINK_CHARS:
            start -= 1
        escaped = escape(text[start:], strip=strip)
        if len(escaped) > limit + _WINDOW_MARGIN // 2:
            return escaped
        size = max(size * 2, len(text) - start + 1)
    return escape(text, strip=strip)


def escape_clipped(text: str, limit: int) -> str:
    """`clip(escape(text), limit)`, escaping no more of `text` than the clip can show."""
    return clip(escape_head(text, limit), limit)


def unescape(text: str) -> str:
    """The inverse of `escape` (up to the characters `neutralise` removed)."""
    return _ESCAPED.sub(r"\1", text).replace(ZERO_WIDTH_SPACE, "")


def clip(escaped: str, limit: int) -> str:
    """An escaped text cut to at most `limit` characters, ending in … when cut; never splits an escape."""
    if len(escaped) <= limit:
        return escaped
    if limit < len(ELLIPSIS):
        return ""
    end = limit - len(ELLIPSIS)
    if _splits_escape(escaped, end):
        end -= 1
    return escaped[:end].rstrip() + ELLIPSIS


def clip_start(escaped: str, limit: int) -> str:
    """Like `clip`, but keeps the end of the text and starts with … when cut."""
    if len(escaped) <= limit:
        return escaped
    if limit < len(ELLIPSIS):
        return ""
    start = len(escaped) - (limit - len(ELLIPSIS))
    if _splits_escape(escaped, start):
        start += 1
    return ELLIPSIS + escaped[_past_cut_link(escaped, start) :].lstrip()


def _past_cut_link(escaped: str, start: int) -> int:
    """`start`, or the end of the link it falls inside: a link's tail no longer reads as a link, so the `_`
    and `~` it kept unescaped would be live markup."""
    run = start
    while run > 0 and escaped[run - 1] in _LINK_CHARS:
        run -= 1
    for link in _ESCAPED_LINK.finditer(escaped, run):
        if link.start() >= start:
            break
        if link.end() > start:
            return link.end()
    return start


def _splits_escape(escaped: str, position: int) -> bool:
    """Whether cutting before `position` separates a backslash from the character it escapes.

    Escapes pair backslashes from the start of each run of them, so an odd run just before `position`
    ends in a backslash whose character is at `position`.
    """
    run = 0
    while run < position and escaped[position - run - 1] == "\\":
        run += 1
    return run % 2 == 1


def emphasised(text: str, sentence: str, limit: int) -> str:
    """`text` escaped with `sentence` (its best sentence) in bold, within `limit`, the sentence kept first."""
    start = text.find(sentence) if sentence.strip() else -1
    if start < 0:
        return escape_clipped(text, limit)
    # Only the ends of the text next to the sentence can be shown: the windows escape no more than that.
    before = escape_tail(text[:start], limit, strip=False).lstrip()
    after = escape_head(text[start + len(sentence) :], limit, strip=False).rstrip()
    bold = escape_head(sentence, limit)
    if not bold:
        return escape_clipped(text, limit)
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
    if parts.scheme not in ("http", "https") or not parts.hostname or "@" in parts.netloc:
        return None  # no user info either: `https://bank.example@evil.example` leads to evil.example
    # Everything that could end the link or read as markdown or a mention (`@everyone`) is percent-encoded.
    return quote(url, safe=":/?#[]!$&'*+,;=%~-._")
