"""What the `storybot` commands print: answers and reports for people, sources as JSON for programs."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import click

from index import AddReport, Answer, Citation, Explanation, FeedRecord, SourceRecord, TimelineEntry


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
            f"{explanation.proximity or 0:.3f}{follows}"
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
    return "1 paragraph" if count == 1 else f"{count:,} paragraphs"


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
