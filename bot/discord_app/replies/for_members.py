"""What members see: answers and their citations, a passage's context, the /sources pages and /help.

Untrusted text (questions, titles, passages) goes through `escaping.escape`; an answer embed that would pass
6,000 characters in all is rebuilt with smaller excerpts until it fits.
"""

from __future__ import annotations

from collections.abc import Sequence

import discord

from bot.discord_app.replies.escaping import (
    ELLIPSIS,
    clip,
    emphasised,
    escape,
    escape_clipped,
    safe_url,
    unescape,
)
from bot.discord_app.replies.limits import (
    ANSWERED_COLOUR,
    CONTENT_LIMIT,
    FIELD_VALUE_LIMIT,
    NOT_ANSWERED_COLOUR,
    TITLE_LIMIT,
    Reply,
    day_text,
    embed_problems,
    outlet_and_date,
)
from index import (
    Answer,
    DateWindow,
    Paragraph,
    Passage,
    SourceRecord,
    counted,
)

SOURCES_PER_PAGE = 10
EXAMPLE_QUESTIONS = (
    "Why did Musk leave OpenAI?",
    "How many GPUs did Musk buy for Twitter?",
    "What will Twitter's generative AI be used for?",
)

_QUESTION_PREFIX = "**Q:** "
_SCALES = (1.0, 0.7, 0.5, 0.35, 0.25, 0.15, 0.1, 0.0)
_ALSO_IN_NAMED = 3
"""Other sources of a passage named on its "also in" line; the rest are counted ("and 2 more")."""


def answer_reply(
    answer: Answer, *, offset: int = 0, answered: bool | None = None, window: DateWindow | None = None
) -> Reply:
    """An answer as users see it; `offset` passages were shown on earlier pages.

    `answered` overrides `answer.answered` for later pages, which keep the verdict of the first; `window`
    is the range of days the question was limited to, named in the footer.
    """
    is_answer = answer.answered if answered is None else answered
    content = None if is_answer else escape_clipped(answer.message, CONTENT_LIMIT)
    for scale in _SCALES:
        embed = _answer_embed(answer, offset, is_answer, scale)
        if window is not None:
            embed.set_footer(text=f"{embed.footer.text} · sources dated {window.describe()}")
        if not embed_problems(embed):
            return Reply(content, embed)
    raise AssertionError("the smallest answer layout is within the embed limits")  # pragma: no cover


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
    colour = ANSWERED_COLOUR if is_answer else NOT_ANSWERED_COLOUR
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
    """`— [title](url) · outlet · date · paragraph n of m`, the line that lets a reader check a passage;
    `· earlier report` ends it when a newer source in the answer says the same."""
    source = passage.source
    title = escape_clipped(source.title, _scaled(120, scale, 30)) or "Untitled"
    url = safe_url(source.url)
    if url is not None and len(url) <= _scaled(400, scale, 0):
        title = f"[{title}]({url})"
    parts = [title]
    if source.outlet:
        parts.append(escape_clipped(source.outlet, 60))
    if source.date:
        parts.append(day_text(source))
    parts.append(f"paragraph {passage.paragraph} of {passage.paragraphs}")
    if passage.earlier_report:
        parts.append("*earlier report*")
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
    footer = f"{counted(answer.matched, 'passage')} matched"
    if offset and answer.results:
        footer += f" · showing {offset + 1}–{offset + len(answer.results)}"
    return footer


def _examples() -> str:
    return "\n".join(f"• {escape(question)}" for question in EXAMPLE_QUESTIONS)


def _scaled(size: int, scale: float, minimum: int) -> int:
    return max(minimum, int(size * scale))


CONTEXT_UNAVAILABLE = (
    "I can't show that passage here: it is no longer in the index, or it isn't one of the sources "
    "questions asked here search."
)


def context_reply(paragraphs: Sequence[Paragraph], focus_id: int, source: SourceRecord | None) -> Reply:
    """The paragraphs around a passage, the passage itself marked."""
    if not paragraphs:
        return Reply(CONTEXT_UNAVAILABLE)
    title = source.title if source else "the article"
    embed = discord.Embed(title=escape_clipped(f"Context from {title}", TITLE_LIMIT), colour=ANSWERED_COLOUR)
    if source is not None:
        details = outlet_and_date(source)
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
    embed = discord.Embed(title="Indexed articles", colour=ANSWERED_COLOUR)
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
        details = outlet_and_date(record)
        details.append(counted(record.paragraphs, "paragraph"))
        if record.status != "ok":
            details.append(escape_clipped(f"stale: {record.error or record.status}", 120))
        lines.append(f"**{number}.** {title} — " + " · ".join(details))
    embed.description = "\n".join(lines)
    embed.set_footer(text=f"Page {page + 1} of {pages} · {counted(len(records), 'article')}")
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
        colour=ANSWERED_COLOUR,
    )
    # The admin commands in a field of their own: together the listing outgrew one field's 1,024 characters.
    for heading, admin in (("Commands", False), ("Admin commands (Manage Server)", True)):
        listing = "\n".join(
            f"`/{name}` — {escape_clipped(description, 150)}"
            for name, description in commands
            if name.startswith("admin ") is admin
        )
        if listing:
            embed.add_field(name=heading, value=clip(listing, FIELD_VALUE_LIMIT), inline=False)
    embed.add_field(name="Examples", value=_examples(), inline=False)
    embed.add_field(
        name="Buttons",
        value="**More** shows the next passages, **Context** the paragraphs around the top one, **Why this "
        "passage?** how it was chosen; 👍 and 👎 tell the admins how good an answer was. Only the person who "
        "asked can page or delete an answer.",
        inline=False,
    )
    return Reply(embed=embed)
