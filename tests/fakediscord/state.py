"""The fake Discord's world: users, guilds, channels, messages, interactions, and what was recorded.

Everything here is plain data plus the small amount of Discord logic that several parts of the
fake share (snowflakes, permission arithmetic, the message-content privilege rule).  The REST
server, the gateway and the test-facing :class:`~tests.fakediscord.fake.FakeDiscord` all read
and write this one :class:`World`, so a message the bot posts over REST is immediately visible to
the test and to the gateway.
"""

from __future__ import annotations

import asyncio
import datetime
import re
import secrets
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    from .spec.validator import SpecProblem

JSON = dict[str, Any]
T = TypeVar("T")

DISCORD_EPOCH_MS = 1_420_070_400_000

# Permission bits (https://discord.com/developers/docs/topics/permissions).
ADMINISTRATOR = 1 << 3
MANAGE_GUILD = 1 << 5
ADD_REACTIONS = 1 << 6
VIEW_CHANNEL = 1 << 10
SEND_MESSAGES = 1 << 11
EMBED_LINKS = 1 << 14
ATTACH_FILES = 1 << 15
READ_MESSAGE_HISTORY = 1 << 16
USE_EXTERNAL_EMOJIS = 1 << 18
USE_APPLICATION_COMMANDS = 1 << 31
ALL_PERMISSIONS = (1 << 52) - 1
#: What @everyone gets in a freshly created guild; deliberately without MANAGE_GUILD.
DEFAULT_EVERYONE_PERMISSIONS = (
    VIEW_CHANNEL
    | SEND_MESSAGES
    | ADD_REACTIONS
    | EMBED_LINKS
    | ATTACH_FILES
    | READ_MESSAGE_HISTORY
    | USE_EXTERNAL_EMOJIS
    | USE_APPLICATION_COMMANDS
)
#: The fixed permission set Discord reports for an app inside a DM.
DM_PERMISSIONS = (
    VIEW_CHANNEL
    | SEND_MESSAGES
    | ADD_REACTIONS
    | EMBED_LINKS
    | ATTACH_FILES
    | READ_MESSAGE_HISTORY
    | USE_EXTERNAL_EMOJIS
)

# Gateway intents (https://discord.com/developers/docs/events/gateway#gateway-intents).
INTENT_GUILDS = 1 << 0
INTENT_GUILD_MEMBERS = 1 << 1
INTENT_GUILD_PRESENCES = 1 << 8
INTENT_GUILD_MESSAGES = 1 << 9
INTENT_DIRECT_MESSAGES = 1 << 12
INTENT_MESSAGE_CONTENT = 1 << 15
PRIVILEGED_INTENTS = INTENT_GUILD_MEMBERS | INTENT_GUILD_PRESENCES | INTENT_MESSAGE_CONTENT

# Message flags.
FLAG_SUPPRESS_EMBEDS = 1 << 2
FLAG_EPHEMERAL = 1 << 6
FLAG_LOADING = 1 << 7
FLAG_SUPPRESS_NOTIFICATIONS = 1 << 12
FLAG_IS_COMPONENTS_V2 = 1 << 15

# Channel and message types used by the fake.
CHANNEL_GUILD_TEXT = 0
CHANNEL_DM = 1
MESSAGE_DEFAULT = 0
MESSAGE_REPLY = 19
MESSAGE_CHAT_INPUT_COMMAND = 20

_USER_MENTION = re.compile(r"<@!?(\d+)>")
_ROLE_MENTION = re.compile(r"<@&(\d+)>")


def utcnow_iso() -> str:
    """Timestamps in the ISO-8601 form Discord uses (discord.py parses them with ``fromisoformat``)."""
    return datetime.datetime.now(datetime.UTC).isoformat()


class SnowflakeFactory:
    """Monotonic snowflakes whose embedded timestamp is *now*, so ``created_at`` stays meaningful."""

    def __init__(self) -> None:
        self._last = 0

    def __call__(self) -> int:
        candidate = (int(time.time() * 1000) - DISCORD_EPOCH_MS) << 22
        self._last = max(candidate, self._last + 1)
        return self._last


@dataclass(eq=False)
class FakeUser:
    """A Discord account.  ``dms_open=False`` makes DMs to it fail like a user with DMs disabled."""

    id: int
    username: str
    global_name: str | None = None
    bot: bool = False
    dms_open: bool = True

    @property
    def mention(self) -> str:
        return f"<@{self.id}>"


