"""Read sources into articles: text, Markdown, HTML and JSONL files, directories of them, or text in memory.

Every bad input is a SourceError whose one-line message starts with the file (and, for JSONL, the line), so a
front-end can show it as is. Paragraphs come from `index.sources.cleaning.split_paragraphs` for every kind.
"""

from __future__ import annotations

import errno
import json
import os
import re
import stat
import unicodedata
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

from index.errors import SourceError
from index.models import Article, iso_date
from index.sources.cleaning import normalize_text, split_paragraphs
from index.sources.html import extract_html
from index.sources.markdown import markdown_title, markdown_to_text

MAX_BYTES = 50 * 1024 * 1024
"""A cap a caller may pass as `max_bytes` for files it did not choose; the operator's own files have none."""

KINDS = {
    ".txt": "text",
    ".text": "text",
    ".md": "markdown",
    ".markdown": "markdown",
    ".html": "html",
    ".htm": "html",
    ".jsonl": "jsonl",
}
"""Supported file extensions and the kind of source each one holds."""

MAX_DEPTH = 100
"""Folder levels read below a directory given to `read_path`; deeper folders are skipped with a notice."""

Skip = Callable[[str, str], None]
"""Told (path as shown, reason) for each entry of a directory that is passed over without being opened."""

_SUPPORTED = ", ".join(sorted(KINDS))
_SLUG_MAX = 64
_NOT_SLUG = re.compile(r"[^a-z0-9]+")
_HAS_WORD = re.compile(r"[^\W_]")
_FRONT_MATTER_FIELD = re.compile(r"([A-Za-z_][\w-]*)\s*:\s*(.*)")
_FRONT_MATTER_KEYS = frozenset({"title", "url", "outlet", "author", "published"})
_JSONL_REQUIRED = ("id", "title", "text")
_JSONL_OPTIONAL = ("url", "outlet", "author", "published")


def kind_for_name(name: str) -> str:
    """The kind of source ("text", "markdown", "html", "jsonl") a file name's extension says it holds."""
    suffix = Path(name).suffix.lower()
    if suffix not in KINDS:
        shown = f"'{suffix}'" if suffix else "(no extension)"
        raise SourceError(f"{name}: unsupported file type {shown}; supported: {_SUPPORTED}")
    return KINDS[suffix]


def read_path(path: Path, *, max_bytes: int | None = None, skip: Skip | None = None) -> list[Article]:
    """Read a file, or every supported file under a directory, into articles (files over `max_bytes`, if
    given, refused). A big JSONL file is better streamed: see `index.sources.streaming`.

    Inside a directory, an entry that is not a regular file (a FIFO, socket or device), a link loop, a
    folder over `MAX_DEPTH` levels down and a name that is not UTF-8 are passed over and told to `skip`.
    """
    resolved, mode = _resolved(path)
    if stat.S_ISDIR(mode):
        return _read_directory(resolved, max_bytes, skip or _ignore)
    return _read_file(resolved, max_bytes)


def local_files(path: Path, skip: Skip | None = None) -> list[Path]:
    """The files a path names: itself, or the supported files under a directory (resolved, sorted), with
    what `read_path` passes over told to `skip`; SourceError if there is nothing to read."""
    resolved, mode = _resolved(path)
    if stat.S_ISDIR(mode):
        files = [file.resolve() for file in source_files(resolved, skip)]
        if not files:
            raise SourceError(
                f"{shown(resolved)}: no supported files (supported: {', '.join(sorted(KINDS))})"
            )
        return files
    kind_for_name(str(resolved))  # an unsupported file is refused before anything is read
    return [resolved]


def _resolved(path: Path) -> tuple[Path, int]:
    """The path resolved and its mode: a directory or a regular file, else SourceError in one line."""
    name = shown(path)
    if not _is_utf8(str(path)):
        raise SourceError(f"{name}: the name is not valid UTF-8; rename it to add it")
    try:
        resolved = Path(path).expanduser().resolve()
        mode = resolved.stat().st_mode
    except FileNotFoundError:
        raise SourceError(f"{shown(resolved)}: no such file or directory") from None
    except (OSError, RuntimeError) as error:
        # Python 3.11 and 3.12 raise RuntimeError for a symlink loop, later versions OSError (ELOOP).
        raise SourceError(f"{name}: cannot read ({_reason(error)})") from None
    if not stat.S_ISDIR(mode) and not stat.S_ISREG(mode):
        raise SourceError(f"{shown(resolved)}: {_not_regular(mode)}, not a regular file or directory")
    return resolved, mode


