"""The `storybot` command line: run the bot, and do its offline work (ask, add, reindex) on the same index.

Each command opens the database, validates its input, calls one `StoryIndex` method and prints the result.
Expected errors become one line on stderr and exit status 1; `storybot ask` never imports discord.py.
What the commands print is in `bot.cli.output`.
"""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

import click
from dotenv import find_dotenv, load_dotenv

from bot.cli.operations import backup, health, status
from bot.cli.output import (
    feed_line,
    paragraphs,
    print_add_report,
    print_answer,
    progress_bar,
    source_json,
    source_line,
)
from bot.config import default_database, fetch_policy
from index import (
    DEFAULT_TOP,
    SHARED_SCOPE,
    AddReport,
    Answer,
    Article,
    QuestionError,
    SourceError,
    StorybotError,
    StoryIndex,
    guild_scope,
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


@contextmanager
def opened(ctx: click.Context) -> Iterator[StoryIndex]:
    """Open the index named by --db, turning storybot's own errors into a clean message."""
    try:
        with StoryIndex(ctx.obj["db"]) as index:
            yield index
    except StorybotError as error:
        raise click.ClickException(str(error)) from error


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
    type=click.Path(dir_okay=False, path_type=Path),
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
    "--batch", type=click.File("r", encoding="utf-8"), help='JSONL of {"id", "question"}; needs --json.'
)
@click.option("--server", help="Also search this Discord server's own sources.")
@click.pass_context
def ask(
    ctx: click.Context,
    question: str | None,
    top: int,
    as_json: bool,
    batch: TextIO | None,
    server: str | None,
) -> None:
    """Answer QUESTION from the indexed articles."""
    scopes = view_scopes(server or None)
    if batch is not None:
        if question is not None or not as_json:
            raise click.UsageError("--batch takes no QUESTION and needs --json")
        requests = list(_batch_requests(batch))
        with opened(ctx) as index:
            for request_id, text in requests:
                click.echo(
                    json.dumps(
                        {"id": request_id, **_answer_json(index, text, top, scopes)}, ensure_ascii=False
                    )
                )
        return
    if question is None:
        raise click.UsageError("give a QUESTION, or --batch FILE --json")
    try:
        text = validate_question(question)
    except QuestionError as error:
        raise click.ClickException(str(error)) from error
    with opened(ctx) as index:
        answer = index.ask(text, top=top, scopes=scopes)
    if as_json:
        click.echo(json.dumps(answer.to_json(), ensure_ascii=False, indent=2))
    else:
        print_answer(answer)


@cli.command()
@click.argument("sources", nargs=-1, required=True)
@click.option("--server", help="Add to this Discord server's own sources instead of the shared ones.")
@click.pass_context
def add(ctx: click.Context, sources: tuple[str, ...], server: str | None) -> None:
    """Add links to articles (http/https) and text, Markdown, HTML or JSONL files or directories."""
    from index.web.remote import is_link  # noqa: PLC0415 (index.web.remote loads aiohttp; `ask` must not)

    links = [source for source in sources if is_link(source)]
    paths = [Path(source) for source in sources if not is_link(source)]
    articles, failed = _read_links(links) if links else ([], [])
    scope = scope_for(server)
    with opened(ctx) as index, progress_bar("Reading", len(paths)) as progress:
        report = index.add_paths(paths, scope=scope, progress=progress) if paths else AddReport()
        if articles:
            fetched = index.add_articles(articles, scope)
            report = AddReport(
                report.added + fetched.added,
                report.updated + fetched.updated,
                report.unchanged + fetched.unchanged,
                report.removed,
                report.failed,
            )
    report = AddReport(
        report.added, report.updated, report.unchanged, report.removed, (*failed, *report.failed)
    )
    print_add_report(report)
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
    with opened(ctx) as index:
        records = index.sources(scopes)
        feeds = index.feeds.followed(scopes)
    if as_json:
        click.echo(json.dumps([source_json(record) for record in records], ensure_ascii=False, indent=2))
        return
    if not records:
        click.echo("no sources: `storybot add PATH` adds one")
    for record in records:
        click.echo(source_line(record))
    if feeds:
        click.echo("followed feeds:")
    for feed in feeds:
        click.echo(feed_line(feed))


@cli.command()
@click.pass_context
def reindex(ctx: click.Context) -> None:
    """Re-read every source from where it came (links fetched again) and rebuild the index."""
    from index.web.remote import link_loader  # noqa: PLC0415 (aiohttp loads only for commands that fetch)

    loader = link_loader(fetch_policy_from_env())
    with opened(ctx) as index:
        total = len(index.sources())
        with progress_bar("Reindexing", total) as progress:
            report = index.reindex(progress=progress, load=loader)
    click.echo(
        f"reindexed {report.sources} sources, {report.paragraphs} paragraphs: {report.added} added, "
        f"{report.changed} changed, {report.removed} removed in {report.seconds:.2f}s"
    )
    for reason in report.failure_reasons():
        click.echo(f"stale (kept the last good copy): {reason}", err=True)


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


def _batch_requests(batch: TextIO) -> Iterator[tuple[Any, str]]:
    for number, line in enumerate(batch, start=1):
        if not line.strip():
            continue
        try:
            item = json.loads(line)
        except json.JSONDecodeError as error:
            raise click.ClickException(f"line {number}: not valid JSON ({error.msg})") from error
        if not isinstance(item, dict) or not isinstance(item.get("question"), str) or "id" not in item:
            raise click.ClickException(f'line {number}: expected {{"id": ..., "question": "..."}}')
        yield item["id"], item["question"]


def _answer_json(index: StoryIndex, question: str, top: int, scopes: tuple[str, ...]) -> dict[str, Any]:
    try:
        return index.ask(question, top=top, scopes=scopes).to_json()
    except StorybotError as error:
        return Answer(question, False, str(error), ()).to_json()
