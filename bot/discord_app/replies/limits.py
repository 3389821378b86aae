"""The shape of every message: `Reply`, Discord's limits, and the checks and colours all replies share.

Discord refuses a message over its limits (2,000 characters of content; an embed's description 4,096, a
field 1,024, 25 fields, 6,000 in all), so every builder in this package clips to these numbers, and
`embed_problems` says which limit an embed would break.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import discord

from bot.discord_app.replies.escaping import escape_clipped
from index import Citation, SourceRecord, iso_date

CONTENT_LIMIT = 2000
TITLE_LIMIT = 256
DESCRIPTION_LIMIT = 4096
FIELD_NAME_LIMIT = 256
FIELD_VALUE_LIMIT = 1024
FIELD_COUNT_LIMIT = 25
FOOTER_LIMIT = 2048
EMBED_TOTAL_LIMIT = 6000
CHOICE_LIMIT = 100
"""Discord's limit on an autocomplete choice's name and value."""

ANSWERED_COLOUR = discord.Colour.blurple()
NOT_ANSWERED_COLOUR = discord.Colour.light_grey()


@dataclass(frozen=True)
class Reply:
    """What one message shows: plain content, one embed, or both."""

    content: str | None = None
    embed: discord.Embed | None = None

    def send_kwargs(self) -> dict[str, Any]:
        """Keyword arguments for `send`/`followup.send` (only what is set)."""
        kwargs: dict[str, Any] = {}
        if self.content is not None:
            kwargs["content"] = self.content
        if self.embed is not None:
            kwargs["embed"] = self.embed
        return kwargs

    def edit_kwargs(self) -> dict[str, Any]:
        """Keyword arguments for `edit`: replaces both content and embed."""
        return {"content": self.content, "embed": self.embed}


def embed_problems(embed: discord.Embed) -> list[str]:
    """Every Discord embed limit `embed` breaks (an empty list when it can be sent)."""
    problems = []
    if len(embed.title or "") > TITLE_LIMIT:
        problems.append("title")
    if len(embed.description or "") > DESCRIPTION_LIMIT:
        problems.append("description")
    if len(embed.fields) > FIELD_COUNT_LIMIT:
        problems.append("field count")
    for index, field in enumerate(embed.fields):
        if not field.name or len(field.name) > FIELD_NAME_LIMIT:
            problems.append(f"field {index} name")
        if not field.value or len(field.value) > FIELD_VALUE_LIMIT:
            problems.append(f"field {index} value")
    if len(embed.footer.text or "") > FOOTER_LIMIT:
        problems.append("footer")
    if len(embed) > EMBED_TOTAL_LIMIT:
        problems.append("total")
    return problems


def date_text(published: str) -> str:
    """A published date as shown: an ISO timestamp cut to its day (old rows kept the time), else as given."""
    return iso_date(published) or published


def day_text(source: Citation) -> str:
    """A source's day as shown: "2024-05-27", or "added 2026-12-01" when it gives no publication date."""
    return f"added {source.date}" if source.date_is_added else f"{source.date}"


def outlet_and_date(record: SourceRecord) -> list[str]:
    """A source's outlet and date as shown, each clipped and escaped, leaving out what it lacks."""
    return [
        escape_clipped(part, 60)
        for part in (record.outlet, record.published and date_text(record.published))
        if part
    ]
