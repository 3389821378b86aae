"""``FakeDiscord``: the test-facing API of the fake Discord server.

A test builds a small world (guilds, channels, users, roles), starts the server, points the real
discord.py at it, then acts as Discord users (send a message, run a slash command, click a button)
and asserts on what those users would see.  Everything runs in the test's event loop; nothing
leaves 127.0.0.1.
"""

from __future__ import annotations

import asyncio
import secrets
import socket
from collections.abc import Callable, Mapping, Sequence
from types import TracebackType
from typing import Any, Self, TypeVar

from aiohttp import web

from . import interactions as builders
from . import payloads
from .faults import FaultPlan, FaultRule
from .gateway import UNKNOWN_ERROR, Gateway, GatewayLogEntry
from .messages import MessageService
from .ratelimits import DEFAULT_RATE_LIMIT, RateLimiter, RateLimitPolicy
from .server_interactions import InteractionResponses
from .server_rest import RestApi, ServerUrls
from .spec.validator import SpecProblem
from .state import (
    CHANNEL_GUILD_TEXT,
    DEFAULT_EVERYONE_PERMISSIONS,
    JSON,
    PRIVILEGED_INTENTS,
    CommandSync,
    FakeApplication,
    FakeChannel,
    FakeGuild,
    FakeMember,
    FakeMessage,
    FakeRole,
    FakeUser,
    InteractionRecord,
    MessageState,
    RecordedRequest,
    Violation,
    World,
)

T = TypeVar("T")
CREATED: list[FakeDiscord] = []
"""Every FakeDiscord made, so that a test's teardown can check what each one received (see conftest)."""
_APPLICATION_COMMAND, _MESSAGE_COMPONENT, _AUTOCOMPLETE, _MODAL_SUBMIT = 2, 3, 4, 5


