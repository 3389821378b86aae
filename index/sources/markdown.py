"""Markdown as plain text: code blocks, headings and rules dropped, links and emphasis reduced to their text.

Markdown is read as text with its markup removed; the blocks it leaves go through
`index.sources.cleaning.split_paragraphs`, as every other kind does.
"""

from __future__ import annotations

import re

_FENCE = re.compile(r"(`{3,}|~{3,})")
_ATX_HEADING = re.compile(r"#{1,6}(?:\s|$)")
_SETEXT_UNDERLINE = re.compile(r"=+|-+")
_THEMATIC_BREAK = re.compile(r"(?:\*[ \t]*){3,}|(?:-[ \t]*){3,}|(?:_[ \t]*){3,}")
_MD_LIST_ITEM = re.compile(r"(?:[-*+]|\d{1,9}[.)])[ \t]+")
_BLOCKQUOTE = re.compile(r"(?:>[ \t]?)+")
_REFERENCE_DEFINITION = re.compile(r"\[[^\]\n]+\]:[ \t]*\S.*")
_HTML_COMMENT = re.compile(r"<!--.*?-->", re.DOTALL)
_HTML_TAG = re.compile(r"</?[A-Za-z][^<>\n]*>")
_MD_ESCAPE = re.compile(r"\\([\\`*_{}\[\]()#+\-.!<>~|])")
_CODE_SPAN = re.compile(r"(`+)(.+?)\1")
_IMAGE = re.compile(r"!\[[^\]\n]*\](?:\([^)\n]*\)|\[[^\]\n]*\])")
_LINK = re.compile(r"\[([^\]\n]*)\](?:\([^)\n]*\)|\[[^\]\n]*\])")
_AUTOLINK = re.compile(r"<((?:https?|ftp|mailto):[^<>\s]+)>")
_STRONG = re.compile(r"(\*\*|__)(?=\S)(.+?)(?<=\S)\1")
_EMPHASIS_STAR = re.compile(r"(?<![\w*])\*(?=[^\s*])(.+?)(?<=[^\s*])\*(?![\w*])")
_EMPHASIS_UNDERSCORE = re.compile(r"(?<![\w_])_(?=[^\s_])(.+?)(?<=[^\s_])_(?![\w_])")
_STRIKETHROUGH = re.compile(r"~~(?=\S)(.+?)(?<=\S)~~")
# Escaped characters and code are hidden from the emphasis and link rules by moving them to the Private
# Use Area, and brought back at the end.
_MARKUP = "\\`*_{}[]()#+-.!<>~|"
_PROTECT = str.maketrans({char: chr(0xE000 + ord(char)) for char in _MARKUP})
_RESTORE = str.maketrans({chr(0xE000 + ord(char)): char for char in _MARKUP})


def markdown_to_text(markdown: str) -> str:
    """Markdown as plain text blocks: code blocks, headings and rules dropped, list items and quotes made
    paragraphs of their own, links and emphasis reduced to their text."""
    lines: list[str] = []
    fence: str | None = None
    for raw in _HTML_COMMENT.sub("", markdown).split("\n"):
        line = raw.strip()
        if fence is not None:
            # An unclosed fence runs to the end of the document, as CommonMark says.
            if line.startswith(fence) and not line[len(fence) :].strip():
                fence = None
            continue
        opening = _FENCE.match(line)
        if opening is not None:
            fence = opening.group(1)
            lines.append("")
            continue
        line = _BLOCKQUOTE.sub("", line, count=1) if line.startswith(">") else line
        if _SETEXT_UNDERLINE.fullmatch(line) and lines and lines[-1]:
            lines[-1] = ""  # the line above was a heading
            continue
        if (
            _ATX_HEADING.match(line)
            or _THEMATIC_BREAK.fullmatch(line)
            or _REFERENCE_DEFINITION.fullmatch(line)
        ):
            lines.append("")
            continue
        item = _MD_LIST_ITEM.match(line)
        if item is not None:
            lines.extend(("", line[item.end() :]))
            continue
        lines.append(line)
    return _strip_inline("\n".join(lines))


def markdown_title(line: str) -> str:
    """A Markdown line as a title: heading marks and inline markup removed."""
    text = line.strip().lstrip("#").strip()
    return " ".join(_strip_inline(text.rstrip("#")).split())


def _strip_inline(text: str) -> str:
    text = _MD_ESCAPE.sub(lambda match: match.group(1).translate(_PROTECT), text)
    text = _CODE_SPAN.sub(lambda match: match.group(2).strip().translate(_PROTECT), text)
    text = _IMAGE.sub("", text)
    text = _LINK.sub(r"\1", text)
    text = _AUTOLINK.sub(r"\1", text)
    text = _HTML_TAG.sub("", text)
    text = _STRONG.sub(r"\2", text)
    text = _EMPHASIS_STAR.sub(r"\1", text)
    text = _EMPHASIS_UNDERSCORE.sub(r"\1", text)
    text = _STRIKETHROUGH.sub(r"\1", text)
    return text.translate(_RESTORE)