def shown(path: Path | str) -> str:
    """A path as a printable line: bytes that are not UTF-8 in a file name as \\x escapes, not surrogates."""
    return os.fsencode(path).decode("utf-8", "backslashreplace")


def read_text_source(text: str, *, origin: str, name: str, kind: str) -> list[Article]:
    """Read content already in memory (an upload, a fetched page); `name` is its file name, shown in errors
    and slugged into the source id, and `origin` where it came from."""
    if kind not in KINDS.values():
        raise SourceError(f"{name}: unsupported kind {kind!r}; supported: html, jsonl, markdown, text")
    if "\x00" in text:
        raise SourceError(f"{name}: binary content (contains NUL characters), not text")
    if text.startswith("\ufeff"):
        text = text[1:]
    if not text.strip():
        raise SourceError(f"{name}: empty file")
    if kind == "jsonl":
        return _read_jsonl(text, origin=origin, name=name)
    if kind == "html":
        # A fetched page's link is its fallback URL; trafilatura is never asked to download it.
        url = origin if origin.startswith(("http://", "https://")) else None
        page = extract_html(text, name=name, url=url)
        title = page.title or Path(name).stem
        paragraphs = _paragraphs(page.body, title, name)
        return [
            Article(
                source_id=slug(Path(name).stem),
                title=title,
                paragraphs=paragraphs,
                origin=origin,
                url=page.url,
                outlet=page.outlet,
                author=page.author,
                published=page.published,
            )
        ]
    return [_read_plain(normalize_text(text), origin=origin, name=name, markdown=kind == "markdown")]


def decode_text(data: bytes, *, name: str) -> str:
    """Decode a file's bytes as UTF-8 (a leading BOM dropped); SourceError for binary or invalid UTF-8."""
    if b"\x00" in data:
        raise SourceError(f"{name}: binary file (contains NUL bytes), not text")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as error:
        raise SourceError(f"{name}: not valid UTF-8 (invalid byte at offset {error.start})") from None
    return text.removeprefix("\ufeff")


def source_files(directory: Path, skip: Skip | None = None) -> list[Path]:
    """The supported files under `directory`, recursively and sorted, hidden files and directories skipped.

    Only regular files (or links to them) are listed; anything else `skip` is told about, never opened.
    """
    told = skip or _ignore
    found: list[Path] = []
    # A stack, not recursion, so that depth is bounded by MAX_DEPTH and not by Python's recursion limit; links
    # to folders are not followed, so a link cycle cannot loop.
    pending = [(directory, 0)]
    while pending:
        folder, depth = pending.pop()
        try:
            with os.scandir(folder) as listing:
                entries = sorted(listing, key=lambda entry: entry.name)
        except OSError as error:
            told(shown(folder), f"cannot list the folder ({_reason(error)})")
            continue
        for entry in entries:
            if entry.name.startswith("."):
                continue
            path = Path(entry.path)
            try:
                if entry.is_dir(follow_symlinks=False):
                    if depth < MAX_DEPTH:
                        pending.append((path, depth + 1))
                    else:
                        told(shown(path), f"more than {MAX_DEPTH} folders deep; not read")
                    continue
                if path.suffix.lower() not in KINDS:
                    continue
                mode = entry.stat().st_mode
            except OSError as error:
                told(shown(path), f"cannot read ({_reason(error)})")
                continue
            if not stat.S_ISREG(mode):
                told(shown(path), f"{_not_regular(mode)}, not a regular file; not opened")
            elif not _is_utf8(entry.path):
                told(shown(path), "the name is not valid UTF-8; rename it to add it")
            else:
                found.append(path)
    return sorted(found, key=lambda file: file.relative_to(directory).parts)


def slug(stem: str) -> str:
    """A source id from a file stem: lower-case ASCII letters, digits and hyphens, at most 64, never empty."""
    ascii_text = unicodedata.normalize("NFKD", stem).encode("ascii", "ignore").decode("ascii")
    text = _NOT_SLUG.sub("-", ascii_text.lower()).strip("-")[:_SLUG_MAX].strip("-")
    return text or "source"


