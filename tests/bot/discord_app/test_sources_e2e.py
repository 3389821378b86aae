"""End to end: sources from Discord (links, uploads, feeds) and per-server knowledge bases, through the real
discord.py client of `storybot run`, the fake Discord and a local web server, all on 127.0.0.1.

Two servers share one bot. A source an admin adds in server A is found by questions in A, not in B and not
in DMs; B's admins neither see it (`/admin sources`, autocomplete) nor remove it, even with its id typed in.
The bot reaches the local web server because the tests set STORYBOT_ALLOW_PRIVATE_URLS=127.0.0.0/8, as an
operator would; everything else private stays refused.
"""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest_asyncio

from bot.discord_app.admin import LINK_OR_FILE, NOT_OWNER_SHARED
from bot.discord_app.client import StoryBot
from bot.discord_app.picks import feed_key
from bot.discord_app.replies import (
    CHOICE_LIMIT,
    CONTENT_LIMIT,
    add_failed,
    added_reply,
    admin_sources_reply,
    announcement,
    embed_problems,
    feed_choice,
    followed_reply,
    removed_notice,
    source_choice,
    unknown_feed,
    unknown_source,
)
from index import SourceRecord, StoryIndex
from index.models import AddReport, FeedItem, FeedRecord, PollReport
from tests.bot.discord_app.harness import assert_clean, environ_for, running_bot
from tests.fakediscord import MANAGE_GUILD, FakeChannel, FakeDiscord, FakeGuild, FakeUser, MessageState
from tests.fakediscord import interactions as builders
from tests.fakediscord.state import InteractionRecord
from tests.webserver import SALTMARSH_PARAGRAPHS, SALTMARSH_TITLE, Feed, WebSite, article_page

TITLE = SALTMARSH_TITLE
PARAGRAPHS = SALTMARSH_PARAGRAPHS
QUESTION = "Why was the Saltmarsh tidal barrier delayed?"
NOT_FOUND = "I couldn't find that in the indexed articles."
VOTE_TITLE = "Councillors vote to finish the Saltmarsh barrier"
VOTE = (
    "Councillors voted 31 to 9 on Thursday to finish the Saltmarsh barrier rather than abandon it, after a "
    "four-hour debate in the town hall.",
    "The vote clears the way for the contractor, Northwave, to replace the cracked eastern gate over the "
    "summer, and to start a second round of flood trials in the autumn.",
    "Opponents of the scheme said the money would be better spent on raising the sea wall along the old "
    "harbour district, and promised to raise the matter again at the next budget meeting.",
)


@dataclass
class Servers:
    fake: FakeDiscord
    site: WebSite
    bot: StoryBot
    index: StoryIndex
    a: FakeGuild
    b: FakeGuild
    admin_a: FakeUser
    admin_b: FakeUser
    alice: FakeUser  # a member of A
    bob: FakeUser  # a member of B
    news: FakeChannel  # A's announcements channel

    @property
    def article_url(self) -> str:
        return self.site.url("/news/2024/05/saltmarsh-barrier.html")


@pytest_asyncio.fixture
async def servers(tmp_path: Path) -> AsyncIterator[Servers]:
    async with FakeDiscord() as fake, WebSite() as site:
        site.page("/news/2024/05/saltmarsh-barrier.html", article_page(TITLE, PARAGRAPHS))
        a = fake.add_guild("Harbour Club", channels=("general", "news"))
        b = fake.add_guild("Other Club")
        admin_a, admin_b = fake.add_user("ada"), fake.add_user("bea")
        alice, bob = fake.add_user("alice"), fake.add_user("bob")
        fake.add_member(a, admin_a, roles=[fake.add_role(a, "Mods", permissions=MANAGE_GUILD)])
        fake.add_member(b, admin_b, roles=[fake.add_role(b, "Mods", permissions=MANAGE_GUILD)])
        fake.add_member(a, alice)
        fake.add_member(b, bob)
        environ = environ_for(
            fake,
            tmp_path / "storybot.db",
            STORYBOT_ALLOW_PRIVATE_URLS="127.0.0.0/8",
            STORYBOT_FEED_POLL_MINUTES="0.01",
        )
        async with running_bot(fake, environ) as bot:
            news = a.text_channels[1]
            yield Servers(fake, site, bot, bot.story.index, a, b, admin_a, admin_b, alice, bob, news)