class FakeDiscord:
    """A local Discord (REST + gateway) for end-to-end tests of a discord.py bot.

    Use as ``async with FakeDiscord() as fake:``; build the world before the bot connects (guilds
    added later are not announced to an already connected bot).

    Args:
        token: The bot token the server accepts, on REST and in IDENTIFY.
        bot_name: Username of the bot user (whose id is also the application id).
        owner_name: Username of the application owner (see :meth:`set_team` for team-owned apps).
        privileged_intents: Privileged intents enabled "in the developer portal"; identifying with
            others closes the gateway with 4014, as Discord does.  Also decides whether REST returns
            message content.
        rate_limit: Per-bucket limit the server advertises and enforces.
        response_deadline: Seconds a bot has for the first interaction callback (3 on Discord).
    """

    def __init__(
        self,
        *,
        token: str = "fake-bot-token",
        bot_name: str = "storybot",
        owner_name: str = "owner",
        privileged_intents: int = PRIVILEGED_INTENTS,
        rate_limit: RateLimitPolicy = DEFAULT_RATE_LIMIT,
        response_deadline: float = 3.0,
    ) -> None:
        self.token = token
        self._world = World(bot_name=bot_name, owner_name=owner_name, privileged_intents=privileged_intents)
        self._world.notifier.diagnostics = self._diagnostics
        self._faults = FaultPlan()
        self._limiter = RateLimiter(rate_limit)
        self._response_deadline = response_deadline
        self._gateway = Gateway(self._world, token)
        self._runner: web.AppRunner | None = None
        self._socket: socket.socket | None = None
        self._urls: ServerUrls | None = None
        self._messages: MessageService | None = None
        CREATED.append(self)

    # -- lifecycle -----------------------------------------------------------------------------

    async def start(self) -> None:
        """Bind 127.0.0.1 on a free port and serve."""
        if self._runner is not None:
            raise RuntimeError("FakeDiscord is already started")
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.bind(("127.0.0.1", 0))
        self._socket = sock
        self._urls = urls = ServerUrls(origin=f"http://127.0.0.1:{sock.getsockname()[1]}")
        self._gateway.resume_url = urls.resume_gateway
        self._messages = MessageService(self._world, self._gateway, urls.attachments)
        rest = RestApi(
            self._world,
            token=self.token,
            urls=urls,
            gateway=self._gateway,
            messages=self._messages,
            interactions=InteractionResponses(
                self._world, self._messages, response_deadline=self._response_deadline
            ),
            faults=self._faults,
            limiter=self._limiter,
        )
        self._runner = web.AppRunner(rest.build_app(), access_log=None)
        await self._runner.setup()
        await web.SockSite(self._runner, sock).start()

    async def stop(self) -> None:
        """Close gateway connections, stop serving and release the port."""
        await self._gateway.close()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
        if self._socket is not None:
            self._socket.close()
            self._socket = None

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.stop()

    @property
    def api_base(self) -> str:
        """Value for ``DISCORD_API_BASE``, e.g. ``http://127.0.0.1:PORT/api/v10``."""
        return self._started_urls.api_base

    @property
    def gateway_url(self) -> str:
        """Value for ``DISCORD_GATEWAY_URL``, e.g. ``ws://127.0.0.1:PORT/``."""
        return self._started_urls.gateway

    @property
    def _started_urls(self) -> ServerUrls:
        if self._urls is None:
            raise RuntimeError("FakeDiscord is not started; use `async with FakeDiscord() as fake`")
        return self._urls

    @property
    def _message_service(self) -> MessageService:
        if self._messages is None:
            raise RuntimeError("FakeDiscord is not started; use `async with FakeDiscord() as fake`")
        return self._messages

    # -- building the world --------------------------------------------------------------------

    @property
    def bot_user(self) -> FakeUser:
        return self._world.bot_user

    @property
    def owner(self) -> FakeUser:
        return self._world.application.owner

    @property
    def application(self) -> FakeApplication:
        return self._world.application

    def add_user(self, username: str, *, global_name: str | None = None, bot: bool = False) -> FakeUser:
        """A Discord account; add it to guilds with :meth:`add_member`."""
        return self._world.add_user(username, global_name=global_name, bot=bot)

    def add_guild(
        self,
        name: str,
        *,
        owner: FakeUser | None = None,
        channels: Sequence[str] = ("general",),
        shard: tuple[int, int] | None = None,
    ) -> FakeGuild:
        """A guild with @everyone, the bot (and its managed role), the owner and text ``channels``;
        with ``shard=(shard_id, shard_count)``, its id routes it to that shard (``(id >> 22) % count``)."""
        world = self._world
        guild_owner = owner or self.owner
        guild_id = world.snowflake()
        if shard is not None:
            shard_id, count = shard
            while (guild_id >> 22) % count != shard_id:  # a few milliseconds at most: snowflakes stay unique
                guild_id = world.snowflake()
        guild = FakeGuild(id=guild_id, name=name, owner_id=guild_owner.id)
        world.guilds[guild.id] = guild
        guild.roles[guild.id] = FakeRole(
            id=guild.id, guild_id=guild.id, name="@everyone", permissions=DEFAULT_EVERYONE_PERMISSIONS
        )
        bot_role = self.add_role(guild, self.bot_user.username, permissions=DEFAULT_EVERYONE_PERMISSIONS)
        bot_role.bot_id = self.bot_user.id
        self.add_member(guild, self.bot_user, roles=[bot_role])
        self.add_member(guild, guild_owner)
        for channel_name in channels:
            self.add_channel(guild, channel_name)
        return guild

    def add_role(self, guild: FakeGuild, name: str, *, permissions: int = 0) -> FakeRole:
        """A role; e.g. ``permissions=MANAGE_GUILD`` (0x20) for "Manage Server"."""
        role = FakeRole(
            id=self._world.snowflake(),
            guild_id=guild.id,
            name=name,
            permissions=permissions,
            position=len(guild.roles),
        )
        guild.roles[role.id] = role
        return role

    def add_channel(self, guild: FakeGuild, name: str, *, topic: str | None = None) -> FakeChannel:
        channel = FakeChannel(
            id=self._world.snowflake(),
            type=CHANNEL_GUILD_TEXT,
            name=name,
            guild_id=guild.id,
            position=len(guild.channels),
            topic=topic,
        )
        guild.channels[channel.id] = channel
        return channel

    def add_member(
        self, guild: FakeGuild, user: FakeUser, *, roles: Sequence[FakeRole] = (), nick: str | None = None
    ) -> FakeMember:
        member = FakeMember(guild_id=guild.id, user=user, role_ids=[r.id for r in roles], nick=nick)
        guild.members[user.id] = member
        return member

    def dm_channel(self, user: FakeUser) -> FakeChannel:
        """The DM channel between the bot and ``user`` (the same one the bot gets from create_dm)."""
        return self._world.dm_channel(user)

    def set_team(self, members: Sequence[tuple[FakeUser, str]]) -> None:
        """Make the application team-owned; roles are "admin", "developer" or "read_only".

        The first member is the team owner.  discord.py's ``Bot.is_owner`` then accepts admins and
        developers only, and ``AppInfo.owner`` becomes the team's pseudo-user.
        """
        self.application.team_members = list(members)
        self.application.team_id = self.application.team_id or self._world.snowflake()

    # -- acting as users -----------------------------------------------------------------------

    async def send_message(
        self,
        author: FakeUser,
        channel: FakeChannel,
        content: str = "",
        *,
        mentions: Sequence[FakeUser | FakeRole] = (),
        reply_to: FakeMessage | None = None,
    ) -> FakeMessage:
        """Post as ``author``; the bot gets MESSAGE_CREATE (guild or DM shape).

        Discord derives mentions from the text, so each of ``mentions`` whose ``<@id>`` is not in
        ``content`` is prefixed to it.  Without the MESSAGE_CONTENT intent the bot receives empty
        content unless this is a DM or the bot is mentioned.
        """
        self._check_can_post(author, channel)
        prefix = "".join(f"{m.mention} " for m in mentions if m.mention not in content)
        body: JSON = {"content": prefix + content}
        if reply_to is not None:
            body["message_reference"] = {
                "message_id": str(reply_to.id),
                "channel_id": str(reply_to.channel_id),
            }
        return await self._message_service.create(channel, author, body)

    async def invoke_slash(
        self,
        user: FakeUser,
        name: str,
        options: Mapping[str, Any] | None = None,
        *,
        channel: FakeChannel | None = None,
        guild: FakeGuild | None = None,
        check_permissions: bool = True,
        user_installed: bool = False,
    ) -> InteractionRecord:
        """Run ``/name`` as ``user``, e.g. ``invoke_slash(alice, "admin reindex", {"full": True})``.

        Where: ``channel`` (a guild channel or a DM channel), else ``guild``'s first text channel,
        else the user's DM with the bot.  Options are typed from the registered command: pass str,
        int, float, bool, or FakeUser/FakeMember/FakeRole/FakeChannel for entity options.
        ``check_permissions=False`` skips the client-side visibility rules (e.g. to test the bot's
        own permission checks with a member Discord would not even show the command to).
        """
        target, target_guild = self._where(user, channel, guild)
        root, *path = name.split()
        command = builders.find_command(self._world, root, target_guild)
        if check_permissions:
            builders.check_command_available(command, self._world, user, target_guild)
        data = builders.command_data(command, path, options or {}, target_guild, user)
        return await self._dispatch_interaction(
            _APPLICATION_COMMAND, user, target, data, user_installed=user_installed
        )

    async def autocomplete(
        self,
        user: FakeUser,
        name: str,
        options: Mapping[str, Any],
        *,
        focused: str,
        channel: FakeChannel | None = None,
        guild: FakeGuild | None = None,
    ) -> InteractionRecord:
        """Type into option ``focused`` of ``/name``; the bot's choices land in ``record.choices``."""
        target, target_guild = self._where(user, channel, guild)
        root, *path = name.split()
        command = builders.find_command(self._world, root, target_guild)
        data = builders.command_data(command, path, options, target_guild, user, focused=focused)
        return await self._dispatch_interaction(_AUTOCOMPLETE, user, target, data)

    async def click_button(
        self, user: FakeUser, message: FakeMessage | MessageState | int, custom_id: str
    ) -> InteractionRecord:
        """Press the button ``custom_id`` on a message the bot sent."""
        return await self._use_component(user, message, custom_id, None)

    async def select_options(
        self, user: FakeUser, message: FakeMessage | MessageState | int, custom_id: str, values: Sequence[str]
    ) -> InteractionRecord:
        """Choose ``values`` in the select menu ``custom_id`` on a message the bot sent."""
        return await self._use_component(user, message, custom_id, values)

    async def submit_modal(
        self, user: FakeUser, opened_by: InteractionRecord, values: Mapping[str, str | Sequence[str]]
    ) -> InteractionRecord:
        """Fill in and submit the modal the bot opened in response to ``opened_by``."""
        data = builders.modal_submit_data(opened_by, values)
        return await self._dispatch_interaction(
            _MODAL_SUBMIT, user, opened_by.channel, data, source_message=opened_by.source_message
        )

    # -- observing -----------------------------------------------------------------------------

    @property
    def requests(self) -> list[RecordedRequest]:
        """Every API request, in arrival order (paths are relative to ``api_base``)."""
        return list(self._world.requests)

    @property
    def unknown_requests(self) -> list[RecordedRequest]:
        """Requests for endpoints the fake does not implement (answered 404/405)."""
        return [r for r in self._world.requests if r.route is None]

    @property
    def violations(self) -> list[Violation]:
        """Requests rejected as a real Discord would (limits, empty messages, bad JSON)."""
        return list(self._world.violations)

    @property
    def spec_problems(self) -> list[SpecProblem]:
        """How requests differed from Discord's OpenAPI description of API v10 (see `spec.validator`)."""
        return list(self._world.spec_problems)

    @property
    def spec_checked(self) -> int:
        """How many API requests were checked against Discord's OpenAPI description."""
        return self._world.spec_checked

    @property
    def command_syncs(self) -> list[CommandSync]:
        """Bulk command overwrites (``tree.sync()``), in order."""
        return list(self._world.command_syncs)

    def commands(self, guild: FakeGuild | None = None) -> list[JSON]:
        """Registered commands, global or for ``guild``, as Discord stores them."""
        app = self.application
        return list(app.global_commands if guild is None else app.guild_commands.get(guild.id, []))

    def message(self, message: FakeMessage | MessageState | int) -> FakeMessage:
        """The live message (with ``.revisions``, its edit history) by id or from a snapshot."""
        message_id = message if isinstance(message, int) else message.id
        return self._world.messages[message_id]

    def history(self, channel: FakeChannel, *, viewer: FakeUser | None = None) -> list[MessageState]:
        """Current state of the channel's undeleted messages, oldest first.

        With ``viewer``, ephemeral messages meant for someone else are left out.
        """
        return [
            m.current
            for m in self._world.channel_messages(channel.id)
            if not m.deleted and (viewer is None or m.visible_to in (None, viewer.id))
        ]

    def mark(self) -> int:
        """A point in time for ``wait_for_message(since=...)``: later changes only."""
        return self._world.revision

    async def wait_for_message(
        self,
        predicate: Callable[[MessageState], bool] = lambda _: True,
        timeout: float = 5.0,
        *,
        since: int = 0,
    ) -> MessageState:
        """The first message state (creation or edit, after ``since``) matching ``predicate``.

        Past states count, so a progress message that went "1 of 3" -> "3 of 3" before the test
        looked still matches ``lambda m: m.content == "1 of 3"``.  Deleted states never match.
        """

        def find() -> MessageState | None:
            states = [s for m in self._world.messages.values() for s in m.revisions if s.revision > since]
            states.sort(key=lambda s: s.revision)
            return next((s for s in states if not s.deleted and predicate(s)), None)

        return await self._world.notifier.wait_for(find, timeout, "a matching message")

    async def wait_until(
        self, condition: Callable[[], T | None], timeout: float = 5.0, what: str = "condition"
    ) -> T:
        """Wait until ``condition()`` returns something other than None/False; re-checked on every
        change the fake observes (requests, messages, callbacks, gateway events).
        """
        return await self._world.notifier.wait_for(lambda: condition() or None, timeout, what)

    @property
    def gateway_log(self) -> list[GatewayLogEntry]:
        """Identifies, resumes, invalid sessions, drops and closes, in order."""
        return list(self._gateway.log)

    @property
    def gateway_presence(self) -> JSON | None:
        """The last PRESENCE_UPDATE (op 3) the bot sent."""
        sessions = self._gateway.live_sessions
        return sessions[-1].presence if sessions else None

    async def wait_until_connected(self, timeout: float = 5.0) -> GatewayLogEntry:
        """Wait for a live gateway session; returns the identify/resume that established it."""

        def established() -> GatewayLogEntry | None:
            if not self._gateway.connected:
                return None
            return next(e for e in reversed(self._gateway.log) if e.kind in ("identify", "resume"))

        return await self._world.notifier.wait_for(established, timeout, "the bot to connect to the gateway")

    # -- faults --------------------------------------------------------------------------------

    async def drop_gateway(
        self, *, code: int = UNKNOWN_ERROR, abrupt: bool = False, resumable: bool = True
    ) -> None:
        """Close the bot's websocket with ``code`` (or, ``abrupt``, kill the TCP connection: 1006).

        ``resumable=False`` also ends the session, so the RESUME gets INVALID_SESSION and the bot
        must IDENTIFY again.  Events dispatched meanwhile are replayed on RESUME.
        """
        await self._gateway.drop(code=code, abrupt=abrupt, resumable=resumable)

    async def request_reconnect(self) -> None:
        """Send opcode 7 RECONNECT, as Discord does before moving a session."""
        await self._gateway.send_reconnect()

    def rate_limit_next(
        self,
        method: str,
        path_pattern: str,
        *,
        times: int = 1,
        retry_after: float = 0.5,
        is_global: bool = False,
    ) -> None:
        """Answer the next ``times`` requests matching with 429, ``Retry-After`` and rate-limit headers.

        ``path_pattern`` is an fnmatch pattern below the API base, e.g. ``"/webhooks/*"``; ``method``
        may be ``"*"``.
        """
        self._faults.add(
            FaultRule(method, path_pattern, 429, times, retry_after=retry_after, is_global=is_global)
        )

    def fail_next(self, method: str, path_pattern: str, *, status: int = 500, times: int = 1) -> None:
        """Answer the next ``times`` matching requests with ``status`` (discord.py retries 5xx)."""
        self._faults.add(FaultRule(method, path_pattern, status, times))

    @property
    def pending_faults(self) -> list[FaultRule]:
        """Injected faults not yet consumed by a request."""
        return self._faults.pending

    # -- internals -----------------------------------------------------------------------------

    def _where(
        self, user: FakeUser, channel: FakeChannel | None, guild: FakeGuild | None
    ) -> tuple[FakeChannel, FakeGuild | None]:
        if channel is None:
            channel = guild.text_channels[0] if guild is not None else self.dm_channel(user)
        channel_guild = self._world.guild_of(channel)
        if guild is not None and channel_guild is not guild:
            raise ValueError(f"channel {channel.id} is not in guild {guild.id}")
        self._check_can_post(user, channel)
        return channel, channel_guild

    def _check_can_post(self, user: FakeUser, channel: FakeChannel) -> None:
        guild = self._world.guild_of(channel)
        if guild is not None and user.id not in guild.members:
            raise ValueError(f"{user.username} is not a member of {guild.name}; use add_member first")
        if channel.is_dm and channel.recipient is not user:
            raise ValueError(f"{user.username} is not the recipient of DM channel {channel.id}")

    async def _use_component(
        self,
        user: FakeUser,
        message: FakeMessage | MessageState | int,
        custom_id: str,
        values: Sequence[str] | None,
    ) -> InteractionRecord:
        target = self.message(message)
        if target.deleted:
            raise LookupError(f"message {target.id} was deleted")
        if target.visible_to not in (None, user.id):
            raise PermissionError(f"message {target.id} is ephemeral and not visible to {user.username}")
        channel = self._world.channel(target.channel_id)
        assert channel is not None
        self._check_can_post(user, channel)
        data = builders.component_data(target, custom_id, values)
        return await self._dispatch_interaction(
            _MESSAGE_COMPONENT, user, channel, data, source_message=target
        )

    async def _dispatch_interaction(
        self,
        interaction_type: int,
        user: FakeUser,
        channel: FakeChannel,
        data: JSON,
        *,
        source_message: FakeMessage | None = None,
        user_installed: bool = False,
    ) -> InteractionRecord:
        world = self._world
        interaction_id = world.snowflake()
        token = secrets.token_urlsafe(48)
        payload = payloads.interaction_base(
            world,
            interaction_id=interaction_id,
            token=token,
            interaction_type=interaction_type,
            invoker=user,
            target=channel,
            user_installed=user_installed,
        )
        payload["data"] = data
        if source_message is not None:
            payload["message"] = payloads.message(source_message, world)
        record = InteractionRecord(
            id=interaction_id,
            token=token,
            type=interaction_type,
            user=user,
            channel=channel,
            guild=world.guild_of(channel),
            payload=payload,
            created_at=asyncio.get_running_loop().time(),
            notifier=world.notifier,
            source_message=source_message,
        )
        world.interactions[interaction_id] = record
        await self._gateway.dispatch("INTERACTION_CREATE", payload, guild_id=channel.guild_id)
        return record

    def _diagnostics(self) -> str:
        """Appended to wait timeouts: the last requests, violations and unknown routes."""
        lines = [f"  {r.status} {r.method} {r.path}" for r in self._world.requests[-8:]]
        lines += [f"  violation: {v.method} {v.path} {v.error}" for v in self._world.violations]
        lines += [f"  unknown route: {r.method} {r.path}" for r in self.unknown_requests]
        return "\nrecent fake-discord activity:\n" + "\n".join(lines) if lines else ""
