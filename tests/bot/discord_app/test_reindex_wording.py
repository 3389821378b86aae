"""Reindex wording: progress and summary count sources, one source is "1 source", a holder is escaped."""

from __future__ import annotations

from bot.discord_app.replies import reindex_elsewhere, reindex_progress, reindex_running, reindex_summary
from index import Lease, ReindexReport


def test_progress_counts_sources_in_the_singular_too() -> None:
    assert (
        reindex_progress(0, 1, "this server's sources")
        == "Reindexing this server's sources… 0 of 1 source read."
    )
    assert reindex_progress(5, 1500) == "Reindexing every source… 5 of 1,500 sources read."


def test_the_summary_counts_the_same_unit() -> None:
    report = ReindexReport(sources=1, paragraphs=1, added=0, removed=0, changed=1, seconds=0.5)
    assert (
        reindex_summary(report)
        == "Reindex done in 0.50 s: 1 source, 1 paragraph; 0 added, 0 removed, 1 changed."
    )


def test_a_running_reindex_names_its_holder_escaped_and_its_start() -> None:
    held = Lease("guild:1", "*mod* with /admin reindex", since=1_800_000_000.0, expires=0.0, token="t")
    assert reindex_running("this server's sources", held) == (
        "A reindex of this server's sources is already running: \\*mod\\* with /admin reindex started it at "
        "2027-01-15 08:00:00 UTC. Try again when it has finished."
    )


def test_a_moved_line_names_its_server_and_fits() -> None:
    text = reindex_elsewhere("Story_Club", "x" * 3000)
    assert text.startswith("`/admin reindex` in Story\\_Club: xxx")
    assert len(text) <= 2000