async def slash(
    servers: Servers, user: FakeUser, name: str, guild: FakeGuild | None, **options: Any
) -> MessageState:
    """Run a slash command and wait for its first finished message."""
    record = await servers.fake.invoke_slash(user, name, options, guild=guild)
    return await record.wait_for_message(lambda m: not m.loading)


async def reindex(servers: Servers, user: FakeUser, guild: FakeGuild) -> MessageState:
    record = await servers.fake.invoke_slash(user, "admin reindex", guild=guild)
    return await record.wait_for_message(lambda m: m.content.startswith("Reindex done"))


async def ask(servers: Servers, user: FakeUser, guild: FakeGuild | None) -> MessageState:
    return await slash(servers, user, "ask", guild, question=QUESTION)


async def choices(
    servers: Servers, user: FakeUser, guild: FakeGuild, name: str, option: str, typed: str
) -> list[Any]:
    record = await servers.fake.autocomplete(user, name, {option: typed}, focused=option, guild=guild)
    await record.wait_for_response()
    return record.choices or []


async def add_with_file(
    servers: Servers, user: FakeUser, guild: FakeGuild, *, filename: str, url: str, size: int
) -> InteractionRecord:
    """`/admin add file:<attachment>`. The fake's command builder has no attachment options (type 11), so the
    interaction is built here as Discord builds it: the option's value is an attachment id, resolved in
    `data.resolved.attachments`, whose URL the bot downloads (here: from the local web server)."""
    fake = servers.fake
    world = fake._world
    command = builders.find_command(world, "admin", guild)
    builders.check_command_available(command, world, user, guild)
    data = builders.command_data(command, ["add"], {}, guild, user)
    attachment_id = str(world.snowflake())
    data["options"][0]["options"].append({"type": 11, "name": "file", "value": attachment_id})
    data.setdefault("resolved", {})["attachments"] = {
        attachment_id: {"id": attachment_id, "filename": filename, "size": size, "url": url, "proxy_url": url}
    }
    return await fake._dispatch_interaction(2, user, guild.text_channels[0], data)


# -- per-server knowledge bases ---------------------------------------------------------------------------


async def test_a_link_added_in_server_a_is_found_in_a_only(servers: Servers) -> None:
    added = await slash(servers, servers.admin_a, "admin add", servers.a, url=servers.article_url)

    in_a = await ask(servers, servers.alice, servers.a)
    in_b = await ask(servers, servers.bob, servers.b)
    in_dm = await ask(servers, servers.alice, None)

    print("\nWhat the admin sees:\n" + added.content)
    assert added.ephemeral
    assert added.content == (
        "Indexed into this server's sources:\n"
        "• Added: **Saltmarsh tidal barrier delayed again** — The Harbour Gazette · 2024-05-27 · 4 paragraphs"
        " · id `saltmarsh-barrier`"
    )
    assert in_a.embed is not None and in_a.content == ""
    assert in_a.embed["description"].startswith("**The Saltmarsh tidal barrier will open two years later")
    assert in_a.embed["description"].endswith(
        f"— [{TITLE}]({servers.article_url}) · The Harbour Gazette · 2024-05-27 · paragraph 1 of 4"
    )
    for other in (in_b, in_dm):
        assert other.content.startswith(NOT_FOUND)
        assert TITLE not in other.text and "two years later" not in other.text  # no passage of it
    assert_clean(servers.fake)


