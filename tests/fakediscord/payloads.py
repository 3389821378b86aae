"""Builders for the JSON objects Discord sends, field for field as the v10 API documents them.

discord.py indexes some keys unconditionally (``member['flags']``, ``interaction['attachment_size_limit']``,
``message['type']`` ...), so these builders include every key Discord sends, with Discord's
defaults, rather than the minimum that happens to work today.  Snowflakes are strings, as on the wire.
"""

from __future__ import annotations

from .state import (
    CHANNEL_DM,
    DM_PERMISSIONS,
    FLAG_EPHEMERAL,
    INTENT_GUILD_MEMBERS,
    INTENT_GUILD_PRESENCES,
    INTENT_MESSAGE_CONTENT,
    JSON,
    MESSAGE_CHAT_INPUT_COMMAND,
    FakeApplication,
    FakeChannel,
    FakeGuild,
    FakeMember,
    FakeMessage,
    FakeRole,
    FakeUser,
    World,
)

#: 10 MiB, the attachment limit of an unboosted guild.
ATTACHMENT_SIZE_LIMIT = 10 * 1024 * 1024
#: Application flags Discord sets when a privileged intent is enabled for an unverified app.
_LIMITED_INTENT_FLAGS = {
    INTENT_GUILD_PRESENCES: 1 << 13,
    INTENT_GUILD_MEMBERS: 1 << 15,
    INTENT_MESSAGE_CONTENT: 1 << 19,
}
_APPLICATION_COMMAND_BADGE = 1 << 23
_TEAM_USER_FLAG = 1 << 10


def user(u: FakeUser) -> JSON:
    data: JSON = {
        "id": str(u.id),
        "username": u.username,
        "discriminator": "0",
        "global_name": u.global_name,
        "avatar": None,
        "avatar_decoration_data": None,
        "public_flags": 0,
        "flags": 0,
        "banner": None,
        "accent_color": None,
        "primary_guild": None,
        "collectibles": None,
    }
    if u.bot:
        data["bot"] = True
    return data


def current_user(u: FakeUser) -> JSON:
    """``GET /users/@me`` and READY's ``user``: the public user plus account fields."""
    return {**user(u), "verified": True, "mfa_enabled": False, "locale": "en-US", "email": None}


def role(r: FakeRole) -> JSON:
    data: JSON = {
        "id": str(r.id),
        "name": r.name,
        "description": None,
        "color": 0,
        "colors": {"primary_color": 0, "secondary_color": None, "tertiary_color": None},
        "hoist": False,
        "icon": None,
        "unicode_emoji": None,
        "position": r.position,
        "permissions": str(r.permissions),
        "managed": r.bot_id is not None,
        "mentionable": False,
        "flags": 0,
    }
    if r.bot_id is not None:
        data["tags"] = {"bot_id": str(r.bot_id)}
    return data


def member(m: FakeMember, *, with_user: bool = True, permissions: int | None = None) -> JSON:
    """A guild member; messages omit ``user`` (it is the author), interactions add ``permissions``."""
    data: JSON = {
        "roles": [str(r) for r in m.role_ids],
        "nick": m.nick,
        "avatar": None,
        "banner": None,
        "joined_at": m.joined_at,
        "premium_since": None,
        "deaf": False,
        "mute": False,
        "pending": False,
        "flags": 0,
        "communication_disabled_until": None,
    }
    if with_user:
        data["user"] = user(m.user)
    if permissions is not None:
        data["permissions"] = str(permissions)
    return data


def channel(c: FakeChannel, *, include_guild_id: bool = True) -> JSON:
    """A channel object; GUILD_CREATE omits ``guild_id`` on its channels, REST includes it."""
    if c.type == CHANNEL_DM:
        assert c.recipient is not None
        return {
            "id": str(c.id),
            "type": CHANNEL_DM,
            "last_message_id": _opt_id(c.last_message_id),
            "flags": 0,
            "recipients": [user(c.recipient)],
        }
    data: JSON = {
        "id": str(c.id),
        "type": c.type,
        "name": c.name,
        "position": c.position,
        "permission_overwrites": [],
        "nsfw": False,
        "parent_id": None,
        "topic": c.topic,
        "last_message_id": _opt_id(c.last_message_id),
        "rate_limit_per_user": 0,
        "flags": 0,
    }
    if include_guild_id:
        data["guild_id"] = str(c.guild_id)
    return data


