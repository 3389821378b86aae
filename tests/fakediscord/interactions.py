"""Building INTERACTION_CREATE payloads the way the Discord client would produce them.

The Discord client only lets a user invoke what the bot registered, so these builders work from the
*registered* command JSON (what the bot synced), not from the test's idea of the command: options
are typed from the registered schema, subcommand groups are nested as Discord nests them, and
``resolved`` is filled for user/channel/role options.  Anything the real client would refuse (an
unregistered command, a missing required option, a value outside ``choices``, a disabled button)
raises here, so a test cannot accidentally exercise a path no user could reach.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from . import payloads
from .state import (
    ADMINISTRATOR,
    DM_PERMISSIONS,
    JSON,
    FakeChannel,
    FakeGuild,
    FakeMember,
    FakeMessage,
    FakeRole,
    FakeUser,
    InteractionRecord,
    World,
    iter_components,
)

_SUBCOMMAND, _GROUP = 1, 2
_STRING, _INTEGER, _BOOLEAN, _USER, _CHANNEL, _ROLE, _MENTIONABLE, _NUMBER = 3, 4, 5, 6, 7, 8, 9, 10
_SELECT_TYPES = (3, 5, 6, 7, 8)
_SCALAR_TYPES: dict[int, type | tuple[type, ...]] = {
    _STRING: str,
    _INTEGER: int,
    _NUMBER: (int, float),
    _BOOLEAN: bool,
}


class CommandUnavailableError(PermissionError):
    """Discord would not offer this command to this user here (contexts, permissions, scope)."""


def find_command(world: World, name: str, guild: FakeGuild | None) -> JSON:
    """The registered command a user typing ``/name`` would get: guild commands shadow global ones."""
    app = world.application
    scoped = app.guild_commands.get(guild.id, []) if guild is not None else []
    for command in [*scoped, *app.global_commands]:
        if command["name"] == name and command["type"] == 1:
            return command
    registered = sorted({c["name"] for c in [*scoped, *app.global_commands]})
    raise CommandUnavailableError(
        f"/{name} is not registered (registered: {registered}); did the bot sync its tree?"
    )


def check_command_available(command: JSON, world: World, user: FakeUser, guild: FakeGuild | None) -> None:
    """Apply Discord's visibility rules: installation contexts, ``dm_permission`` and
    ``default_member_permissions`` (``"0"`` means administrators only).
    """
    context = 0 if guild is not None else 1
    contexts = command.get("contexts")
    if contexts is None:
        contexts = [0, 1] if command.get("dm_permission", True) else [0]
    if context not in contexts:
        raise CommandUnavailableError(
            f"/{command['name']} is not available in context {context} (contexts={contexts})"
        )
    required = command.get("default_member_permissions")
    if guild is None or required is None:
        return
    permissions = guild.permissions_for(guild.members[user.id])
    if not permissions & ADMINISTRATOR and permissions & int(required) != int(required):
        raise CommandUnavailableError(
            f"{user.username} lacks default_member_permissions={required} for /{command['name']} "
            f"(has {permissions}); pass check_permissions=False to invoke it anyway"
        )


def command_data(
    command: JSON,
    path: Sequence[str],
    options: Mapping[str, Any],
    guild: FakeGuild | None,
    invoker: FakeUser,
    *,
    focused: str | None = None,
) -> JSON:
    """``data`` of an APPLICATION_COMMAND (or, with ``focused``, AUTOCOMPLETE) interaction."""
    schema: list[JSON] = command.get("options") or []
    leaf_path: list[JSON] = []
    for part in path:
        match = next((o for o in schema if o["name"] == part and o["type"] in (_SUBCOMMAND, _GROUP)), None)
        if match is None:
            raise CommandUnavailableError(f"/{command['name']} has no subcommand or group {part!r}")
        leaf_path.append(match)
        schema = match.get("options") or []
    if leaf_path and leaf_path[-1]["type"] != _SUBCOMMAND:
        raise CommandUnavailableError(f"{' '.join(path)} is a group; name one of its subcommands")
    if any(o["type"] in (_SUBCOMMAND, _GROUP) for o in schema):
        raise CommandUnavailableError(f"/{command['name']} needs a subcommand")
    resolved = _Resolved(
        guild=guild,
        invoker_permissions=DM_PERMISSIONS
        if guild is None
        else guild.permissions_for(guild.members[invoker.id]),
    )
    built = _leaf_options(schema, options, resolved, focused=focused)
    for parent in reversed(leaf_path):
        built = [{"type": parent["type"], "name": parent["name"], "options": built}]
    data: JSON = {"id": command["id"], "name": command["name"], "type": 1, "options": built}
    if "guild_id" in command:
        data["guild_id"] = command["guild_id"]
    if resolved.data:
        data["resolved"] = resolved.data
    return data


@dataclass
class _Resolved:
    """Collects ``data.resolved``: the users, members, roles and channels that options refer to."""

    guild: FakeGuild | None
    #: The invoker's permissions, reported on resolved channels (channel overwrites are not modelled).
    invoker_permissions: int
    data: dict[str, dict[str, JSON]] = field(default_factory=dict)

    def add(self, kind: str, entity_id: int, payload: JSON) -> str:
        self.data.setdefault(kind, {})[str(entity_id)] = payload
        return str(entity_id)


def _leaf_options(
    schema: list[JSON], values: Mapping[str, Any], resolved: _Resolved, *, focused: str | None
) -> list[JSON]:
    by_name = {o["name"]: o for o in schema}
    unknown = set(values) - set(by_name)
    if unknown:
        raise ValueError(f"unknown options {sorted(unknown)}; the command takes {sorted(by_name)}")
    missing = [o["name"] for o in schema if o.get("required") and o["name"] not in values and focused is None]
    if missing:
        raise ValueError(f"missing required options {missing}")
    built = []
    for name, value in values.items():
        option = by_name[name]
        if name == focused:
            # Autocomplete sends whatever the user has typed so far, as a string.
            built.append({"type": option["type"], "name": name, "value": str(value), "focused": True})
        else:
            built.append(
                {"type": option["type"], "name": name, "value": _typed_value(option, value, resolved)}
            )
    return built


def _typed_value(option: JSON, value: Any, resolved: _Resolved) -> Any:
    kind = option["type"]
    if kind in _SCALAR_TYPES:
        if not isinstance(value, _SCALAR_TYPES[kind]) or (kind != _BOOLEAN and isinstance(value, bool)):
            raise TypeError(f"option {option['name']!r} (type {kind}) cannot take {value!r}")
        choices = [c["value"] for c in option.get("choices") or []]
        if choices and value not in choices:
            raise ValueError(f"{value!r} is not one of the choices {choices} of option {option['name']!r}")
        return value
    guild = resolved.guild
    if kind in (_USER, _MENTIONABLE) and isinstance(value, FakeUser | FakeMember):
        user = value.user if isinstance(value, FakeMember) else value
        member = guild.members.get(user.id) if guild is not None else None
        if member is not None and guild is not None:
            permissions = guild.permissions_for(member)
            resolved.add(
                "members", user.id, payloads.member(member, with_user=False, permissions=permissions)
            )
        return resolved.add("users", user.id, payloads.user(user))
    if kind in (_ROLE, _MENTIONABLE) and isinstance(value, FakeRole):
        return resolved.add("roles", value.id, payloads.role(value))
    if kind == _CHANNEL and isinstance(value, FakeChannel):
        channel = payloads.interaction_channel(value, resolved.invoker_permissions)
        return resolved.add("channels", value.id, channel)
    raise TypeError(f"option {option['name']!r} (type {kind}) cannot take {value!r}")


def component_data(message: FakeMessage, custom_id: str, values: Sequence[str] | None) -> JSON:
    """``data`` of a MESSAGE_COMPONENT interaction for the component ``custom_id`` on ``message``."""
    components = list(iter_components(message.current.components))
    component = next((c for c in components if c.get("custom_id") == custom_id), None)
    if component is None:
        available = [c["custom_id"] for c in components if "custom_id" in c]
        raise LookupError(f"message {message.id} has no component {custom_id!r} (has {available})")
    if component.get("disabled"):
        raise PermissionError(f"component {custom_id!r} is disabled; Discord does not let users use it")
    data: JSON = {"custom_id": custom_id, "component_type": component["type"]}
    if "id" in component:
        data["id"] = component["id"]
    if component["type"] in _SELECT_TYPES:
        if values is None:
            raise ValueError(f"{custom_id!r} is a select menu: pass values")
        data["values"] = list(values)
    elif values is not None:
        raise ValueError(f"{custom_id!r} is not a select menu; it takes no values")
    return data


def modal_submit_data(opened_by: InteractionRecord, values: Mapping[str, str | Sequence[str]]) -> JSON:
    """``data`` of a MODAL_SUBMIT answering the modal the bot opened in ``opened_by``.

    Text inputs get a string, selects a list of strings; the layout (action rows or labels) mirrors
    the modal as the bot sent it, which is what discord.py walks to match values to items.
    """
    modal = opened_by.modal
    if modal is None:
        raise LookupError(
            f"interaction {opened_by.id} did not open a modal (callbacks: {opened_by.callbacks})"
        )
    unused = dict(values)
    rows: list[JSON] = []
    for component in modal.get("components") or []:
        if component["type"] == 1:
            children = [_submitted(c, unused) for c in component.get("components") or []]
            rows.append({"type": 1, "components": children})
        elif component["type"] == 18:
            rows.append({"type": 18, "component": _submitted(component["component"], unused)})
    if unused:
        raise ValueError(f"the modal has no inputs {sorted(unused)}")
    return {"custom_id": modal["custom_id"], "components": rows}


def _submitted(component: JSON, values: dict[str, str | Sequence[str]]) -> JSON:
    custom_id = component["custom_id"]
    value = values.pop(custom_id, None)
    if value is None and component.get("required", True) and component["type"] == 4:
        raise ValueError(f"modal input {custom_id!r} is required")
    submitted: JSON = {"type": component["type"], "custom_id": custom_id}
    if "id" in component:
        submitted["id"] = component["id"]
    if component["type"] == 4:
        submitted["value"] = "" if value is None else str(value)
    else:
        submitted["values"] = [] if value is None else [value] if isinstance(value, str) else list(value)
    return submitted