async def test_an_admin_of_b_can_neither_see_nor_remove_a_source_of_a(servers: Servers) -> None:
    await slash(servers, servers.admin_a, "admin add", servers.a, url=servers.article_url)

    offered_in_b = await choices(servers, servers.admin_b, servers.b, "admin remove", "source", "")
    typed_in_b = await choices(servers, servers.admin_b, servers.b, "admin remove", "source", "salt")
    forged = await slash(servers, servers.admin_b, "admin remove", servers.b, source="saltmarsh-barrier")
    listed_in_b = await slash(servers, servers.admin_b, "admin sources", servers.b)
    offered_in_a = await choices(servers, servers.admin_a, servers.a, "admin remove", "source", "salt")
    still_in_a = await ask(servers, servers.alice, servers.a)

    assert offered_in_b == [] and typed_in_b == []
    assert forged.ephemeral
    assert forged.content == (
        "This server has no source with the id saltmarsh-barrier; `/admin sources` lists them."
    )
    assert listed_in_b.embed is not None and "Saltmarsh" not in listed_in_b.text
    # The value is the source's short key (a digest of its id), which B's admin cannot use either.
    assert offered_in_a == [{"name": f"{TITLE} (saltmarsh-barrier)", "value": "source:c2447986de33"}]
    key = offered_in_a[0]["value"]
    forged_key = await slash(servers, servers.admin_b, "admin remove", servers.b, source=key)
    assert forged_key.content == (
        "This server has no source with the id source:c2447986de33; `/admin sources` lists them."
    )
    assert still_in_a.embed is not None and still_in_a.content == ""
    assert [record.id for record in servers.index.sources([f"guild:{servers.a.id}"])] == ["saltmarsh-barrier"]
    assert_clean(servers.fake)


async def test_a_member_cannot_use_the_source_commands(servers: Servers) -> None:
    record = await servers.fake.invoke_slash(
        servers.alice, "admin add", {"url": servers.article_url}, guild=servers.a, check_permissions=False
    )
    refused = await record.wait_for_message()
    offered = await choices(servers, servers.alice, servers.a, "admin remove", "source", "")

    assert refused.ephemeral and refused.content.startswith("Only members with the Manage Server permission")
    assert offered == []
    assert servers.index.sources([f"guild:{servers.a.id}"]) == []
    assert_clean(servers.fake)


async def test_admin_sources_lists_origin_fetch_time_and_status_and_remove_takes_it_out(
    servers: Servers,
) -> None:
    await slash(servers, servers.admin_a, "admin add", servers.a, url=servers.article_url)

    listed = await slash(servers, servers.admin_a, "admin sources", servers.a)
    removed = await slash(servers, servers.admin_a, "admin remove", servers.a, source="saltmarsh-barrier")
    after = await ask(servers, servers.alice, servers.a)

    assert listed.embed is not None and listed.embed["title"] == "Sources of this server"
    description, url = listed.embed["description"], re.escape(servers.article_url)
    assert re.fullmatch(
        rf"\*\*1\.\*\* \[{TITLE}\]\(<{url}>\) · id `saltmarsh-barrier` · 4 paragraphs\n"
        rf"  from <{url}> · fetched <t:\d+:R> · ok",
        description,
    ), description
    assert "built-in" not in description  # the shared story is not this server's to manage
    assert listed.embed["footer"]["text"] == "1 source · 0 followed feeds"
    assert removed.content == (
        f"Removed **{TITLE}** — The Harbour Gazette · 2024-05-27 · 4 paragraphs · id `saltmarsh-barrier`. "
        "Questions no longer find it."
    )
    assert after.content.startswith(NOT_FOUND)
    assert_clean(servers.fake)


