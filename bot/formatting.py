"""The one formatter: every message the bot sends is built here, within Discord's limits.

Answers, context, sources, help, status and notices become `Reply` values (content and/or one embed). All
untrusted text goes through `bot.markdown.escape`; every length is clipped to the limits below, and an answer
embed that would pass 6,000 characters in all is rebuilt with smaller excerpts until it fits.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import discord

from bot.markdown import ELLIPSIS, clip, emphasised, escape, escape_clipped, safe_url, unescape
from index import (
    AddReport,
    Answer,
    FeedItem,
    FeedRecord,
    IndexStats,
    Paragraph,
    Passage,
    PollReport,
    ReindexReport,
    SourceRecord,
    Usage,
)

CONTENT_LIMIT = 2000
TITLE_LIMIT = 256
DESCRIPTION_LIMIT = 4096
FIELD_NAME_LIMIT = 256
FIELD_VALUE_LIMIT = 1024
FIELD_COUNT_LIMIT = 25
FOOTER_LIMIT = 2048
EMBED_TOTAL_LIMIT = 6000

SOURCES_PER_PAGE = 10
EXAMPLE_QUESTIONS = (
    "Why did Musk leave OpenAI?",
    "How many GPUs did Musk buy for Twitter?",
    "What will Twitter's generative AI be used for?",
)

_ANSWERED_COLOUR = discord.Colour.blurple()
_NOT_ANSWERED_COLOUR = discord.Colour.light_grey()
_QUESTION_PREFIX = "**Q:** "
_SCALES = (1.0, 0.7, 0.5, 0.35, 0.25, 0.15, 0.1, 0.0)
_ALSO_IN_NAMED = 3
"""Other sources of a passage named on its "also in" line; the rest are counted ("and 2 more")."""
_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


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


# -- answers ----------------------------------------------------------------------------------------


def answer_reply(answer: Answer, *, offset: int = 0, answered: bool | None = None) -> Reply:
    """An answer as users see it; `offset` passages were shown on earlier pages.

    `answered` overrides `answer.answered` for later pages, which keep the verdict of the first.
    """
    is_answer = answer.answered if answered is None else answered
    content = None if is_answer else escape_clipped(answer.message, CONTENT_LIMIT)
    for scale in _SCALES:
        embed = _answer_embed(answer, offset, is_answer, scale)
        if not embed_problems(embed):
            return Reply(content, embed)
    raise AssertionError("the smallest answer layout is within the embed limits")  # pragma: no cover


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


def question_of(embed: discord.Embed) -> str | None:
    """The question an answer embed was made for (what the More and feedback buttons need)."""
    description = embed.description or ""
    if description.startswith(_QUESTION_PREFIX):
        return unescape(description[len(_QUESTION_PREFIX) :].split("\n", 1)[0])
    return unescape(embed.title) if embed.title else None


def _answer_embed(answer: Answer, offset: int, is_answer: bool, scale: float) -> discord.Embed:
    question = escape(answer.question)
    title = clip(question, TITLE_LIMIT)
    # A question too long for the title is repeated whole, so the buttons can recover it.
    lead = "" if title == question else f"{_QUESTION_PREFIX}{question}\n\n"
    colour = _ANSWERED_COLOUR if is_answer else _NOT_ANSWERED_COLOUR
    embed = discord.Embed(title=title, colour=colour)
    passages = answer.results
    if is_answer and passages:
        first, passages = passages[0], passages[1:]
        excerpt = emphasised(first.text, first.highlight, _scaled(1500, scale, 60))
        embed.description = f"{lead}{excerpt}\n{_cited(first, scale)}"
    elif passages:
        embed.description = f"{lead}**The closest passages, not an answer:**"
    elif offset:
        embed.description = f"{lead}No more passages match this question."
    else:
        embed.description = f"{lead}Try asking:\n{_examples()}"
    for passage in passages:
        rank = offset + passage.rank
        name = f"Passage {rank}" if is_answer else f"Closest passage {rank} (not an answer)"
        excerpt = emphasised(passage.text, passage.highlight, _scaled(450, scale, 40))
        embed.add_field(name=name, value=f"{excerpt}\n{_cited(passage, scale)}", inline=False)
    if not is_answer and answer.results:
        embed.add_field(name="Try asking", value=_examples(), inline=False)
    embed.set_footer(text=_matched_footer(answer, offset))
    return embed


def citation(passage: Passage, scale: float = 1.0) -> str:
    """`— [title](url) · outlet · date · paragraph n of m`, the line that lets a reader check a passage."""
    source = passage.source
    title = escape_clipped(source.title, _scaled(120, scale, 30)) or "Untitled"
    url = safe_url(source.url)
    if url is not None and len(url) <= _scaled(400, scale, 0):
        title = f"[{title}]({url})"
    parts = [title]
    if source.outlet:
        parts.append(escape_clipped(source.outlet, 60))
    if source.published:
        parts.append(escape_clipped(_date(source.published), 30))
    parts.append(f"paragraph {passage.paragraph} of {passage.paragraphs}")
    return "— " + " · ".join(parts)


def also_in(passage: Passage, scale: float = 1.0) -> str | None:
    """`also in: [outlet](url), [outlet](url) and 2 more`: the other sources carrying the same paragraph."""
    if not passage.also_in:
        return None
    names = []
    for source in passage.also_in[:_ALSO_IN_NAMED]:
        name = escape_clipped(source.outlet or source.title, _scaled(60, scale, 20)) or "Untitled"
        url = safe_url(source.url)
        names.append(f"[{name}]({url})" if url is not None and len(url) <= _scaled(200, scale, 0) else name)
    rest = len(passage.also_in) - len(names)
    return "also in: " + ", ".join(names) + (f" and {rest} more" if rest else "")


def _cited(passage: Passage, scale: float) -> str:
    """The citation line, and the "also in" line under it when other sources carry the paragraph."""
    others = also_in(passage, scale)
    return citation(passage, scale) if others is None else f"{citation(passage, scale)}\n{others}"


def _matched_footer(answer: Answer, offset: int) -> str:
    noun = "passage" if answer.matched == 1 else "passages"
    footer = f"{answer.matched} {noun} matched"
    if offset and answer.results:
        footer += f" · showing {offset + 1}–{offset + len(answer.results)}"
    return footer


def _examples() -> str:
    return "\n".join(f"• {escape(question)}" for question in EXAMPLE_QUESTIONS)


def _scaled(size: int, scale: float, minimum: int) -> int:
    return max(minimum, int(size * scale))


def _date(published: str) -> str:
    return published[:10] if _ISO_DATE.match(published) else published


# -- context, sources, help ---------------------------------------------------------------------------


CONTEXT_UNAVAILABLE = (
    "I can't show that passage here: it is no longer in the index, or it isn't one of the sources "
    "questions asked here search."
)


def context_reply(paragraphs: Sequence[Paragraph], focus_id: int, source: SourceRecord | None) -> Reply:
    """The paragraphs around a passage, the passage itself marked."""
    if not paragraphs:
        return Reply(CONTEXT_UNAVAILABLE)
    title = source.title if source else "the article"
    embed = discord.Embed(title=escape_clipped(f"Context from {title}", TITLE_LIMIT), colour=_ANSWERED_COLOUR)
    if source is not None:
        details = [
            escape_clipped(part, 60)
            for part in (source.outlet, source.published and _date(source.published))
            if part
        ]
        url = safe_url(source.url)
        if url is not None and len(url) <= 1000:
            details.append(f"[read the article]({url})")
        embed.description = " · ".join(details) or None
    for paragraph in paragraphs:
        marker = " (the passage)" if paragraph.id == focus_id else ""
        embed.add_field(
            name=f"Paragraph {paragraph.position}{marker}",
            value=escape_clipped(paragraph.text, FIELD_VALUE_LIMIT) or ELLIPSIS,
            inline=False,
        )
    return Reply(embed=embed)


def page_count(total: int) -> int:
    """How many /sources pages `total` sources fill (at least one)."""
    return max(1, -(-total // SOURCES_PER_PAGE))


def sources_reply(records: Sequence[SourceRecord], page: int) -> Reply:
    """One page (0-based, clamped) of the indexed articles."""
    pages = page_count(len(records))
    page = min(max(page, 0), pages - 1)
    embed = discord.Embed(title="Indexed articles", colour=_ANSWERED_COLOUR)
    if not records:
        embed.description = "No articles are indexed yet: an admin can add sources with `storybot add`."
        return Reply(embed=embed)
    lines = []
    first = page * SOURCES_PER_PAGE
    for number, record in enumerate(records[first : first + SOURCES_PER_PAGE], start=first + 1):
        title = escape_clipped(record.title, 150) or "Untitled"
        url = safe_url(record.url)
        if url is not None and len(url) <= 200:
            title = f"[{title}]({url})"
        details = [
            escape_clipped(part, 60)
            for part in (record.outlet, record.published and _date(record.published))
            if part
        ]
        details.append(f"{record.paragraphs} paragraph{'s' if record.paragraphs != 1 else ''}")
        if record.status != "ok":
            details.append(escape_clipped(f"stale: {record.error or record.status}", 120))
        lines.append(f"**{number}.** {title} — " + " · ".join(details))
    embed.description = "\n".join(lines)
    noun = "article" if len(records) == 1 else "articles"
    embed.set_footer(text=f"Page {page + 1} of {pages} · {len(records)} {noun}")
    return Reply(embed=embed)


def help_reply(commands: Sequence[tuple[str, str]]) -> Reply:
    """What the bot does, its commands (name, description) and example questions."""
    embed = discord.Embed(
        title="storybot",
        description=(
            "I answer questions about the news stories indexed here, quoting the passages that answer them "
            "with their sources: title, outlet, date and paragraph. Ask with `/ask`, by mentioning me in a "
            "server, or by sending me a direct message."
        ),
        colour=_ANSWERED_COLOUR,
    )
    listing = "\n".join(f"`/{name}` — {escape_clipped(description, 150)}" for name, description in commands)
    embed.add_field(name="Commands", value=clip(listing, FIELD_VALUE_LIMIT), inline=False)
    embed.add_field(name="Examples", value=_examples(), inline=False)
    embed.add_field(
        name="Buttons",
        value="**More** shows the next passages, **Context** the paragraphs around the top one; 👍 and 👎 "
        "tell the admins how good an answer was. Only the person who asked can page or delete an answer.",
        inline=False,
    )
    return Reply(embed=embed)


# -- admin --------------------------------------------------------------------------------------------


def reindex_progress(done: int, total: int) -> str:
    """The progress line of a running reindex."""
    return f"Reindexing… {done} of {total} sources read."


def reindex_summary(report: ReindexReport) -> str:
    """The end summary of a reindex, with the sources that could not be read."""
    text = (
        f"Reindex done in {report.seconds:.2f} s: {report.sources} sources, {report.paragraphs} paragraphs; "
        f"{report.added} added, {report.removed} removed, {report.changed} changed."
    )
    if report.failed:
        text += "\nCould not read these (kept their last good copy):"
        for origin, error in report.failed:
            # The core's reasons name what failed already; the origin is added only when they do not.
            reason = error if error.startswith(origin) else f"{origin}: {error}"
            text += "\n• " + escape_clipped(reason, 300)
    return clip(text, CONTENT_LIMIT)


def reindex_stopped() -> str:
    """What an admin sees when the bot stops during a reindex: nothing was written."""
    return (
        "Reindex stopped: the bot is restarting. Nothing was changed, the previous index stays; "
        "run `/admin reindex` again once I'm back."
    )


def reindex_failed(reason: str) -> str:
    """What an admin sees when a reindex fails: the old index is still answering."""
    return clip(
        f"Reindex failed: {escape(reason)}. The previous index is unchanged and still answering.",
        CONTENT_LIMIT,
    )


def status_reply(stats: IndexStats, usage: Usage, uptime_seconds: float) -> Reply:
    """`/admin status`: the index, its last reindex, questions, feedback, latency and uptime."""
    embed = discord.Embed(title="storybot status", colour=_ANSWERED_COLOUR)
    embed.add_field(
        name="Index",
        value=f"{stats.sources} sources · {stats.paragraphs} paragraphs · {stats.terms} terms · "
        f"{stats.database_bytes / 1_048_576:.1f} MB",
        inline=False,
    )
    if stats.last_reindex_at:
        duration = f" in {stats.last_reindex_seconds:.2f} s" if stats.last_reindex_seconds is not None else ""
        last = f"{escape(stats.last_reindex_at)}{duration}"
    else:
        last = "never"
    embed.add_field(name="Last reindex", value=last, inline=False)
    embed.add_field(
        name="Questions", value=f"{usage.answered} answered · {usage.unanswered} not answered", inline=False
    )
    embed.add_field(name="Feedback", value=f"👍 {usage.thumbs_up} · 👎 {usage.thumbs_down}", inline=False)
    embed.add_field(
        name="/ask latency",
        value=f"p50 {_ms(usage.latency_p50)} · p95 {_ms(usage.latency_p95)}",
        inline=False,
    )
    embed.add_field(name="Uptime", value=duration_text(uptime_seconds), inline=False)
    return Reply(embed=embed)


def duration_text(seconds: float) -> str:
    """`3d 4h 5m 6s`, leaving out leading zero units."""
    whole = int(seconds)
    days, rest = divmod(whole, 86_400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    parts = [(days, "d"), (hours, "h"), (minutes, "m")]
    shown = [f"{value}{unit}" for value, unit in parts if value]
    return " ".join([*shown, f"{secs}s"])


def _ms(seconds: float | None) -> str:
    return "-" if seconds is None else f"{seconds * 1000:.0f} ms"


# -- sources and feeds (/admin add, remove, sources, follow, unfollow; announcements) ---------------------

CHOICE_LIMIT = 100
"""Discord's limit on an autocomplete choice's name and value."""
_SOURCE_LINES_LIMIT = 3800
_FEED_FIELDS = 5


def source_line(record: SourceRecord) -> str:
    """`**title** — outlet · date · n paragraphs · id `x``: what was indexed, as an admin reads it."""
    parts = [f"**{escape_clipped(record.title, 200) or 'Untitled'}**"]
    details = [
        escape_clipped(part, 60)
        for part in (record.outlet, record.published and _date(record.published))
        if part
    ]
    details.append(f"{record.paragraphs} paragraph{'s' if record.paragraphs != 1 else ''}")
    details.append(_source_id(record.id))
    return " — ".join([parts[0], " · ".join(details)])


def added_reply(report: AddReport, where: str) -> str:
    """The reply to `/admin add`: each article indexed (added, updated or unchanged), and where."""
    lines = [f"Indexed into {where}:"]
    for verb, records in (
        ("Added", report.added),
        ("Updated", report.updated),
        ("Already indexed, unchanged", report.unchanged),
    ):
        lines += [f"• {verb}: {source_line(record)}" for record in records]
    if len(lines) == 1:
        lines = ["Nothing was indexed: the source holds no article."]
    return clip("\n".join(lines), CONTENT_LIMIT)


def add_failed(reason: str, action: str = "add") -> str:
    """Why `/admin add` (or follow) did nothing, from the core's one-line reason."""
    return notice(f"Couldn't {action} it: {escape(reason)}")


