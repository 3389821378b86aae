"""What admins see: reindex progress and summaries, /admin status, source and feed lines, what adding,
removing and following reply, feed announcements, and autocomplete choices.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import discord

from bot.discord_app.replies.escaping import (
    clip,
    escape,
    escape_clipped,
    safe_url,
)
from bot.discord_app.replies.limits import (
    ANSWERED_COLOUR,
    CHOICE_LIMIT,
    CONTENT_LIMIT,
    EMBED_TOTAL_LIMIT,
    FIELD_VALUE_LIMIT,
    TITLE_LIMIT,
    Reply,
    outlet_and_date,
)
from bot.discord_app.replies.notices import notice
from index import (
    BUILTIN_PREFIX,
    STORED_KINDS,
    UPLOAD_PREFIX,
    AddReport,
    FeedItem,
    FeedRecord,
    IndexStats,
    Lease,
    PollReport,
    ReindexReport,
    SourceRecord,
    Status,
    Usage,
    counted,
)

_CHOICE_ID_LIMIT = 40
"""How much of a source's id a choice's name shows, leaving the rest of its 100 characters to the title."""

# -- admin --------------------------------------------------------------------------------------------


def reindex_started(what: str) -> str:
    """The first line of a reindex, before any source is read; `what` names its sources."""
    return f"Reindexing {what}…"


def reindex_progress(done: int, total: int, what: str = "every source") -> str:
    """The progress line of a running reindex, counting sources as its summary does."""
    return f"Reindexing {what}… {done:,} of {counted(total, 'source')} read."


def reindex_summary(report: ReindexReport) -> str:
    """The end summary of a reindex, with the sources that could not be read."""
    text = (
        f"Reindex done in {report.seconds:.2f} s: {counted(report.sources, 'source')}, "
        f"{counted(report.paragraphs, 'paragraph')}; "
        f"{report.added} added, {report.removed} removed, {report.changed} changed."
    )
    if report.failed:
        text += "\nCould not read these (kept their last good copy):"
        for reason in report.failure_reasons():
            text += "\n• " + escape_clipped(reason, 300)
    return clip(text, CONTENT_LIMIT)


def reindex_running(what: str, held: Lease) -> str:
    """Why a reindex does not start: another one (in any process) is re-reading overlapping sources."""
    return clip(
        f"A reindex of {what} is already running: {escape(held.holder)} started it at {held.since_text()}. "
        "Try again when it has finished.",
        CONTENT_LIMIT,
    )


def reindex_moved(where: str) -> str:
    """What the reply says once a long reindex moves on: Discord stops its edits after 15 minutes."""
    return (
        "This reindex is taking a while, longer than Discord lets me update this reply: "
        f"its progress and summary continue in {where}."
    )


def reindex_elsewhere(server: str, text: str) -> str:
    """A reindex line in a message of its own (a DM or a channel), saying which server asked for it."""
    return clip(f"`/admin reindex` in {escape(server)}: {text}", CONTENT_LIMIT)


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


def status_reply(
    stats: IndexStats,
    usage: Usage,
    uptime_seconds: float,
    zone: str | None = None,
    *,
    zone_chosen: bool = False,
) -> Reply:
    """`/admin status`: the figures `storybot status` prints too (`index.Status`), one field each, and the
    time `zone` the server's dates are read in (`zone_chosen`: by the server, not the bot's default)."""
    embed = discord.Embed(title="storybot status", colour=ANSWERED_COLOUR)
    for name, value in Status(stats, usage, uptime_seconds).figures():
        embed.add_field(name=name, value=escape(value), inline=False)
    if zone is not None:
        embed.add_field(name="Time zone", value=_zone_words(zone, zone_chosen), inline=False)
    return Reply(embed=embed)


def zone_reply(zone: str, *, chosen: bool, changed: bool) -> str:
    """`/admin timezone`: the zone this server's dates are read in (`chosen` by the server, else the bot's
    default), just set or as it stands."""
    if changed:
        return notice(
            "From now on, dates such as “yesterday” in `/ask` and `/timeline` are read in "
            f"{_zone_words(zone, chosen)}."
        )
    return notice(
        f"Dates such as “yesterday” in `/ask` and `/timeline` are read in {_zone_words(zone, chosen)}. "
        "`/admin timezone zone:<name>` sets another, e.g. Europe/Berlin."
    )


def zone_problem(problem: str) -> str:
    """Why a time zone an admin typed cannot be used, from the core's message."""
    return notice(f"I can't use that time zone: {escape(problem)}.")


