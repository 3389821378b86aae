"""`storybot reindex` scoped (--guild, --shared, everything), refused while another holds the lease."""

from __future__ import annotations

from pathlib import Path

from index import EVERYTHING, SHARED_SCOPE, ReindexLeases, StoryIndex
from tests.bot.cli.runs import storybot
from tests.conftest import write_jsonl

MOON = {"id": "moon", "title": "Moon base", "text": "Astronauts built a lunar base near the pole."}
SUN = {"id": "sun", "title": "Sun flare", "text": "A solar flare disturbed radio signals."}


def _servers(db_path: Path, tmp_path: Path) -> None:
    with StoryIndex(db_path) as index:  # the built-in story is the one shared source
        index.add_paths([write_jsonl(tmp_path / "one.jsonl", [MOON, SUN])], scope="guild:41")
        index.add_paths([write_jsonl(tmp_path / "two.jsonl", [MOON])], scope="guild:42")


def test_reindex_of_one_server_counts_its_sources_only(db_path: Path, tmp_path: Path) -> None:
    _servers(db_path, tmp_path)
    result = storybot(db_path, "reindex", "--guild", "41")
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("reindexed 2 sources, 2 paragraphs: 0 added, 0 changed, 0 removed in ")


def test_reindex_of_the_shared_sources(db_path: Path, tmp_path: Path) -> None:
    _servers(db_path, tmp_path)
    result = storybot(db_path, "reindex", "--shared")
    assert result.stdout.startswith("reindexed 1 source, 15 paragraphs: ")


def test_reindex_of_everything_is_the_default(db_path: Path, tmp_path: Path) -> None:
    _servers(db_path, tmp_path)
    assert storybot(db_path, "reindex").stdout.startswith("reindexed 4 sources, 18 paragraphs: ")


def test_a_running_reindex_is_named_with_its_start(db_path: Path, tmp_path: Path) -> None:
    _servers(db_path, tmp_path)
    with ReindexLeases(db_path, clock=lambda: 1_800_000_000.0) as leases:
        leases.acquire(EVERYTHING, "the bot (shards 1, pid 99)")
        result = storybot(db_path, "reindex", "--guild", "42")
    assert result.exit_code == 1
    assert result.stderr == (
        "Error: a reindex of every source is already running, started by the bot (shards 1, pid 99) at "
        "2027-01-15 08:00:00 UTC; try again when it has finished\n"
    )


def test_another_scopes_reindex_does_not_block(db_path: Path, tmp_path: Path) -> None:
    _servers(db_path, tmp_path)
    with ReindexLeases(db_path) as leases:
        leases.acquire(SHARED_SCOPE, "the bot")
        result = storybot(db_path, "reindex", "--guild", "42")
        assert result.exit_code == 0, result.output
        assert [lease.holder for lease in leases.held()] == ["the bot"]  # the CLI gave its own lease back


def test_guild_and_shared_together_are_refused(db_path: Path) -> None:
    result = storybot(db_path, "reindex", "--guild", "1", "--shared")
    assert result.exit_code == 2
    assert "give --guild ID or --shared, not both" in result.stderr


def test_a_guild_id_must_be_digits(db_path: Path) -> None:
    result = storybot(db_path, "reindex", "--guild", "story-club")
    assert result.exit_code == 2
    assert "--guild takes a Discord server id (digits), not 'story-club'" in result.stderr