def _ignore(_path: str, _reason: str) -> None:
    """A `Skip` for callers that do not ask what was passed over."""


def _is_utf8(name: str) -> bool:
    # A name that is not UTF-8 comes from the OS as surrogate escapes, which SQLite (and a UTF-8 terminal)
    # cannot take; it is refused with a line saying so rather than stored under a mangled origin.
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _not_regular(mode: int) -> str:
    """What a file system entry that is not a regular file or directory is, in a few words."""
    if stat.S_ISFIFO(mode):
        return "a named pipe (FIFO)"
    if stat.S_ISSOCK(mode):
        return "a socket"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    if stat.S_ISDIR(mode):
        return "a link to a folder (not followed)"
    return "a special file"


def _reason(error: OSError | RuntimeError) -> str:
    # Python 3.11 and 3.12 raise RuntimeError for a loop that resolve() finds, later ones OSError (ELOOP).
    if isinstance(error, RuntimeError) or error.errno == errno.ELOOP:
        return "a symbolic link loop"
    return error.strerror or str(error)


def open_regular(path: Path) -> BinaryIO:
    """Open a file for reading only if it is a regular file, without ever blocking.

    O_NONBLOCK makes opening a FIFO return at once instead of waiting for a writer, and the check is made on
    the opened descriptor, so a file swapped for a FIFO or device after the directory was listed is refused.
    """
    descriptor = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    handle = os.fdopen(descriptor, "rb")
    mode = os.fstat(descriptor).st_mode
    if not stat.S_ISREG(mode):
        handle.close()
        raise SourceError(f"{shown(path)}: {_not_regular(mode)}, not a regular file; not read")
    return handle


def _read_directory(directory: Path, max_bytes: int | None, skip: Skip) -> list[Article]:
    articles: list[Article] = []
    seen: dict[str, str] = {}
    for file in source_files(directory, skip):
        for article in _read_file(file.resolve(), max_bytes):
            # Two files with the same stem in different folders would overwrite each other in the index.
            if article.source_id in seen:
                both = f"{seen[article.source_id]} and {file}"
                raise SourceError(f"{directory}: duplicate source id {article.source_id!r} ({both})")
            seen[article.source_id] = str(file)
            articles.append(article)
    if not articles:
        raise SourceError(f"{directory}: no supported files (supported: {_SUPPORTED})")
    return articles


def _read_file(path: Path, max_bytes: int | None) -> list[Article]:
    name = str(path)
    kind = kind_for_name(name)
    try:
        with open_regular(path) as handle:
            size = os.fstat(handle.fileno()).st_size
            if max_bytes is not None and size > max_bytes:
                raise SourceError(f"{name}: file is {size:,} bytes, over the {max_bytes:,}-byte limit")
            # Read one byte past the limit: a file that grew since stat() is still refused.
            data = handle.read(-1 if max_bytes is None else max_bytes + 1)
    except OSError as error:
        raise SourceError(f"{name}: cannot read ({error.strerror or error})") from None
    if max_bytes is not None and len(data) > max_bytes:
        raise SourceError(f"{name}: file is over the {max_bytes:,}-byte limit")
    if not data:
        raise SourceError(f"{name}: empty file")
    return read_text_source(decode_text(data, name=name), origin=name, name=name, kind=kind)


def _read_plain(text: str, *, origin: str, name: str, markdown: bool) -> Article:
    """A text or Markdown article: metadata from front matter, title from it or from the first line."""
    fields, body = _front_matter(text)
    title = fields.get("title") or _first_line(body, markdown)
    if markdown:
        body = markdown_to_text(body)
    paragraphs = _paragraphs(body, title, name)
    return Article(
        source_id=slug(Path(name).stem),
        title=title or Path(name).stem,
        paragraphs=paragraphs,
        origin=origin,
        url=fields.get("url"),
        outlet=fields.get("outlet"),
        author=fields.get("author"),
        published=_published(fields.get("published")),
    )