def unknown_feed(url: str) -> str:
    """The reply to unfollowing a feed this server does not follow."""
    return notice(
        f"This server follows no feed {escape_clipped(url, 300)}; `/admin sources` lists its feeds."
    )


def unknown_source(source_id: str) -> str:
    """The reply to removing an id this server has no source under (whoever else may have it)."""
    shown = escape_clipped(source_id, 200)
    return notice(f"This server has no source with the id {shown}; `/admin sources` lists them.")


def removed_notice(record: SourceRecord) -> str:
    """The reply to `/admin remove`."""
    return notice(f"Removed {source_line(record)}. Questions no longer find it.")


def source_choice(record: SourceRecord, *, shared: bool = False) -> tuple[str, str]:
    """(name, value) of an autocomplete choice for a source: its title and id, within Discord's limits."""
    label = " ".join(record.title.split()) or record.id
    suffix = f" ({record.id}{', shared' if shared else ''})"
    name = label[: CHOICE_LIMIT - len(suffix)] + suffix if len(suffix) < CHOICE_LIMIT else record.id
    return name[:CHOICE_LIMIT], record.id[:CHOICE_LIMIT]


def feed_choice(feed: FeedRecord) -> tuple[str, str]:
    """(name, value) of an autocomplete choice for a followed feed (value: its link, if short enough)."""
    name = " ".join((feed.title or feed.url).split())
    return name[:CHOICE_LIMIT], feed.url[:CHOICE_LIMIT]