async def test_only_owners_add_to_the_shared_sources(servers: Servers) -> None:
    refused = await slash(
        servers, servers.admin_a, "admin add", servers.a, url=servers.article_url, scope="shared"
    )
    owner = servers.fake.owner  # the application's owner, and so a bot owner; it owns both servers too
    shared = await slash(servers, owner, "admin add", servers.a, url=servers.article_url, scope="shared")
    in_b = await ask(servers, servers.bob, servers.b)
    in_dm = await ask(servers, servers.bob, None)

    assert refused.content == NOT_OWNER_SHARED
    assert shared.content.startswith("Indexed into the shared sources (every server and DM):\n• Added: ")
    for answer in (in_b, in_dm):
        assert answer.embed is not None and answer.content == ""
        assert TITLE in answer.embed["description"]
    assert_clean(servers.fake)


async def test_a_link_that_cannot_be_added_says_why(servers: Servers) -> None:
    private = await slash(servers, servers.admin_a, "admin add", servers.a, url="http://10.0.0.1/admin")
    missing = await slash(
        servers, servers.admin_a, "admin add", servers.a, url=servers.site.url("/gone.html")
    )
    scheme = await slash(servers, servers.admin_a, "admin add", servers.a, url="file:///etc/passwd")
    neither = await slash(servers, servers.admin_a, "admin add", servers.a)

    assert private.content == (
        "Couldn't add it: http://10.0.0.1/admin: refused, it leads to 10.0.0.1, a private address "
        "(only public addresses are fetched)"
    )
    assert missing.content == (
        f"Couldn't add it: {servers.site.url('/gone.html')}: the server answered HTTP 404 Not Found"
    )
    assert scheme.content == "Couldn't add it: file:///etc/passwd: only http and https links can be fetched"
    assert neither.content == LINK_OR_FILE
    assert servers.index.sources([f"guild:{servers.a.id}"]) == []
    assert_clean(servers.fake)


async def test_a_file_uploaded_in_a_server_is_indexed_for_that_server(servers: Servers) -> None:
    notes = (
        "---\ntitle: Barrier gate repaired\noutlet: Council notes\n---\nThe cracked eastern gate of the "
        "Saltmarsh barrier was repaired in May.\n\nFlood trials resume in June.\n"
    )
    servers.site.page("/attachments/gate.md", notes, "text/markdown")
    record = await add_with_file(
        servers,
        servers.admin_a,
        servers.a,
        filename="gate.md",
        url=servers.site.url("/attachments/gate.md"),
        size=len(notes.encode()),
    )
    added = await record.wait_for_message(lambda m: not m.loading)
    too_big = await add_with_file(
        servers,
        servers.admin_a,
        servers.a,
        filename="huge.txt",
        url=servers.site.url("/attachments/huge.txt"),
        size=6 * 1024 * 1024,
    )
    refused = await too_big.wait_for_message()
    pdf = await add_with_file(
        servers,
        servers.admin_a,
        servers.a,
        filename="report.pdf",
        url=servers.site.url("/attachments/gate.md"),
        size=10,
    )
    unsupported = await pdf.wait_for_message(lambda m: not m.loading)
    answer = await slash(
        servers, servers.alice, "ask", servers.a, question="When was the eastern gate repaired?"
    )
    elsewhere = await slash(
        servers, servers.bob, "ask", servers.b, question="When was the eastern gate repaired?"
    )

    assert added.content == (
        "Indexed into this server's sources:\n"
        "• Added: **Barrier gate repaired** — Council notes · 2 paragraphs · id `gate`"
    )
    assert refused.content == "Couldn't add it: huge.txt: 6,291,456 bytes, over the 5,242,880-byte limit"
    assert servers.site.requests_for("/attachments/huge.txt") == []  # refused before downloading
    assert unsupported.content.startswith("Couldn't add it: report.pdf: unsupported file type '.pdf'")
    assert answer.embed is not None and "repaired in May" in answer.embed["description"]
    assert elsewhere.content.startswith(NOT_FOUND)
    assert_clean(servers.fake)


# -- following a feed ----------------------------------------------------------------------------------------


