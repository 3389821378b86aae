"""The server side of interactions: the initial callback and the follow-up webhook.

Rules enforced here, each one a way a real bot breaks in production:

* the first callback must arrive within ``response_deadline`` (3 s on Discord), else 10062;
* an interaction can be acknowledged once (40060 on the second try);
* only callback types valid for the interaction type are accepted;
* follow-ups need an acknowledged interaction and a token younger than 15 minutes;
* after a deferral (type 5) the first follow-up *replaces* the "thinking" message instead of creating a
  new one, and keeps the deferral's ephemerality whatever flags the follow-up asked for; once the bot has
  deleted the "thinking" message, a follow-up is a new message again.
"""

from __future__ import annotations

import asyncio
from typing import Final

from aiohttp import web
from aiohttp.typedefs import Handler

from . import payloads
from .httputil import (
    DiscordError,
    files_of,
    invalid_form_body,
    json_object,
    json_response,
    no_content,
    validate_message_edit,
    validate_new_message,
)
from .limits import FormErrors, check_choices, check_message, check_modal, is_empty_message
from .messages import MessageService
from .state import (
    FLAG_EPHEMERAL,
    FLAG_LOADING,
    JSON,
    MESSAGE_CHAT_INPUT_COMMAND,
    MESSAGE_DEFAULT,
    CallbackRecord,
    FakeMessage,
    InteractionRecord,
    World,
)

#: Interaction type -> callback types Discord accepts for it.
VALID_CALLBACKS: Final = {
    2: {4, 5, 9},  # application command
    3: {4, 5, 6, 7, 9},  # message component
    4: {8},  # autocomplete
    5: {4, 5, 6, 7},  # modal submit
}
FOLLOWUP_TOKEN_LIFETIME = 15 * 60.0


