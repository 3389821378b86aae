"""Reindex leases on a real SQLite file: one per scope, `everything` overlapping all, expiry, renewal."""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

import pytest

from index.engine.leases import EVERYTHING, LeaseTaken, ReindexLeases, describe_scope
from index.errors import DatabaseError


class Clock:
    """Wall-clock seconds a test moves by hand."""

    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


def _leases(db_path: Path, clock: Clock) -> ReindexLeases:
    return ReindexLeases(db_path, ttl=60.0, clock=clock)


def test_a_second_asker_is_told_who_holds_the_lease_and_since_when(db_path: Path, clock: Clock) -> None:
    with _leases(db_path, clock) as bot, _leases(db_path, clock) as cli:
        bot.acquire("guild:42", "the bot (shards 0, pid 7)")
        with pytest.raises(LeaseTaken) as taken:
            cli.acquire("guild:42", "storybot reindex (pid 8)")
    assert taken.value.held.holder == "the bot (shards 0, pid 7)"
    assert str(taken.value) == (
        "a reindex of server 42's sources is already running, started by the bot (shards 0, pid 7) "
        "at 2027-01-15 08:00:00 UTC; try again when it has finished"
    )


def test_different_scopes_reindex_side_by_side(db_path: Path, clock: Clock) -> None:
    with _leases(db_path, clock) as leases:
        leases.acquire("guild:1", "one")
        leases.acquire("guild:2", "two")
        leases.acquire("shared", "three")
        assert [lease.holder for lease in leases.held()] == ["one", "two", "three"]


def test_everything_overlaps_every_scope_both_ways(db_path: Path, clock: Clock) -> None:
    with _leases(db_path, clock) as leases:
        scoped = leases.acquire("guild:1", "a server admin")
        with pytest.raises(LeaseTaken, match="server 1's sources"):
            leases.acquire(EVERYTHING, "an owner")
        leases.release(scoped)
        leases.acquire(EVERYTHING, "an owner")
        with pytest.raises(LeaseTaken, match=r"every source .* an owner"):
            leases.acquire("shared", "another owner")


def test_a_released_lease_can_be_taken_again(db_path: Path, clock: Clock) -> None:
    with _leases(db_path, clock) as leases:
        leases.release(leases.acquire("shared", "first"))
        assert leases.acquire("shared", "second").holder == "second"


def test_a_lease_its_holder_stopped_renewing_lapses_after_the_ttl(db_path: Path, clock: Clock) -> None:
    with _leases(db_path, clock) as leases:
        leases.acquire("shared", "a killed process")
        clock.now += 59
        with pytest.raises(LeaseTaken):
            leases.acquire("shared", "a patient admin")
        clock.now += 1
        assert leases.acquire("shared", "a patient admin").holder == "a patient admin"


def test_renewing_keeps_the_lease_and_a_lapsed_one_cannot_be_renewed(db_path: Path, clock: Clock) -> None:
    with _leases(db_path, clock) as leases:
        lease = leases.acquire("shared", "a slow reindex")
        clock.now += 50
        assert leases.renew(lease) is True
        clock.now += 50  # 100 s after it was taken, 50 after its renewal: still held
        with pytest.raises(LeaseTaken):
            leases.acquire("shared", "someone else")
        clock.now += 11
        taken_over = leases.acquire("shared", "someone else")
        assert leases.renew(lease) is False
        leases.release(lease)  # the old holder's release leaves the new holder's lease alone
        assert leases.held() == [taken_over]


def test_holding_renews_from_a_thread_and_releases_at_the_end(db_path: Path, clock: Clock) -> None:
    renewed = threading.Event()
    with _leases(db_path, clock) as leases:
        original_renew = leases.renew

        def renew_and_say(lease):  # type: ignore[no-untyped-def]
            result = original_renew(lease)
            renewed.set()
            return result

        leases.renew = renew_and_say  # type: ignore[method-assign]
        with leases.holding("guild:5", "the bot", renew_every=0.01) as lease:
            assert renewed.wait(timeout=10)
            clock.now += 30
            renewed.clear()
            assert renewed.wait(timeout=10)
            (held,) = leases.held()
            assert held.expires == clock.now + 60
            assert held.since == lease.since
        assert leases.held() == []


def test_holding_refuses_before_running_the_block(db_path: Path, clock: Clock) -> None:
    ran = False
    with _leases(db_path, clock) as leases:
        leases.acquire("shared", "the CLI")
        with pytest.raises(LeaseTaken), leases.holding("shared", "the bot"):
            ran = True
    assert ran is False


@pytest.mark.parametrize(
    ("scope", "words"),
    [(EVERYTHING, "every source"), ("shared", "the shared sources"), ("guild:9", "server 9's sources")],
)
def test_scopes_in_words(scope: str, words: str) -> None:
    assert describe_scope(scope) == words


def test_leases_live_beside_the_database_so_a_long_write_cannot_block_them(
    db_path: Path, clock: Clock
) -> None:
    writer = sqlite3.connect(db_path, isolation_level=None)
    writer.execute("CREATE TABLE IF NOT EXISTS busy (x)")
    writer.execute("BEGIN IMMEDIATE")  # a reindex's rebuild holding the database's write lock
    try:
        with _leases(db_path, clock) as leases:
            lease = leases.acquire("shared", "a reindex")
            assert leases.renew(lease) is True
            assert leases.path == db_path.resolve().with_name(db_path.name + "-leases")
    finally:
        writer.execute("ROLLBACK")
        writer.close()


def test_an_unusable_lease_file_is_a_database_error(tmp_path: Path, clock: Clock) -> None:
    (tmp_path / "storybot.db-leases").mkdir()  # a folder where the file should be
    with pytest.raises(DatabaseError, match=r"cannot use the reindex lease file .*storybot\.db-leases"):
        _leases(tmp_path / "storybot.db", clock)
