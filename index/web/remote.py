"""Sources that arrive over the network: a link fetched (safely, see `index.web.fetcher`) and read as an
article, and a file uploaded to the bot. Both end as `Article`s through the same readers as files on disk.
"""

from __future__ import annotations

import asyncio
from dataclasses import replace
from pathlib import PurePosixPath
from urllib.parse import unquote, urlsplit

from index.errors import SourceError
from index.models import Article
from index.sources.origins import UPLOAD_PREFIX, Loader, load_origin
from index.sources.readers import decode_text, kind_for_name, read_text_source, slug
from index.web.fetcher import Resolve, decode_body, fetch, system_resolve
from index.web.policy import ARTICLE_TYPES, FetchPolicy

_KINDS = {
    "text/html": "html",
    "application/xhtml+xml": "html",
    "text/markdown": "markdown",
    "text/plain": "text",
}


def is_link(text: str) -> bool:
    """Whether a source given on the command line or in Discord is a link rather than a file."""
    return "://" in text


def link_source_id(url: str) -> str:
    """A readable source id for a link: its last path segment without extension, else its host."""
    parts = urlsplit(url)
    segments = [segment for segment in parts.path.split("/") if segment]
    stem = PurePosixPath(unquote(segments[-1])).stem if segments else ""
    return slug(stem or parts.hostname or "link")


async def read_link(url: str, policy: FetchPolicy, *, resolve: Resolve = system_resolve) -> list[Article]:
    """Fetch a link and read its article: main text and metadata (title, outlet, date, canonical URL).

    Raises SourceError (FetchError when the link itself was refused or unreachable) naming the link.
    """
    fetched = await fetch(url, policy, accept=ARTICLE_TYPES, resolve=resolve)
    kind = _KINDS[fetched.media_type]
    # The parsing is CPU work: off the event loop, like every other blocking step.
    articles = await asyncio.to_thread(read_text_source, fetched.text(), origin=url, name=url, kind=kind)
    source_id = link_source_id(url)
    return [replace(article, source_id=source_id, url=article.url or fetched.url) for article in articles]


def read_upload(data: bytes, filename: str, *, scope: str, max_bytes: int) -> list[Article]:
    """Read a file uploaded to the bot (txt, md, html, jsonl) into articles; SourceError says why not."""
    name = PurePosixPath(filename).name or "upload"
    kind = kind_for_name(name)
    if len(data) > max_bytes:
        raise SourceError(f"{name}: {len(data):,} bytes, over the {max_bytes:,}-byte limit")
    if not data:
        raise SourceError(f"{name}: empty file")
    if kind == "html":
        # An HTML file may declare its own charset in a <meta> tag, as a fetched page may.
        if b"\x00" in data:
            raise SourceError(f"{name}: binary file (contains NUL bytes), not text")
        text = decode_body(data, None)
    else:
        text = decode_text(data, name=name)
    # Each server's uploads are apart: the same file name in two servers is two sources.
    return read_text_source(text, origin=f"{UPLOAD_PREFIX}{scope}/{name}", name=name, kind=kind)


def link_loader(policy: FetchPolicy, *, resolve: Resolve = system_resolve) -> Loader:
    """A reindex loader that fetches links again (and reads other origins as `load_origin` does).

    `StoryIndex.reindex` calls it from the thread it runs in, never on an event loop: each link is fetched
    on a short-lived loop of that thread.
    """

    def load(origin: str) -> list[Article]:
        if origin.startswith(("http://", "https://")):
            return asyncio.run(read_link(origin, policy, resolve=resolve))
        return load_origin(origin)

    return load
