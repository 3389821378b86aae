"""`WebSite`: an aiohttp server on 127.0.0.1 whose paths the test fills in as it goes."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import html
import socket
import threading
from collections.abc import Awaitable, Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from types import TracebackType
from typing import Self

from aiohttp import web

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@dataclass(frozen=True)
class RecordedRequest:
    """One request the site received."""

    method: str
    path: str
    headers: dict[str, str]


@dataclass
class FeedEntry:
    title: str
    link: str
    guid: str
    published: datetime


@dataclass
class Feed:
    """An RSS 2.0 or Atom feed whose entries a test adds between polls; ETag and Last-Modified follow them."""

    title: str
    kind: str = "rss"  # or "atom"
    entries: list[FeedEntry] = field(default_factory=list)
    modified: datetime = field(default_factory=lambda: datetime(2024, 5, 27, 8, 0, tzinfo=UTC))

    def add(self, title: str, link: str, guid: str | None = None) -> None:
        """A new entry, first in the feed (feeds list the newest first)."""
        self.modified += timedelta(minutes=5)
        self.entries.insert(0, FeedEntry(title, link, guid or link, self.modified))

    def render(self) -> bytes:
        if self.kind == "atom":
            return self._atom().encode("utf-8")
        return self._rss().encode("utf-8")

    @property
    def etag(self) -> str:
        return '"' + hashlib.sha256(self.render()).hexdigest()[:16] + '"'

    @property
    def last_modified(self) -> str:
        return format_datetime(self.modified, usegmt=True)

    def _rss(self) -> str:
        items = "".join(
            f"<item><title>{html.escape(e.title)}</title><link>{html.escape(e.link)}</link>"
            f'<guid isPermaLink="false">{html.escape(e.guid)}</guid>'
            f"<pubDate>{format_datetime(e.published, usegmt=True)}</pubDate>"
            "<description>Read the full story.</description></item>"
            for e in self.entries
        )
        return (
            '<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel>'
            f"<title>{html.escape(self.title)}</title><link>http://example.test/</link>"
            f"<description>Updates</description>{items}</channel></rss>"
        )

    def _atom(self) -> str:
        entries = "".join(
            f"<entry><title>{html.escape(e.title)}</title>"
            f'<link rel="alternate" href="{html.escape(e.link)}"/>'
            f"<id>{html.escape(e.guid)}</id><updated>{e.published.isoformat()}</updated>"
            "<summary>Read the full story.</summary></entry>"
            for e in self.entries
        )
        return (
            '<?xml version="1.0" encoding="utf-8"?><feed xmlns="http://www.w3.org/2005/Atom">'
            f"<title>{html.escape(self.title)}</title><id>urn:feed:{html.escape(self.title)}</id>"
            f"<updated>{self.modified.isoformat()}</updated>{entries}</feed>"
        )


class WebSite:
    """Serve on 127.0.0.1: `async with WebSite() as site:`, then `site.page(...)` and `site.url(path)`."""

    def __init__(self) -> None:
        self._routes: dict[str, Handler] = {}
        self.requests: list[RecordedRequest] = []
        self._runner: web.AppRunner | None = None
        self._socket: socket.socket | None = None
        self._closing = asyncio.Event()

    async def __aenter__(self) -> Self:
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._dispatch)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.5)
        await self._runner.setup()
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.bind(("127.0.0.1", 0))
        self._socket = sock
        await web.SockSite(self._runner, sock).start()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._closing.set()
        if self._runner is not None:
            await self._runner.cleanup()
        if self._socket is not None:
            self._socket.close()

    @property
    def port(self) -> int:
        assert self._socket is not None, "use `async with WebSite() as site`"
        return int(self._socket.getsockname()[1])

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def requests_for(self, path: str) -> list[RecordedRequest]:
        return [request for request in self.requests if request.path == path]

    # -- what to serve ------------------------------------------------------------------------------

    def page(
        self,
        path: str,
        body: str | bytes,
        content_type: str = "text/html; charset=utf-8",
        *,
        status: int = 200,
        headers: dict[str, str] | None = None,
    ) -> None:
        """Serve `body` (str bodies as UTF-8) with exactly this Content-Type header."""
        data = body.encode("utf-8") if isinstance(body, str) else body

        async def handler(_request: web.Request) -> web.StreamResponse:
            response = web.Response(body=data, status=status, headers=headers)
            # Set as a raw header: aiohttp's content_type setter would rewrite the charset parameter.
            response.headers["Content-Type"] = content_type
            return response

        self._routes[path] = handler

    def remove(self, path: str) -> None:
        self._routes.pop(path, None)

    def redirect(self, path: str, location: str, status: int = 302) -> None:
        async def handler(_request: web.Request) -> web.StreamResponse:
            return web.Response(status=status, headers={"Location": location})

        self._routes[path] = handler

    def feed(self, path: str, feed: Feed, *, etag: bool = True) -> None:
        """Serve a feed with Last-Modified (and ETag unless `etag` is false), answering 304 when the
        client's copy is current."""
        content_type = "application/atom+xml" if feed.kind == "atom" else "application/rss+xml"

        async def handler(request: web.Request) -> web.StreamResponse:
            validators = {"Last-Modified": feed.last_modified}
            if etag:
                validators["ETag"] = feed.etag
            if (etag and request.headers.get("If-None-Match") == feed.etag) or (
                "If-None-Match" not in request.headers
                and request.headers.get("If-Modified-Since") == feed.last_modified
            ):
                return web.Response(status=304, headers=validators)
            response = web.Response(body=feed.render(), headers=validators)
            response.headers["Content-Type"] = f"{content_type}; charset=utf-8"
            return response

        self._routes[path] = handler

    def huge(self, path: str, size: int, *, declare_length: bool) -> None:
        """A page of `size` bytes, streamed in chunks, with or without a Content-Length saying so."""

        async def handler(request: web.Request) -> web.StreamResponse:
            response = web.StreamResponse(headers={"Content-Type": "text/html; charset=utf-8"})
            if declare_length:
                response.content_length = size
            await response.prepare(request)
            chunk = b"<p>" + b"x" * 65_530 + b"</p>\n"
            sent = 0
            try:
                while sent < size:
                    piece = chunk[: size - sent]
                    await response.write(piece)
                    sent += len(piece)
            except (ConnectionResetError, asyncio.CancelledError):
                return response
            await response.write_eof()
            return response

        self._routes[path] = handler

    def slow(self, path: str, delay: float, *, body: str = "<p>Too late.</p>") -> None:
        """Headers at once, then nothing for `delay` seconds (or until the site closes), then the body."""

        async def handler(request: web.Request) -> web.StreamResponse:
            response = web.StreamResponse(headers={"Content-Type": "text/html; charset=utf-8"})
            await response.prepare(request)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._closing.wait(), timeout=delay)
            try:
                await response.write(body.encode())
                await response.write_eof()
            except ConnectionResetError:
                pass
            return response

        self._routes[path] = handler

    async def _dispatch(self, request: web.Request) -> web.StreamResponse:
        self.requests.append(RecordedRequest(request.method, request.path, dict(request.headers)))
        handler = self._routes.get(request.path_qs) or self._routes.get(request.path)
        if handler is None:
            return web.Response(status=404, text="not found")
        return await handler(request)


