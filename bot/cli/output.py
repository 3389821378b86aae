"""What the `storybot` commands print: answers and reports for people, sources as JSON for programs."""

from __future__ import annotations

import itertools
import json
import sys
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import ExitStack, contextmanager
from typing import TYPE_CHECKING, Any

import click

from index import (
    STORED_KINDS,
    AddReport,
    Answer,
    Citation,
    Explanation,
    FeedRecord,
    SourceRecord,
    StoredKind,
    TimelineEntry,
    counted,
)

if TYPE_CHECKING:
    from click._termui_impl import ProgressBar

Progress = Callable[[int, int], None]
"""What the core calls with (done, total) as it works."""


def print_answer(answer: Answer) -> None:
    """Print an answer (or the refusal and the closest passages) with its citations."""
    click.echo(answer.message if not answer.answered else f"Q: {answer.question}")
    for passage in answer.results:
        marker = "" if answer.answered else " (closest passage, not an answer)"
        click.echo()
        click.echo(f"{passage.rank}.{marker}")
        click.echo(_highlighted(passage.text, passage.highlight))
        source = passage.source
        outlet = f" · {source.outlet}" if source.outlet else ""
        earlier = " · earlier report" if passage.earlier_report else ""
        click.echo(
            f"   — {source.title}{outlet} · paragraph {passage.paragraph} of {passage.paragraphs}"
            f"{dated(source)}{earlier}"
        )
        if source.url:
            click.echo(f"     {source.url}")
        if passage.also_in:
            names = (citation.outlet or citation.title for citation in passage.also_in)
            click.echo(f"     also in: {', '.join(names)}")
    if answer.answered and answer.results:
        click.echo(f"\n{answer.message}")


def dated(source: Citation) -> str:
    """ " · 2024-05-27", or " · added 2026-12-01" for a source that gives no publication date."""
    if source.date is None:
        return ""
    return f" · added {source.date}" if source.date_is_added else f" · {source.date}"


def print_explanation(explanation: Explanation | None) -> None:
    """Print why the top passage was chosen: each matched term's BM25 part, the second stage, the verdict."""
    click.echo()
    if explanation is None:
        click.echo("Why this passage: no passage to explain.")
        return
    click.echo(f"Why passage 1 (hit {explanation.rank} of the search):")
    click.echo(
        f"  BM25 {explanation.bm25:.3f}; paragraph of {explanation.length} terms, "
        f"average {explanation.average_length:.1f}"
    )
    for part in explanation.matched:
        times = f" x{part.asked}" if part.asked > 1 else ""
        click.echo(
            f"  {part.term}{times}: tf {part.tf}, idf {part.idf:.3f}, length norm {part.length_norm:.3f}"
            f" -> {part.contribution:.3f}"
        )
    if explanation.missing:
        click.echo(f"  not in the passage: {', '.join(explanation.missing)}")
    if explanation.body is not None:
        follows = "; carries on from the paragraph before" if explanation.follows else ""
        click.echo(
            f"  second stage {explanation.score:.3f} = body {explanation.body:.3f} + title "
            f"{explanation.title or 0:.3f} + best sentence {explanation.sentence or 0:.3f} + proximity "
            f"{explanation.proximity or 0:.3f} + meaning {explanation.meaning or 0:.3f}{follows}"
        )
    verdict = "answered" if explanation.answered else "not answered"
    click.echo(
        f"  confidence {explanation.confidence:.2f} (threshold {explanation.threshold:.2f}): {verdict}"
    )


def print_timeline(entries: tuple[TimelineEntry, ...], about: str | None) -> None:
    """Print a timeline: one source a line pair, oldest first."""
    if not entries:
        click.echo(f"no source mentions {about!r}" if about else "no sources: `storybot add PATH` adds one")
        return
    for entry in entries:
        source = entry.source
        outlet = f" · {source.outlet}" if source.outlet else ""
        day = source.date or "undated"
        click.echo(f"{'added ' if source.date_is_added else ''}{day}  {source.title}{outlet}")
        click.echo(f"    {entry.sentence}")


def _highlighted(text: str, sentence: str) -> str:
    start = text.find(sentence)
    if not sentence or start < 0:
        return "   " + text
    bold = click.style(sentence, bold=True) if sys.stdout.isatty() else f"**{sentence}**"
    return "   " + text[:start] + bold + text[start + len(sentence) :]


MAX_LISTED = 20
"""Failures and skipped entries listed one a line before the rest are only counted (all with --verbose)."""


