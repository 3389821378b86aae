"""How counts read in replies: "1 source", never "1 sources" (`replies.wording`, and the CLI's copy)."""

from __future__ import annotations

from bot.cli.output import counted as cli_counted
from bot.discord_app.replies import admin_sources_reply, followed_reply, status_reply
from index import FeedRecord, IndexStats, SourceRecord, Usage, counted
from index.models import PollReport

RECORD = SourceRecord(
    id="gate",
    title="Gate notes",
    origin="upload:gate.md",
    scope="guild:1",
    paragraphs=1,
    content_hash="0" * 64,
    added_at="2024-05-27T08:00:00+00:00",
    updated_at="2024-05-27T08:00:00+00:00",
)
FEED = FeedRecord(
    id=1,
    url="https://example.com/feed.rss",
    scope="guild:1",
    channel_id=None,
    title="Updates",
    added_at="2024-05-27T08:00:00+00:00",
)


def test_a_count_of_one_is_singular_and_any_other_plural() -> None:
    for count_of in (counted, cli_counted):
        assert [count_of(n, "source") for n in (0, 1, 2, 1234)] == [
            "0 sources",
            "1 source",
            "2 sources",
            "1,234 sources",
        ]
    assert counted(1, "passage") == "1 passage" and counted(2, "match", "matches") == "2 matches"


def test_replies_that_count_one_thing_say_it_once() -> None:
    listed = admin_sources_reply([RECORD], [FEED], "this server")
    followed = followed_reply(PollReport(FEED, indexed=(RECORD,)), "this server's sources", 1)
    stats = IndexStats(1, 1, 1, 1, 1_048_576, 4, None, None)
    status = status_reply(stats, Usage(1, 0, 0, 0, None, None), 60)

    assert listed.embed is not None and listed.embed.footer.text == "1 source · 1 followed feed"
    assert " · 1 paragraph\n" in (listed.embed.description or "")
    assert followed == (
        "Following **Updates** for this server's sources: 1 article indexed now. New ones are checked every "
        "minute."
    )
    assert (
        status.embed is not None
        and status.embed.fields[0].value == "1 source · 1 paragraph · 1 term · 1.0 MB"
    )