@dataclass(eq=False)
class FakeRole:
    id: int
    guild_id: int
    name: str
    permissions: int
    position: int = 0
    #: Set for the role Discord creates for a bot when it joins; ``tags.bot_id`` is sent for it.
    bot_id: int | None = None

    @property
    def mention(self) -> str:
        return f"<@&{self.id}>"


@dataclass(eq=False)
class FakeChannel:
    """A guild text channel (``guild_id`` set) or a DM (``recipient`` set)."""

    id: int
    type: int
    name: str = ""
    guild_id: int | None = None
    position: int = 0
    topic: str | None = None
    recipient: FakeUser | None = None
    last_message_id: int | None = None

    @property
    def is_dm(self) -> bool:
        return self.type == CHANNEL_DM

    @property
    def mention(self) -> str:
        return f"<#{self.id}>"


@dataclass(eq=False)
class FakeMember:
    guild_id: int
    user: FakeUser
    role_ids: list[int] = field(default_factory=list)
    nick: str | None = None
    joined_at: str = field(default_factory=utcnow_iso)


@dataclass(eq=False)
class FakeGuild:
    id: int
    name: str
    owner_id: int
    roles: dict[int, FakeRole] = field(default_factory=dict)
    channels: dict[int, FakeChannel] = field(default_factory=dict)
    members: dict[int, FakeMember] = field(default_factory=dict)
    locale: str = "en-US"
    features: list[str] = field(default_factory=list)

    @property
    def everyone_role(self) -> FakeRole:
        """Discord gives @everyone the guild's own id."""
        return self.roles[self.id]

    @property
    def text_channels(self) -> list[FakeChannel]:
        return [c for c in self.channels.values() if c.type == CHANNEL_GUILD_TEXT]

    def permissions_for(self, member: FakeMember) -> int:
        """Guild-level permissions as Discord computes them (channel overwrites are not modelled)."""
        if member.user.id == self.owner_id:
            return ALL_PERMISSIONS
        value = self.everyone_role.permissions
        for role_id in member.role_ids:
            value |= self.roles[role_id].permissions
        return ALL_PERMISSIONS if value & ADMINISTRATOR else value


@dataclass(frozen=True)
class MessageState:
    """One revision of a message as a user sees it; ``wait_for_message`` predicates receive these.

    ``revision`` is a global counter across all messages, which is what lets tests wait for
    changes that happen *after* a point in time (see ``FakeDiscord.mark``).
    """

    id: int
    channel_id: int
    guild_id: int | None
    author_id: int
    content: str
    embeds: tuple[JSON, ...]
    components: tuple[JSON, ...]
    flags: int
    attachments: tuple[JSON, ...]
    allowed_mentions: JSON | None
    message_reference: JSON | None
    mention_ids: tuple[int, ...]
    mention_role_ids: tuple[int, ...]
    mention_everyone: bool
    interaction_id: int | None
    edited_timestamp: str | None
    deleted: bool
    revision: int

    @property
    def ephemeral(self) -> bool:
        return bool(self.flags & FLAG_EPHEMERAL)

    @property
    def loading(self) -> bool:
        """True while the message is a deferred 'Bot is thinking...' placeholder."""
        return bool(self.flags & FLAG_LOADING)

    @property
    def embed(self) -> JSON | None:
        return self.embeds[0] if self.embeds else None

    @property
    def buttons(self) -> list[JSON]:
        return [c for c in iter_components(self.components) if c.get("type") == 2]

    @property
    def custom_ids(self) -> list[str]:
        return [c["custom_id"] for c in iter_components(self.components) if "custom_id" in c]

    @property
    def text(self) -> str:
        """Content plus embed titles, descriptions and fields: everything readable, for ``in`` checks."""
        parts = [self.content]
        for embed in self.embeds:
            parts += [embed.get("title", ""), embed.get("description", "")]
            for embed_field in embed.get("fields", []):
                parts += [embed_field.get("name", ""), embed_field.get("value", "")]
            parts.append(embed.get("footer", {}).get("text", ""))
        return "\n".join(p for p in parts if p)


def iter_components(components: tuple[JSON, ...] | list[JSON]) -> Iterator[JSON]:
    """Walk action rows, sections, containers and labels depth first."""
    for component in components:
        yield component
        children = list(component.get("components", []))
        for key in ("accessory", "component"):
            if key in component:
                children.append(component[key])
        yield from iter_components(children)


