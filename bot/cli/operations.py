"""The operator's commands for a deployed bot: `storybot health`, `storybot status` and `storybot backup`.

They read what the running bot keeps in the database (its heartbeat, the question log), so they work from
another process: a container's HEALTHCHECK, a cron job, a monitoring script. `health` never creates a
database: a missing file is unhealthy, not a new empty index.
"""

from __future__ import annotations

import json
import os
import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import click

from bot.config import shard_ids
from index import (
    DEFAULT_MAX_AGE_SECONDS,
    Heartbeat,
    Status,
    StorybotError,
    StoryIndex,
    heartbeat_setting,
)


def _heartbeat_key() -> str:
    """The setting this host's bot keeps its heartbeat under: its own shards' (`SHARD_IDS`), as `storybot
    run` with the same environment records it; shard processes sharing a database each have their own."""
    try:
        return heartbeat_setting(shard_ids(os.environ))
    except ValueError as error:
        raise click.ClickException(f"bad settings in the environment or .env: SHARD_IDS: {error}") from error


@contextmanager
def _opened(path: Path, problem: str = "") -> Iterator[StoryIndex]:
    """The index at `path`; storybot's and SQLite's errors become one line (after `problem`)."""
    try:
        with StoryIndex(path) as index:
            yield index
    except (StorybotError, sqlite3.Error) as error:
        raise click.ClickException(f"{problem}{error}") from error


@click.command()
@click.option(
    "--max-age",
    type=click.FloatRange(min=1),
    default=DEFAULT_MAX_AGE_SECONDS,
    show_default=True,
    help="Seconds the running bot's last gateway heartbeat may be old.",
)
@click.pass_obj
def health(obj: dict[str, Any], max_age: float) -> None:
    """Exit 0 if the database opens and answers and, while the bot runs, its gateway heartbeat is recent."""
    database: Path = obj["db"]
    key = _heartbeat_key()
    if not database.is_file():
        raise click.ClickException(f"unhealthy: no database at {database}")
    with _opened(database, "unhealthy: ") as index:
        stats = index.stats()
        heartbeat = Heartbeat.from_setting(index.get_setting(key))
    now = time.time()
    problem = heartbeat.problem(now, max_age) if heartbeat is not None else None
    if problem is not None:
        raise click.ClickException(f"unhealthy: {problem}")
    if heartbeat is not None and heartbeat.state == "connected":
        bot = f"the bot is connected (heartbeat {now - heartbeat.at:.0f} s ago)"
    elif heartbeat is not None and heartbeat.state == "starting":
        bot = "the bot is starting"
    else:
        bot = "no bot is running"
    click.echo(f"healthy: {database} answers ({stats.paragraphs} paragraphs); {bot}")


@click.command()
@click.option("--json", "as_json", is_flag=True, help="Print the figures as JSON (seconds, bytes, counts).")
@click.pass_obj
def status(obj: dict[str, Any], as_json: bool) -> None:
    """Show what `/admin status` shows: the index, questions, feedback, answer latency, the bot's uptime."""
    key = _heartbeat_key()
    with _opened(obj["db"]) as index:
        stats, usage = index.stats(), index.usage()
        heartbeat = Heartbeat.from_setting(index.get_setting(key))
    report = Status(stats, usage, heartbeat.uptime(time.time()) if heartbeat is not None else None)
    if as_json:
        click.echo(json.dumps(report.to_json(), ensure_ascii=False, indent=2))
        return
    for name, value in report.figures():
        click.echo(f"{name}: {value}")


@click.command()
@click.argument("target", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--overwrite", is_flag=True, help="Replace TARGET if it exists.")
@click.pass_obj
def backup(obj: dict[str, Any], target: Path, overwrite: bool) -> None:
    """Write a consistent copy of the database to TARGET, safe while the bot runs and writes."""
    database: Path = obj["db"]
    if not database.is_file():
        raise click.ClickException(f"no database at {database}")
    if target.exists() and target.resolve() == database.resolve():
        raise click.ClickException(f"{target} is the database itself; name a new file")
    if target.exists() and not overwrite:
        raise click.ClickException(f"{target} exists; pass --overwrite to replace it")
    if not target.parent.is_dir():
        raise click.ClickException(f"{target.parent}: no such folder")
    with _opened(database) as index:
        index.backup(target)
    click.echo(f"backed up {database} to {target} ({target.stat().st_size:,} bytes)")