async def test_a_followed_feed_announces_new_articles_in_its_channel(servers: Servers) -> None:
    site, fake = servers.site, servers.fake
    feed = Feed("Saltmarsh barrier updates")
    feed.add(TITLE, servers.article_url)
    site.feed("/feeds/barrier.rss", feed)
    site.page("/news/2024/06/barrier-vote.html", article_page(VOTE_TITLE, VOTE, published="2024-06-06"))

    followed = await slash(
        servers,
        servers.admin_a,
        "admin follow",
        servers.a,
        feed=site.url("/feeds/barrier.rss"),
        channel=servers.news,
    )
    since = fake.mark()
    feed.add(VOTE_TITLE, site.url("/news/2024/06/barrier-vote.html"))
    announced = await fake.wait_for_message(lambda m: m.channel_id == servers.news.id, since=since)
    answer = await slash(
        servers, servers.alice, "ask", servers.a, question="How did councillors vote on the barrier?"
    )
    listed = await slash(servers, servers.admin_a, "admin sources", servers.a)
    listed_in_b = await slash(servers, servers.admin_b, "admin sources", servers.b)
    offered = await choices(servers, servers.admin_a, servers.a, "admin unfollow", "feed", "barrier")
    unfollowed = await slash(servers, servers.admin_a, "admin unfollow", servers.a, feed=offered[0]["value"])

    print("\nWhat the admin sees:\n" + followed.content + "\nIn #news:\n" + announced.content)
    assert followed.content == (
        "Following **Saltmarsh barrier updates** for this server's sources: 1 article indexed now. "
        f"New ones are checked every 0.01 minutes and announced in <#{servers.news.id}>."
    )
    assert announced.content == (
        "📰 New from **Saltmarsh barrier updates**:\n"
        f"• [{VOTE_TITLE}](<{site.url('/news/2024/06/barrier-vote.html')}>)"
    )
    assert not announced.mention_everyone and announced.mention_ids == ()
    assert answer.embed is not None and "voted 31 to 9" in answer.embed["description"]
    assert listed.embed is not None
    [feeds_field] = listed.embed["fields"]
    assert feeds_field["name"] == "Followed feeds"
    assert feeds_field["value"].startswith(
        f"• [Saltmarsh barrier updates](<{site.url('/feeds/barrier.rss')}>) → <#{servers.news.id}>"
        " · checked <t:"
    )
    assert feeds_field["value"].endswith(" · ok")
    assert listed_in_b.embed is not None and "fields" not in listed_in_b.embed
    # The value is the feed's short key, not its link (which may be longer than a value's 100 characters).
    [offered_feed] = offered
    assert offered_feed["name"] == "Saltmarsh barrier updates"
    assert re.fullmatch(r"feed:1:[0-9a-f]{8}", offered_feed["value"])
    assert unfollowed.content == (
        "Stopped following **Saltmarsh barrier updates**. "
        "Its articles stay indexed; `/admin remove` takes one out."
    )
    assert servers.index.feeds.followed() == []
    assert_clean(fake)