@dataclass(eq=False)
class FakeMessage:
    """A message and its full edit history; ``current`` is what users see now."""

    id: int
    channel_id: int
    guild_id: int | None
    author: FakeUser
    type: int
    timestamp: str
    revisions: list[MessageState] = field(default_factory=list)
    webhook_id: int | None = None
    #: The interaction whose response or follow-up created this message.
    interaction: InteractionRecord | None = None
    #: Only this user can see the message (ephemeral responses).
    visible_to: int | None = None
    referenced_message_id: int | None = None
    tts: bool = False
    nonce: str | int | None = None

    @property
    def current(self) -> MessageState:
        return self.revisions[-1]

    @property
    def deleted(self) -> bool:
        return self.current.deleted


@dataclass(frozen=True)
class CallbackRecord:
    """One POST to ``/interactions/{id}/{token}/callback``."""

    type: int
    data: JSON | None


@dataclass(eq=False)
class InteractionRecord:
    """An interaction the test dispatched, and everything the bot did in response to it.

    Use the ``wait_for_*`` coroutines rather than polling: they wake on every relevant change.
    """

    id: int
    token: str
    type: int
    user: FakeUser
    channel: FakeChannel
    guild: FakeGuild | None
    payload: JSON
    created_at: float
    notifier: Notifier
    #: For component interactions: the message whose component was used.
    source_message: FakeMessage | None = None
    callbacks: list[CallbackRecord] = field(default_factory=list)
    original: FakeMessage | None = None
    followups: list[FakeMessage] = field(default_factory=list)

    @property
    def response_type(self) -> int | None:
        return self.callbacks[0].type if self.callbacks else None

    @property
    def modal(self) -> JSON | None:
        """The modal the bot opened (callback type 9), if any."""
        return next((c.data for c in self.callbacks if c.type == 9), None)

    @property
    def choices(self) -> list[JSON] | None:
        """The autocomplete choices the bot returned (callback type 8), if any."""
        found = next((c.data for c in self.callbacks if c.type == 8), None)
        return None if found is None else list(found.get("choices", []))

    @property
    def messages(self) -> list[FakeMessage]:
        """The original response (when it is a message) followed by the follow-ups."""
        return ([self.original] if self.original is not None else []) + self.followups

    async def wait_for_response(self, timeout: float = 5.0) -> CallbackRecord:
        """Wait until the bot acknowledged the interaction (any callback type)."""
        return await self.notifier.wait_for(
            lambda: self.callbacks[0] if self.callbacks else None,
            timeout,
            f"a callback for interaction {self.id}",
        )

    async def wait_for_message(
        self, predicate: Callable[[MessageState], bool] = lambda _: True, timeout: float = 5.0
    ) -> MessageState:
        """Wait until the original response or a follow-up has, or had, a state matching ``predicate``.

        Past revisions count too, so a state the bot passed through quickly is not missed.
        """

        def find() -> MessageState | None:
            for message in self.messages:
                for state in message.revisions:
                    if not state.deleted and predicate(state):
                        return state
            return None

        return await self.notifier.wait_for(find, timeout, f"a response message to interaction {self.id}")


@dataclass(frozen=True)
class RecordedFile:
    field_name: str
    filename: str
    content_type: str
    data: bytes


@dataclass
class RecordedRequest:
    """One HTTP request the bot made, as the server received it, and the status it got."""

    method: str
    path: str
    query: dict[str, str]
    json: Any
    files: list[RecordedFile]
    headers: dict[str, str]
    route: str | None
    status: int = 0


@dataclass(frozen=True)
class Violation:
    """A request a real Discord would reject with 400 (limits, malformed payloads)."""

    method: str
    path: str
    error: JSON


@dataclass(frozen=True)
class CommandSync:
    """One bulk overwrite (``PUT``) of the application's commands; ``guild_id`` is None for global."""

    guild_id: int | None
    names: tuple[str, ...]


class Notifier:
    """Wakes every waiter on each change; waiters re-check their condition.

    Re-checking a condition is cheap here, and it avoids the classic lost-wakeup bugs of
    event-per-condition designs: a waiter that starts after the change still sees it.
    """

    def __init__(self) -> None:
        self._waiters: set[asyncio.Future[None]] = set()
        self.diagnostics: Callable[[], str] = lambda: ""

    def notify(self) -> None:
        for waiter in self._waiters:
            if not waiter.done():
                waiter.set_result(None)
        self._waiters.clear()

    async def wait_for(self, check: Callable[[], T | None], timeout: float, what: str) -> T:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            result = check()
            if result is not None:
                return result
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise TimeoutError(f"timed out after {timeout}s waiting for {what}{self.diagnostics()}")
            waiter: asyncio.Future[None] = loop.create_future()
            self._waiters.add(waiter)
            try:
                await asyncio.wait({waiter}, timeout=remaining)
            finally:
                self._waiters.discard(waiter)
                waiter.cancel()