def _front_matter(text: str) -> tuple[dict[str, str], str]:
    """Split a leading `---` block of `key: value` lines from the body; no closing line, no front matter."""
    lines = text.split("\n")
    if lines[0].strip() != "---":
        return {}, text
    for end in range(1, len(lines)):
        if lines[end].strip() in ("---", "..."):
            break
    else:
        return {}, text
    fields: dict[str, str] = {}
    for line in lines[1:end]:
        match = _FRONT_MATTER_FIELD.fullmatch(line.strip())
        if match is None or match.group(1).lower() not in _FRONT_MATTER_KEYS:
            continue
        value = match.group(2).strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        value = " ".join(value.split())
        if value:
            fields[match.group(1).lower()] = value
    return fields, "\n".join(lines[end + 1 :])


def _first_line(body: str, markdown: bool) -> str:
    """The first line with a letter or digit, as a title ("# Heading" loses its marks in Markdown)."""
    for line in body.split("\n"):
        if _HAS_WORD.search(line):
            return markdown_title(line) if markdown else " ".join(line.split())
    return ""


def _paragraphs(body: str, title: str, name: str) -> tuple[str, ...]:
    paragraphs = split_paragraphs(body, title)
    if not paragraphs:
        raise SourceError(f"{name}: no paragraphs left after cleaning")
    return paragraphs


def _published(value: str | None) -> str | None:
    """An ISO timestamp is cut to its date, as HTML dates are; any other date is kept as written."""
    return iso_date(value) or value or None


def _read_jsonl(text: str, *, origin: str, name: str) -> list[Article]:
    """One article per JSON object line; blank lines skipped; errors name the line."""
    articles: list[Article] = []
    first_line: dict[str, int] = {}
    for number, line in enumerate(text.split("\n"), start=1):
        if not line.strip():
            continue
        where = f"{name}: line {number}"
        article = jsonl_line_article(line, where, origin)
        if article.source_id in first_line:
            seen = first_line[article.source_id]
            raise SourceError(f"{where}: duplicate id {article.source_id!r} (first on line {seen})")
        first_line[article.source_id] = number
        articles.append(article)
    if not articles:
        raise SourceError(f"{name}: empty file")
    return articles


def _refuse_lone_surrogates(record: dict[str, object], where: str) -> None:
    for key in (*_JSONL_REQUIRED, *_JSONL_OPTIONAL):
        value = record.get(key)
        if isinstance(value, str) and not _is_utf8(value):
            raise SourceError(f"{where}: {key!r} holds a lone surrogate escape (\\ud800-\\udfff), not text")


def jsonl_line_article(line: str, where: str, origin: str) -> Article:
    """The article of one JSONL line; SourceError starting with `where` (the file and line) if it is bad."""
    try:
        record = json.loads(line)
    except json.JSONDecodeError as error:
        raise SourceError(f"{where}: malformed JSON ({error.msg} at column {error.colno})") from None
    except RecursionError:
        raise SourceError(f"{where}: JSON nested too deeply") from None
    if not isinstance(record, dict):
        raise SourceError(f"{where}: not a JSON object")
    # Only a \\u escape can make a lone surrogate, which SQLite cannot store; most lines have none.
    if "\\u" in line:
        _refuse_lone_surrogates(record, where)
    return _jsonl_article(record, where, origin)


def _jsonl_article(record: dict[str, object], where: str, origin: str) -> Article:
    required: dict[str, str] = {}
    for key in _JSONL_REQUIRED:
        if key not in record:
            raise SourceError(f"{where}: missing {key!r}")
        value = record[key]
        if not isinstance(value, str):
            raise SourceError(f"{where}: {key!r} must be a string")
        required[key] = normalize_text(value) if key == "text" else _one_line(value) or ""
        if not required[key].strip():
            raise SourceError(f"{where}: {key!r} is empty")
    optional: dict[str, str | None] = {}
    for key in _JSONL_OPTIONAL:
        value = record.get(key)
        if value is not None and not isinstance(value, str):
            raise SourceError(f"{where}: {key!r} must be a string or null")
        optional[key] = _one_line(value) if value is not None else None
    return Article(
        source_id=required["id"],
        title=required["title"],
        paragraphs=_paragraphs(required["text"], required["title"], where),
        origin=origin,
        url=optional["url"],
        outlet=optional["outlet"],
        author=optional["author"],
        published=_published(optional["published"]),
    )


def _one_line(value: str) -> str | None:
    """A metadata value: normalised, whitespace collapsed, None if nothing is left."""
    return " ".join(normalize_text(value).split()) or None