async def test_a_feed_link_and_a_source_id_over_100_characters_are_picked_and_typed(servers: Servers) -> None:
    site, fake = servers.site, servers.fake
    long_path = "/feeds/" + "saltmarsh-barrier-" * 6 + "updates.rss"
    feed = Feed("Saltmarsh barrier updates")
    feed.add(TITLE, servers.article_url)
    site.feed(long_path, feed)
    long_id = "harbour-gazette-" * 8 + "gate"
    gate = "The eastern gate was repaired in May."
    jsonl = json.dumps({"id": long_id, "title": "Gate notes", "text": gate})
    site.page("/attachments/gates.jsonl", jsonl + "\n", "application/x-ndjson")
    assert len(site.url(long_path)) > CHOICE_LIMIT and len(long_id) > CHOICE_LIMIT
    await slash(servers, servers.admin_a, "admin follow", servers.a, feed=site.url(long_path))
    uploaded = await add_with_file(
        servers,
        servers.admin_a,
        servers.a,
        filename="gates.jsonl",
        url=site.url("/attachments/gates.jsonl"),
        size=len(jsonl) + 1,
    )
    await uploaded.wait_for_message(lambda m: not m.loading)
    [followed] = servers.index.feeds.followed([f"guild:{servers.a.id}"])

    feeds_offered = await choices(servers, servers.admin_a, servers.a, "admin unfollow", "feed", "barrier")
    sources_offered = await choices(servers, servers.admin_a, servers.a, "admin remove", "source", "gate")
    unfollowed = await slash(
        servers, servers.admin_a, "admin unfollow", servers.a, feed=feeds_offered[0]["value"]
    )
    removed = await slash(
        servers, servers.admin_a, "admin remove", servers.a, source=sources_offered[0]["value"]
    )

    assert feeds_offered == [{"name": "Saltmarsh barrier updates", "value": feed_key(followed)}]
    [offered_source] = sources_offered
    assert offered_source["name"] == "Gate notes (harbour-gazette-harbour-gazette-harbour…)"
    assert re.fullmatch(r"source:[0-9a-f]{12}", offered_source["value"])
    assert unfollowed.content.startswith("Stopped following **Saltmarsh barrier updates**.")
    assert removed.content.startswith("Removed **Gate notes**")
    assert servers.index.feeds.followed() == [] and servers.index.source(long_id) is None

    # Typed by hand, the full link and the full id name them too.
    await slash(servers, servers.admin_a, "admin follow", servers.a, feed=site.url(long_path))
    again = await add_with_file(
        servers,
        servers.admin_a,
        servers.a,
        filename="gates.jsonl",
        url=site.url("/attachments/gates.jsonl"),
        size=len(jsonl) + 1,
    )
    await again.wait_for_message(lambda m: not m.loading)
    typed_feed = await slash(servers, servers.admin_a, "admin unfollow", servers.a, feed=site.url(long_path))
    typed_source = await slash(servers, servers.admin_a, "admin remove", servers.a, source=long_id)
    assert typed_feed.content.startswith("Stopped following **Saltmarsh barrier updates**.")
    assert typed_source.content.startswith("Removed **Gate notes**")
    assert servers.index.feeds.followed() == [] and servers.index.source(long_id) is None
    assert_clean(fake)


async def test_following_something_that_is_not_a_feed_says_why(servers: Servers) -> None:
    refused = await slash(servers, servers.admin_a, "admin follow", servers.a, feed=servers.article_url)
    forged = await slash(
        servers, servers.admin_b, "admin unfollow", servers.b, feed="https://example.com/feed.xml"
    )

    assert refused.content == (
        f"Couldn't follow it: {servers.article_url}: text/html is not a supported content type "
        "(application/atom+xml, application/rdf+xml, application/rss+xml, application/xml, text/xml)"
    )
    assert (
        forged.content
        == "This server follows no feed https://example.com/feed.xml; `/admin sources` lists its feeds."
    )
    assert_clean(servers.fake)


# -- keeping current -----------------------------------------------------------------------------------------


async def test_admin_reindex_refetches_only_this_servers_links(servers: Servers) -> None:
    site = servers.site
    site.page("/news/vote.html", article_page(VOTE_TITLE, VOTE))
    await slash(servers, servers.admin_a, "admin add", servers.a, url=servers.article_url)
    await slash(servers, servers.admin_b, "admin add", servers.b, url=site.url("/news/vote.html"))
    site.page(
        "/news/2024/05/saltmarsh-barrier.html",
        article_page(TITLE, [*PARAGRAPHS, "The council meets again in July."]),
    )
    site.remove("/news/vote.html")

    in_b = await reindex(servers, servers.admin_b, servers.b)
    in_a = await reindex(servers, servers.admin_a, servers.a)
    sources = {record.id: record for record in servers.index.sources()}

    assert re.fullmatch(
        r"Reindex done in \d+\.\d\d s: 1 source, 3 paragraphs; 0 added, 0 removed, 0 changed\.\n"
        r"Could not read these \(kept their last good copy\):\n• .*/news/vote\.html: .*HTTP 404 Not Found",
        in_b.content,
    ), in_b.content
    assert re.fullmatch(
        r"Reindex done in \d+\.\d\d s: 1 source, 5 paragraphs; 0 added, 0 removed, 1 changed\.",
        in_a.content,
    ), in_a.content  # B's reindex left A's changed article alone, and A's does not fetch B's link
    assert sources["saltmarsh-barrier"].paragraphs == 5 and sources["saltmarsh-barrier"].status == "ok"
    assert sources["vote"].status == "stale" and sources["vote"].paragraphs == 3
    assert_clean(servers.fake)


