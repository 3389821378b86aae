"""Creating, editing and deleting messages, with the side effects Discord has.

Whoever changes a message (the bot over REST, an interaction callback, or the test acting as a
user) goes through :class:`MessageService`, so every change becomes a new :class:`MessageState`
revision, wakes waiting tests and is published to the gateway exactly as Discord would: ephemeral
messages never appear on the gateway, everything else produces MESSAGE_CREATE/UPDATE/DELETE.
"""

from __future__ import annotations

import copy
import dataclasses
from collections.abc import Sequence
from typing import Any, Protocol

from .state import (
    CHANNEL_DM,
    FLAG_EPHEMERAL,
    FLAG_IS_COMPONENTS_V2,
    FLAG_LOADING,
    FLAG_SUPPRESS_EMBEDS,
    FLAG_SUPPRESS_NOTIFICATIONS,
    JSON,
    MESSAGE_DEFAULT,
    MESSAGE_REPLY,
    FakeChannel,
    FakeMessage,
    FakeUser,
    InteractionRecord,
    MessageState,
    RecordedFile,
    World,
    iter_components,
    mentioned_ids,
    utcnow_iso,
)

#: Flags a sender may set; Discord silently drops the others.
SETTABLE_FLAGS = FLAG_SUPPRESS_EMBEDS | FLAG_SUPPRESS_NOTIFICATIONS | FLAG_IS_COMPONENTS_V2 | FLAG_EPHEMERAL
#: Flags that survive an edit (only SUPPRESS_EMBEDS may be toggled by editing).
_STICKY_FLAGS = FLAG_EPHEMERAL | FLAG_IS_COMPONENTS_V2 | FLAG_SUPPRESS_NOTIFICATIONS


class MessageEventSink(Protocol):
    """Where message events go; the gateway implements this."""

    async def publish_message(self, event: str, message: FakeMessage) -> None: ...


