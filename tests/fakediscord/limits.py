"""Discord's payload limits, enforced the way the real API does: 400 with ``50035 Invalid Form Body``.

A bot that works against a lenient fake and then fails in production on a 2001-character message or
a 26th embed field is exactly what an end-to-end harness should catch, so every limit documented for
messages, components and application commands that a bot can plausibly hit is checked here.  Error
bodies follow Discord's nested shape, ``{"embeds": {"0": {"title": {"_errors": [...]}}}}``, which
discord.py flattens into ``HTTPException.text``.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from .state import FLAG_IS_COMPONENTS_V2, JSON, iter_components

MAX_CONTENT = 2000
MAX_EMBEDS = 10
MAX_EMBED_TOTAL = 6000
MAX_ACTION_ROWS = 5
MAX_ROW_CHILDREN = 5
MAX_V2_COMPONENTS = 40
_EMBED_TEXT_LIMITS = {"title": 256, "description": 4096}
_BUTTON = 2
_LINK_STYLES = (5, 6)  # link and premium buttons carry no custom_id
_SELECT_TYPES = (3, 5, 6, 7, 8)
_COMMAND_NAME = re.compile(r"^[-_'\w]{1,32}$")
_OPTION_SUBCOMMAND_TYPES = (1, 2)


class FormErrors:
    """Collects errors into Discord's ``{"field": {"_errors": [{"code", "message"}]}}`` tree."""

    def __init__(self, prefix: Sequence[str | int] = ()) -> None:
        self.tree: JSON = {}
        self._prefix = tuple(prefix)

    def __bool__(self) -> bool:
        return bool(self.tree)

    def add(self, path: Sequence[str | int], code: str, message: str) -> None:
        node = self.tree
        for key in (*self._prefix, *path):
            node = node.setdefault(str(key), {})
        node.setdefault("_errors", []).append({"code": code, "message": message})

    def max_length(self, path: Sequence[str | int], value: Any, limit: int) -> None:
        if value is not None and len(value) > limit:
            self.add(path, "BASE_TYPE_MAX_LENGTH", f"Must be {limit} or fewer in length.")

    def bad_length(self, path: Sequence[str | int], value: Any, low: int, high: int) -> None:
        if value is not None and not low <= len(value) <= high:
            self.add(path, "BASE_TYPE_BAD_LENGTH", f"Must be between {low} and {high} in length.")


def is_empty_message(body: JSON, *, has_files: bool) -> bool:
    """Discord answers 50006 'Cannot send an empty message' when nothing visible would be sent."""
    keys = ("content", "embeds", "components", "attachments", "sticker_ids", "poll")
    return not has_files and not any(body.get(k) for k in keys)


def check_message(body: JSON, errors: FormErrors) -> None:
    """Validate a message create/edit body (also the ``data`` of interaction callbacks 4 and 7)."""
    errors.max_length(["content"], body.get("content"), MAX_CONTENT)
    nonce = body.get("nonce")
    if isinstance(nonce, str):  # integer nonces have no length
        errors.max_length(["nonce"], nonce, 25)
    _check_embeds(body.get("embeds") or [], errors)
    components = body.get("components") or []
    if int(body.get("flags") or 0) & FLAG_IS_COMPONENTS_V2:
        _check_v2_components(body, components, errors)
    else:
        _check_action_rows(components, errors)
    _check_custom_ids(components, errors)
    mentions = body.get("allowed_mentions") or {}
    for kind in ("users", "roles"):
        if kind in mentions.get("parse", []) and mentions.get(kind):
            errors.add(
                ["allowed_mentions"],
                "MESSAGE_ALLOWED_MENTIONS_PARSE_EXCLUSIVE",
                f'parse:["{kind}"] and {kind}: [ids...] are mutually exclusive.',
            )


