"""What members see of a story over time: the /timeline pages, and why a passage was chosen.

Untrusted text (titles, outlets, sentences, the words followed) goes through `escaping.escape`; both replies
stay within one embed's limits whatever the sources hold.
"""

from __future__ import annotations

from collections.abc import Sequence

import discord

from bot.discord_app.replies.escaping import ELLIPSIS, clip, escape, escape_clipped, safe_url, unescape
from bot.discord_app.replies.limits import (
    ANSWERED_COLOUR,
    DESCRIPTION_LIMIT,
    FIELD_VALUE_LIMIT,
    NOT_ANSWERED_COLOUR,
    TITLE_LIMIT,
    Reply,
    day_text,
)
from index import DateWindow, Explanation, TimelineEntry

TIMELINE_PER_PAGE = 8
"""Sources on one /timeline page: eight two-line entries of at most about 450 characters each."""

_TIMELINE_TITLE = "Timeline"
_ABOUT_PREFIX = "Timeline: "
_SENTENCE_CHARS = 300
_TERMS_SHOWN = 12
"""Matched terms listed one per line; the rest are summed on one line (a long question has many)."""


def timeline_pages(total: int) -> int:
    """How many /timeline pages `total` sources fill (at least one)."""
    return max(1, -(-total // TIMELINE_PER_PAGE))


def timeline_reply(
    entries: Sequence[TimelineEntry], about: str | None, page: int, window: DateWindow | None = None
) -> Reply:
    """One page (0-based, clamped) of the story's sources in date order, each with its date and sentence;
    `window`, the range of days the timeline was limited to, is named in the footer."""
    pages = timeline_pages(len(entries))
    page = min(max(page, 0), pages - 1)
    title = _TIMELINE_TITLE if about is None else clip(f"{_ABOUT_PREFIX}{escape(about)}", TITLE_LIMIT)
    embed = discord.Embed(title=title, colour=ANSWERED_COLOUR)
    if not entries:
        if window is not None:
            mentioning = "that mentions that " if about else ""
            embed.description = f"No article {mentioning}is dated {window.describe()}."
        elif about:
            embed.description = "No article mentions that."
        else:
            embed.description = "No articles are indexed yet: an admin can add sources."
        return Reply(embed=embed)
    lines = []
    first = page * TIMELINE_PER_PAGE
    for entry in entries[first : first + TIMELINE_PER_PAGE]:
        source = entry.source
        name = escape_clipped(source.title, 120) or "Untitled"
        url = safe_url(source.url)
        if url is not None and len(url) <= 200:
            name = f"[{name}]({url})"
        outlet = f" · {escape_clipped(source.outlet, 60)}" if source.outlet else ""
        day = day_text(source) if source.date else "undated"
        sentence = escape_clipped(entry.sentence, _SENTENCE_CHARS) or ELLIPSIS
        lines.append(f"**{day}** — {name}{outlet}\n> {sentence}")
    embed.description = clip("\n".join(lines), DESCRIPTION_LIMIT)
    noun = "source" if len(entries) == 1 else "sources"
    dated = "" if window is None else f" · dated {window.describe()}"
    embed.set_footer(text=f"Page {page + 1} of {pages} · {len(entries)} {noun}, oldest first{dated}")
    return Reply(embed=embed)


def about_of(embed: discord.Embed) -> str | None:
    """The words a /timeline page follows, read back from its title (None: the whole story)."""
    title = embed.title or ""
    return unescape(title[len(_ABOUT_PREFIX) :]) if title.startswith(_ABOUT_PREFIX) else None


EXPLANATION_GONE = (
    "That passage is no longer among this question's best passages here (the sources may have changed): "
    "ask again to see why the new ones were chosen."
)


def explanation_reply(explanation: Explanation | None) -> Reply:
    """Why the top passage was chosen: each matched term's BM25 part, the second stage and the verdict."""
    if explanation is None:
        return Reply(EXPLANATION_GONE)
    colour = ANSWERED_COLOUR if explanation.answered else NOT_ANSWERED_COLOUR
    embed = discord.Embed(title="Why this passage?", colour=colour)
    embed.description = (
        f"BM25 gave it **{explanation.bm25:.2f}** (hit {explanation.rank} of the search): each question word "
        "it holds adds idf × tf × (k1 + 1) / (tf + k1 × length norm). It has "
        f"{explanation.length} terms against an average of {explanation.average_length:.1f}."
    )
    lines = [
        f"`{escape(part.term)}`{f' ×{part.asked}' if part.asked > 1 else ''}: tf {part.tf} · idf "
        f"{part.idf:.2f} · length norm {part.length_norm:.2f} → **{part.contribution:.2f}**"
        for part in explanation.matched[:_TERMS_SHOWN]
    ]
    rest = explanation.matched[_TERMS_SHOWN:]
    if rest:
        lines.append(f"{len(rest)} more terms → {sum(part.contribution for part in rest):.2f}")
    embed.add_field(name="Matched terms", value=clip("\n".join(lines) or "none", FIELD_VALUE_LIMIT))
    if explanation.missing:
        missing = ", ".join(f"`{escape(term)}`" for term in explanation.missing)
        embed.add_field(name="Not in the passage", value=clip(missing, FIELD_VALUE_LIMIT), inline=False)
    if explanation.body is not None:
        follows = (
            "\nIt carries on from the paragraph before, and took on its evidence."
            if explanation.follows
            else ""
        )
        embed.add_field(
            name="Second stage",
            value=(
                f"**{explanation.score:.2f}** = body {explanation.body:.2f} + title "
                f"{explanation.title or 0:.2f} + best sentence {explanation.sentence or 0:.2f} + proximity "
                f"{explanation.proximity or 0:.2f} + meaning {explanation.meaning or 0:.2f}{follows}"
            ),
            inline=False,
        )
    verdict = "an answer" if explanation.answered else "not an answer: the closest passages"
    evidence = explanation.evidence
    held = (
        ""
        if evidence is None
        else f" The best passage holds {evidence.matched} of the question's {evidence.distinct} terms, "
        f"{evidence.covered:.0%} of their weight."
    )
    embed.add_field(
        name="Confidence",
        value=f"**{explanation.confidence:.2f}** against a threshold of {explanation.threshold:.2f}: "
        f"{verdict}.{held}",
        inline=False,
    )
    return Reply(embed=embed)