def admin_sources_reply(records: Sequence[SourceRecord], feeds: Sequence[FeedRecord], where: str) -> Reply:
    """`/admin sources`: each source with its origin, when it was fetched and its status; then the feeds."""
    embed = discord.Embed(title=clip(f"Sources of {where}", TITLE_LIMIT), colour=_ANSWERED_COLOUR)
    noun = "source" if len(records) == 1 else "sources"
    embed.set_footer(
        text=f"{len(records)} {noun} · {len(feeds)} followed feed{'s' if len(feeds) != 1 else ''}"
    )
    # The sources take the description; the feeds get what is left of the 6,000 characters in all.
    budget = _SOURCE_LINES_LIMIT if not feeds else _SOURCE_LINES_LIMIT - 2 * FIELD_VALUE_LIMIT
    lines: list[str] = []
    size = 0
    for number, record in enumerate(records, start=1):
        line = f"**{number}.** {_admin_source_line(record)}"
        if size + len(line) + 1 > budget:
            lines.append(f"…and {len(records) - number + 1} more (`storybot sources` lists them all).")
            break
        lines.append(line)
        size += len(line) + 1
    embed.description = (
        "\n".join(lines) or "No sources yet: `/admin add url:<link>` or `file:<upload>` adds one."
    )
    fields: list[str] = []

    def room(extra: int, new_field: bool) -> bool:
        names = len("Followed feeds") + len("More feeds") * (len(fields) - 1 + new_field)
        return len(embed) + sum(map(len, fields)) + names + extra <= EMBED_TOTAL_LIMIT

    for shown, feed in enumerate(feeds):
        line = _feed_line(feed)
        more = f"…and {len(feeds) - shown} more."
        if fields and len(fields[-1]) + len(line) + 1 <= FIELD_VALUE_LIMIT and room(len(line) + 1, False):
            fields[-1] += "\n" + line
        elif len(fields) < _FEED_FIELDS and room(len(line), True):
            fields.append(line)
        else:
            if fields and len(fields[-1]) + len(more) + 1 <= FIELD_VALUE_LIMIT and room(len(more) + 1, False):
                fields[-1] += "\n" + more
            break
    for index, value in enumerate(fields):
        embed.add_field(name="Followed feeds" if index == 0 else "More feeds", value=value, inline=False)
    return Reply(embed=embed)