def _check_embeds(embeds: list[JSON], errors: FormErrors) -> None:
    errors.max_length(["embeds"], embeds, MAX_EMBEDS)
    total = 0
    for index, embed in enumerate(embeds):
        path: list[str | int] = ["embeds", index]
        for key, limit in _EMBED_TEXT_LIMITS.items():
            errors.max_length([*path, key], embed.get(key), limit)
            total += len(embed.get(key) or "")
        fields = embed.get("fields") or []
        errors.max_length([*path, "fields"], fields, 25)
        for field_index, embed_field in enumerate(fields):
            for key, limit in (("name", 256), ("value", 1024)):
                value = embed_field.get(key)
                if not value:
                    errors.add(
                        [*path, "fields", field_index, key], "BASE_TYPE_REQUIRED", "This field is required"
                    )
                errors.max_length([*path, "fields", field_index, key], value, limit)
                total += len(value or "")
        footer_text = (embed.get("footer") or {}).get("text")
        author_name = (embed.get("author") or {}).get("name")
        errors.max_length([*path, "footer", "text"], footer_text, 2048)
        errors.max_length([*path, "author", "name"], author_name, 256)
        total += len(footer_text or "") + len(author_name or "")
    if total > MAX_EMBED_TOTAL:
        errors.add(
            ["embeds"], "MAX_EMBED_SIZE_EXCEEDED", f"Embed size exceeds maximum size of {MAX_EMBED_TOTAL}"
        )


def _check_action_rows(rows: list[JSON], errors: FormErrors) -> None:
    errors.bad_length(["components"], rows, 0, MAX_ACTION_ROWS)
    for index, row in enumerate(rows):
        path: list[str | int] = ["components", index]
        if row.get("type") != 1:
            errors.add([*path, "type"], "UNION_TYPE_CHOICES", 'Value of field "type" must be one of (1,).')
            continue
        children = row.get("components") or []
        errors.bad_length([*path, "components"], children, 1, MAX_ROW_CHILDREN)
        if any(c.get("type") in _SELECT_TYPES for c in children) and len(children) > 1:
            errors.add(
                [*path, "components"],
                "COMPONENT_LAYOUT_WIDTH_EXCEEDED",
                "The specified component exceeds the maximum width",
            )
        for child_index, child in enumerate(children):
            _check_interactive(child, [*path, "components", child_index], errors)


def _check_v2_components(body: JSON, components: list[JSON], errors: FormErrors) -> None:
    """Components V2 messages carry everything in components: no content or embeds, <= 40 in total."""
    if body.get("content") or body.get("embeds"):
        errors.add(
            ["content"],
            "MESSAGE_CANNOT_USE_LEGACY_FIELDS_WITH_COMPONENTS_V2",
            "The 'content' and 'embeds' fields cannot be used when using MessageFlags.IS_COMPONENTS_V2",
        )
    if sum(1 for _ in iter_components(components)) > MAX_V2_COMPONENTS:
        errors.add(["components"], "BASE_TYPE_MAX_LENGTH", f"Must be {MAX_V2_COMPONENTS} or fewer in length.")
    for index, component in enumerate(iter_components(components)):
        _check_interactive(component, ["components", index], errors)


def _check_interactive(component: JSON, path: list[str | int], errors: FormErrors) -> None:
    errors.max_length([*path, "custom_id"], component.get("custom_id"), 100)
    if component.get("type") == _BUTTON:
        errors.max_length([*path, "label"], component.get("label"), 80)
        # A link button has a url and no custom_id, any other button the reverse (Discord's reference).
        if component.get("style") in _LINK_STYLES:
            if component.get("style") == 5 and not component.get("url"):
                errors.add([*path, "url"], "BASE_TYPE_REQUIRED", "This field is required")
            if component.get("custom_id") is not None:
                errors.add([*path, "custom_id"], "COMPONENT_INVALID", "A link button cannot have a custom_id")
        elif not component.get("custom_id"):
            errors.add([*path, "custom_id"], "BASE_TYPE_REQUIRED", "This field is required")
        elif component.get("url") is not None:
            errors.add([*path, "url"], "COMPONENT_INVALID", "Only a link button can have a url")
    elif component.get("type") in _SELECT_TYPES:
        errors.max_length([*path, "placeholder"], component.get("placeholder"), 150)
        if component.get("type") == 3:
            errors.bad_length([*path, "options"], component.get("options") or [], 1, 25)


