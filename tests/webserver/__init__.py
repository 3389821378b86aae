"""A local web server on 127.0.0.1 for the tests of fetching links and following feeds.

`WebSite` serves what a test puts at a path: realistic article pages, RSS and Atom feeds with ETag and
Last-Modified (answering 304 to a conditional GET), redirects, and misbehaving responses (huge, slow, wrong
content type, wrong or missing charset). It records every request, so tests can assert what was asked.
Nothing here leaves 127.0.0.1.
"""

from .site import (
    SALTMARSH_PARAGRAPHS,
    SALTMARSH_TITLE,
    Feed,
    RecordedRequest,
    WebSite,
    article_page,
    site_in_thread,
)

__all__ = [
    "SALTMARSH_PARAGRAPHS",
    "SALTMARSH_TITLE",
    "Feed",
    "RecordedRequest",
    "WebSite",
    "article_page",
    "site_in_thread",
]
