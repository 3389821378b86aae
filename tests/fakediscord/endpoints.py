"""Point discord.py at another Discord (the local fake, or a proxy) without modifying discord.py.

Self-contained on purpose: the bot package copies :func:`point_discord_py_at` verbatim to honour
``DISCORD_API_BASE`` and ``DISCORD_GATEWAY_URL``.
"""

from __future__ import annotations

from urllib.parse import urlsplit

import discord.gateway
import discord.http
import yarl

#: discord.py 2.7's built-in endpoints; pass these to undo a previous redirection.
DEFAULT_API_BASE = "https://discord.com/api/v10"
DEFAULT_GATEWAY_URL = "wss://gateway.discord.gg/"


def point_discord_py_at(api_base: str, gateway_url: str | None) -> None:
    """Send discord.py's REST and gateway traffic to ``api_base`` and ``gateway_url``.

    What discord.py 2.7.1 reads, and therefore what this changes (process-wide, for every client):

    * ``discord.http.Route.BASE`` -- every REST URL is ``Route.BASE + path``, built when a ``Route``
      is created.  ``discord.webhook.async_`` (interaction callbacks, follow-ups) and
      ``discord.webhook.sync`` import this same ``Route`` class, so one assignment covers them.
    * ``discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY`` -- a plain ``Client``/``commands.Bot``
      never asks ``GET /gateway/bot`` for a URL: it connects straight to this class attribute, and
      returns to it after an INVALID_SESSION.  (``AutoShardedClient`` without a fixed ``shard_count``
      takes the URL from ``/gateway/bot`` instead, which the server at ``api_base`` answers.)

    Reconnects then follow the ``resume_gateway_url`` that the server sends in READY, so nothing
    needs patching for resumes.  Call this before the client logs in.  ``gateway_url=None`` leaves
    the gateway alone (REST-only redirection, e.g. through an HTTP proxy).

    Args:
        api_base: Base of the versioned REST API, e.g. ``http://127.0.0.1:8080/api/v10`` (a
            trailing slash is dropped).  It must end in ``/api/v10``: discord.py 2.7 speaks v10
            and opens the gateway with ``v=10`` too.
        gateway_url: Websocket URL, e.g. ``ws://127.0.0.1:8080/``; discord.py appends the query
            (``v``, ``encoding``, ``compress``) itself.

    Raises:
        ValueError: If a URL has the wrong scheme or the API base is not v10.
    """
    base = api_base.rstrip("/")
    if urlsplit(base).scheme not in ("http", "https") or not base.endswith("/api/v10"):
        raise ValueError(f"DISCORD_API_BASE must be an http(s) URL ending in /api/v10, got {api_base!r}")
    discord.http.Route.BASE = base
    if gateway_url is not None:
        if urlsplit(gateway_url).scheme not in ("ws", "wss"):
            raise ValueError(f"DISCORD_GATEWAY_URL must be a ws:// or wss:// URL, got {gateway_url!r}")
        discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(gateway_url)
