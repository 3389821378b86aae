"""What the `storybot` commands print: answers and reports for people, sources as JSON for programs."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import click

from index import AddReport, Answer, FeedRecord, SourceRecord


def print_answer(answer: Answer) -> None:
    """Print an answer (or the refusal and the closest passages) with its citations."""
    click.echo(answer.message if not answer.answered else f"Q: {answer.question}")
    for passage in answer.results:
        marker = "" if answer.answered else " (closest passage, not an answer)"
        click.echo()
        click.echo(f"{passage.rank}.{marker}")
        click.echo(_highlighted(passage.text, passage.highlight))
        source = passage.source
        details = [part for part in (source.outlet, source.published) if part]
        click.echo(
            f"   — {source.title}{' · ' + ', '.join(details) if details else ''}"
            f" · paragraph {passage.paragraph} of {passage.paragraphs}"
        )
        if source.url:
            click.echo(f"     {source.url}")
        if passage.also_in:
            names = (citation.outlet or citation.title for citation in passage.also_in)
            click.echo(f"     also in: {', '.join(names)}")
    if answer.answered and answer.results:
        click.echo(f"\n{answer.message}")


def _highlighted(text: str, sentence: str) -> str:
    start = text.find(sentence)
    if not sentence or start < 0:
        return "   " + text
    bold = click.style(sentence, bold=True) if sys.stdout.isatty() else f"**{sentence}**"
    return "   " + text[:start] + bold + text[start + len(sentence) :]


def print_add_report(report: AddReport) -> None:
    """Print what `storybot add` added, updated or left unchanged; each failure on stderr."""
    for verb, records in (
        ("added", report.added),
        ("updated", report.updated),
        ("unchanged", report.unchanged),
    ):
        for record in records:
            click.echo(f"{verb} {record.id}: {record.title} ({paragraphs(record.paragraphs)})")
    for _origin, error in report.failed:
        click.echo(f"Error: {error}", err=True)


def paragraphs(count: int) -> str:
    """ "1 paragraph", "1,234 paragraphs"."""
    return counted(count, "paragraph")


def counted(count: int, noun: str) -> str:
    """ "1 source", "2 sources", "1,234 paragraphs": a count with its noun, plural unless exactly one."""
    return f"{count:,} {noun if count == 1 else noun + 's'}"


def source_json(record: SourceRecord) -> dict[str, Any]:
    """A source as `storybot sources --json` prints it."""
    return dict(vars(record))


@contextmanager
def progress_bar(label: str, total: int) -> Iterator[Callable[[int, int], None] | None]:
    """A progress bar on an interactive terminal for long jobs; nothing when piped."""
    if total < 2 or not sys.stderr.isatty():
        yield None
        return
    with click.progressbar(length=total, label=label, file=sys.stderr) as bar:
        position = 0

        def advance(done: int, _total: int) -> None:
            nonlocal position
            bar.update(done - position)
            position = done

        yield advance


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