def guild(g: FakeGuild) -> JSON:
    """``GET /guilds/{id}``, and the common part of GUILD_CREATE."""
    return {
        "id": str(g.id),
        "name": g.name,
        "icon": None,
        "icon_hash": None,
        "splash": None,
        "discovery_splash": None,
        "banner": None,
        "description": None,
        "owner_id": str(g.owner_id),
        "afk_channel_id": None,
        "afk_timeout": 300,
        "verification_level": 0,
        "default_message_notifications": 0,
        "explicit_content_filter": 0,
        "mfa_level": 0,
        "nsfw_level": 0,
        "nsfw": False,
        "premium_tier": 0,
        "premium_subscription_count": 0,
        "premium_progress_bar_enabled": False,
        "preferred_locale": g.locale,
        "features": list(g.features),
        "roles": [role(r) for r in g.roles.values()],
        "emojis": [],
        "stickers": [],
        "application_id": None,
        "system_channel_id": None,
        "system_channel_flags": 0,
        "rules_channel_id": None,
        "public_updates_channel_id": None,
        "safety_alerts_channel_id": None,
        "vanity_url_code": None,
        "max_members": 500_000,
        "max_presences": None,
        "max_video_channel_users": 25,
        "max_stage_video_channel_users": 50,
        "incidents_data": None,
    }


def guild_create(g: FakeGuild, *, bot_id: int, with_all_members: bool) -> JSON:
    """GUILD_CREATE.  Discord only includes every member when presences are on for a small guild;
    otherwise just the bot itself (the rest arrive via chunking or with messages/interactions).
    """
    members = [m for m in g.members.values() if with_all_members or m.user.id == bot_id]
    return {
        **guild(g),
        "joined_at": g.members[bot_id].joined_at,
        "large": False,
        "unavailable": False,
        "lazy": True,
        "member_count": len(g.members),
        "members": [member(m) for m in members],
        "channels": [channel(c, include_guild_id=False) for c in g.channels.values()],
        "threads": [],
        "presences": [],
        "voice_states": [],
        "stage_instances": [],
        "guild_scheduled_events": [],
        "soundboard_sounds": [],
    }


def application_flags(privileged_intents: int) -> int:
    flags = _APPLICATION_COMMAND_BADGE
    for intent, flag in _LIMITED_INTENT_FLAGS.items():
        if privileged_intents & intent:
            flags |= flag
    return flags


def application(world: World) -> JSON:
    """``GET /oauth2/applications/@me``; with a team, ``owner`` is the team's pseudo-user as on Discord."""
    app: FakeApplication = world.application
    owner = user(app.owner)
    team: JSON | None = None
    if app.team_members:
        assert app.team_id is not None
        owner = {
            "id": str(app.team_id),
            "username": f"team{app.team_id}",
            "discriminator": "0000",
            "global_name": None,
            "avatar": None,
            "flags": _TEAM_USER_FLAG,
            "public_flags": _TEAM_USER_FLAG,
        }
        team = {
            "id": str(app.team_id),
            "name": f"{app.name} team",
            "icon": None,
            "owner_user_id": str(app.team_members[0][0].id),
            "members": [
                {
                    "user": user(member_user),
                    "team_id": str(app.team_id),
                    "membership_state": 2,
                    "permissions": ["*"],
                    "role": team_role,
                }
                for member_user, team_role in app.team_members
            ],
        }
    return {
        "id": str(app.id),
        "name": app.name,
        "icon": None,
        "description": "",
        "summary": "",
        "type": None,
        "bot_public": True,
        "bot_require_code_grant": False,
        "verify_key": app.verify_key,
        "flags": application_flags(world.privileged_intents),
        "hook": True,
        "owner": owner,
        "team": team,
        "bot": user(world.bot_user),
        "redirect_uris": [],
        "interactions_endpoint_url": None,
        "role_connections_verification_url": None,
        "tags": [],
        "approximate_guild_count": len(world.guilds),
        "integration_types_config": {"0": {}},
    }


