"""Every request the fake Discord receives, checked against Discord's own OpenAPI description of API v10.

`check_request` finds the spec's operation for a request's method and concrete path (literal segments such
as `@me` and `@original` win over parameters), then validates its path parameters, its query (an unknown
key is a problem too, since Discord ignores it and the bot meant something), and its body: the JSON body,
or a multipart request's `payload_json`, against the operation's JSON Schema (2020-12, as OpenAPI 3.1
uses). The schemas are read from `discord_openapi_v10.json`, the repository's trimmed copy (see `trim`).

The copy is read strictly: an object field the spec does not name is a problem, but for the few that
discord.py sends and Discord accepts (`ACCEPTED_EXTRAS`). The limits the spec leaves out (2,000 characters
of content, 6,000 across embeds, a choice value's 100, a button's url or custom_id) are the fake's own
(`tests.fakediscord.limits`), which refuse a request as Discord does.
"""

from __future__ import annotations

import copy as copy_module
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from typing import Any
from urllib.parse import quote

from jsonschema import Draft202012Validator
from jsonschema.exceptions import best_match
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from .trim import TRIMMED

_SPEC_URI = "urn:discord-openapi-v10"
SPEC_TOTALS = {"requests": 0}
"""Requests checked across the test session, for the summary line at its end (tests/conftest.py)."""
_PARAMETER = re.compile(r"\{([^}]+)\}")


@dataclass(frozen=True)
class SpecProblem:
    """One way a request differs from what Discord's specification allows."""

    method: str
    path: str
    problem: str

    def __str__(self) -> str:
        return f"{self.method} {self.path}: {self.problem}"


@dataclass(frozen=True)
class _Operation:
    template: str
    pattern: re.Pattern[str]
    literals: int
    methods: Mapping[str, Any]
    shared_parameters: tuple[Any, ...]


class DiscordSpec:
    """The trimmed spec, its operations matched by path, and one compiled validator per schema."""

    def __init__(self, copy: Mapping[str, Any]) -> None:
        self.source = copy["info"]["x-copied-from"]
        spec = _as_discord_reads(copy)
        self._registry: Registry[Any] = Registry().with_resource(
            _SPEC_URI, Resource.from_contents(spec, default_specification=DRAFT202012)
        )
        operations = []
        for template, item in spec["paths"].items():
            segments = template.strip("/").split("/")
            regex = "/".join(map(_segment_pattern, segments))
            methods = {key.upper(): value for key, value in item.items() if key != "parameters"}
            operations.append(
                _Operation(
                    template,
                    re.compile(f"/{regex}"),
                    sum(not _PARAMETER.fullmatch(s) for s in segments),
                    methods,
                    tuple(item.get("parameters", ())),
                )
            )
        # The most literal template first: /messages/@original before /messages/{message_id}.
        self._operations = sorted(operations, key=lambda operation: -operation.literals)
        self._validators: dict[str, Draft202012Validator] = {}

    def check_request(
        self, method: str, path: str, query: Mapping[str, str], body: Any, *, has_body: bool
    ) -> list[SpecProblem]:
        """How a request (its concrete path below /api/v10, query, parsed body) differs from the spec."""
        found = [
            (operation, match)
            for operation in self._operations
            if (match := operation.pattern.fullmatch(path)) is not None
        ]
        if not found:
            return [SpecProblem(method, path, "no such route in Discord's API")]
        for operation, match in found:
            if method in operation.methods:
                return [
                    SpecProblem(method, path, f"{operation.template}: {problem}")
                    for problem in self._operation_problems(operation, method, match, query, body, has_body)
                ]
        return [SpecProblem(method, path, f"{found[0][0].template} has no {method}")]

    def _operation_problems(
        self,
        operation: _Operation,
        method: str,
        match: re.Match[str],
        query: Mapping[str, str],
        body: Any,
        has_body: bool,
    ) -> list[str]:
        spec_operation = operation.methods[method]
        pointer = f"/paths/{_escape(operation.template)}"
        problems = []
        parameters = {}
        for index, parameter in enumerate(operation.shared_parameters):
            parameters[(parameter["in"], parameter["name"])] = f"{pointer}/parameters/{index}/schema"
        for index, parameter in enumerate(spec_operation.get("parameters", ())):
            parameters[(parameter["in"], parameter["name"])] = (
                f"{pointer}/{method.lower()}/parameters/{index}/schema"
            )
        for name, value in match.groupdict().items():
            problems += [f"path {name}: {p}" for p in self._value_problems(parameters[("path", name)], value)]
        for name, value in query.items():
            if ("query", name) not in parameters:
                problems.append(f"query {name!r} is not a parameter of this route")
            else:
                problems += [
                    f"query {name}: {p}" for p in self._value_problems(parameters[("query", name)], value)
                ]
        request_body = spec_operation.get("requestBody")
        if request_body is None:
            if has_body and body not in (None, {}):
                problems.append("a body, where the route takes none")
            return problems
        if body is None:
            if request_body.get("required"):
                problems.append("no body, where the route requires one")
            return problems
        schema_pointer = f"{pointer}/{method.lower()}/requestBody/content/application~1json/schema"
        problems += [f"body: {p}" for p in self._schema_problems(schema_pointer, body)]
        return problems

    def _value_problems(self, schema_pointer: str, raw: str) -> list[str]:
        """A path or query value (always text on the wire) against its schema, read as the API reads it:
        `true`/`false` as booleans and digits as integers where the schema wants them."""
        problems = self._schema_problems(schema_pointer, raw)
        for reading in _readings(raw):
            if not problems:
                break
            problems = self._schema_problems(schema_pointer, reading)
        return problems

    def _schema_problems(self, schema_pointer: str, instance: Any) -> list[str]:
        validator = self._validators.get(schema_pointer)
        if validator is None:
            validator = Draft202012Validator(
                {"$ref": f"{_SPEC_URI}#{quote(schema_pointer)}"}, registry=self._registry
            )
            self._validators[schema_pointer] = validator
        errors = list(validator.iter_errors(instance))
        if not errors:
            return []
        error = best_match(errors)
        where = "/".join(str(part) for part in error.absolute_path) or "(root)"
        # The instance can be a 100,000-character text: say which rule failed, and show the value clipped.
        if error.validator == "unevaluatedProperties":  # the message names the unexpected fields
            return [f"{where}: {error.message.rsplit(' (', 1)[-1].rstrip(')')}"]
        rule = f"{error.validator}={_clipped(error.validator_value)}"
        return [f"{where}: breaks {rule} with {_sized(error.instance)}"]


