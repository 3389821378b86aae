"""Logging in when Discord cannot be reached yet: one line per failed try, then a retry with backoff.

A service manager starts the bot when the machine boots, often before the network is up; a traceback per
try would bury the one fact that matters. Only being unreachable is retried: a rejected token
(`discord.LoginFailure`) ends the start at once, because trying again cannot fix it. Once logged in,
discord.py's own `connect(reconnect=True)` keeps the gateway connection alive.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
from collections.abc import Iterable, Iterator

import aiohttp
import discord
from discord.utils import MISSING

log = logging.getLogger("storybot")

UNREACHABLE = (
    aiohttp.ClientConnectionError,  # refused, reset, DNS failure, TLS failure, server gone
    TimeoutError,
    discord.DiscordServerError,  # Discord's own 5xx
    discord.GatewayNotFound,
    OSError,
)
"""What says Discord cannot be reached now but may be soon."""

FIRST_DELAY_SECONDS = 2.0
LONGEST_DELAY_SECONDS = 60.0


def backoff(first: float = FIRST_DELAY_SECONDS, longest: float = LONGEST_DELAY_SECONDS) -> Iterator[float]:
    """Seconds to wait before each retry: 2, 4, 8, ... up to one minute, forever."""
    for attempt in itertools.count():
        yield min(longest, first * 2**attempt)


def unreachable_reason(error: BaseException) -> str:
    """One line saying why Discord could not be reached (the exception's text, or its type)."""
    text = " ".join(str(error).split())
    return text or type(error).__name__


async def login_patiently(
    client: discord.Client, token: str, stop: asyncio.Event, delays: Iterable[float] | None = None
) -> bool:
    """Log `client` in, retrying after each of `delays` (`backoff()` when None) while Discord is
    unreachable; False if `stop` was set meanwhile. When `delays` runs out, the last error is raised."""
    waits = iter(backoff() if delays is None else delays)
    while not stop.is_set():
        try:
            await client.login(token)
        except UNREACHABLE as error:
            if client.user is not None:
                raise  # past the login itself (in application_info or setup_hook): a retry would redo them
            # static_login opened an HTTP session (and its connector) before failing: close both, and let
            # the next try make new ones, as a new client would.
            await client.http.close()
            client.http.connector = MISSING
            delay = next(waits, None)
            if delay is None:
                raise
            log.warning(
                "Discord cannot be reached (%s); trying again in %g s", unreachable_reason(error), delay
            )
            try:
                await asyncio.wait_for(stop.wait(), timeout=delay)
            except TimeoutError:
                continue
        else:
            return True
    return False