class InteractionResponses:
    def __init__(self, world: World, messages: MessageService, *, response_deadline: float) -> None:
        self._world = world
        self._messages = messages
        self._deadline = response_deadline

    def routes(self) -> list[tuple[str, str, Handler]]:
        message = "/webhooks/{application_id}/{token}/messages/{message_id}"
        return [
            ("POST", "/interactions/{interaction_id}/{token}/callback", self.callback),
            ("POST", "/webhooks/{application_id}/{token}", self.create_followup),
            ("GET", message, self.get_message),
            ("PATCH", message, self.edit_message),
            ("DELETE", message, self.delete_message),
        ]

    # -- callback ------------------------------------------------------------------------------

    async def callback(self, request: web.Request) -> web.Response:
        record = self._world.interactions.get(_int(request.match_info["interaction_id"]))
        if record is None or record.token != request.match_info["token"]:
            raise DiscordError(404, 10062, "Unknown interaction")
        if record.callbacks:
            raise DiscordError(400, 40060, "Interaction has already been acknowledged.")
        if asyncio.get_running_loop().time() - record.created_at > self._deadline:
            raise DiscordError(404, 10062, "Unknown interaction")
        body = json_object(request)
        callback_type = body.get("type")
        data: JSON = body.get("data") or {}
        if callback_type not in VALID_CALLBACKS[record.type]:
            raise invalid_form_body(
                {
                    "type": {
                        "_errors": [
                            {
                                "code": "INTERACTION_RESPONSE_TYPE_INVALID",
                                "message": "Invalid interaction response type",
                            }
                        ]
                    }
                }
            )
        self._validate_callback(record, callback_type, data, has_files=bool(files_of(request)))
        # Recorded before any await, so a concurrent second callback sees "already acknowledged".
        record.callbacks.append(CallbackRecord(type=callback_type, data=body.get("data")))
        message = await self._apply_callback(record, callback_type, data, request)
        self._world.notifier.notify()
        if request.query.get("with_response", "").lower() not in ("1", "true"):
            return no_content()
        return json_response(
            payloads.callback_response(
                interaction_id=record.id,
                interaction_type=record.type,
                callback_type=callback_type,
                message_payload=None if message is None else payloads.message(message, self._world),
            )
        )

    def _validate_callback(
        self, record: InteractionRecord, callback_type: int, data: JSON, *, has_files: bool
    ) -> None:
        errors = FormErrors(prefix=["data"])
        if callback_type in (4, 7):
            check_message(data, errors)
        elif callback_type == 9:
            check_modal(data, errors)
        elif callback_type == 8:
            check_choices(data, errors)
        if errors:
            raise invalid_form_body(errors.tree)
        if callback_type == 4 and is_empty_message(data, has_files=has_files):
            raise DiscordError(400, 50006, "Cannot send an empty message", violation=True)
        if callback_type in (6, 7) and record.source_message is None:
            raise invalid_form_body(
                {
                    "type": {
                        "_errors": [
                            {"code": "INTERACTION_RESPONSE_TYPE_INVALID", "message": "No message to update"}
                        ]
                    }
                }
            )

    async def _apply_callback(
        self, record: InteractionRecord, callback_type: int, data: JSON, request: web.Request
    ) -> FakeMessage | None:
        bot = self._world.bot_user
        message_type = MESSAGE_CHAT_INPUT_COMMAND if record.type == 2 else MESSAGE_DEFAULT
        if callback_type == 4:
            record.original = await self._messages.create(
                record.channel, bot, data, files_of(request), interaction=record, message_type=message_type
            )
            return record.original
        if callback_type == 5:
            placeholder = {"flags": int(data.get("flags") or 0) & FLAG_EPHEMERAL}
            record.original = await self._messages.create(
                record.channel,
                bot,
                placeholder,
                interaction=record,
                message_type=message_type,
                extra_flags=FLAG_LOADING,
            )
            return record.original
        if callback_type in (6, 7):
            record.original = record.source_message
            assert record.original is not None
            if callback_type == 7:
                return await self._messages.edit(record.original, data, files_of(request))
        return None

    # -- follow-ups ----------------------------------------------------------------------------

    async def create_followup(self, request: web.Request) -> web.Response:
        record = self._followup_record(request)
        body = json_object(request)
        files = files_of(request)
        validate_new_message(body, has_files=bool(files))
        original = record.original
        if (
            record.response_type == 5
            and original is not None
            and original.current.loading
            and not original.deleted
        ):
            message = await self._messages.edit(original, body, files)
        else:
            message_type = MESSAGE_CHAT_INPUT_COMMAND if record.type == 2 else MESSAGE_DEFAULT
            message = await self._messages.create(
                record.channel,
                self._world.bot_user,
                body,
                files,
                interaction=record,
                message_type=message_type,
            )
            record.followups.append(message)
        if request.query.get("wait", "").lower() not in ("1", "true"):
            return no_content()
        return json_response(payloads.message(message, self._world))

    async def get_message(self, request: web.Request) -> web.Response:
        message = self._webhook_message(request)
        return json_response(payloads.message(message, self._world))

    async def edit_message(self, request: web.Request) -> web.Response:
        message = self._webhook_message(request)
        body = json_object(request)
        files = files_of(request)
        validate_message_edit(message, body, has_files=bool(files))
        edited = await self._messages.edit(message, body, files)
        return json_response(payloads.message(edited, self._world))

    async def delete_message(self, request: web.Request) -> web.Response:
        await self._messages.delete(self._webhook_message(request))
        return no_content()

    def _followup_record(self, request: web.Request) -> InteractionRecord:
        token = request.match_info["token"]
        record = next((r for r in self._world.interactions.values() if r.token == token), None)
        if record is None or _int(request.match_info["application_id"]) != self._world.application.id:
            raise DiscordError(404, 10015, "Unknown Webhook")
        if not record.callbacks:
            raise DiscordError(404, 10015, "Unknown Webhook")
        if asyncio.get_running_loop().time() - record.created_at > FOLLOWUP_TOKEN_LIFETIME:
            raise DiscordError(401, 50027, "Invalid Webhook Token")
        return record

    def _webhook_message(self, request: web.Request) -> FakeMessage:
        record = self._followup_record(request)
        wanted = request.match_info["message_id"]
        if wanted == "@original":
            message = record.original
        else:
            message = next((m for m in record.messages if str(m.id) == wanted), None)
        if message is None or message.deleted:
            raise DiscordError(404, 10008, "Unknown Message")
        return message


def _int(value: str) -> int:
    """Path ids; a non-numeric id is simply unknown, as on Discord."""
    return int(value) if value.isdigit() else -1