def _zone_words(zone: str, chosen: bool) -> str:
    whose = "chosen for this server" if chosen else "the bot's default, as this server chose none"
    # A code span shows the name as it is typed (underscores and all); it was validated before it was kept.
    return f"`{zone.replace('`', '')}` ({whose})"


# -- sources and feeds (/admin add, remove, sources, follow, unfollow; announcements) ---------------------

_SOURCE_LINES_LIMIT = 3800
_FEED_FIELDS = 5


def source_line(record: SourceRecord) -> str:
    """`**title** — outlet · date · n paragraphs · id `x``: what was indexed, as an admin reads it."""
    parts = [f"**{escape_clipped(record.title, 200) or 'Untitled'}**"]
    details = outlet_and_date(record)
    details.append(counted(record.paragraphs, "paragraph"))
    details.append(_source_id(record.id))
    return " — ".join([parts[0], " · ".join(details)])


def added_reply(report: AddReport, where: str) -> str:
    """The reply to `/admin add`: each article indexed (added, updated or unchanged), and where."""
    lines = [f"Indexed into {where}:"]
    verbs = ("Added", "Updated", "Already indexed, unchanged")
    for verb, kind in zip(verbs, STORED_KINDS, strict=True):
        records = report.records(kind)
        lines += [f"• {verb}: {source_line(record)}" for record in records]
        # The report keeps the first few records of each kind only (a big add counts the rest).
        if (more := report.total(kind).articles - len(records)) > 0:
            lines.append(f"• {verb}: {counted(more, 'more article')}")
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


def source_choice(record: SourceRecord, key: str, *, shared: bool = False) -> tuple[str, str]:
    """(name, value) of an autocomplete choice for a source: its title and (clipped) id, and `key`, the short
    value that names it whatever the id's length (see `bot.discord_app.picks`)."""
    label = " ".join(record.title.split()) or record.id
    suffix = f" ({clip(record.id, _CHOICE_ID_LIMIT)}{', shared' if shared else ''})"
    return clip(label, CHOICE_LIMIT - len(suffix)) + suffix, _choice_value(key)


def feed_choice(feed: FeedRecord, key: str, *, shared: bool = False) -> tuple[str, str]:
    """(name, value) of an autocomplete choice for a followed feed: its title (else its clipped link), and
    `key`, the short value that names it whatever the link's length."""
    label = " ".join((feed.title or feed.url).split())
    suffix = " (shared)" if shared else ""
    return clip(label, CHOICE_LIMIT - len(suffix)) + suffix, _choice_value(key)


def _choice_value(key: str) -> str:
    """A key, checked rather than cut: a cut value would name nothing, which is the bug keys exist to fix."""
    if not 1 <= len(key) <= CHOICE_LIMIT:
        raise ValueError(f"an autocomplete value must hold 1 to {CHOICE_LIMIT} characters: {key!r}")
    return key


def admin_sources_reply(records: Sequence[SourceRecord], feeds: Sequence[FeedRecord], where: str) -> Reply:
    """`/admin sources`: each source with its origin, when it was fetched and its status; then the feeds."""
    embed = discord.Embed(title=clip(f"Sources of {where}", TITLE_LIMIT), colour=ANSWERED_COLOUR)
    embed.set_footer(text=f"{counted(len(records), 'source')} · {counted(len(feeds), 'followed feed')}")
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
        f"Following **{title}** for {where}: {counted(count, 'article')} indexed now. "
        f"New ones are checked every {_minutes(interval_minutes)}"
        + (f" and announced in <#{feed.channel_id}>." if feed.channel_id else ".")
    ]
    if report.failed:
        lines.append("Couldn't read these yet (tried again when the feed changes):")
        lines += [f"• {escape_clipped(f'{link}: {reason}', 300)}" for link, reason in report.failed]
    return clip("\n".join(lines), CONTENT_LIMIT)


def _minutes(minutes: float) -> str:
    """ "minute", "5 minutes", "0.5 minutes": how often feeds are checked."""
    return "minute" if minutes == 1 else f"{minutes:g} minutes"


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
        f"{title} · {_source_id(record.id)} · {counted(record.paragraphs, 'paragraph')}\n"
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
    if origin.startswith(BUILTIN_PREFIX):
        return "the built-in story"
    if origin.startswith(UPLOAD_PREFIX):
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
