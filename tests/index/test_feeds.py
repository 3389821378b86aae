"""Following feeds: RSS and Atom read, conditional GETs answered 304, new entries fetched and indexed into
their feed's scope, polling state that survives a restart, and one failing feed never stopping the others.
Also the schema migration that brought the feed tables, and each scope keeping its own copy of a link.
"""

from __future__ import annotations

import asyncio
import ipaddress
import sqlite3
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
import pytest_asyncio

from index import StoryIndex
from index.engine.schema import _SCHEMA_V1, APPLICATION_ID, SCHEMA_VERSION, _run_script
from index.errors import FetchError, UnknownFeed
from index.feeds import FeedPoller, parse_feed
from index.models import FeedRecord
from index.web.fetcher import fetch
from index.web.policy import FetchPolicy
from index.web.remote import read_link
from tests.webserver import Feed, WebSite, article_page

POLICY = FetchPolicy(allowed_networks=(ipaddress.ip_network("127.0.0.0/8"),), timeout=3.0)
SCOPE = "guild:1001"

STORIES = {
    "gate": (
        "Cracks found in the eastern gate",
        "Engineers found hairline cracks in the eastern gate of the Saltmarsh tidal barrier during load "
        "tests in April, the county council said.",
    ),
    "cost": (
        "Barrier costs climb to 410 million",
        "The Saltmarsh barrier has now cost 410 million pounds, ninety million more than the budget agreed "
        "by councillors in 2020.",
    ),
    "vote": (
        "Councillors vote to finish the barrier",
        "Councillors voted 31 to 9 on Thursday to finish the Saltmarsh barrier rather than abandon it, "
        "after a four-hour debate in the town hall.",
    ),
    "opening": (
        "Barrier opening date set for 2027",
        "The Saltmarsh barrier will open in March 2027, the contractor Northwave said, once the repaired "
        "gate passes a second round of flood trials.",
    ),
}


def story_page(key: str) -> str:
    title, lead = STORIES[key]
    return article_page(
        title,
        [
            lead,
            "Residents of the old harbour district, flooded three times since 2019, have waited a decade for "
            "the barrier and say every delay leaves their homes exposed to another winter of storms.",
        ],
    )


@pytest_asyncio.fixture
async def site() -> AsyncIterator[WebSite]:
    async with WebSite() as web:
        for key in STORIES:
            web.page(f"/news/{key}.html", story_page(key))
        yield web


def rss(site: WebSite, *keys: str, title: str = "Saltmarsh barrier updates") -> Feed:
    feed = Feed(title)
    for key in keys:
        feed.add(STORIES[key][0], site.url(f"/news/{key}.html"))
    return feed


def poller(index: StoryIndex, **options: float) -> FeedPoller:
    return FeedPoller(index, POLICY, **options)  # type: ignore[arg-type]


# -- reading feeds ----------------------------------------------------------------------------------------


async def test_rss_and_atom_feeds_are_read_in_feed_order(site: WebSite) -> None:
    site.feed("/rss.xml", rss(site, "gate", "cost"))
    atom = Feed("Barrier (Atom)", kind="atom")
    atom.add("Cracks found in the eastern gate", "/news/gate.html", guid="urn:story:gate")
    site.feed("/atom.xml", atom)

    rss_title, rss_items = parse_feed(
        await fetch(site.url("/rss.xml"), POLICY, accept={"application/rss+xml"})
    )
    atom_title, atom_items = parse_feed(
        await fetch(site.url("/atom.xml"), POLICY, accept={"application/atom+xml"})
    )

    assert rss_title == "Saltmarsh barrier updates"
    assert [(item.title, item.link) for item in rss_items] == [
        ("Barrier costs climb to 410 million", site.url("/news/cost.html")),
        ("Cracks found in the eastern gate", site.url("/news/gate.html")),
    ]
    assert atom_title == "Barrier (Atom)"
    # A relative link is resolved against the feed's address; the entry id is what identifies it.
    assert [(item.key, item.link) for item in atom_items] == [("urn:story:gate", site.url("/news/gate.html"))]


async def test_a_page_that_is_not_a_feed_is_refused(site: WebSite, db_path: Path) -> None:
    site.page("/fake.xml", "<?xml version='1.0'?><note><to>Tove</to></note>", "application/xml")
    with StoryIndex(db_path, with_builtin_story=False) as index:
        with pytest.raises(FetchError, match=r"/fake.xml: not an RSS or Atom feed$"):
            await poller(index).follow(site.url("/fake.xml"), SCOPE)
        with pytest.raises(FetchError, match="text/html is not a supported content type"):
            await poller(index).follow(site.url("/news/gate.html"), SCOPE)
        assert index.feeds.followed() == []


