"""What an autocomplete pick or a typed value names (`bot.discord_app.picks`), without Discord."""

from __future__ import annotations

import re
from dataclasses import replace

from bot.discord_app.picks import feed_key, picked_feed, picked_source, source_key
from index import FeedRecord, SourceRecord


def _source(source_id: str, url: str | None = None, scope: str = "guild:1") -> SourceRecord:
    return SourceRecord(
        id=source_id,
        title="A title",
        origin="upload:a.jsonl",
        scope=scope,
        paragraphs=1,
        content_hash="0" * 64,
        added_at="2024-05-27T08:00:00+00:00",
        updated_at="2024-05-27T08:00:00+00:00",
        url=url,
    )


def _feed(feed_id: int, url: str, scope: str = "guild:1") -> FeedRecord:
    return FeedRecord(id=feed_id, url=url, scope=scope, channel_id=None, title=None, added_at="2024-05-27")


def test_a_source_key_is_short_and_fixed_whatever_the_id() -> None:
    long_one = _source("x" * 5000)
    assert source_key(long_one) == source_key(_source("x" * 5000, scope="shared"))
    assert len(source_key(long_one)) == len("source:") + 12
    assert source_key(_source("saltmarsh-barrier")) == "source:c2447986de33"
    assert re.fullmatch(r"feed:12:[0-9a-f]{8}", feed_key(_feed(12, "https://example.com/" + "f" * 300)))


def test_a_typed_value_names_a_source_by_id_then_key_then_unique_link() -> None:
    first, second = _source("a", url="https://x.example/1"), _source("b", url="https://x.example/1")
    third = _source("c", url="https://x.example/3")
    records = [first, second, third]
    assert picked_source(" b ", records) is second
    assert picked_source(source_key(third), records) is third
    assert picked_source("https://x.example/3", records) is third
    assert picked_source("https://x.example/1", records) is None  # two sources share that link
    assert picked_source("", records) is None
    assert picked_source(source_key(_source("elsewhere")), records) is None


def test_an_id_that_looks_like_a_key_is_taken_as_the_id() -> None:
    keyed = _source("keyed")
    impostor = _source(source_key(keyed))
    assert picked_source(source_key(keyed), [keyed, impostor]) is impostor


def test_a_typed_value_names_a_feed_by_link_then_key() -> None:
    url = "https://example.com/" + "f" * 300 + ".rss"
    mine, shared = _feed(3, url), _feed(7, url, scope="shared")
    assert picked_feed(url, [mine, shared]) is mine  # the oldest, as `storybot unfollow` takes
    assert picked_feed(feed_key(shared), [mine, shared]) is shared
    assert picked_feed(feed_key(shared).replace("feed:7:", "feed:8:"), [mine, shared]) is None
    assert picked_feed("feed:7", [mine, shared]) is None
    assert picked_feed(url[:100], [mine, shared]) is None


def test_a_stale_feed_key_does_not_name_a_feed_followed_later_under_its_row_id() -> None:
    unfollowed = _feed(4, "https://old.example/feed.rss")
    followed_later = replace(_feed(4, "https://new.example/feed.rss"), added_at="2024-06-02")
    again = replace(unfollowed, added_at="2024-06-02")  # the same link followed again, under the same id
    assert picked_feed(feed_key(unfollowed), [followed_later]) is None
    assert picked_feed(feed_key(unfollowed), [again]) is None
    assert picked_feed(feed_key(followed_later), [followed_later]) is followed_later
