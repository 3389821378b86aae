"""The gateway: a real websocket speaking Discord's v10 JSON protocol, uncompressed.

Lifecycle as on Discord: HELLO, then IDENTIFY -> READY + one GUILD_CREATE per guild, or RESUME ->
the missed dispatches + RESUMED.  A *session* outlives its websocket: events dispatched while the
bot is disconnected are buffered with their sequence numbers and replayed on RESUME, which is what
makes "drop the connection, then keep using the bot" tests meaningful.

The server never compresses.  discord.py 2.7 always asks for ``compress=zlib-stream`` (or
``zstd-stream``) in the URL and ``"compress": true`` in IDENTIFY, but it decodes TEXT frames as plain
JSON and only runs its decompressor on BINARY frames, so uncompressed TEXT frames are accepted.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import secrets
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from aiohttp import WSMsgType, web

from . import payloads
from .state import (
    INTENT_DIRECT_MESSAGES,
    INTENT_GUILD_MESSAGES,
    INTENT_GUILD_PRESENCES,
    INTENT_GUILDS,
    INTENT_MESSAGE_CONTENT,
    JSON,
    PRIVILEGED_INTENTS,
    FakeMessage,
    World,
    content_is_visible,
)

# Opcodes.
DISPATCH, HEARTBEAT, IDENTIFY, PRESENCE_UPDATE, VOICE_STATE_UPDATE = 0, 1, 2, 3, 4
RESUME, RECONNECT, REQUEST_GUILD_MEMBERS, INVALID_SESSION, HELLO, HEARTBEAT_ACK = 6, 7, 8, 9, 10, 11

# Close codes (https://discord.com/developers/docs/topics/opcodes-and-status-codes).
UNKNOWN_ERROR, UNKNOWN_OPCODE, DECODE_ERROR, AUTHENTICATION_FAILED = 4000, 4001, 4002, 4004
ALREADY_AUTHENTICATED, INVALID_SHARD, INVALID_API_VERSION = 4005, 4010, 4012
INVALID_INTENTS, DISALLOWED_INTENTS = 4013, 4014

#: How many dispatches a session keeps for RESUME.
REPLAY_BUFFER = 1000
_MESSAGE_EVENTS = ("MESSAGE_CREATE", "MESSAGE_UPDATE", "MESSAGE_DELETE")
_GUILD_EVENTS = ("GUILD_CREATE", "GUILD_UPDATE", "GUILD_DELETE")


@dataclass
class GatewayLogEntry:
    """One thing that happened on the gateway, for assertions like "the bot resumed"."""

    kind: str  # "identify", "resume", "invalid_session", "closed", "dropped"
    session_id: str | None
    path: str
    detail: JSON = field(default_factory=dict)


@dataclass(eq=False)
class _Connection:
    ws: web.WebSocketResponse
    request: web.Request
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    session: GatewaySession | None = None
    closed_by_server: bool = False

    async def send(self, frame: JSON) -> None:
        async with self.lock:
            await self.ws.send_str(json.dumps(frame))


@dataclass(eq=False)
class GatewaySession:
    id: str
    intents: int
    shard: tuple[int, int] | None
    seq: int = 0
    buffer: deque[JSON] = field(default_factory=lambda: deque(maxlen=REPLAY_BUFFER))
    connection: _Connection | None = None
    resumable: bool = True
    presence: JSON | None = None

    def covers(self, guild_id: int | None) -> bool:
        """Shard routing: ``(guild_id >> 22) % num_shards``; DMs go to shard 0."""
        if self.shard is None:
            return True
        shard_id, count = self.shard
        return (0 if guild_id is None else (guild_id >> 22) % count) == shard_id

    def accepts(self, event: str, guild_id: int | None) -> bool:
        """Intent gating of the events the fake emits."""
        if event in _MESSAGE_EVENTS:
            needed = INTENT_DIRECT_MESSAGES if guild_id is None else INTENT_GUILD_MESSAGES
            return bool(self.intents & needed)
        if event in _GUILD_EVENTS:
            return bool(self.intents & INTENT_GUILDS)
        return True


class Gateway:
    def __init__(self, world: World, token: str, *, heartbeat_interval_ms: int = 41_250) -> None:
        self._world = world
        self._token = token
        self._heartbeat_interval_ms = heartbeat_interval_ms
        self._connections: set[_Connection] = set()
        self.sessions: dict[str, GatewaySession] = {}
        self.log: list[GatewayLogEntry] = []
        #: Set by the server once it knows its port; READY advertises it as ``resume_gateway_url``.
        self.resume_url = ""

    # -- state for tests -----------------------------------------------------------------------

    @property
    def live_sessions(self) -> list[GatewaySession]:
        return [s for s in self.sessions.values() if s.resumable]

    @property
    def connected(self) -> bool:
        """A bot is identified or resumed on an open websocket."""
        return any(s.connection is not None for s in self.live_sessions)

    # -- websocket endpoint --------------------------------------------------------------------

    async def handle(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(compress=False, max_msg_size=0)
        await ws.prepare(request)
        conn = _Connection(ws=ws, request=request)
        self._connections.add(conn)
        try:
            if request.query.get("v") != "10":
                await self._close(conn, INVALID_API_VERSION, "Invalid API version")
            elif request.query.get("encoding", "json") != "json":
                await self._close(conn, DECODE_ERROR, "Only JSON encoding is supported by the fake")
            else:
                await conn.send(
                    {
                        "op": HELLO,
                        "d": {"heartbeat_interval": self._heartbeat_interval_ms},
                        "s": None,
                        "t": None,
                    }
                )
                await self._serve(conn)
        finally:
            self._detach(conn)
            self._connections.discard(conn)
        return ws

    async def _serve(self, conn: _Connection) -> None:
        async for frame in conn.ws:
            if frame.type is not WSMsgType.TEXT:
                await self._close(conn, DECODE_ERROR, "Error while decoding payload.")
                return
            try:
                payload = json.loads(frame.data)
                op = payload["op"]
            except (ValueError, KeyError, TypeError):
                await self._close(conn, DECODE_ERROR, "Error while decoding payload.")
                return
            await self._on_op(conn, op, payload.get("d"))
        # The client closed.  Like Discord, a 1000/1001 close from the client ends the session.
        if conn.session is not None and not conn.closed_by_server and conn.ws.close_code in (1000, 1001):
            conn.session.resumable = False
        self.log.append(
            GatewayLogEntry(
                "closed",
                conn.session.id if conn.session else None,
                conn.request.path,
                {"code": conn.ws.close_code},
            )
        )

    async def _on_op(self, conn: _Connection, op: int, data: Any) -> None:
        if op == HEARTBEAT:
            await conn.send({"op": HEARTBEAT_ACK, "d": None, "s": None, "t": None})
        elif op == IDENTIFY:
            await self._identify(conn, data)
        elif op == RESUME:
            await self._resume(conn, data)
        elif op == PRESENCE_UPDATE:
            if conn.session is not None:
                conn.session.presence = data
        elif op == REQUEST_GUILD_MEMBERS:
            await self._request_members(conn, data)
        elif op != VOICE_STATE_UPDATE:
            await self._close(conn, UNKNOWN_OPCODE, "Unknown opcode.")

    async def _identify(self, conn: _Connection, data: JSON) -> None:
        intents = data.get("intents")
        shard = data.get("shard")
        if conn.session is not None:
            await self._close(conn, ALREADY_AUTHENTICATED, "Already authenticated.")
        elif data.get("token") != self._token:
            await self._close(conn, AUTHENTICATION_FAILED, "Authentication failed.")
        elif not isinstance(intents, int):
            await self._close(conn, INVALID_INTENTS, "Invalid intent(s).")
        elif intents & PRIVILEGED_INTENTS & ~self._world.privileged_intents:
            await self._close(conn, DISALLOWED_INTENTS, "Disallowed intent(s).")
        elif shard is not None and not 0 <= shard[0] < shard[1]:
            await self._close(conn, INVALID_SHARD, "Invalid shard.")
        else:
            await self._start_session(conn, intents, None if shard is None else (shard[0], shard[1]))

    async def _start_session(self, conn: _Connection, intents: int, shard: tuple[int, int] | None) -> None:
        for old in self.live_sessions:
            if old.shard == shard:
                old.resumable = False
        session = GatewaySession(id=secrets.token_hex(16), intents=intents, shard=shard)
        self.sessions[session.id] = session
        self._attach(conn, session)
        self.log.append(GatewayLogEntry("identify", session.id, conn.request.path, {"intents": intents}))
        guild_ids = [g for g in self._world.guilds if session.covers(g)]
        ready = payloads.ready(
            self._world,
            session_id=session.id,
            resume_url=self.resume_url,
            guild_ids=guild_ids,
            shard=None if shard is None else list(shard),
        )
        await self._dispatch_to(session, "READY", ready)
        with_all_members = bool(intents & INTENT_GUILD_PRESENCES)
        for guild_id in guild_ids:
            guild = self._world.guilds[guild_id]
            data = payloads.guild_create(
                guild, bot_id=self._world.bot_user.id, with_all_members=with_all_members
            )
            if session.accepts("GUILD_CREATE", guild_id):
                await self._dispatch_to(session, "GUILD_CREATE", data)
        self._world.notifier.notify()

    async def _resume(self, conn: _Connection, data: JSON) -> None:
        session = self.sessions.get(str(data.get("session_id")))
        seq = data.get("seq") or 0
        replay = [] if session is None else [f for f in session.buffer if f["s"] > seq]
        gap = session is not None and seq < session.seq and (not replay or replay[0]["s"] != seq + 1)
        if session is None or not session.resumable or data.get("token") != self._token or gap:
            self.log.append(GatewayLogEntry("invalid_session", data.get("session_id"), conn.request.path))
            await conn.send({"op": INVALID_SESSION, "d": False, "s": None, "t": None})
            return
        if session.connection is not None:
            self._detach(session.connection)
        self._attach(conn, session)
        self.log.append(
            GatewayLogEntry("resume", session.id, conn.request.path, {"seq": seq, "replayed": len(replay)})
        )
        for frame in replay:
            await conn.send(frame)
        await self._dispatch_to(session, "RESUMED", {"_trace": ['["fake-discord-gateway",{"micros":0}]']})
        self._world.notifier.notify()

    async def _request_members(self, conn: _Connection, data: JSON) -> None:
        """Answer REQUEST_GUILD_MEMBERS with a single GUILD_MEMBERS_CHUNK (discord.py waits for it)."""
        session = conn.session
        guild = self._world.guilds.get(int(data["guild_id"]))
        if session is None or guild is None:
            return
        user_ids = {int(u) for u in data.get("user_ids") or []}
        query = (data.get("query") or "").lower()
        members = [
            m
            for m in guild.members.values()
            if (m.user.id in user_ids if user_ids else m.user.username.lower().startswith(query))
        ]
        if data.get("limit"):
            members = members[: int(data["limit"])]
        chunk: JSON = {
            "guild_id": str(guild.id),
            "members": [payloads.member(m) for m in members],
            "chunk_index": 0,
            "chunk_count": 1,
        }
        if user_ids:
            chunk["not_found"] = [str(u) for u in user_ids - set(guild.members)]
        if data.get("nonce") is not None:
            chunk["nonce"] = data["nonce"]
        await self._dispatch_to(session, "GUILD_MEMBERS_CHUNK", chunk)

    # -- dispatching ---------------------------------------------------------------------------

    async def dispatch(self, event: str, data: JSON, *, guild_id: int | None) -> None:
        """Send an event to every live session that covers the guild and has the intent for it."""
        sessions = [s for s in self.live_sessions if s.covers(guild_id) and s.accepts(event, guild_id)]
        if not sessions:
            raise RuntimeError(
                f"cannot dispatch {event}: no bot session on the fake gateway covers it "
                "(is the bot connected, does it have the intent?)"
            )
        for session in sessions:
            await self._dispatch_to(session, event, data)

    async def publish_message(self, event: str, message: FakeMessage) -> None:
        """MESSAGE_* events, with content blanked per session as the MESSAGE_CONTENT intent demands."""
        bot_id = self._world.bot_user.id
        for session in self.live_sessions:
            if not (session.covers(message.guild_id) and session.accepts(event, message.guild_id)):
                continue
            if event == "MESSAGE_DELETE":
                data: JSON = {"id": str(message.id), "channel_id": str(message.channel_id)}
                if message.guild_id is not None:
                    data["guild_id"] = str(message.guild_id)
            else:
                visible = content_is_visible(
                    message, bot_id, has_content_privilege=bool(session.intents & INTENT_MESSAGE_CONTENT)
                )
                data = payloads.message(message, self._world, with_content=visible)
            await self._dispatch_to(session, event, data)

    async def _dispatch_to(self, session: GatewaySession, event: str, data: JSON) -> None:
        session.seq += 1
        frame = {"op": DISPATCH, "t": event, "s": session.seq, "d": data}
        session.buffer.append(frame)
        conn = session.connection
        if conn is None:
            return  # buffered; delivered on RESUME
        try:
            await conn.send(frame)
        except (ConnectionError, RuntimeError):
            self._detach(conn)

    # -- faults --------------------------------------------------------------------------------

    async def drop(self, *, code: int = UNKNOWN_ERROR, abrupt: bool = False, resumable: bool = True) -> None:
        """Cut every bot connection.  ``abrupt`` kills TCP without a close frame (the client sees 1006)."""
        connections = [c for c in self._connections if c.session is not None]
        if not connections:
            raise RuntimeError("no bot is connected to the fake gateway")
        for conn in connections:
            session = conn.session
            assert session is not None
            session.resumable = session.resumable and resumable
            self.log.append(
                GatewayLogEntry("dropped", session.id, conn.request.path, {"code": code, "abrupt": abrupt})
            )
            self._detach(conn)
            if abrupt:
                conn.closed_by_server = True
                if conn.request.transport is not None:
                    conn.request.transport.abort()
            else:
                await self._close(conn, code, "Dropped by the test.")

    async def send_reconnect(self) -> None:
        """Opcode 7: Discord asks the client to reconnect and resume."""
        for conn in [c for c in self._connections if c.session is not None]:
            await conn.send({"op": RECONNECT, "d": None, "s": None, "t": None})

    async def close(self) -> None:
        for conn in list(self._connections):
            await self._close(conn, 1001, "Fake Discord shutting down.")

    async def _close(self, conn: _Connection, code: int, reason: str) -> None:
        conn.closed_by_server = True
        with contextlib.suppress(ConnectionError, RuntimeError):
            await conn.ws.close(code=code, message=reason.encode())

    def _attach(self, conn: _Connection, session: GatewaySession) -> None:
        conn.session = session
        session.connection = conn

    def _detach(self, conn: _Connection) -> None:
        if conn.session is not None and conn.session.connection is conn:
            conn.session.connection = None