def _clipped(value: Any, limit: int = 80) -> str:
    """A value as JSON, cut to `limit` characters."""
    shown = json.dumps(value, ensure_ascii=False, default=str)
    return shown if len(shown) <= limit else shown[: limit - 1] + "…"


def _sized(value: Any) -> str:
    """A value clipped, with its length when it is text or a list (what breaks a length limit)."""
    return _clipped(value) + (f" (length {len(value)})" if isinstance(value, str | list) else "")


def _segment_pattern(segment: str) -> str:
    """A regular expression for one segment of a path template: `{name}` any one segment, else itself."""
    parameter = _PARAMETER.fullmatch(segment)
    return f"(?P<{parameter.group(1)}>[^/]+)" if parameter else re.escape(segment)


def _escape(template: str) -> str:
    """A path template as a JSON pointer token."""
    return template.replace("~", "~0").replace("/", "~1")


def _as_discord_reads(copy: Mapping[str, Any]) -> dict[str, Any]:
    """The spec made strict where it is loose, and lenient where Discord is (see `ACCEPTED_EXTRAS`)."""
    spec = copy_module.deepcopy(dict(copy))
    schemas = spec["components"]["schemas"]
    # A snowflake (documented as a string of digits) may be sent as a JSON integer, as discord.py sends
    # `message_reference` ids.
    schemas["SnowflakeType"] = {"anyOf": [schemas["SnowflakeType"], {"type": "integer", "minimum": 0}]}
    for name, fields in ACCEPTED_EXTRAS.items():
        for field, schema in fields.items():
            schemas[name]["properties"].setdefault(field, schema)
    _strict(spec["paths"])
    _strict(schemas)
    return spec


_BOOLEAN, _INTEGER = {"type": ["boolean", "null"]}, {"type": ["integer", "null"]}
ACCEPTED_EXTRAS: dict[str, dict[str, Any]] = {
    "ApplicationCommandCreateRequest": {"nsfw": _BOOLEAN},
    "ApplicationCommandUpdateRequest": {"nsfw": _BOOLEAN},
    "ApplicationCommandPatchRequestPartial": {"nsfw": _BOOLEAN},
    "RichEmbed": {"flags": _INTEGER},
    "IncomingWebhookUpdateRequestPartial": {"tts": _BOOLEAN},
    "IncomingWebhookUpdateForInteractionCallbackRequestPartial": {"tts": _BOOLEAN},
    "MessageEditRequestPartial": {"tts": _BOOLEAN},
}
"""Fields discord.py 2.x sends that Discord accepts but its spec leaves out: `nsfw` on commands (named in
the spec's README), an embed's `flags`, and `tts: false` on edits (ignored there). Any other field the spec
does not name is a problem: objects are closed (`unevaluatedProperties: false`), as Discord's own
validation is stricter than the spec's open objects."""


def _strict(node: Any) -> None:
    """Objects closed to fields the spec does not name, and unions meaning exactly one of their types."""
    if isinstance(node, dict):
        if node.get("type") in ("object", ["object", "null"]) and "properties" in node:
            node.setdefault("unevaluatedProperties", False)
        for value in node.values():
            _strict(value)
    elif isinstance(node, list):
        for value in node:
            _strict(value)


_TRUE, _FALSE = ("True", "true", "1"), ("False", "false", "0")
"""Discord's boolean query strings ("Boolean Query Strings" in its reference)."""


def _readings(raw: str) -> list[Any]:
    """The typed values a query or path string can stand for."""
    readings: list[Any] = []
    if raw in _TRUE + _FALSE:
        readings.append(raw in _TRUE)
    if re.fullmatch(r"-?[0-9]+", raw):
        readings.append(int(raw))
    return readings


@cache
def discord_spec() -> DiscordSpec:
    """The repository's copy of the spec, read and compiled once per test session."""
    return DiscordSpec(json.loads(TRIMMED.read_text(encoding="utf-8")))


def spec_source() -> str:
    """Where the copy came from, for the session's summary line."""
    copied = discord_spec().source
    return f"discord/discord-api-spec at {copied['commit'][:12]}, trimmed copy"