@contextmanager
def site_in_thread() -> Iterator[WebSite]:
    """A `WebSite` served from its own event loop in a thread, for synchronous tests (the CLI's)."""
    loop = asyncio.new_event_loop()
    site = WebSite()
    thread = threading.Thread(target=loop.run_forever, name="test-website", daemon=True)
    thread.start()
    try:
        asyncio.run_coroutine_threadsafe(site.__aenter__(), loop).result(timeout=5)
        try:
            yield site
        finally:
            asyncio.run_coroutine_threadsafe(site.__aexit__(None, None, None), loop).result(timeout=5)
    finally:
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=5)
        loop.close()


def article_page(
    title: str,
    paragraphs: Sequence[str],
    *,
    outlet: str = "The Harbour Gazette",
    published: str = "2024-05-27",
    author: str = "Mira Okafor",
    canonical: str | None = None,
    charset_meta: str | None = "utf-8",
) -> str:
    """A news article page as sites serve them: metadata, navigation, ads, related links, comments."""
    half = max(1, len(paragraphs) // 2)
    first = "\n".join(f"        <p>{html.escape(text)}</p>" for text in paragraphs[:half])
    rest = "\n".join(f"        <p>{html.escape(text)}</p>" for text in paragraphs[half:])
    canonical_link = f'<link rel="canonical" href="{html.escape(canonical)}">' if canonical else ""
    meta = f'<meta charset="{charset_meta}">' if charset_meta else ""
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
  {meta}
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <title>{html.escape(title)} | {html.escape(outlet)}</title>
  <meta property="og:type" content="article">
  <meta property="og:title" content="{html.escape(title)}">
  <meta property="og:site_name" content="{html.escape(outlet)}">
  <meta property="article:published_time" content="{published}T07:30:00+00:00">
  <meta name="author" content="{html.escape(author)}">
  {canonical_link}
  <script>window.dataLayer = window.dataLayer || []; function gtag(){{dataLayer.push(arguments);}}</script>
</head>
<body>
  <div id="cookie-banner" class="cookie-consent">
    <p>We use cookies to improve your experience and to show you personalised advertising.</p>
    <button>Accept all cookies</button>
  </div>
  <header class="site-header">
    <a class="logo" href="/">{html.escape(outlet)}</a>
    <nav class="main-nav">
      <ul>
        <li><a href="/news">News</a></li>
        <li><a href="/sport">Sport</a></li>
        <li><a href="/business">Business</a></li>
        <li><a href="/subscribe">Subscribe for unlimited access</a></li>
      </ul>
    </nav>
  </header>
  <div class="ad ad-leaderboard">
    <p>Advertisement</p>
    <a href="https://ads.example/click?id=7"><img src="/ads/banner.jpg" alt="Spring sale"></a>
  </div>
  <main>
    <article class="article">
      <header>
        <h1 class="headline">{html.escape(title)}</h1>
        <p class="byline">By <span class="author">{html.escape(author)}</span> ·
          <time datetime="{published}T07:30:00+00:00">{published}</time></p>
      </header>
      <div class="article-body">
{first}
        <div class="ad ad-inline"><p>Advertisement</p><p>Sponsored: Compare mortgage rates</p></div>
{rest}
        <aside class="related">
          <h3>Related stories</h3>
          <ul><li><a href="/news/ferry">Ferry timetable to change next month</a></li></ul>
        </aside>
      </div>
      <div class="share-tools"><a href="#">Share on Facebook</a> <a href="#">Email this article</a></div>
    </article>
    <section id="comments" class="comments">
      <h2>Comments (2)</h2>
      <div class="comment"><p class="comment-author">harbourfan42</p><p>What a waste of money.</p></div>
      <div class="comment"><p class="comment-author">k_olsen</p><p>Will the ferry run in winter?</p></div>
      <form class="comment-form"><textarea placeholder="Add a comment"></textarea><button>Post</button></form>
    </section>
  </main>
  <div class="newsletter-signup"><p>Get the morning briefing: sign up for our newsletter.</p></div>
  <footer class="site-footer">
    <nav><a href="/about">About us</a> | <a href="/privacy">Privacy policy</a></nav>
    <p>© 2024 {html.escape(outlet)}. All rights reserved.</p>
  </footer>
</body>
</html>
"""


SALTMARSH_TITLE = "Saltmarsh tidal barrier delayed again"
"""The article the fetching, CLI and Discord tests serve: a realistic local news story."""
SALTMARSH_PARAGRAPHS = (
    "The Saltmarsh tidal barrier will open two years later than planned, the county council said on "
    "Monday, after engineers found cracks in the eastern gate during tests in April.",
    "The barrier was meant to protect four thousand homes along the estuary from storm surges, which have "
    "flooded the old harbour district three times since 2019.",
    "The project has cost 410 million pounds so far, about ninety million more than the budget approved by "
    "councillors in 2020, mostly because of the repairs to the gate.",
    "Council leader Priya Natarajan said the delay was disappointing but that safety came first, and "
    "promised monthly progress reports to residents.",
)
