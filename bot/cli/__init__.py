"""The `storybot` command line: run the bot, and do its offline work (ask, add, reindex) on the same index.

Each command opens the database, validates its input, calls one `StoryIndex` method and prints the result.
Expected errors become one line on stderr and exit status 1; `storybot ask` never imports discord.py.
What the commands print is in `bot.cli.output`.
"""

from __future__ import annotations

import asyncio
import json
import os
import socket
import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO

import click
from dotenv import find_dotenv, load_dotenv

from bot.cli.batch import BatchError, check_batch, read_batch
from bot.cli.operations import backup, health, status
from bot.cli.output import (
    feed_line,
    paragraphs,
    print_add_report,
    print_answer,
    print_explanation,
    print_sources_json,
    print_stored,
    print_timeline,
    progress_bar,
    source_line,
)
from bot.config import default_database, fetch_policy, time_zone
from index import (
    DEFAULT_TOP,
    EVERYTHING,
    SHARED_SCOPE,
    STORED_KINDS,
    AddReport,
    Answer,
    Article,
    CheckReport,
    DamagedDatabase,
    DatabaseError,
    DateError,
    DateWindow,
    QuestionError,
    ReindexLeases,
    SourceError,
    StorybotError,
    StoryIndex,
    counted,
    guild_scope,
    parse_window,
    storage_error,
    validate_question,
    view_scopes,
)

if TYPE_CHECKING:
    from index.web.policy import FetchPolicy


def scope_for(server: str | None) -> str:
    """The index scope of a Discord server id, or the shared scope."""
    return guild_scope(server) if server else SHARED_SCOPE


def fetch_policy_from_env() -> FetchPolicy:
    """The operator's fetch settings (STORYBOT_ALLOW_PRIVATE_URLS, ...), as `storybot run` reads them."""
    try:
        return fetch_policy(os.environ)
    except ValueError as error:
        raise click.ClickException(f"bad settings in the environment or .env: {error}") from error


def window_from(since: str | None, until: str | None) -> DateWindow | None:
    """The range of days --since and --until name, in STORYBOT_TIME_ZONE (default UTC); None if neither."""
    try:
        return parse_window(since, until, time_zone(os.environ))
    except (DateError, ValueError) as error:
        raise click.ClickException(f"bad date: {error}") from error


_SINCE_HELP = 'Only sources dated on or after this day ("2024-05-27", "yesterday", "3 days ago").'
_UNTIL_HELP = 'Only sources dated on or before this day ("2024-05-27", "last week").'


@contextmanager
def opened(ctx: click.Context) -> Iterator[StoryIndex]:
    """Open the index named by --db, turning storybot's own errors into a clean message.

    This is the one error path for storage failures: the core names them (disk full, locked, read-only,
    damaged, not storybot's); SQLite's own errors from parts that do not are named here the same way.
    """
    try:
        with StoryIndex(ctx.obj["db"]) as index:
            for notice in index.notices:
                click.echo(f"note: {notice}", err=True)
            yield index
    except StorybotError as error:
        raise click.ClickException(str(error)) from error
    except sqlite3.Error as error:
        raise click.ClickException(str(storage_error(error, ctx.obj["db"]))) from error


FIND_DOTENV = "find_dotenv"
"""Set in `ctx.obj` by the console entry point: look for `.env` in the working directory (tests leave it
unset, so a developer's own `.env` never leaks into a test's environment)."""


def load_env_file(ctx: click.Context, _param: click.Parameter, path: Path | None) -> Path | None:
    """Read --env-file, else the `.env` of the working directory, before any option reads the environment.

    The file never overrides a variable already set: the flag beats the environment, which beats the file,
    which beats the defaults.
    """
    if path is None and isinstance(ctx.obj, dict) and ctx.obj.get(FIND_DOTENV):
        # usecwd: search from where the operator runs storybot, not from the installed package's folder.
        found = find_dotenv(usecwd=True)
        path = Path(found) if found else None
    if path is not None:
        try:
            load_dotenv(path, override=False, encoding="utf-8")
        except (OSError, UnicodeDecodeError) as error:
            raise click.BadParameter(f"{path}: cannot be read as UTF-8 text ({error})") from error
    return path


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--env-file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    is_eager=True,  # read before --db and the commands look at the environment
    expose_value=False,
    callback=load_env_file,
    help="Read settings from this file instead of ./.env (variables already set win).",
)
@click.option(
    "--db",
    # Not click's dir_okay=False: a folder given here gets storybot's one line, not a usage error.
    type=click.Path(path_type=Path),
    envvar="STORYBOT_DB",
    default=default_database,
    show_default="a per-user data file",
    help="The SQLite database (also STORYBOT_DB).",
)
@click.version_option(package_name="storybot")
@click.pass_context
def cli(ctx: click.Context, db: Path) -> None:
    """storybot answers questions about news stories with cited passages."""
    ctx.ensure_object(dict)["db"] = db