def followed_reply(report: PollReport, where: str, interval_minutes: float) -> str:
    """The reply to `/admin follow`: the feed, what it indexed now, and where new articles are announced."""
    feed = report.feed
    title = escape_clipped(feed.title or feed.url, 200)
    count = len(report.indexed)
    lines = [
        f"Following **{title}** for {where}: {count} article{'s' if count != 1 else ''} indexed now. "
        f"New ones are checked every {interval_minutes:g} minutes"
        + (f" and announced in <#{feed.channel_id}>." if feed.channel_id else ".")
    ]
    if report.failed:
        lines.append("Couldn't read these yet (tried again when the feed changes):")
        lines += [f"• {escape_clipped(f'{link}: {reason}', 300)}" for link, reason in report.failed]
    return clip("\n".join(lines), CONTENT_LIMIT)


def unfollowed_notice(feed: FeedRecord) -> str:
    """The reply to `/admin unfollow`."""
    title = escape_clipped(feed.title or feed.url, 200)
    return notice(f"Stopped following **{title}**. Its articles stay indexed; `/admin remove` takes one out.")


def announcement(feed: FeedRecord, items: Sequence[FeedItem]) -> str:
    """The message posted in a feed's channel when a poll indexed new articles: their titles and links."""
    title = escape_clipped(feed.title or feed.url, 200)
    lines = [f"📰 New from **{title}**:"]
    for shown, item in enumerate(items):
        name = escape_clipped(item.title, 200) or "Untitled"
        url = safe_url(item.link)
        line = f"• [{name}](<{url}>)" if url is not None and len(url) <= 500 else f"• {name}"
        if sum(len(text) + 1 for text in lines) + len(line) > CONTENT_LIMIT - 40:
            lines.append(f"…and {len(items) - shown} more.")
            break
        lines.append(line)
    return clip("\n".join(lines), CONTENT_LIMIT)


