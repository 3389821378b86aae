"""HTTP plumbing shared by the REST handlers: JSON responses, Discord errors, parsed request bodies."""

from __future__ import annotations

import json
from typing import Any

from aiohttp import BodyPartReader, web

from . import payloads
from .limits import FormErrors, check_message, is_empty_message
from .state import JSON, FakeMessage, RecordedFile

#: The API lives under this prefix; ``DISCORD_API_BASE`` is ``http://127.0.0.1:<port>`` + this.
API_PREFIX = "/api/v10"

_BODY_KEY = web.RequestKey("fakediscord_body", object)
_FILES_KEY = web.RequestKey("fakediscord_files", list)


class DiscordError(Exception):
    """Raised by handlers to answer with Discord's error shape.

    ``violation`` marks a request that a correct bot should never make (limits, malformed bodies);
    the server records those so tests can assert there were none.
    """

    def __init__(
        self, status: int, code: int, message: str, errors: JSON | None = None, *, violation: bool = False
    ) -> None:
        super().__init__(f"{status} {code} {message}")
        self.status = status
        self.body = payloads.error(code, message, errors)
        self.violation = violation


def invalid_form_body(errors: JSON) -> DiscordError:
    return DiscordError(400, 50035, "Invalid Form Body", errors, violation=True)


def json_response(data: Any, status: int = 200) -> web.Response:
    """discord.py only decodes a body whose Content-Type is exactly ``application/json``.

    aiohttp's ``json_response``/``text=`` append ``; charset=utf-8``, which discord.py would then
    hand back as a *string*, so the body is encoded by hand.
    """
    return web.Response(body=json.dumps(data).encode(), status=status, content_type="application/json")


def no_content() -> web.Response:
    return web.Response(status=204)


async def parse_body(request: web.Request) -> tuple[Any, list[RecordedFile]]:
    """Read a JSON body, or a multipart body with ``payload_json`` plus ``files[n]`` parts."""
    if request.content_type == "multipart/form-data":
        reader = await request.multipart()
        body: Any = None
        files: list[RecordedFile] = []
        async for part in reader:
            if not isinstance(part, BodyPartReader):
                continue
            data = await part.read()
            if part.name == "payload_json":
                body = _loads(data)
            else:
                files.append(
                    RecordedFile(
                        field_name=part.name or "",
                        filename=part.filename or "",
                        content_type=part.headers.get("Content-Type", "application/octet-stream"),
                        data=bytes(data),
                    )
                )
        return body, files
    raw = await request.read()
    return (_loads(raw) if raw else None), []


def _loads(raw: bytes | bytearray) -> Any:
    try:
        return json.loads(raw)
    except ValueError:
        raise DiscordError(400, 50109, "The request body contains invalid JSON.", violation=True) from None


def store_body(request: web.Request, body: Any, files: list[RecordedFile]) -> None:
    request[_BODY_KEY] = body
    request[_FILES_KEY] = files


def body_of(request: web.Request) -> Any:
    return request[_BODY_KEY]


def json_object(request: web.Request) -> JSON:
    """The body as a JSON object; anything else is the 400 Discord would give."""
    body = request[_BODY_KEY]
    if body is None:
        return {}
    if not isinstance(body, dict):
        raise invalid_form_body(
            {
                "_errors": [
                    {"code": "DICT_TYPE_CONVERT", "message": "Only dictionaries may be used in a DictType"}
                ]
            }
        )
    return body


def files_of(request: web.Request) -> list[RecordedFile]:
    files: list[RecordedFile] = request[_FILES_KEY]
    return files


def validate_new_message(body: JSON, *, has_files: bool) -> None:
    """Limits and the empty-message rule for a new message (400 like Discord when broken)."""
    errors = FormErrors()
    check_message(body, errors)
    if errors:
        raise invalid_form_body(errors.tree)
    if is_empty_message(body, has_files=has_files):
        raise DiscordError(400, 50006, "Cannot send an empty message", violation=True)


def validate_message_edit(message: FakeMessage, body: JSON, *, has_files: bool) -> None:
    """Like a create, except that fields the edit leaves out keep their current values."""
    errors = FormErrors()
    check_message(body, errors)
    if errors:
        raise invalid_form_body(errors.tree)
    state = message.current
    result: JSON = {
        "content": state.content,
        "embeds": state.embeds,
        "components": state.components,
        "attachments": state.attachments,
    }
    result.update({key: body[key] for key in result if key in body})
    if is_empty_message(result, has_files=has_files):
        raise DiscordError(400, 50006, "Cannot send an empty message", violation=True)