for command in (health, status, backup):  # the operator's commands, in bot.cli.operations
    cli.add_command(command)


@cli.command()
@click.argument("question", required=False)
@click.option(
    "--top",
    "-k",
    type=click.IntRange(1, 100),
    default=DEFAULT_TOP,
    show_default=True,
    help="Passages to show.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the answer as JSON.")
@click.option(
    "--batch",
    type=click.File("rb"),
    help='JSONL of {"id", "question"}, a line at most 8,192 bytes; needs --json.',
)
@click.option("--server", help="Also search this Discord server's own sources.")
@click.option("--since", help=_SINCE_HELP)
@click.option("--until", help=_UNTIL_HELP)
@click.option("--explain", is_flag=True, help="Also show why the top passage was chosen.")
@click.pass_context
def ask(
    ctx: click.Context,
    question: str | None,
    top: int,
    as_json: bool,
    batch: BinaryIO | None,
    server: str | None,
    since: str | None,
    until: str | None,
    explain: bool,
) -> None:
    """Answer QUESTION from the indexed articles."""
    scopes = view_scopes(server or None)
    window = window_from(since, until)
    if batch is not None:
        if question is not None or not as_json:
            raise click.UsageError("--batch takes no QUESTION and needs --json")
        if explain:
            raise click.UsageError("--explain explains one QUESTION's answer, not a --batch")
        try:
            # Every line is checked before the first answer: a bad line stops the batch with nothing printed.
            checked = check_batch(batch)
            with opened(ctx) as index:
                for item in read_batch(batch) if checked is None else checked:
                    reply = _answer_json(index, item.question, top, scopes, window)
                    click.echo(json.dumps({"id": item.id, **reply}, ensure_ascii=False))
        except BatchError as error:
            raise click.ClickException(f"{batch.name}: {error}") from error
        return
    if question is None:
        raise click.UsageError("give a QUESTION, or --batch FILE --json")
    try:
        text = validate_question(question)
    except QuestionError as error:
        raise click.ClickException(str(error)) from error
    with opened(ctx) as index:
        answer = index.ask(text, top=top, scopes=scopes, window=window)
        shown = answer.results[0].paragraph_id if explain and answer.results else None
        explanation = None if shown is None else index.explain(text, shown, scopes, window)
    if as_json:
        data = answer.to_json()
        if explain:
            data["explanation"] = None if explanation is None else explanation.to_json()
        click.echo(json.dumps(data, ensure_ascii=False, indent=2))
        return
    print_answer(answer)
    if explain:
        print_explanation(explanation)


@cli.command()
@click.argument("words", nargs=-1)
@click.option("--server", help="Also list this Discord server's own sources.")
@click.option("--since", help=_SINCE_HELP)
@click.option("--until", help=_UNTIL_HELP)
@click.option("--json", "as_json", is_flag=True, help="Print the timeline as JSON.")
@click.pass_context
def timeline(
    ctx: click.Context,
    words: tuple[str, ...],
    server: str | None,
    since: str | None,
    until: str | None,
    as_json: bool,
) -> None:
    """The story's sources in date order, each with one sentence; with WORDS, only sources holding them."""
    window = window_from(since, until)
    about = " ".join(words) or None
    with opened(ctx) as index:
        try:
            entries = index.timeline(view_scopes(server or None), about, window)
        except QuestionError as error:
            raise click.ClickException(str(error)) from error
    if as_json:
        click.echo(json.dumps([entry.to_json() for entry in entries], ensure_ascii=False, indent=2))
    else:
        print_timeline(entries, about)


