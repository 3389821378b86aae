"""The REST half of the fake: an aiohttp application serving ``/api/v10`` plus the gateway endpoints.

Every API request goes through one middleware that, in order: parses and records the request,
answers unknown routes with Discord's 404 (and remembers them, so a test sees which endpoint the
bot needed that the fake lacks), checks the bot token, applies injected faults, counts the request
against its rate-limit bucket, runs the handler and stamps the rate-limit headers on the response.
"""

from __future__ import annotations

from dataclasses import dataclass
from http import HTTPStatus

from aiohttp import web
from aiohttp.typedefs import Handler

from . import payloads
from .faults import FaultPlan, FaultRule
from .gateway import Gateway
from .httputil import (
    API_PREFIX,
    DiscordError,
    body_of,
    files_of,
    invalid_form_body,
    json_object,
    json_response,
    no_content,
    parse_body,
    store_body,
    validate_message_edit,
    validate_new_message,
)
from .limits import FormErrors, check_command, check_commands
from .messages import MessageService
from .ratelimits import RateLimiter, bucket_hash, too_many_requests
from .server_interactions import InteractionResponses
from .spec.validator import discord_spec
from .state import (
    JSON,
    CommandSync,
    FakeChannel,
    FakeGuild,
    FakeMessage,
    RecordedRequest,
    Violation,
    World,
    content_is_visible,
)

_RECORDED_HEADERS = ("Authorization", "Content-Type", "User-Agent", "X-Audit-Log-Reason")
#: Routes authenticated by the token in their path rather than by the bot token.
_TOKEN_ROUTES = ("/interactions/", "/webhooks/")
_MAJOR_PARAMETERS = ("channel_id", "guild_id", "application_id", "interaction_id", "token")


@dataclass(frozen=True)
class ServerUrls:
    origin: str  # http://127.0.0.1:PORT

    @property
    def api_base(self) -> str:
        return self.origin + API_PREFIX

    @property
    def gateway(self) -> str:
        return self.origin.replace("http://", "ws://", 1) + "/"

    @property
    def resume_gateway(self) -> str:
        """A different URL from ``gateway``, as on Discord, so tests prove the client honours it."""
        return self.origin.replace("http://", "ws://", 1) + "/resume"

    @property
    def attachments(self) -> str:
        return self.origin + "/attachments"