def print_add_report(report: AddReport, seconds: float, *, verbose: bool = False) -> None:
    """Print `storybot add`'s one summary line, and its failures on stderr.

    Whatever the count, the output stays short: at most `MAX_LISTED` failures and skipped entries each,
    then how many more there were (all with `verbose`; its per-article lines are `print_stored`'s).
    """
    limit = None if verbose else MAX_LISTED
    skipped, failed = report.skipped, report.failed
    _print_listed((f"skipped {path}: {reason}" for path, reason in skipped), len(skipped), limit)
    _print_listed((f"Error: {error}" for _origin, error in failed), len(failed), limit)
    totals = [(kind, report.total(kind)) for kind in STORED_KINDS]
    counts = ", ".join(f"{kind} {total.articles:,}" for kind, total in totals)
    stored = sum(total.paragraphs for _kind, total in totals)
    click.echo(
        f"{counts}, failed {len(failed):,}, skipped {len(skipped):,}: {paragraphs(stored)} in {seconds:.2f}s"
    )


def print_stored(kind: StoredKind, record: SourceRecord) -> None:
    """Print `storybot add --verbose`'s line for one article, as it is stored."""
    click.echo(printable(f"{kind} {record.id}: {record.title} ({paragraphs(record.paragraphs)})"))


def _print_listed(lines: Iterable[str], count: int, limit: int | None) -> None:
    """Print lines on stderr, only the first `limit` of them (all if None) and then how many were left out."""
    for line in itertools.islice(lines, limit):
        click.echo(printable(line), err=True)
    if limit is not None and count > limit:
        click.echo(f"... and {count - limit:,} more (--verbose lists them all)", err=True)


def printable(text: str) -> str:
    """Text any UTF-8 terminal can show: a name's bytes that are not UTF-8 as \\x escapes, never a crash."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        try:
            # A file name that is not UTF-8 reaches Python as surrogate escapes of its bytes.
            return text.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
        except UnicodeEncodeError:
            return text.encode("utf-8", "backslashreplace").decode("utf-8")
    return text


def paragraphs(count: int) -> str:
    """ "1 paragraph", "1,234 paragraphs"."""
    return counted(count, "paragraph")


def source_json(record: SourceRecord) -> dict[str, Any]:
    """A source as `storybot sources --json` prints it."""
    return dict(vars(record))


def print_sources_json(records: Iterable[SourceRecord]) -> None:
    """Print the sources as one JSON array, a source at a time, so that memory stays flat for any count.

    The text is exactly what `json.dumps(list, indent=2)` gives, without building the list.
    """
    remaining = iter(records)
    opening = "["
    # Echoed a few hundred sources at a time: click.echo flushes, and a flush per source costs a third more.
    while chunk := list(itertools.islice(remaining, _SOURCES_PER_WRITE)):
        # json.dumps escapes the newlines inside strings, so every "\n" here is between JSON tokens.
        text = ",\n".join(json.dumps(source_json(record), ensure_ascii=False, indent=2) for record in chunk)
        click.echo(f"{opening}\n  " + text.replace("\n", "\n  "), nl=False)
        opening = ","
    click.echo("[]" if opening == "[" else "\n]")


@contextmanager
def progress_bar(label: str) -> Iterator[Progress | None]:
    """A bar on an interactive terminal, sized by the total the core reports with its first update.

    Nothing is shown when stderr is piped. The bar is drawn at most every `_REDRAW_SECONDS` (and at the end),
    so a million small articles cost a few hundred redraws, not a million.
    """
    if not sys.stderr.isatty():
        yield None
        return
    with ExitStack() as stack:
        bar: ProgressBar[int] | None = None
        position = 0
        drawn = 0.0

        def advance(done: int, total: int) -> None:
            nonlocal bar, position, drawn
            if bar is None:
                bar = stack.enter_context(
                    click.progressbar(
                        length=total, label=label, file=sys.stderr, show_pos=True, show_percent=True
                    )
                )
            bar.length = total
            now = time.monotonic()
            if done < total and now - drawn < _REDRAW_SECONDS:
                return
            bar.update(done - position)
            position, drawn = done, now

        yield advance


_REDRAW_SECONDS = 0.1
_SOURCES_PER_WRITE = 500


def feed_line(feed: FeedRecord) -> str:
    """One line of `storybot sources` for a followed feed."""
    channel = f"\tchannel {feed.channel_id}" if feed.channel_id else ""
    status = "" if feed.status == "ok" else f"  [failed: {feed.error}]"
    checked = feed.polled_at or "not yet"
    return f"{feed.url}\t{feed.title or '-'}\t{feed.scope}{channel}\tchecked {checked}{status}"


def source_line(record: SourceRecord) -> str:
    """One line of `storybot sources`: id, title, size, when added and fetched, origin, and any problem."""
    status = "" if record.status == "ok" else f"  [{record.status}: {record.error}]"
    return (
        f"{record.id}\t{record.title}\t{paragraphs(record.paragraphs)}\tadded {record.added_at}"
        f"\tfetched {record.fetched_at or '-'}\t{record.origin}{status}"
    )