@cli.command()
@click.argument("sources", nargs=-1, required=True)
@click.option("--server", help="Add to this Discord server's own sources instead of the shared ones.")
@click.option("--verbose", "-v", is_flag=True, help="Also print a line per article, and every failure.")
@click.pass_context
def add(ctx: click.Context, sources: tuple[str, ...], server: str | None, verbose: bool) -> None:
    """Add links to articles (http/https) and text, Markdown, HTML or JSONL files or directories."""
    from index.web.remote import is_link  # noqa: PLC0415 (index.web.remote loads aiohttp; `ask` must not)

    started = time.perf_counter()
    links = [source for source in sources if is_link(source)]
    paths = [Path(source) for source in sources if not is_link(source)]
    articles, failed = _read_links(links) if links else ([], [])
    scope = scope_for(server)
    with opened(ctx) as index, progress_bar("Indexing articles") as progress:
        # --verbose lines are printed as articles are stored: the report keeps only the first few.
        on_stored = print_stored if verbose else None
        report = index.add_paths(paths, scope, progress, on_stored) if paths else AddReport()
        if articles:
            fetched = index.add_articles(articles, scope)
            for kind in STORED_KINDS:
                for record in fetched.records(kind) if verbose else ():
                    print_stored(kind, record)
            report = report.merged(fetched)
    report = replace(report, failed=(*failed, *report.failed))
    print_add_report(report, time.perf_counter() - started, verbose=verbose)
    if report.failed:
        ctx.exit(1)


@cli.command()
@click.argument("source_id")
@click.pass_context
def remove(ctx: click.Context, source_id: str) -> None:
    """Remove the source SOURCE_ID (see `storybot sources`)."""
    with opened(ctx) as index:
        record = index.remove(source_id)
    click.echo(f"removed {record.id}: {record.title} ({paragraphs(record.paragraphs)})")


@cli.command()
@click.option("--server", help="Only this Discord server's own sources.")
@click.option("--json", "as_json", is_flag=True, help="Print the sources as JSON.")
@click.pass_context
def sources(ctx: click.Context, server: str | None, as_json: bool) -> None:
    """List the indexed sources (where each came from, when fetched, status) and the followed feeds."""
    scopes = [scope_for(server)] if server else None
    # Sources are printed as they are read from the database, never gathered into one list first.
    with opened(ctx) as index:
        if as_json:
            print_sources_json(index.each_source(scopes))
            return
        listed = False
        for record in index.each_source(scopes):
            click.echo(source_line(record))
            listed = True
        feeds = index.feeds.followed(scopes)
    if not listed:
        click.echo("no sources: `storybot add PATH` adds one")
    if feeds:
        click.echo("followed feeds:")
    for feed in feeds:
        click.echo(feed_line(feed))


@cli.command()
@click.option("--guild", "guild", metavar="ID", help="Only this Discord server's own sources.")
@click.option("--shared", is_flag=True, help="Only the shared sources (every server and DM searches them).")
@click.pass_context
def reindex(ctx: click.Context, guild: str | None, shared: bool) -> None:
    """Re-read the sources from where they came (links fetched again) and rebuild the index: every source,
    or one server's (--guild) or the shared ones (--shared). One reindex of a scope runs at a time, whether
    the bot or this command runs it."""
    from index.web.remote import link_loader  # noqa: PLC0415 (aiohttp loads only for commands that fetch)

    if guild is not None and shared:
        raise click.UsageError("give --guild ID or --shared, not both")
    if guild is not None and not guild.strip().isdigit():
        raise click.UsageError(f"--guild takes a Discord server id (digits), not {guild!r}")
    lease_scope = guild_scope(guild.strip()) if guild is not None else SHARED_SCOPE if shared else EVERYTHING
    scopes = None if lease_scope == EVERYTHING else [lease_scope]
    loader = link_loader(fetch_policy_from_env())
    holder = f"storybot reindex on {socket.gethostname()} (pid {os.getpid()})"
    with (
        opened(ctx) as index,
        ReindexLeases(index.path) as leases,
        leases.holding(lease_scope, holder),
        progress_bar("Reading sources again") as progress,
    ):
        report = index.reindex(progress=progress, load=loader, scopes=scopes)
    click.echo(
        f"reindexed {counted(report.sources, 'source')}, {paragraphs(report.paragraphs)}: "
        f"{report.added} added, {report.changed} changed, {report.removed} removed in {report.seconds:.2f}s"
    )
    for reason in report.failure_reasons():
        click.echo(f"stale (kept the last good copy): {reason}", err=True)
    for origin, scope in report.kept_newer:
        click.echo(f"changed while reindexing; kept the newer: {origin} ({scope})", err=True)
    if report.rebuilt:
        click.echo(
            f"rebuilt the postings and statistics from the paragraphs ({len(report.rebuilt)} problems)",
            err=True,
        )


