"""`storybot health`, `status` and `backup`: what an operator (or a container's HEALTHCHECK) runs beside the
bot, with the exit codes and the one-line errors they promise; and where the settings come from."""

from __future__ import annotations

import json
import os
import sqlite3
import time
from contextlib import closing
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from bot.cli import cli
from index import HEARTBEAT_SETTING, Article, Heartbeat, StoryIndex, heartbeat_setting
from tests.bot.cli.test_cli import assert_one_line_error, storybot


def _beat(
    db: Path, state: str, seconds_ago: float, started_ago: float = 600.0, key: str = HEARTBEAT_SETTING
) -> None:
    now = time.time()
    with StoryIndex(db) as index:
        heartbeat = Heartbeat(state, now - seconds_ago, now - started_ago, 0.05)  # type: ignore[arg-type]
        index.set_setting(key, heartbeat.to_setting())


# -- health ---------------------------------------------------------------------------------------


def test_health_is_ok_for_a_database_that_answers_and_no_bot(story_index: StoryIndex) -> None:
    result = storybot(story_index.path, "health")

    assert result.exit_code == 0, result.output
    assert result.stdout == f"healthy: {story_index.path} answers (15 paragraphs); no bot is running\n"


def test_health_never_creates_a_missing_database(db_path: Path) -> None:
    assert_one_line_error(storybot(db_path, "health"), f"unhealthy: no database at {db_path}")
    assert not db_path.exists()


def test_health_fails_on_a_file_that_is_not_a_database(tmp_path: Path) -> None:
    junk = tmp_path / "junk.db"
    junk.write_bytes(b"not SQLite at all" * 100)
    assert_one_line_error(storybot(junk, "health"), "unhealthy: ")


def test_health_is_ok_while_the_bot_beats_and_after_it_stopped(db_path: Path) -> None:
    _beat(db_path, "connected", seconds_ago=10)
    beating = storybot(db_path, "health")
    _beat(db_path, "stopped", seconds_ago=3600)
    stopped = storybot(db_path, "health")

    assert beating.exit_code == 0 and "the bot is connected (heartbeat 10 s ago)" in beating.stdout
    assert stopped.exit_code == 0 and "no bot is running" in stopped.stdout


def test_health_fails_when_the_running_bot_stopped_beating(db_path: Path) -> None:
    _beat(db_path, "connected", seconds_ago=200)
    assert_one_line_error(
        storybot(db_path, "health"),
        "unhealthy: the bot's last gateway heartbeat was 200 s ago (more than 90 s)",
    )
    assert storybot(db_path, "health", "--max-age", "300").exit_code == 0


def test_health_fails_when_the_bot_never_reached_discord(db_path: Path) -> None:
    _beat(db_path, "starting", seconds_ago=30)
    assert storybot(db_path, "health").stdout.endswith("the bot is starting\n")
    _beat(db_path, "starting", seconds_ago=120)
    assert_one_line_error(
        storybot(db_path, "health"), "unhealthy: the bot started 120 s ago and has not connected to Discord"
    )


def test_each_shard_process_is_judged_by_its_own_heartbeat(db_path: Path) -> None:
    # Two processes share the database: shard 0 beats, shard 1 was killed and beats no more.
    _beat(db_path, "connected", seconds_ago=5, key=heartbeat_setting((0,)))
    _beat(db_path, "connected", seconds_ago=400, key=heartbeat_setting((1,)))

    zero = storybot(db_path, "health", env={"SHARD_COUNT": "2", "SHARD_IDS": "0"})
    one = storybot(db_path, "health", env={"SHARD_COUNT": "2", "SHARD_IDS": "1"})
    unsharded = storybot(db_path, "health", env={"SHARD_IDS": ""})

    assert zero.exit_code == 0 and "the bot is connected (heartbeat 5 s ago)" in zero.stdout
    assert_one_line_error(one, "unhealthy: the bot's last gateway heartbeat was 400 s ago")
    assert unsharded.exit_code == 0 and "no bot is running" in unsharded.stdout
    assert heartbeat_setting((1, 0)) == heartbeat_setting((0, 1)) != heartbeat_setting(None)
    assert heartbeat_setting(None) == HEARTBEAT_SETTING


