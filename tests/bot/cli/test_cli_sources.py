"""The command line's sources from the web: `storybot add URL`, `follow`, `unfollow`, `sources --server`,
and `reindex` fetching links again, against a local web server on 127.0.0.1.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.config import Settings, SettingsError
from index import StoryIndex
from index.web.policy import ALL_NETWORKS, FetchPolicy
from tests.bot.cli.runs import storybot
from tests.bot.cli.test_cli import timeless
from tests.conftest import write_jsonl
from tests.webserver import SALTMARSH_PARAGRAPHS, SALTMARSH_TITLE, Feed, WebSite, article_page, site_in_thread

LOOPBACK = {"STORYBOT_ALLOW_PRIVATE_URLS": "127.0.0.1"}
TITLE = SALTMARSH_TITLE
PARAGRAPHS = SALTMARSH_PARAGRAPHS[:3]
SERVER = "123456789012345678"


@pytest.fixture
def site() -> Iterator[WebSite]:
    with site_in_thread() as web:
        web.page("/news/saltmarsh-barrier.html", article_page(TITLE, PARAGRAPHS))
        yield web


def test_add_takes_links_and_paths_together(db_path: Path, tmp_path: Path, site: WebSite) -> None:
    jsonl = write_jsonl(
        tmp_path / "moon.jsonl", [{"id": "moon", "title": "Moon base opens", "text": "It opened."}]
    )
    url = site.url("/news/saltmarsh-barrier.html")

    added = storybot(db_path, "add", "-v", url, str(jsonl), "--server", SERVER, env=LOOPBACK)
    listed = storybot(db_path, "sources", "--server", SERVER)

    assert added.exit_code == 0, added.output
    assert timeless(added.stdout) == (
        "added moon: Moon base opens (1 paragraph)\n"
        "added saltmarsh-barrier: Saltmarsh tidal barrier delayed again (3 paragraphs)\n"
        "added 2, updated 0, unchanged 0, failed 0, skipped 0: 4 paragraphs in Ns\n"
    )
    rows = [line.split("\t") for line in listed.stdout.splitlines()]
    assert [row[0] for row in rows] == ["moon", "saltmarsh-barrier"]
    assert rows[1][4].startswith("fetched 20") and rows[1][5] == url
    assert (
        storybot(db_path, "sources", "--server", "999").stdout == "no sources: `storybot add PATH` adds one\n"
    )


def test_a_link_that_fails_is_reported_and_the_rest_added(
    db_path: Path, tmp_path: Path, site: WebSite
) -> None:
    jsonl = write_jsonl(
        tmp_path / "moon.jsonl", [{"id": "moon", "title": "Moon base opens", "text": "It opened."}]
    )

    result = storybot(db_path, "add", "http://10.0.0.1/secret", str(jsonl), env=LOOPBACK)
    refused = storybot(
        db_path, "add", site.url("/news/saltmarsh-barrier.html"), env={"STORYBOT_ALLOW_PRIVATE_URLS": ""}
    )

    assert result.exit_code == 1
    assert (
        timeless(result.stdout) == "added 1, updated 0, unchanged 0, failed 1, skipped 0: 1 paragraph in Ns\n"
    )
    assert result.stderr == (
        "Error: http://10.0.0.1/secret: refused, it leads to 10.0.0.1, a private address "
        "(only public addresses are fetched)\n"
    )
    assert refused.exit_code == 1 and "a loopback address" in refused.stderr


def test_a_bad_fetch_setting_is_one_clear_line(db_path: Path) -> None:
    result = storybot(db_path, "add", "https://example.com/", env={"STORYBOT_ALLOW_PRIVATE_URLS": "intranet"})
    assert result.exit_code == 1
    assert result.stderr == (
        "Error: bad settings in the environment or .env: STORYBOT_ALLOW_PRIVATE_URLS: must be 1 (allow every "
        "address), or addresses and networks such as 127.0.0.1 or 10.0.0.0/8, not 'intranet'\n"
    )


def test_follow_lists_and_unfollow(db_path: Path, site: WebSite) -> None:
    feed = Feed("Saltmarsh barrier updates")
    feed.add(TITLE, site.url("/news/saltmarsh-barrier.html"))
    site.feed("/feed.rss", feed)
    url = site.url("/feed.rss")

    followed = storybot(db_path, "follow", url, "--server", SERVER, "--channel", "42", env=LOOPBACK)
    listed = storybot(db_path, "sources", "--server", SERVER)
    unfollowed = storybot(db_path, "unfollow", url, "--server", SERVER)
    again = storybot(db_path, "unfollow", url, "--server", SERVER)
    not_a_feed = storybot(db_path, "follow", site.url("/news/saltmarsh-barrier.html"), env=LOOPBACK)

    assert followed.exit_code == 0, followed.output
    assert followed.stdout == (
        f"following Saltmarsh barrier updates ({url}) for server {SERVER}\n"
        "indexed saltmarsh-barrier: Saltmarsh tidal barrier delayed again (3 paragraphs)\n"
    )
    lines = listed.stdout.splitlines()
    assert lines[1] == "followed feeds:"
    assert lines[2].startswith(f"{url}\tSaltmarsh barrier updates\tguild:{SERVER}\tchannel 42\tchecked 20")
    assert unfollowed.stdout == f"stopped following Saltmarsh barrier updates ({url})\n"
    assert again.exit_code == 1 and again.stderr.startswith(f"Error: no followed feed '{url}' here")
    assert not_a_feed.exit_code == 1 and "text/html is not a supported content type" in not_a_feed.stderr
    with StoryIndex(db_path) as index:
        assert index.feeds.followed() == []


def test_reindex_fetches_links_again(db_path: Path, site: WebSite) -> None:
    site.page("/news/other.html", article_page("Ferry fares rise", PARAGRAPHS[1:]))
    for path in ("/news/saltmarsh-barrier.html", "/news/other.html"):
        assert storybot(db_path, "add", site.url(path), env=LOOPBACK).exit_code == 0
    site.page(
        "/news/saltmarsh-barrier.html", article_page(TITLE, [*PARAGRAPHS, "The council meets in July."])
    )
    site.remove("/news/other.html")

    result = storybot(db_path, "reindex", env=LOOPBACK)

    assert result.exit_code == 0
    assert result.stdout.startswith("reindexed 3 sources, 21 paragraphs: 0 added, 1 changed, 0 removed in ")
    assert result.stderr == (
        f"stale (kept the last good copy): {site.url('/news/other.html')}: "
        "the server answered HTTP 404 Not Found\n"
    )


def test_the_fetch_settings_are_read_once_with_the_others() -> None:
    environ = {
        "DISCORD_TOKEN": "x" * 60,
        "STORYBOT_ALLOW_PRIVATE_URLS": "1",
        "STORYBOT_MAX_SOURCE_MB": "2",
        "STORYBOT_FETCH_TIMEOUT": "7.5",
        "STORYBOT_FEED_POLL_MINUTES": "15",
    }
    settings = Settings.from_env(environ)
    assert settings.fetch == FetchPolicy(
        allowed_networks=ALL_NETWORKS, timeout=7.5, max_bytes=2 * 1024 * 1024
    )
    assert settings.feed_poll_minutes == 15
    defaults = Settings.from_env({"DISCORD_TOKEN": "x" * 60})
    assert defaults.fetch == FetchPolicy() and defaults.fetch.allowed_networks == ()
    assert defaults.feed_poll_minutes == 60
    narrow = Settings.from_env({**environ, "STORYBOT_ALLOW_PRIVATE_URLS": "127.0.0.1, 10.1.0.0/16"})
    assert [str(network) for network in narrow.fetch.allowed_networks] == ["127.0.0.1/32", "10.1.0.0/16"]


def test_bad_fetch_settings_are_named() -> None:
    with pytest.raises(SettingsError) as bad:
        Settings.from_env(
            {"DISCORD_TOKEN": "x" * 60, "STORYBOT_MAX_SOURCE_MB": "-1", "STORYBOT_FEED_POLL_MINUTES": "often"}
        )
    assert str(bad.value) == (
        "bad settings in the environment or .env: "
        "STORYBOT_MAX_SOURCE_MB: must be a number above 0, not '-1'; "
        "STORYBOT_FEED_POLL_MINUTES: must be a number above 0, not 'often'"
    )