class MessageService:
    def __init__(self, world: World, sink: MessageEventSink, attachment_url: str) -> None:
        self._world = world
        self._sink = sink
        self._attachment_url = attachment_url
        #: Uploaded file bytes by attachment id, served back at the attachment URL.
        self.attachment_data: dict[int, bytes] = {}

    async def create(
        self,
        channel: FakeChannel,
        author: FakeUser,
        body: JSON,
        files: Sequence[RecordedFile] = (),
        *,
        interaction: InteractionRecord | None = None,
        message_type: int | None = None,
        extra_flags: int = 0,
    ) -> FakeMessage:
        """Store a new message from an already validated ``body`` and announce it."""
        world = self._world
        reference = body.get("message_reference")
        referenced = world.messages.get(int(reference["message_id"])) if reference else None
        if message_type is None:
            message_type = MESSAGE_REPLY if referenced is not None else MESSAGE_DEFAULT
        message = FakeMessage(
            id=world.snowflake(),
            channel_id=channel.id,
            guild_id=channel.guild_id,
            author=author,
            type=message_type,
            timestamp=utcnow_iso(),
            webhook_id=world.application.id if interaction is not None else None,
            interaction=interaction,
            referenced_message_id=referenced.id if referenced is not None else None,
            tts=bool(body.get("tts")),
            nonce=body.get("nonce"),
        )
        flags = (int(body.get("flags") or 0) & SETTABLE_FLAGS) | extra_flags
        if interaction is None:
            flags &= ~FLAG_EPHEMERAL
        if flags & FLAG_EPHEMERAL and interaction is not None:
            message.visible_to = interaction.user.id
        normalized_reference = None
        if referenced is not None:
            normalized_reference = {
                "type": 0,
                "channel_id": str(referenced.channel_id),
                "message_id": str(referenced.id),
                **({"guild_id": str(referenced.guild_id)} if referenced.guild_id else {}),
            }
        users, roles, everyone = self._mentions(body, channel, referenced)
        message.revisions.append(
            MessageState(
                id=message.id,
                channel_id=channel.id,
                guild_id=channel.guild_id,
                author_id=author.id,
                content=body.get("content") or "",
                embeds=tuple(_normalize_embeds(body.get("embeds"))),
                components=tuple(_with_component_ids(body.get("components") or [])),
                flags=flags,
                attachments=tuple(self._attachments(channel, body.get("attachments"), files, ())),
                allowed_mentions=body.get("allowed_mentions"),
                message_reference=normalized_reference,
                mention_ids=tuple(users),
                mention_role_ids=tuple(roles),
                mention_everyone=everyone,
                interaction_id=interaction.id if interaction is not None else None,
                edited_timestamp=None,
                deleted=False,
                revision=world.next_revision(),
            )
        )
        world.messages[message.id] = message
        if not message.current.ephemeral:
            channel.last_message_id = message.id
            await self._sink.publish_message("MESSAGE_CREATE", message)
        world.notifier.notify()
        return message

    async def edit(self, message: FakeMessage, body: JSON, files: Sequence[RecordedFile] = ()) -> FakeMessage:
        """Apply a PATCH: keys present replace, keys absent stay; clears the 'thinking' state."""
        current = message.current
        channel = self._world.channel(message.channel_id)
        assert channel is not None
        changes: dict[str, Any] = {}
        if "content" in body:
            changes["content"] = body["content"] or ""
        if "embeds" in body:
            changes["embeds"] = tuple(_normalize_embeds(body["embeds"]))
        if "components" in body:
            changes["components"] = tuple(_with_component_ids(body["components"] or []))
        if "allowed_mentions" in body:
            changes["allowed_mentions"] = body["allowed_mentions"]
        if "attachments" in body or files:
            changes["attachments"] = tuple(
                self._attachments(channel, body.get("attachments"), files, current.attachments)
            )
        flags = current.flags & _STICKY_FLAGS
        if "flags" in body:
            flags |= int(body["flags"] or 0) & FLAG_SUPPRESS_EMBEDS
        else:
            flags |= current.flags & FLAG_SUPPRESS_EMBEDS
        if "content" in body or "allowed_mentions" in body:
            referenced = self._world.messages.get(message.referenced_message_id or 0)
            merged = {"content": changes.get("content", current.content), **body}
            users, roles, everyone = self._mentions(merged, channel, referenced)
            changes.update(mention_ids=tuple(users), mention_role_ids=tuple(roles), mention_everyone=everyone)
        message.revisions.append(
            dataclasses.replace(
                current,
                **changes,
                flags=flags & ~FLAG_LOADING,
                edited_timestamp=utcnow_iso(),
                revision=self._world.next_revision(),
            )
        )
        if not message.current.ephemeral:
            await self._sink.publish_message("MESSAGE_UPDATE", message)
        self._world.notifier.notify()
        return message

    async def delete(self, message: FakeMessage) -> None:
        message.revisions.append(
            dataclasses.replace(message.current, deleted=True, revision=self._world.next_revision())
        )
        if not message.current.ephemeral:
            await self._sink.publish_message("MESSAGE_DELETE", message)
        self._world.notifier.notify()

    def _mentions(
        self, body: JSON, channel: FakeChannel, referenced: FakeMessage | None
    ) -> tuple[list[int], list[int], bool]:
        """Who actually gets pinged: mentions in the text, filtered by ``allowed_mentions``."""
        world = self._world
        guild = world.guild_of(channel)
        users, roles, everyone = mentioned_ids(body.get("content") or "")
        users = [u for u in dict.fromkeys(users) if u in world.users]
        roles = [r for r in dict.fromkeys(roles) if guild is not None and r in guild.roles]
        allowed = body.get("allowed_mentions")
        replied_user = referenced is not None
        if allowed is not None:
            parse = allowed.get("parse") or []
            allowed_users = {int(u) for u in allowed.get("users") or []}
            allowed_roles = {int(r) for r in allowed.get("roles") or []}
            users = [u for u in users if "users" in parse or u in allowed_users]
            roles = [r for r in roles if "roles" in parse or r in allowed_roles]
            everyone = everyone and "everyone" in parse
            replied_user = replied_user and bool(allowed.get("replied_user"))
        if replied_user and referenced is not None and referenced.author.id not in users:
            users.append(referenced.author.id)
        return users, roles, everyone and channel.type != CHANNEL_DM

    def _attachments(
        self,
        channel: FakeChannel,
        declared: list[JSON] | None,
        files: Sequence[RecordedFile],
        existing: tuple[JSON, ...],
    ) -> list[JSON]:
        """Resolve the ``attachments`` array: known attachment ids are kept, other ids index ``files``."""
        if declared is None:
            declared = [{"id": str(a["id"])} for a in existing] + [{"id": i} for i in range(len(files))]
        kept = {str(a["id"]): a for a in existing}
        result: list[JSON] = []
        for entry in declared:
            if str(entry["id"]) in kept:
                result.append(kept[str(entry["id"])])
                continue
            upload = files[int(entry["id"])]
            attachment_id = self._world.snowflake()
            self.attachment_data[attachment_id] = upload.data
            url = f"{self._attachment_url}/{channel.id}/{attachment_id}/{upload.filename}"
            result.append(
                {
                    "id": str(attachment_id),
                    "filename": entry.get("filename") or upload.filename,
                    "description": entry.get("description"),
                    "size": len(upload.data),
                    "url": url,
                    "proxy_url": url,
                    "content_type": upload.content_type,
                }
            )
        return result


def _normalize_embeds(embeds: list[JSON] | None) -> list[JSON]:
    """Discord stores every sent embed as a ``rich`` embed."""
    return [{"type": "rich", **embed} for embed in embeds or []]


def _with_component_ids(components: list[JSON]) -> list[JSON]:
    """Discord numbers components that come without an ``id``, in tree order, starting at 1."""
    components = copy.deepcopy(components)
    walked = list(iter_components(components))
    next_id = max((int(c["id"]) for c in walked if "id" in c), default=0) + 1
    for component in walked:
        if "id" not in component:
            component["id"] = next_id
            next_id += 1
    return components