def _check_custom_ids(components: list[JSON], errors: FormErrors) -> None:
    seen: set[str] = set()
    for component in iter_components(components):
        custom_id = component.get("custom_id")
        if custom_id is None:
            continue
        if custom_id in seen:
            errors.add(
                ["components"], "COMPONENT_CUSTOM_ID_DUPLICATED", "Component custom id cannot be duplicated"
            )
        seen.add(custom_id)


def check_modal(data: JSON, errors: FormErrors) -> None:
    errors.bad_length(["title"], data.get("title") or "", 1, 45)
    errors.bad_length(["custom_id"], data.get("custom_id") or "", 1, 100)
    errors.bad_length(["components"], data.get("components") or [], 1, 5)


def check_choices(data: JSON, errors: FormErrors) -> None:
    choices = data.get("choices") or []
    errors.max_length(["choices"], choices, 25)
    for index, choice in enumerate(choices):
        errors.bad_length(["choices", index, "name"], choice.get("name") or "", 1, 100)
        # Discord's reference caps a string choice's value at 100 characters too; its OpenAPI spec does not.
        if isinstance(choice.get("value"), str):
            errors.bad_length(["choices", index, "value"], choice["value"], 1, 100)


def check_commands(commands: list[JSON], errors: FormErrors) -> None:
    """Validate a bulk overwrite: names, descriptions, option counts and ordering, duplicates."""
    seen: set[tuple[int, str]] = set()
    for index, command in enumerate(commands):
        check_command(command, errors, [index])
        key = (int(command.get("type", 1)), str(command.get("name")))
        if key in seen:
            errors.add(
                [index, "name"],
                "APPLICATION_COMMANDS_DUPLICATE_NAME",
                f"Application command names must be unique: {key[1]}",
            )
        seen.add(key)
    if sum(1 for c in commands if int(c.get("type", 1)) == 1) > 100:
        errors.add([], "BASE_TYPE_MAX_LENGTH", "Must be 100 or fewer in length.")


def check_command(command: JSON, errors: FormErrors, path: list[str | int]) -> None:
    chat_input = int(command.get("type", 1)) == 1
    name = str(command.get("name") or "")
    if chat_input and (not _COMMAND_NAME.match(name) or name != name.lower()):
        errors.add([*path, "name"], "APPLICATION_COMMAND_INVALID_NAME", "Command name is invalid")
    if chat_input:
        errors.bad_length([*path, "description"], command.get("description") or "", 1, 100)
    elif command.get("description"):
        errors.add(
            [*path, "description"],
            "APPLICATION_COMMAND_CONTEXT_MENU_DESCRIPTION",
            "Context menu commands cannot have description",
        )
    _check_options(command.get("options") or [], errors, [*path, "options"])


def _check_options(options: list[JSON], errors: FormErrors, path: list[str | int]) -> None:
    errors.max_length(path, options, 25)
    seen_optional = False
    for index, option in enumerate(options):
        option_path = [*path, index]
        name = str(option.get("name") or "")
        if not _COMMAND_NAME.match(name) or name != name.lower():
            errors.add([*option_path, "name"], "APPLICATION_COMMAND_INVALID_NAME", "Command name is invalid")
        errors.bad_length([*option_path, "description"], option.get("description") or "", 1, 100)
        errors.max_length([*option_path, "choices"], option.get("choices") or [], 25)
        if option.get("type") in _OPTION_SUBCOMMAND_TYPES:
            _check_options(option.get("options") or [], errors, [*option_path, "options"])
        elif option.get("required"):
            if seen_optional:
                errors.add(
                    [*option_path, "required"],
                    "APPLICATION_COMMAND_OPTIONS_REQUIRED_INVALID",
                    "Required options must be placed before non-required options",
                )
        else:
            seen_optional = True