def _admin_source_line(record: SourceRecord) -> str:
    title = escape_clipped(record.title, 120) or "Untitled"
    url = safe_url(record.url)
    if url is not None and len(url) <= 300:
        title = f"[{title}](<{url}>)"
    status = (
        record.status
        if record.status == "ok"
        else f"{record.status}: {escape_clipped(record.error or '', 150)}"
    )
    fetched = _when(record.fetched_at) or "never"
    return (
        f"{title} · {_source_id(record.id)} · {record.paragraphs} paragraphs\n"
        f"  from {_origin(record.origin)} · fetched {fetched} · {status}"
    )


def _feed_line(feed: FeedRecord) -> str:
    title = escape_clipped(feed.title or "untitled feed", 100)
    url = safe_url(feed.url)
    name = f"[{title}](<{url}>)" if url is not None and len(url) <= 300 else title
    where = f" → <#{feed.channel_id}>" if feed.channel_id else ""
    checked = _when(feed.polled_at) or "not yet"
    status = "ok" if feed.status == "ok" else f"failed: {escape_clipped(feed.error or '', 150)}"
    return clip(f"• {name}{where} · checked {checked} · {status}", FIELD_VALUE_LIMIT)


def _origin(origin: str) -> str:
    if origin.startswith("builtin:"):
        return "the built-in story"
    if origin.startswith("upload:"):
        return "an upload, " + escape_clipped(origin.rsplit("/", 1)[-1], 100)
    url = safe_url(origin)
    if url is not None and len(url) <= 300:
        return f"<{url}>"
    return escape_clipped(origin, 200)