class RestApi:
    def __init__(
        self,
        world: World,
        *,
        token: str,
        urls: ServerUrls,
        gateway: Gateway,
        messages: MessageService,
        interactions: InteractionResponses,
        faults: FaultPlan,
        limiter: RateLimiter,
    ) -> None:
        self._world = world
        self._token = token
        self._urls = urls
        self._gateway = gateway
        self._messages = messages
        self._interactions = interactions
        self._faults = faults
        self._limiter = limiter

    def build_app(self) -> web.Application:
        app = web.Application(middlewares=[self._middleware])
        for method, path, handler in self._routes() + self._interactions.routes():
            app.router.add_route(method, API_PREFIX + path, handler)
        app.router.add_get("/", self._gateway.handle)
        app.router.add_get("/resume", self._gateway.handle)
        app.router.add_get("/attachments/{channel_id}/{attachment_id}/{filename}", self._attachment)
        return app

    def _routes(self) -> list[tuple[str, str, Handler]]:
        commands = "/applications/{application_id}/commands"
        guild_commands = "/applications/{application_id}/guilds/{guild_id}/commands"
        message = "/channels/{channel_id}/messages/{message_id}"
        routes: list[tuple[str, str, Handler]] = [
            ("GET", "/gateway", self._get_gateway),
            ("GET", "/gateway/bot", self._get_gateway_bot),
            ("GET", "/users/@me", self._get_me),
            ("POST", "/users/@me/channels", self._create_dm),
            ("GET", "/users/{user_id}", self._get_user),
            ("GET", "/oauth2/applications/@me", self._get_application),
            ("GET", "/applications/@me", self._get_application),
            ("GET", "/channels/{channel_id}", self._get_channel),
            ("GET", "/channels/{channel_id}/messages", self._list_messages),
            ("POST", "/channels/{channel_id}/messages", self._create_message),
            ("GET", message, self._get_message),
            ("PATCH", message, self._edit_message),
            ("DELETE", message, self._delete_message),
            ("POST", "/channels/{channel_id}/typing", self._typing),
            ("GET", "/guilds/{guild_id}", self._get_guild),
            ("GET", "/guilds/{guild_id}/channels", self._get_guild_channels),
            ("GET", "/guilds/{guild_id}/roles", self._get_guild_roles),
            ("GET", "/guilds/{guild_id}/members/{user_id}", self._get_member),
        ]
        for base in (commands, guild_commands):
            routes += [
                ("GET", base, self._list_commands),
                ("PUT", base, self._overwrite_commands),
                ("POST", base, self._upsert_command),
                ("GET", base + "/{command_id}", self._get_command),
                ("PATCH", base + "/{command_id}", self._edit_command),
                ("DELETE", base + "/{command_id}", self._delete_command),
            ]
        return routes

    # -- middleware ----------------------------------------------------------------------------

    @web.middleware
    async def _middleware(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        if not request.path.startswith(API_PREFIX + "/"):
            return await handler(request)
        path = request.path[len(API_PREFIX) :]
        record = RecordedRequest(
            method=request.method,
            path=path,
            query=dict(request.query),
            json=None,
            files=[],
            headers={k: request.headers[k] for k in _RECORDED_HEADERS if k in request.headers},
            route=None,
        )
        self._world.requests.append(record)
        headers: dict[str, str] = {}
        try:
            record.json, record.files = await parse_body(request)
            store_body(request, record.json, record.files)
            self._world.spec_checked += 1
            self._world.spec_problems += discord_spec().check_request(
                request.method, path, record.query, record.json, has_body=request.body_exists
            )
            response = await self._process(request, handler, record, headers)
        except DiscordError as exc:
            if exc.violation:
                self._world.violations.append(Violation(request.method, path, exc.body))
            response = json_response(exc.body, exc.status)
        response.headers.update(headers)
        record.status = response.status
        self._world.notifier.notify()
        return response

    async def _process(
        self,
        request: web.Request,
        handler: Handler,
        record: RecordedRequest,
        headers: dict[str, str],
    ) -> web.StreamResponse:
        """Route checks, auth, faults and rate limiting; fills ``headers`` for the response."""
        match = request.match_info
        if match.http_exception is not None:
            status = match.http_exception.status
            raise DiscordError(status, 0, f"{status}: {match.http_exception.reason}")
        resource = match.route.resource
        assert resource is not None
        route = resource.canonical[len(API_PREFIX) :]
        record.route = route
        needs_bot_token = not route.startswith(_TOKEN_ROUTES) and route != "/gateway"
        if needs_bot_token and request.headers.get("Authorization") != f"Bot {self._token}":
            raise DiscordError(401, 0, "401: Unauthorized")
        fault = self._faults.take(request.method, record.path)
        if fault is not None:
            return _fault_response(fault, request.method, route)
        major = "+".join(match[k] for k in _MAJOR_PARAMETERS if k in match)
        allowed, limit_headers = self._limiter.take(request.method, route, major)
        headers.update(limit_headers)
        if not allowed:
            body, limited = too_many_requests(
                limit_headers["X-RateLimit-Bucket"],
                self._limiter.policy.limit,
                float(limit_headers["X-RateLimit-Reset-After"]),
                is_global=False,
            )
            headers.update(limited)
            return json_response(body, 429)
        return await handler(request)

    # -- gateway, users, application -----------------------------------------------------------

    async def _get_gateway(self, request: web.Request) -> web.Response:
        return json_response({"url": self._urls.gateway})

    async def _get_gateway_bot(self, request: web.Request) -> web.Response:
        limit = {"total": 1000, "remaining": 999, "reset_after": 14_400_000, "max_concurrency": 1}
        return json_response({"url": self._urls.gateway, "shards": 1, "session_start_limit": limit})

    async def _get_me(self, request: web.Request) -> web.Response:
        return json_response(payloads.current_user(self._world.bot_user))

    async def _get_user(self, request: web.Request) -> web.Response:
        user = self._world.users.get(_id(request, "user_id"))
        if user is None:
            raise DiscordError(404, 10013, "Unknown User")
        return json_response(payloads.user(user))

    async def _create_dm(self, request: web.Request) -> web.Response:
        user = self._world.users.get(int(json_object(request).get("recipient_id") or 0))
        if user is None:
            raise DiscordError(404, 10013, "Unknown User")
        return json_response(payloads.channel(self._world.dm_channel(user)))

    async def _get_application(self, request: web.Request) -> web.Response:
        return json_response(payloads.application(self._world))

    # -- channels and messages -----------------------------------------------------------------

    def _channel(self, request: web.Request) -> FakeChannel:
        channel = self._world.channel(_id(request, "channel_id"))
        if channel is None:
            raise DiscordError(404, 10003, "Unknown Channel")
        return channel

    def _message(self, request: web.Request) -> FakeMessage:
        channel = self._channel(request)
        message = self._world.messages.get(_id(request, "message_id"))
        if (
            message is None
            or message.channel_id != channel.id
            or message.deleted
            or message.current.ephemeral
        ):
            raise DiscordError(404, 10008, "Unknown Message")
        return message

    def _rest_message(self, message: FakeMessage) -> JSON:
        """Over REST the MESSAGE_CONTENT privilege is the app's portal setting, not a session's intents."""
        visible = content_is_visible(
            message, self._world.bot_user.id, has_content_privilege=self._world.message_content_allowed()
        )
        return payloads.message(message, self._world, with_content=visible)

    async def _get_channel(self, request: web.Request) -> web.Response:
        return json_response(payloads.channel(self._channel(request)))

    async def _list_messages(self, request: web.Request) -> web.Response:
        channel = self._channel(request)
        limit = min(max(int(request.query.get("limit", "50")), 1), 100)
        before = int(request.query.get("before", "0")) or None
        after = int(request.query.get("after", "0"))
        found = [
            m
            for m in self._world.channel_messages(channel.id)
            if not m.deleted
            and not m.current.ephemeral
            and m.id > after
            and (before is None or m.id < before)
        ]
        found.sort(key=lambda m: m.id, reverse=True)
        return json_response([self._rest_message(m) for m in found[:limit]])

    async def _create_message(self, request: web.Request) -> web.Response:
        channel = self._channel(request)
        if channel.recipient is not None and not channel.recipient.dms_open:
            raise DiscordError(403, 50007, "Cannot send messages to this user")
        body = json_object(request)
        validate_new_message(body, has_files=bool(files_of(request)))
        reference = body.get("message_reference")
        if reference is not None and int(reference.get("message_id") or 0) not in self._world.messages:
            if reference.get("fail_if_not_exists", True):
                raise invalid_form_body(
                    {
                        "message_reference": {
                            "_errors": [{"code": "REPLIES_UNKNOWN_MESSAGE", "message": "Unknown message"}]
                        }
                    }
                )
            body = {k: v for k, v in body.items() if k != "message_reference"}
        message = await self._messages.create(channel, self._world.bot_user, body, files_of(request))
        return json_response(self._rest_message(message))

    async def _get_message(self, request: web.Request) -> web.Response:
        return json_response(self._rest_message(self._message(request)))

    async def _edit_message(self, request: web.Request) -> web.Response:
        message = self._message(request)
        if message.author is not self._world.bot_user:
            raise DiscordError(403, 50005, "Cannot edit a message authored by another user")
        body = json_object(request)
        validate_message_edit(message, body, has_files=bool(files_of(request)))
        await self._messages.edit(message, body, files_of(request))
        return json_response(self._rest_message(message))

    async def _delete_message(self, request: web.Request) -> web.Response:
        await self._messages.delete(self._message(request))
        return no_content()

    async def _typing(self, request: web.Request) -> web.Response:
        self._channel(request)
        return no_content()

    async def _attachment(self, request: web.Request) -> web.Response:
        data = self._messages.attachment_data.get(_id(request, "attachment_id"))
        if data is None:
            raise web.HTTPNotFound
        return web.Response(body=data, content_type="application/octet-stream")

    # -- guilds --------------------------------------------------------------------------------

    def _guild(self, request: web.Request) -> FakeGuild:
        guild = self._world.guilds.get(_id(request, "guild_id"))
        if guild is None:
            raise DiscordError(404, 10004, "Unknown Guild")
        return guild

    async def _get_guild(self, request: web.Request) -> web.Response:
        return json_response(payloads.guild(self._guild(request)))

    async def _get_guild_channels(self, request: web.Request) -> web.Response:
        return json_response([payloads.channel(c) for c in self._guild(request).channels.values()])

    async def _get_guild_roles(self, request: web.Request) -> web.Response:
        return json_response([payloads.role(r) for r in self._guild(request).roles.values()])

    async def _get_member(self, request: web.Request) -> web.Response:
        member = self._guild(request).members.get(_id(request, "user_id"))
        if member is None:
            raise DiscordError(404, 10007, "Unknown Member")
        return json_response(payloads.member(member))

    # -- application commands ------------------------------------------------------------------

    def _commands(self, request: web.Request) -> tuple[list[JSON], int | None]:
        """The stored command list the route addresses, and its guild (None for global)."""
        app = self._world.application
        if _id(request, "application_id") != app.id:
            raise DiscordError(403, 50001, "Missing Access")
        if "guild_id" not in request.match_info:
            return app.global_commands, None
        guild_id = _id(request, "guild_id")
        if guild_id not in self._world.guilds:
            raise DiscordError(403, 50001, "Missing Access")
        return app.guild_commands.setdefault(guild_id, []), guild_id

    def _stored_command(self, body: JSON, existing: list[JSON], guild_id: int | None) -> JSON:
        """A command as Discord returns it; re-registering a (type, name) keeps its id."""
        command_type = int(body.get("type", 1))
        previous = next(
            (c for c in existing if (c["type"], c["name"]) == (command_type, body.get("name"))), None
        )
        command: JSON = {
            "id": previous["id"] if previous else str(self._world.snowflake()),
            "application_id": str(self._world.application.id),
            "version": str(self._world.snowflake()),
            "type": command_type,
            "name": body["name"],
            "name_localizations": body.get("name_localizations"),
            "description": body.get("description", ""),
            "description_localizations": body.get("description_localizations"),
            # Sent as an int by discord.py, always returned as a string (or null) by Discord.
            "default_member_permissions": _opt_str(body.get("default_member_permissions")),
            "contexts": body.get("contexts"),
            "integration_types": body.get("integration_types") or [0],
            "nsfw": bool(body.get("nsfw", False)),
        }
        if body.get("options"):
            command["options"] = body["options"]
        if guild_id is None:
            command["dm_permission"] = body.get("dm_permission", True)
        else:
            command["guild_id"] = str(guild_id)
        return command

    def _find_command(self, request: web.Request) -> tuple[list[JSON], JSON]:
        commands, _ = self._commands(request)
        wanted = request.match_info["command_id"]
        command = next((c for c in commands if c["id"] == wanted), None)
        if command is None:
            raise DiscordError(404, 10063, "Unknown application command")
        return commands, command

    async def _list_commands(self, request: web.Request) -> web.Response:
        commands, _ = self._commands(request)
        return json_response(commands)

    async def _overwrite_commands(self, request: web.Request) -> web.Response:
        commands, guild_id = self._commands(request)
        body = body_of(request)
        if not isinstance(body, list):
            raise invalid_form_body(
                {
                    "_errors": [
                        {"code": "LIST_TYPE_CONVERT", "message": "Only iterables may be used in a ListType"}
                    ]
                }
            )
        errors = FormErrors()
        check_commands(body, errors)
        if errors:
            raise invalid_form_body(errors.tree)
        commands[:] = [self._stored_command(c, commands, guild_id) for c in body]
        self._world.command_syncs.append(CommandSync(guild_id, tuple(c["name"] for c in commands)))
        return json_response(commands)

    async def _upsert_command(self, request: web.Request) -> web.Response:
        commands, guild_id = self._commands(request)
        body = json_object(request)
        errors = FormErrors()
        check_command(body, errors, [])
        if errors:
            raise invalid_form_body(errors.tree)
        command = self._stored_command(body, commands, guild_id)
        index = next((i for i, c in enumerate(commands) if c["id"] == command["id"]), None)
        if index is None:
            commands.append(command)
            return json_response(command, 201)
        commands[index] = command
        return json_response(command)

    async def _get_command(self, request: web.Request) -> web.Response:
        return json_response(self._find_command(request)[1])

    async def _edit_command(self, request: web.Request) -> web.Response:
        _, command = self._find_command(request)
        merged = {**command, **json_object(request)}
        errors = FormErrors()
        check_command(merged, errors, [])
        if errors:
            raise invalid_form_body(errors.tree)
        command.update(merged, version=str(self._world.snowflake()))
        return json_response(command)

    async def _delete_command(self, request: web.Request) -> web.Response:
        commands, command = self._find_command(request)
        commands.remove(command)
        return no_content()


def _fault_response(fault: FaultRule, method: str, route: str) -> web.Response:
    if fault.status == 429:
        body, headers = too_many_requests(
            bucket_hash(method, route), 1, fault.retry_after, is_global=fault.is_global
        )
        response = json_response(body, 429)
        response.headers.update(headers)
        return response
    return json_response(
        payloads.error(0, f"{fault.status}: {HTTPStatus(fault.status).phrase}"), fault.status
    )


def _id(request: web.Request, key: str) -> int:
    value = request.match_info[key]
    return int(value) if value.isdigit() else -1


def _opt_str(value: object) -> str | None:
    return None if value is None else str(value)