# -- following and polling -----------------------------------------------------------------------------------


async def test_following_indexes_the_current_articles_into_the_feeds_scope(
    site: WebSite, db_path: Path
) -> None:
    site.feed("/rss.xml", rss(site, "gate", "cost"))
    with StoryIndex(db_path) as index:
        report = await poller(index).follow(site.url("/rss.xml"), SCOPE, channel_id=42)

        assert [record.id for record in report.indexed] == ["cost", "gate"]
        assert report.failed == () and report.error is None
        feed = report.feed
        assert (feed.url, feed.scope, feed.channel_id, feed.title, feed.status) == (
            site.url("/rss.xml"),
            SCOPE,
            42,
            "Saltmarsh barrier updates",
            "ok",
        )
        assert feed.etag is not None and feed.last_modified is not None and feed.polled_at is not None
        question = "How much has the Saltmarsh barrier cost?"
        assert index.ask(question, scopes=["shared", SCOPE]).results[0].source.id == "cost"
        assert not index.ask(question, scopes=["shared", "guild:2002"]).answered


async def test_a_poll_sends_a_conditional_get_and_takes_only_new_entries(
    site: WebSite, db_path: Path
) -> None:
    feed = rss(site, "gate")
    site.feed("/rss.xml", feed)
    with StoryIndex(db_path, with_builtin_story=False) as index:
        polling = poller(index)
        followed = (await polling.follow(site.url("/rss.xml"), SCOPE)).feed

        unchanged = await polling.poll(followed)
        feed.add(*STORIES["vote"][:1], site.url("/news/vote.html"))
        changed = await polling.poll(unchanged.feed)

        requests = site.requests_for("/rss.xml")
        assert requests[1].headers["If-None-Match"] == followed.etag
        assert requests[1].headers["If-Modified-Since"] == followed.last_modified
        assert unchanged.not_modified and unchanged.indexed == () and unchanged.new_items == ()
        assert not changed.not_modified
        assert [item.title for item in changed.new_items] == ["Councillors vote to finish the barrier"]
        assert [record.id for record in changed.indexed] == ["vote"]
        assert changed.feed.etag == feed.etag
        assert len(site.requests_for("/news/gate.html")) == 1  # an entry already taken is not fetched again


async def test_an_atom_feed_without_etag_uses_last_modified(site: WebSite, db_path: Path) -> None:
    feed = Feed("Barrier (Atom)", kind="atom")
    feed.add(*STORIES["gate"][:1], site.url("/news/gate.html"))
    site.feed("/atom.xml", feed, etag=False)
    with StoryIndex(db_path, with_builtin_story=False) as index:
        polling = poller(index)
        followed = (await polling.follow(site.url("/atom.xml"), SCOPE)).feed
        again = await polling.poll(followed)

    assert followed.etag is None and followed.last_modified == feed.last_modified
    assert "If-None-Match" not in site.requests_for("/atom.xml")[1].headers
    assert site.requests_for("/atom.xml")[1].headers["If-Modified-Since"] == feed.last_modified
    assert again.not_modified


async def test_polling_state_survives_a_restart(site: WebSite, db_path: Path) -> None:
    feed = rss(site, "gate", "cost")
    site.feed("/rss.xml", feed)
    with StoryIndex(db_path, with_builtin_story=False) as index:
        await poller(index).follow(site.url("/rss.xml"), SCOPE, channel_id=7)

    with StoryIndex(db_path, with_builtin_story=False) as index:
        assert await poller(index, interval=3600).poll_due() == []  # polled a moment ago: not due
        [not_modified] = await poller(index, interval=0).poll_due()
        feed.add(*STORIES["opening"][:1], site.url("/news/opening.html"))
        [changed] = await poller(index, interval=0).poll_due()

    assert not_modified.not_modified
    assert site.requests_for("/rss.xml")[1].headers["If-None-Match"] is not None
    assert [item.link for item in changed.new_items] == [site.url("/news/opening.html")]
    assert changed.feed.channel_id == 7
    assert [len(site.requests_for(f"/news/{key}.html")) for key in ("gate", "cost", "opening")] == [1, 1, 1]