def message(msg: FakeMessage, world: World, *, with_content: bool = True, nested: bool = False) -> JSON:
    """A message object as REST returns it and MESSAGE_CREATE/UPDATE carry it.

    A DM message has no ``guild_id`` key at all (not null): that is how discord.py tells DMs apart.
    ``with_content=False`` applies the MESSAGE_CONTENT privilege rule (empty content and friends).
    ``nested`` is for a reply's ``referenced_message``, which Discord includes one level deep only.
    """
    state = msg.current
    data: JSON = {
        "id": str(msg.id),
        "type": msg.type,
        "channel_id": str(msg.channel_id),
        "author": user(msg.author),
        "content": state.content if with_content else "",
        "timestamp": msg.timestamp,
        "edited_timestamp": state.edited_timestamp,
        "tts": msg.tts,
        "mention_everyone": state.mention_everyone,
        "mentions": [_mentioned_user(world, uid, msg.guild_id) for uid in state.mention_ids],
        "mention_roles": [str(r) for r in state.mention_role_ids],
        "attachments": list(state.attachments) if with_content else [],
        "embeds": list(state.embeds) if with_content else [],
        "components": list(state.components) if with_content else [],
        "pinned": False,
        "flags": state.flags,
    }
    _add_message_relations(data, msg, world, nested=nested)
    return data


def _add_message_relations(data: JSON, msg: FakeMessage, world: World, *, nested: bool) -> None:
    state = msg.current
    if msg.guild_id is not None:
        data["guild_id"] = str(msg.guild_id)
        author_member = world.guilds[msg.guild_id].members.get(msg.author.id)
        if author_member is not None and msg.webhook_id is None:
            data["member"] = member(author_member, with_user=False)
    if msg.nonce is not None:
        data["nonce"] = msg.nonce
    if msg.webhook_id is not None:
        data["webhook_id"] = str(msg.webhook_id)
        data["application_id"] = str(world.application.id)
    if state.message_reference is not None:
        data["message_reference"] = state.message_reference
        referenced = world.messages.get(msg.referenced_message_id or 0)
        if not nested:
            if referenced is None or referenced.deleted:
                data["referenced_message"] = None
            else:
                data["referenced_message"] = message(referenced, world, nested=True)
    if msg.interaction is not None:
        data["interaction_metadata"] = interaction_metadata(msg)
        if msg.type == MESSAGE_CHAT_INPUT_COMMAND:
            data["interaction"] = {
                "id": str(msg.interaction.id),
                "type": msg.interaction.type,
                "name": msg.interaction.payload["data"]["name"],
                "user": user(msg.interaction.user),
            }


def interaction_metadata(msg: FakeMessage) -> JSON:
    record = msg.interaction
    assert record is not None
    data: JSON = {
        "id": str(record.id),
        "type": record.type,
        "user": user(record.user),
        "authorizing_integration_owners": record.payload["authorizing_integration_owners"],
    }
    if record.original is not None and msg is not record.original:
        data["original_response_message_id"] = str(record.original.id)
    if record.source_message is not None:
        data["interacted_message_id"] = str(record.source_message.id)
    return data


def _mentioned_user(world: World, user_id: int, guild_id: int | None) -> JSON:
    data = user(world.users[user_id])
    if guild_id is not None:
        found = world.guilds[guild_id].members.get(user_id)
        if found is not None:
            data["member"] = member(found, with_user=False)
    return data


def interaction_channel(c: FakeChannel, permissions: int) -> JSON:
    """The ``channel`` of an interaction: the channel object plus the invoker's ``permissions``."""
    return {**channel(c), "permissions": str(permissions)}