def test_health_names_malformed_shard_ids(story_index: StoryIndex) -> None:
    result = storybot(story_index.path, "health", env={"SHARD_IDS": "zero"})
    assert_one_line_error(result, "SHARD_IDS: must be comma-separated shard numbers")


def test_health_rejects_a_nonsense_max_age(story_index: StoryIndex) -> None:
    result = storybot(story_index.path, "health", "--max-age", "0")
    assert result.exit_code == 2 and "--max-age" in result.stderr


# -- status ---------------------------------------------------------------------------------------


def test_status_prints_the_figures_of_admin_status(story_index: StoryIndex) -> None:
    story_index.record_question(True, 0.012)
    story_index.record_question(False, 0.020)
    story_index.record_question(True, 0.030)
    story_index.record_feedback("why?", [1], 1, "someone")

    result = storybot(story_index.path, "status")

    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert [line.split(": ", 1)[0] for line in lines] == [
        "Index", "Last reindex", "Questions", "Feedback", "/ask latency", "Uptime",
    ]  # fmt: skip
    assert lines[0].startswith("Index: 1 source · 15 paragraphs · ")
    assert lines[1:] == [
        "Last reindex: never",
        "Questions: 2 answered · 1 not answered",
        "Feedback: 👍 1 · 👎 0",
        "/ask latency: p50 20 ms · p95 30 ms",
        "Uptime: not running",
    ]


def test_status_shows_the_running_bots_uptime(db_path: Path) -> None:
    _beat(db_path, "connected", seconds_ago=5, started_ago=3 * 3600 + 125)
    assert storybot(db_path, "status").stdout.splitlines()[-1] == "Uptime: 3h 2m 5s"


def test_status_json_has_the_numbers(story_index: StoryIndex) -> None:
    story_index.record_question(True, 0.25)

    figures = json.loads(storybot(story_index.path, "status", "--json").stdout)

    assert figures["index"]["sources"] == 1 and figures["index"]["paragraphs"] == 15
    assert figures["usage"] == {
        "answered": 1,
        "unanswered": 0,
        "thumbs_up": 0,
        "thumbs_down": 0,
        "latency_p50": 0.25,
        "latency_p95": 0.25,
    }
    assert figures["uptime_seconds"] is None


# -- backup ---------------------------------------------------------------------------------------


def test_backup_copies_the_live_database_with_what_the_wal_still_holds(db_path: Path, tmp_path: Path) -> None:
    target = tmp_path / "backup.db"
    with StoryIndex(db_path) as live:  # still open: its last write is in the WAL, not yet in the file
        late = Article(
            "late", "Late news", ("Zebras crossed the river at dawn, the rangers said.",), "test:late"
        )
        live.add_articles([late])
        assert Path(f"{db_path}-wal").stat().st_size > 0
        result = storybot(db_path, "backup", str(target))

    assert result.exit_code == 0, result.output
    assert result.stdout.startswith(f"backed up {db_path} to {target} (")
    # One self-contained file: nothing beside it, not in WAL mode.
    assert sorted(path.name for path in tmp_path.iterdir() if path.name.startswith("backup")) == ["backup.db"]
    with closing(sqlite3.connect(target)) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "delete"
    with StoryIndex(target) as copy:
        assert [source.title for source in copy.sources()][-1] == "Late news"
        assert copy.ask("When did the zebras cross the river?").results[0].text.startswith("Zebras crossed")
        assert copy.stats().paragraphs == 16


def test_backup_never_replaces_a_file_unless_told(story_index: StoryIndex, tmp_path: Path) -> None:
    target = tmp_path / "precious.db"
    target.write_text("keep me")

    assert_one_line_error(storybot(story_index.path, "backup", str(target)), "exists; pass --overwrite")
    assert target.read_text() == "keep me"
    assert storybot(story_index.path, "backup", "--overwrite", str(target)).exit_code == 0
    with StoryIndex(target) as copy:
        assert copy.stats().paragraphs == 15