async def test_one_failing_feed_never_stops_the_others(
    site: WebSite, db_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    feeds = {name: rss(site, "gate", title=name) for name in ("down", "private", "crashing", "healthy")}
    for name, feed in feeds.items():
        site.feed(f"/{name}.xml", feed)
    with StoryIndex(db_path, with_builtin_story=False) as index:
        polling = poller(index, interval=0)
        for name in feeds:
            await polling.follow(site.url(f"/{name}.xml"), f"guild:{name}")
        site.page("/down.xml", "unavailable", "text/plain", status=503)
        site.redirect("/private.xml", "http://10.0.0.1/feed.xml")
        original = polling.poll

        async def poll(feed: FeedRecord) -> object:
            if feed.url.endswith("/crashing.xml"):
                raise RuntimeError("the parser fell over")
            return await original(feed)

        monkeypatch.setattr(polling, "poll", poll)
        feeds["healthy"].add(*STORIES["vote"][:1], site.url("/news/vote.html"))

        reports = {report.feed.title: report for report in await polling.poll_due()}
        stored = {feed.title: feed for feed in index.feeds.followed()}

    assert reports["down"].error is not None and reports["down"].error.endswith(
        "HTTP 503 Service Unavailable"
    )
    assert reports["private"].error == (
        "http://10.0.0.1/feed.xml: refused, it leads to 10.0.0.1, a private address "
        "(only public addresses are fetched)"
    )
    assert reports["crashing"].error == "RuntimeError: the parser fell over"
    assert [record.id for record in reports["healthy"].indexed] == ["vote"]
    assert {title: feed.status for title, feed in stored.items()} == {
        "down": "failed",
        "private": "failed",
        "crashing": "failed",
        "healthy": "ok",
    }
    assert stored["crashing"].error == "RuntimeError: the parser fell over"


async def test_an_entry_that_fails_is_tried_again_at_the_next_change(site: WebSite, db_path: Path) -> None:
    feed = rss(site, "gate")
    site.feed("/rss.xml", feed)
    with StoryIndex(db_path, with_builtin_story=False) as index:
        polling = poller(index)
        followed = (await polling.follow(site.url("/rss.xml"), SCOPE)).feed
        site.remove("/news/cost.html")
        feed.add(*STORIES["cost"][:1], site.url("/news/cost.html"))

        failed = await polling.poll(followed)
        site.page("/news/cost.html", story_page("cost"))
        retried = await polling.poll(failed.feed)

    assert failed.failed == (
        (
            site.url("/news/cost.html"),
            f"{site.url('/news/cost.html')}: the server answered HTTP 404 Not Found",
        ),
    )
    assert failed.feed.etag == followed.etag  # the old validators: the next poll reads the feed in full
    assert [record.id for record in retried.indexed] == ["cost"]
    assert retried.feed.etag == feed.etag


async def test_a_poll_takes_at_most_max_items_new_entries(site: WebSite, db_path: Path) -> None:
    site.feed("/rss.xml", rss(site, "gate", "cost", "vote"))
    with StoryIndex(db_path, with_builtin_story=False) as index:
        report = await poller(index, max_items=2).follow(site.url("/rss.xml"), SCOPE)
        assert index.feeds.unseen(report.feed.id, ["urn:none", site.url("/news/gate.html")]) == {"urn:none"}
    assert [record.id for record in report.indexed] == ["vote", "cost"]
    assert site.requests_for("/news/gate.html") == []


async def test_unfollow_is_per_scope_and_keeps_the_articles(site: WebSite, db_path: Path) -> None:
    site.feed("/rss.xml", rss(site, "gate"))
    url = site.url("/rss.xml")
    with StoryIndex(db_path, with_builtin_story=False) as index:
        await poller(index).follow(url, SCOPE)
        with pytest.raises(UnknownFeed, match="no followed feed"):
            index.feeds.unfollow(url, ["guild:2002"])
        removed = index.feeds.unfollow(url, [SCOPE])
        assert removed.url == url and index.feeds.followed() == []
        assert [record.id for record in index.sources([SCOPE])] == ["gate"]


async def test_following_again_changes_the_channel(site: WebSite, db_path: Path) -> None:
    site.feed("/rss.xml", rss(site, "gate"))
    with StoryIndex(db_path, with_builtin_story=False) as index:
        first = await poller(index).follow(site.url("/rss.xml"), SCOPE, channel_id=1)
        second = await poller(index).follow(site.url("/rss.xml"), SCOPE, channel_id=2)
        assert [feed.channel_id for feed in index.feeds.followed()] == [2]
    assert first.feed.id == second.feed.id and second.indexed == ()


async def test_seconds_until_due(site: WebSite, db_path: Path) -> None:
    site.feed("/rss.xml", rss(site, "gate"))
    with StoryIndex(db_path, with_builtin_story=False) as index:
        assert await poller(index).seconds_until_due() is None
        await poller(index).follow(site.url("/rss.xml"), SCOPE)
        wait = await poller(index, interval=600).seconds_until_due()
    assert wait is not None and 595 < wait <= 600


# -- one link in several scopes ---------------------------------------------------------------------------


async def test_each_scope_keeps_its_own_copy_of_a_link(site: WebSite, db_path: Path) -> None:
    url = site.url("/news/cost.html")
    articles = await read_link(url, POLICY)
    with StoryIndex(db_path, with_builtin_story=False) as index:
        first = index.add_articles(articles, "guild:1")
        second = index.add_articles(articles, "guild:2")
        again = index.add_articles(articles, "guild:1")
        shared = index.add_articles(articles, "shared")

        assert [record.id for record in first.added] == ["cost"]
        assert [record.id for record in second.added] == ["cost-2"]
        assert [record.id for record in again.unchanged] == ["cost"]
        assert [record.id for record in shared.added] == ["cost-3"]
        assert [(record.id, record.scope) for record in index.sources()] == [
            ("cost", "guild:1"),
            ("cost-2", "guild:2"),
            ("cost-3", "shared"),
        ]
        index.remove("cost", scopes=["guild:1"])
        assert (
            index.ask("How much has the barrier cost?", scopes=["guild:2"]).results[0].source.id == "cost-2"
        )
        site.page("/news/cost.html", story_page("cost").replace("410 million", "415 million"))
        await asyncio.to_thread(index.reindex, None, _links_only)
        assert [(record.id, record.scope) for record in index.sources()] == [
            ("cost-2", "guild:2"),
            ("cost-3", "shared"),
        ]
        question = "How much has the Saltmarsh barrier cost?"
        for scope in ("guild:2", "shared"):
            passages = index.ask(question, top=2, scopes=[scope]).results
            assert any("415 million pounds" in passage.text for passage in passages)


def _links_only(origin: str) -> list:  # type: ignore[type-arg]
    return asyncio.run(read_link(origin, POLICY))


# -- the schema ---------------------------------------------------------------------------------------------


def test_a_version_1_database_is_migrated(tmp_path: Path) -> None:
    path = tmp_path / "v1.db"
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("BEGIN")
    _run_script(conn, _SCHEMA_V1)
    conn.execute(
        "INSERT INTO sources (id, title, origin, content_hash, paragraphs, added_at, updated_at)"
        " VALUES ('old', 'Old story', '/tmp/old.txt', 'abc', 0, '2024-01-01', '2024-01-01')"
    )
    conn.execute(f"PRAGMA application_id = {APPLICATION_ID}")
    conn.execute("PRAGMA user_version = 1")
    conn.execute("COMMIT")
    conn.close()

    with StoryIndex(path, with_builtin_story=False) as index:
        [old] = index.sources()
        assert (old.id, old.title, old.fetched_at) == ("old", "Old story", None)
        assert index.feeds.followed() == []
        feed = index.feeds.follow("https://example.com/feed.xml", "shared", None, "Example")
        assert feed.title == "Example"

    check = sqlite3.connect(path)
    assert check.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION == 4
    indexes = {row[1] for row in check.execute("PRAGMA index_list(paragraphs)")}
    assert "paragraphs_segment" in indexes  # version 3
    check.close()


async def test_an_undated_page_takes_its_feed_entrys_date_and_a_dated_one_keeps_its_own(
    site: WebSite, db_path: Path
) -> None:
    site.page(
        "/plain.html",
        "<html><head><title>Ferry timetable changes</title></head><body><article>"
        f"<p>{STORIES['gate'][1]}</p><p>The ferry to the old harbour will run every half hour from "
        "Monday, and the last crossing of the evening moves to nine o'clock.</p></article></body></html>",
    )
    feed = Feed("Harbour notes", modified=datetime(2023, 3, 4, 9, 0, tzinfo=UTC))
    feed.add("Ferry timetable changes", site.url("/plain.html"))
    feed.add(STORIES["vote"][0], site.url("/news/vote.html"))  # its page says 2024-05-27
    site.feed("/notes.xml", feed)
    with StoryIndex(db_path) as index:
        report = await poller(index).follow(site.url("/notes.xml"), SCOPE)

    published = {record.title: record.published for record in report.indexed}
    assert published == {"Ferry timetable changes": "2023-03-04", STORIES["vote"][0]: "2024-05-27"}