def interaction_base(
    world: World,
    *,
    interaction_id: int,
    token: str,
    interaction_type: int,
    invoker: FakeUser,
    target: FakeChannel,
    user_installed: bool = False,
) -> JSON:
    """The keys every interaction type shares, in guild or DM shape.

    In a guild the invoker comes as ``member`` (with ``permissions``) and there is no ``user``; in a
    DM it is the reverse.  ``authorizing_integration_owners`` maps the guild install to the guild id,
    or to ``"0"`` in the bot's DM, and a user install to the user's id.
    """
    guild = world.guild_of(target)
    data: JSON = {
        "id": str(interaction_id),
        "application_id": str(world.application.id),
        "type": interaction_type,
        "token": token,
        "version": 1,
        "locale": "en-US",
        "entitlements": [],
        "entitlement_sku_ids": [],
        "attachment_size_limit": ATTACHMENT_SIZE_LIMIT,
        "channel_id": str(target.id),
    }
    owners: dict[str, str] = {}
    if guild is not None:
        invoker_member = guild.members[invoker.id]
        permissions = guild.permissions_for(invoker_member)
        owners["0"] = str(guild.id)
        data.update(
            guild_id=str(guild.id),
            guild={"id": str(guild.id), "locale": guild.locale, "features": list(guild.features)},
            guild_locale=guild.locale,
            member=member(invoker_member, permissions=permissions),
            channel=interaction_channel(target, permissions),
            app_permissions=str(guild.permissions_for(world.bot_member(guild))),
            context=0,
        )
    else:
        owners["0"] = "0"
        data.update(
            user=user(invoker),
            channel=interaction_channel(target, DM_PERMISSIONS),
            app_permissions=str(DM_PERMISSIONS),
            context=1,
        )
    if user_installed:
        owners["1"] = str(invoker.id)
    data["authorizing_integration_owners"] = owners
    return data


def callback_response(
    *, interaction_id: int, interaction_type: int, callback_type: int, message_payload: JSON | None
) -> JSON:
    """The body of a ``?with_response=true`` interaction callback (an InteractionCallbackResponse).

    ``resource.message`` is only present for types 4 and 7, as documented; a deferral reports
    ``response_message_loading`` instead.
    """
    interaction: JSON = {"id": str(interaction_id), "type": interaction_type}
    resource: JSON = {"type": callback_type}
    if message_payload is not None:
        interaction["response_message_id"] = message_payload["id"]
        interaction["response_message_loading"] = callback_type == 5
        interaction["response_message_ephemeral"] = bool(message_payload["flags"] & FLAG_EPHEMERAL)
        if callback_type in (4, 7):
            resource["message"] = message_payload
    return {"interaction": interaction, "resource": resource}


def error(code: int, message_text: str, errors: JSON | None = None) -> JSON:
    """Discord's error body: ``{"code", "message"}`` plus ``errors`` for form validation."""
    data: JSON = {"message": message_text, "code": code}
    if errors is not None:
        data["errors"] = errors
    return data


def ready(
    world: World, *, session_id: str, resume_url: str, guild_ids: list[int], shard: list[int] | None
) -> JSON:
    data: JSON = {
        "v": 10,
        "user": current_user(world.bot_user),
        "user_settings": {},
        "session_type": "normal",
        "session_id": session_id,
        "resume_gateway_url": resume_url,
        "relationships": [],
        "private_channels": [],
        "presences": [],
        "guilds": [{"id": str(g), "unavailable": True} for g in guild_ids],
        "guild_join_requests": [],
        "geo_ordered_rtc_regions": [],
        "application": {
            "id": str(world.application.id),
            "flags": application_flags(world.privileged_intents),
        },
        "auth": {},
        "_trace": ['["fake-discord-gateway",{"micros":0}]'],
    }
    if shard is not None:
        data["shard"] = shard
    return data


def _opt_id(value: int | None) -> str | None:
    return None if value is None else str(value)