@pytest.mark.parametrize(
    ("target", "fragment"),
    [("storybot.db", "is the database itself"), ("nope/b.db", "no such folder")],
)
def test_backup_refuses_what_cannot_work(story_index: StoryIndex, target: str, fragment: str) -> None:
    assert_one_line_error(
        storybot(story_index.path, "backup", str(story_index.path.parent / target)), fragment
    )


def test_backup_needs_a_database(tmp_path: Path) -> None:
    assert_one_line_error(
        storybot(tmp_path / "absent.db", "backup", str(tmp_path / "b.db")), "no database at"
    )
    assert not (tmp_path / "absent.db").exists()


# -- where the settings come from: --db, the environment, --env-file or ./.env, the defaults -------------


def _invoke_main(tmp_path: Path, *args: str, env: dict[str, str] | None = None) -> Result:
    """`storybot ARGS` as the console script runs it (it looks for ./.env), in `tmp_path`."""
    previous = Path.cwd()
    os.chdir(tmp_path)
    try:
        return CliRunner().invoke(cli, list(args), obj={"find_dotenv": True}, env=env)
    finally:
        os.chdir(previous)


@pytest.fixture
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """STORYBOT_DB and DISCORD_TOKEN unset now, and whatever a .env file sets in this test undone after."""
    for key in ("STORYBOT_DB", "DISCORD_TOKEN"):
        monkeypatch.delenv(key, raising=False)


@pytest.mark.usefixtures("clean_environment")
def test_the_dotenv_of_the_working_directory_is_read(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text(f"STORYBOT_DB={tmp_path / 'from-dotenv.db'}\n")

    result = _invoke_main(tmp_path, "stats")

    assert result.exit_code == 0, result.output
    assert result.stdout.startswith(f"database: {tmp_path / 'from-dotenv.db'}\n")


@pytest.mark.usefixtures("clean_environment")
def test_the_flag_beats_the_environment_which_beats_the_file(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text(f"STORYBOT_DB={tmp_path / 'file.db'}\n")
    environment = {"STORYBOT_DB": str(tmp_path / "environment.db")}

    from_environment = _invoke_main(tmp_path, "stats", env=environment)
    from_flag = _invoke_main(tmp_path, "--db", str(tmp_path / "flag.db"), "stats", env=environment)

    assert from_environment.stdout.startswith(f"database: {tmp_path / 'environment.db'}\n")
    assert from_flag.stdout.startswith(f"database: {tmp_path / 'flag.db'}\n")


@pytest.mark.usefixtures("clean_environment")
def test_env_file_is_read_instead_of_the_dotenv(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text(f"STORYBOT_DB={tmp_path / 'dotenv.db'}\n")
    chosen = tmp_path / "production.env"
    chosen.write_text(f"# the production settings\nSTORYBOT_DB={tmp_path / 'production.db'}\n")

    result = _invoke_main(tmp_path, "--env-file", str(chosen), "stats")

    assert result.stdout.startswith(f"database: {tmp_path / 'production.db'}\n")


@pytest.mark.usefixtures("clean_environment")
def test_a_missing_or_unreadable_env_file_is_one_line(tmp_path: Path) -> None:
    missing = _invoke_main(tmp_path, "--env-file", str(tmp_path / "absent.env"), "stats")
    latin1 = tmp_path / "latin1.env"
    latin1.write_bytes(b"STORYBOT_DB=/tmp/caf\xe9.db\n")
    undecodable = _invoke_main(tmp_path, "--env-file", str(latin1), "stats")

    for result in (missing, undecodable):
        assert result.exit_code == 2
        assert "Traceback" not in result.output
        assert "--env-file" in result.stderr
    assert "cannot be read as UTF-8 text" in undecodable.stderr


@pytest.mark.usefixtures("clean_environment")
def test_tests_and_library_callers_never_read_a_dotenv(tmp_path: Path) -> None:
    # Without the console script's flag, a .env in the working directory is left alone.
    (tmp_path / ".env").write_text(f"STORYBOT_DB={tmp_path / 'dotenv.db'}\n")
    previous = Path.cwd()
    os.chdir(tmp_path)
    try:
        result = CliRunner().invoke(cli, ["--db", str(tmp_path / "x.db"), "stats"])
    finally:
        os.chdir(previous)
    assert result.exit_code == 0
    assert "STORYBOT_DB" not in os.environ