@dataclass(eq=False)
class FakeApplication:
    id: int
    name: str
    owner: FakeUser
    verify_key: str = field(default_factory=lambda: secrets.token_hex(32))
    #: ``(user, role)`` pairs with role one of "admin", "developer", "read_only"; empty means no team.
    team_members: list[tuple[FakeUser, str]] = field(default_factory=list)
    team_id: int | None = None
    global_commands: list[JSON] = field(default_factory=list)
    guild_commands: dict[int, list[JSON]] = field(default_factory=dict)


class World:
    """All state of one fake Discord instance."""

    def __init__(self, *, bot_name: str, owner_name: str, privileged_intents: int) -> None:
        self.snowflake = SnowflakeFactory()
        self.users: dict[int, FakeUser] = {}
        self.guilds: dict[int, FakeGuild] = {}
        self.dm_channels: dict[int, FakeChannel] = {}
        self.messages: dict[int, FakeMessage] = {}
        self.interactions: dict[int, InteractionRecord] = {}
        self.requests: list[RecordedRequest] = []
        self.violations: list[Violation] = []
        self.spec_problems: list[SpecProblem] = []
        """How requests differed from Discord's OpenAPI description (recorded, not refused)."""
        self.spec_checked = 0
        self.command_syncs: list[CommandSync] = []
        self.notifier = Notifier()
        self.privileged_intents = privileged_intents
        self._revision = 0
        self.bot_user = self.add_user(bot_name, bot=True)
        owner = self.add_user(owner_name)
        # Modern applications share their id with their bot user.
        self.application = FakeApplication(id=self.bot_user.id, name=bot_name, owner=owner)

    # -- lookup -------------------------------------------------------------------------------

    def channel(self, channel_id: int) -> FakeChannel | None:
        if channel_id in self.dm_channels:
            return self.dm_channels[channel_id]
        for guild in self.guilds.values():
            if channel_id in guild.channels:
                return guild.channels[channel_id]
        return None

    def guild_of(self, channel: FakeChannel) -> FakeGuild | None:
        return None if channel.guild_id is None else self.guilds[channel.guild_id]

    def bot_member(self, guild: FakeGuild) -> FakeMember:
        return guild.members[self.bot_user.id]

    def channel_messages(self, channel_id: int) -> list[FakeMessage]:
        return [m for m in self.messages.values() if m.channel_id == channel_id]

    # -- building ------------------------------------------------------------------------------

    def add_user(self, username: str, *, bot: bool = False, global_name: str | None = None) -> FakeUser:
        user = FakeUser(id=self.snowflake(), username=username, global_name=global_name, bot=bot)
        self.users[user.id] = user
        return user

    def dm_channel(self, user: FakeUser) -> FakeChannel:
        """The one DM channel between the bot and ``user`` (created on first use, like Discord)."""
        for channel in self.dm_channels.values():
            if channel.recipient is user:
                return channel
        channel = FakeChannel(id=self.snowflake(), type=CHANNEL_DM, recipient=user)
        self.dm_channels[channel.id] = channel
        return channel

    # -- messages ------------------------------------------------------------------------------

    def next_revision(self) -> int:
        self._revision += 1
        return self._revision

    @property
    def revision(self) -> int:
        return self._revision

    def message_content_allowed(self) -> bool:
        return bool(self.privileged_intents & INTENT_MESSAGE_CONTENT)


def mentioned_ids(content: str) -> tuple[list[int], list[int], bool]:
    """Users, roles and whether @everyone/@here appear in message text."""
    users = [int(m) for m in _USER_MENTION.findall(content)]
    roles = [int(m) for m in _ROLE_MENTION.findall(content)]
    return users, roles, "@everyone" in content or "@here" in content


def content_is_visible(message: FakeMessage, bot_id: int, *, has_content_privilege: bool) -> bool:
    """Discord's MESSAGE_CONTENT rule: without the privilege an app still sees DMs, mentions, its own.

    Everything else arrives with empty ``content``, ``embeds``, ``attachments`` and ``components``.
    """
    return (
        has_content_privilege
        or message.guild_id is None
        or message.author.id == bot_id
        or bot_id in message.current.mention_ids
    )