# -- the formatter keeps these messages within Discord's limits ---------------------------------------------


def _record(number: int, title: str = "A fairly long article title about the barrier") -> SourceRecord:
    return SourceRecord(
        id=f"article-{number}",
        title=f"{title} {number}",
        origin=f"https://news.example/{'x' * 80}/{number}.html",
        scope="guild:1",
        paragraphs=12,
        content_hash="0" * 64,
        added_at="2024-05-27T08:00:00+00:00",
        updated_at="2024-05-27T08:00:00+00:00",
        url=f"https://news.example/{number}",
        outlet="The Harbour Gazette",
        published="2024-05-27",
        status="stale" if number % 2 else "ok",
        error="x" * 500 if number % 2 else None,
        fetched_at="2024-05-27T08:00:00+00:00",
    )


def _feed(number: int) -> FeedRecord:
    return FeedRecord(
        id=number,
        url=f"https://news.example/feeds/{'y' * 60}/{number}.rss",
        scope="guild:1",
        channel_id=1234567890123456789,
        title="Updates " * 20,
        added_at="2024-05-27T08:00:00+00:00",
        polled_at="2024-05-27T09:00:00.123+00:00",
        status="failed",
        error="z" * 400,
    )


def test_admin_sources_fits_an_embed_whatever_the_count() -> None:
    for sources, feeds in ((500, 200), (500, 0), (0, 200), (1, 1), (0, 0)):
        records, followed = [_record(n) for n in range(sources)], [_feed(n) for n in range(feeds)]
        reply = admin_sources_reply(records, followed, "this server")
        assert reply.embed is not None and embed_problems(reply.embed) == [], (sources, feeds)
    reply = admin_sources_reply([_record(n) for n in range(500)], [_feed(n) for n in range(200)], "here")
    assert reply.embed is not None
    assert (reply.embed.description or "").endswith("more (`storybot sources` lists them all).")
    assert reply.embed.fields[-1].value is not None and reply.embed.fields[-1].value.endswith("more.")


def test_source_messages_fit_the_content_limit() -> None:
    records = tuple(_record(n, title="T" * 400) for n in range(60))
    items = [
        FeedItem(key=str(n), title="Headline " * 40, link=f"https://news.example/{n}") for n in range(300)
    ]
    report = PollReport(
        _feed(1), indexed=records, failed=tuple((f"https://x/{n}", "e" * 300) for n in range(50))
    )
    texts = [
        added_reply(AddReport(added=records, updated=records), "this server's sources"),
        announcement(_feed(1), items),
        followed_reply(report, "this server's sources", 60),
        removed_notice(records[0]),
        unknown_source("q" * 5000),
        unknown_feed("https://x/" + "q" * 5000),
        add_failed("r" * 5000),
    ]
    assert all(0 < len(text) <= CONTENT_LIMIT for text in texts)
    assert announcement(_feed(1), items).endswith("more.")
    name, value = source_choice(records[0], "source:0123456789ab", shared=True)
    assert len(name) <= CHOICE_LIMIT and name.endswith("(article-0, shared)")
    assert value == "source:0123456789ab"
    name, value = feed_choice(_feed(1), "feed:1", shared=True)
    assert len(name) == CHOICE_LIMIT and name.endswith("… (shared)") and value == "feed:1"
