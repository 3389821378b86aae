"""A fake Discord (REST API v10 + gateway) on 127.0.0.1 for end-to-end tests of discord.py bots.

Start :class:`FakeDiscord`, call :func:`point_discord_py_at` with its ``api_base`` and
``gateway_url``, run the real, unmodified bot with ``fake.token``, then act as users and assert on
what they see.  See ``tests/bot/test_fakediscord_smoke.py`` for a complete example.
"""

from .endpoints import DEFAULT_API_BASE, DEFAULT_GATEWAY_URL, point_discord_py_at
from .fake import FakeDiscord
from .gateway import GatewayLogEntry
from .interactions import CommandUnavailableError
from .ratelimits import RateLimitPolicy
from .state import (
    ADMINISTRATOR,
    INTENT_GUILD_MEMBERS,
    INTENT_GUILD_PRESENCES,
    INTENT_MESSAGE_CONTENT,
    MANAGE_GUILD,
    CallbackRecord,
    CommandSync,
    FakeChannel,
    FakeGuild,
    FakeMember,
    FakeMessage,
    FakeRole,
    FakeUser,
    InteractionRecord,
    MessageState,
    RecordedFile,
    RecordedRequest,
    Violation,
)

__all__ = [
    "ADMINISTRATOR",
    "DEFAULT_API_BASE",
    "DEFAULT_GATEWAY_URL",
    "INTENT_GUILD_MEMBERS",
    "INTENT_GUILD_PRESENCES",
    "INTENT_MESSAGE_CONTENT",
    "MANAGE_GUILD",
    "CallbackRecord",
    "CommandSync",
    "CommandUnavailableError",
    "FakeChannel",
    "FakeDiscord",
    "FakeGuild",
    "FakeMember",
    "FakeMessage",
    "FakeRole",
    "FakeUser",
    "GatewayLogEntry",
    "InteractionRecord",
    "MessageState",
    "RateLimitPolicy",
    "RecordedFile",
    "RecordedRequest",
    "Violation",
    "point_discord_py_at",
]
