"""Checks of what the bot sends, written from Discord's documentation, independent of `replies`.

`limit_problems` lists every Discord limit a message payload breaks; `live_mentions` finds mention syntax
Discord would act on (not escaped); `assert_pings_no_one` checks every payload the fake Discord received.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from typing import Any

from tests.fakediscord import FakeChannel, FakeDiscord
from tests.fakediscord.state import RecordedRequest

CONTENT = 2000
TITLE, DESCRIPTION, FIELDS, FIELD_NAME, FIELD_VALUE, FOOTER, AUTHOR, EMBED_TOTAL = (
    256,
    4096,
    25,
    256,
    1024,
    2048,
    256,
    6000,
)
ACTION_ROWS, ROW_ITEMS, CUSTOM_ID, LABEL = 5, 5, 100, 80

_ESCAPE = re.compile(r"\\.", re.S)
_LIVE_MENTION = re.compile(r"@everyone|@here|<(?:@[!&]?|#|/|t:|a?:)")
_LIVE_MARKDOWN = frozenset("\\*_~`|<>[]")
_LINK = re.compile(r"(?:https?|steam)://[^\s<]+[^<.,:;\"'\]\s]")
"""discord.py's `_URL_REGEX`: what `escape_markdown(..., ignore_links=True)` leaves alone."""
_LINE_MARKDOWN = re.compile(r"\s*(?:[#>-]|[0-9]+[.)] )")


def live(escaped: str) -> str:
    """`escaped` without its escaped characters: what Discord would read as markup."""
    return _ESCAPE.sub("\x00", escaped)


def live_mentions(text: str) -> list[str]:
    """Mentions (@everyone, @here, <@id>, <@&id>, <#id>, </cmd:id>, <t:..>, <:emoji:id>) not escaped."""
    return _LIVE_MENTION.findall(live(text))


def live_markdown(excerpt: str) -> set[str]:
    """The markdown characters of a quoted passage that are not escaped, and a markdown line start.

    The `_` and `~` of a link do not count: Discord's clients read a link whole, so they style nothing
    there, and `discord.utils.escape_markdown(..., ignore_links=True)` leaves them too."""
    text = _LINK.sub(lambda link: link.group().replace("_", "").replace("~", ""), live(excerpt))
    found = set(text) & _LIVE_MARKDOWN
    if _LINE_MARKDOWN.match(text):
        found.add("line start")
    return found


def embed_texts(embed: dict[str, Any]) -> Iterator[str]:
    """Every text of an embed."""
    for key in ("title", "description"):
        yield embed.get(key) or ""
    for field in embed.get("fields") or []:
        yield field.get("name") or ""
        yield field.get("value") or ""
    yield (embed.get("footer") or {}).get("text") or ""
    yield (embed.get("author") or {}).get("name") or ""


def payload_texts(payload: dict[str, Any]) -> Iterator[str]:
    """Every text a message payload shows."""
    yield payload.get("content") or ""
    for embed in payload.get("embeds") or []:
        yield from embed_texts(embed)


def limit_problems(payload: dict[str, Any]) -> list[str]:
    """Every Discord limit the message payload breaks (content, embeds, components)."""
    problems = []
    if len(payload.get("content") or "") > CONTENT:
        problems.append("content")
    for number, embed in enumerate(payload.get("embeds") or []):
        fields = embed.get("fields") or []
        sizes = {
            "title": (len(embed.get("title") or ""), TITLE),
            "description": (len(embed.get("description") or ""), DESCRIPTION),
            "fields": (len(fields), FIELDS),
            "footer": (len((embed.get("footer") or {}).get("text") or ""), FOOTER),
            "author": (len((embed.get("author") or {}).get("name") or ""), AUTHOR),
        }
        problems += [f"embed {number} {key}" for key, (size, limit) in sizes.items() if size > limit]
        for index, field in enumerate(fields):
            if not 1 <= len(field.get("name") or "") <= FIELD_NAME:
                problems.append(f"embed {number} field {index} name")
            if not 1 <= len(field.get("value") or "") <= FIELD_VALUE:
                problems.append(f"embed {number} field {index} value")
        if sum(len(text) for text in embed_texts(embed)) > EMBED_TOTAL:
            problems.append(f"embed {number} total")
    rows = payload.get("components") or []
    if len(rows) > ACTION_ROWS:
        problems.append("action rows")
    custom_ids = []
    for number, row in enumerate(rows):
        items = row.get("components") or []
        if row.get("type") != 1 or not 1 <= len(items) <= ROW_ITEMS:
            problems.append(f"row {number}")
        for item in items:
            custom_id = item.get("custom_id") or ""
            custom_ids.append(custom_id)
            if not 1 <= len(custom_id) <= CUSTOM_ID or len(item.get("label") or "") > LABEL:
                problems.append(f"row {number} item {custom_id[:20]}")
    if len(set(custom_ids)) != len(custom_ids):
        problems.append("duplicate custom ids")
    return problems


def message_body(request: RecordedRequest) -> dict[str, Any] | None:
    """The message a request sends or edits (interaction callbacks carry it in `data`), if any."""
    body = request.json
    if not isinstance(body, dict):
        return None
    if request.path.endswith("/callback"):
        body = body.get("data")
    if not isinstance(body, dict) or not {"content", "embeds", "components"} & set(body):
        return None
    return body


def assert_pings_no_one(fake: FakeDiscord, channels: Sequence[FakeChannel]) -> int:
    """Every message payload the fake received has `allowed_mentions` none and no live mention, nothing
    broke a limit, and no message of the bot in `channels` pinged anyone; returns the payloads checked."""
    checked = 0
    for request in fake.requests:
        body = message_body(request)
        if body is None:
            continue
        checked += 1
        mentions = body.get("allowed_mentions")
        where = (request.method, request.path)
        assert isinstance(mentions, dict) and mentions.get("parse") == [], (where, mentions)
        assert not mentions.get("users") and not mentions.get("roles"), (where, mentions)
        assert not mentions.get("replied_user"), (where, mentions)
        assert [m for text in payload_texts(body) for m in live_mentions(text)] == [], (where, body)
        assert limit_problems(body) == [], (where, body)
    for channel in channels:
        for state in fake.history(channel):
            if state.author_id == fake.bot_user.id:
                assert not state.mention_everyone and state.mention_ids == () and state.mention_role_ids == ()
    assert fake.violations == [] and fake.unknown_requests == []
    return checked