def _source_id(source_id: str) -> str:
    if "`" in source_id or len(source_id) > 100:
        return f"id {escape_clipped(source_id, 100)}"
    return f"id `{source_id}`"


def _when(stamp: str | None) -> str | None:
    """A stored UTC time as a Discord timestamp, which each reader sees in their own time zone."""
    if not stamp:
        return None
    try:
        moment = datetime.fromisoformat(stamp)
    except ValueError:
        return escape_clipped(stamp, 40)
    return f"<t:{int(moment.timestamp())}:R>"


# -- notices ------------------------------------------------------------------------------------------


def notice(text: str) -> str:
    """A short message from the bot itself (already safe), clipped to the content limit."""
    return clip(text, CONTENT_LIMIT)


def question_problem(problem: str) -> str:
    """Why a question cannot be asked (empty, too long), from the core's message."""
    return notice(f"I can't search for that: {escape(problem)}.")


def cooldown_notice(retry_after: float) -> str:
    """The friendly message of the per-user question limit."""
    seconds = max(1, round(retry_after))
    return notice(
        f"You're asking faster than I can keep up! Please wait {seconds} s before the next question."
    )


def server_limit_notice(retry_after: float) -> str:
    """The message of the per-server question limit."""
    seconds = max(1, round(retry_after))
    return notice(
        f"This server is asking me more questions than I can answer right now. "
        f"Please try again in {seconds} s."
    )


def busy_notice() -> str:
    """The message when the work queue is full (or the asker already has questions waiting)."""
    return notice("I'm answering a lot of questions right now. Please ask again in a few seconds.")


def restarting_notice() -> str:
    """What a user is told when the bot stops before (or while) answering them."""
    return notice("I'm restarting right now, so I can't answer this. Please ask again in a minute.")


def apology(error_id: str) -> str:
    """The reply to an unexpected failure; the log has the traceback under the same id."""
    return notice(
        f"Sorry, something went wrong on my side. The error id is `{error_id}`: "
        "an admin can find the details in the bot's log. Please try again."
    )
