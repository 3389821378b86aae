"""The operator's limits on fetching, and the networks and content types they are stated in: stdlib only.

Kept apart from `index.web.fetcher` so that a front-end can read and validate its configuration (and
`storybot ask` can start) without loading aiohttp.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

ALL_NETWORKS: tuple[IPNetwork, ...] = (ipaddress.ip_network("0.0.0.0/0"), ipaddress.ip_network("::/0"))
"""Every address: what STORYBOT_ALLOW_PRIVATE_URLS=1 allows."""

ARTICLE_TYPES = frozenset({"text/html", "application/xhtml+xml", "text/plain", "text/markdown"})
"""Content types read as articles."""

FEED_TYPES = frozenset(
    {"application/rss+xml", "application/atom+xml", "application/rdf+xml", "application/xml", "text/xml"}
)
"""Content types read as RSS or Atom feeds."""

DEFAULT_MAX_BYTES = 5 * 1024 * 1024


@dataclass(frozen=True)
class FetchPolicy:
    """The operator's limits on fetching: which non-public networks are allowed, time, size, redirects."""

    allowed_networks: tuple[IPNetwork, ...] = ()
    """Non-public networks that may be fetched all the same (STORYBOT_ALLOW_PRIVATE_URLS); none by default."""
    timeout: float = 20.0
    """Seconds for a whole fetch: resolving, connecting, every redirect and reading the body."""
    max_bytes: int = DEFAULT_MAX_BYTES
    max_redirects: int = 5
    user_agent: str = "storybot/0.1 (news article indexer)"
