"""Point discord.py at a Discord-compatible server (`DISCORD_API_BASE`, `DISCORD_GATEWAY_URL`).

discord.py 2.7 has no option for this; it reads two class attributes, so those are what we set:

* `discord.http.Route.BASE`: every REST URL, including interaction callbacks and follow-up webhooks
  (`discord.webhook` builds its requests with the same `Route`), is `Route.BASE + path`.
* `discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY`: where a client with a known shard count connects,
  and where it returns after an invalidated session. Resumes follow the `resume_gateway_url` in READY.

The change is process-wide, so it is made once, by the entry point, before the client logs in.
"""

from __future__ import annotations

from dataclasses import dataclass

import discord.gateway
import discord.http
import yarl

DISCORD_API_BASE = "https://discord.com/api/v10"
DISCORD_GATEWAY_URL = "wss://gateway.discord.gg/"


@dataclass(frozen=True)
class Endpoints:
    """Where discord.py sends REST requests and opens the gateway."""

    api_base: str = DISCORD_API_BASE
    gateway_url: str = DISCORD_GATEWAY_URL


def current_endpoints() -> Endpoints:
    """The endpoints discord.py uses now (to restore them later, e.g. in tests)."""
    return Endpoints(discord.http.Route.BASE, str(discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY))


def use_endpoints(api_base: str | None, gateway_url: str | None) -> Endpoints:
    """Send discord.py's traffic to the given URLs (None keeps Discord's); returns the previous endpoints.

    The URLs are validated by `Settings.from_env`.
    """
    previous = current_endpoints()
    discord.http.Route.BASE = (api_base or DISCORD_API_BASE).rstrip("/")
    discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(gateway_url or DISCORD_GATEWAY_URL)
    return previous