@cli.command()
@click.pass_context
def check(ctx: click.Context) -> None:
    """Check the database: SQLite's integrity check and storybot's own invariants (exit 1 if broken)."""
    db: Path = ctx.obj["db"]
    if not db.exists():
        raise click.ClickException(f"no database at {db}: nothing to check")
    try:
        # Without the built-in story: a check adds nothing to what it checks.
        with StoryIndex(db, with_builtin_story=False) as index:
            report = index.check()
    except DamagedDatabase as error:
        # Damaged past opening: that is the check's finding, not an error of the command.
        report = CheckReport(sqlite_problems=(f"SQLite cannot read it: {error.detail}",))
    except StorybotError as error:
        raise click.ClickException(str(error)) from error
    if report.ok:
        click.echo(f"{db}: ok (SQLite's integrity check and storybot's invariants)")
        return
    for problem in (*report.sqlite_problems, *report.invariant_problems):
        click.echo(problem)
    remedy = []
    if report.sqlite_problems:
        remedy.append(f"{len(report.sqlite_problems)} found by SQLite: restore a backup")
    if report.invariant_problems:
        remedy.append(
            f"{len(report.invariant_problems)} in postings or statistics: `storybot reindex` rebuilds them"
        )
    click.echo(f"{db}: damaged; {'; '.join(remedy)}", err=True)
    ctx.exit(1)


@cli.command()
@click.argument("feed")
@click.option("--server", help="Index its articles into this Discord server's sources, not the shared ones.")
@click.option("--channel", type=int, help="A Discord channel id where the bot announces new articles.")
@click.pass_context
def follow(ctx: click.Context, feed: str, server: str | None, channel: int | None) -> None:
    """Follow the RSS or Atom FEED: its articles are indexed now, and new ones when the bot polls it."""
    from index.feeds import FeedPoller  # noqa: PLC0415 (aiohttp loads only for commands that fetch)

    policy = fetch_policy_from_env()
    with opened(ctx) as index:
        try:
            report = asyncio.run(FeedPoller(index, policy).follow(feed, scope_for(server), channel))
        except SourceError as error:
            raise click.ClickException(str(error)) from error
    click.echo(f"following {report.feed.title or feed} ({feed}) for {_where(server)}")
    for record in report.indexed:
        click.echo(f"indexed {record.id}: {record.title} ({paragraphs(record.paragraphs)})")
    for link, reason in report.failed:
        click.echo(f"not indexed yet (tried again when the feed changes): {link}: {reason}", err=True)


@cli.command()
@click.argument("feed")
@click.option("--server", help="The Discord server that follows it (default: the shared sources).")
@click.pass_context
def unfollow(ctx: click.Context, feed: str, server: str | None) -> None:
    """Stop following FEED; the articles it brought stay indexed."""
    with opened(ctx) as index:
        record = index.feeds.unfollow(feed, [scope_for(server)])
    click.echo(f"stopped following {record.title or record.url} ({record.url})")


@cli.command()
@click.pass_context
def stats(ctx: click.Context) -> None:
    """Show the size of the index."""
    with opened(ctx) as index:
        info = index.stats()
    click.echo(f"database: {index.path}")
    for name, value in vars(info).items():
        click.echo(f"{name.replace('_', ' ')}: {value if value is not None else '-'}")


@cli.command()
def run() -> None:
    """Run the Discord bot (settings from the environment and .env, or --env-file)."""
    from bot.discord_app.runner import main as run_bot  # noqa: PLC0415 (only `run` may load discord.py)

    run_bot(dict(os.environ))


def main() -> None:
    """Console entry point: dispatch, reading `.env` from the working directory (or --env-file) once."""
    cli(prog_name="storybot", obj={FIND_DOTENV: True})


def _read_links(links: list[str]) -> tuple[list[Article], list[tuple[str, str]]]:
    """Fetch and read each link; the failures as (link, reason) so the other sources are still added."""
    from index.web.remote import read_link  # noqa: PLC0415 (aiohttp loads only for commands that fetch)

    policy = fetch_policy_from_env()

    async def read_all() -> tuple[list[Article], list[tuple[str, str]]]:
        articles: list[Article] = []
        failed: list[tuple[str, str]] = []
        for link in links:
            try:
                articles.extend(await read_link(link, policy))
            except SourceError as error:
                failed.append((link, str(error)))
        return articles, failed

    return asyncio.run(read_all())


def _where(server: str | None) -> str:
    return f"server {server}" if server else "the shared sources"


def _answer_json(
    index: StoryIndex, question: str, top: int, scopes: tuple[str, ...], window: DateWindow | None
) -> dict[str, Any]:
    try:
        return index.ask(question, top=top, scopes=scopes, window=window).to_json()
    except DatabaseError:
        raise  # the whole batch stops with one line: no later question can be answered either
    except StorybotError as error:
        return Answer(question, False, str(error), ()).to_json()
