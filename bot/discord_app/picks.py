"""What an autocomplete pick names: a short key per source and feed, and the record a typed value means.

Discord caps a choice's value at 100 characters, and a source id (a JSONL file's ids have no cap) or a feed's
link can be longer, so a cut id or link would name nothing. A choice's value is therefore a short key:
- a feed's is its row id with a digest of its link and the moment it was followed (`feed:12:5b0e91c4`): the
  id never changes while the feed is followed and tells apart the same link followed by this server and in
  the shared sources; the digest keeps a stale choice (offered before an unfollow) from naming a feed
  followed later under a reused row id;
- a source's is a digest of its id (`source:3f9a0c1b2d4e`), because its row is written anew each time a
  reindex finds the article changed, so its row id does not last.

What an admin types by hand instead of picking is taken as it reads: the full id (or the article's link) of
a source, the link of a feed. An exact id or link wins over a key, so no id can be shadowed by one.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

from index import FeedRecord, SourceRecord

_SOURCE_KEY = "source:"
_FEED_KEY = "feed:"
_DIGEST_CHARS = 12
"""48 bits: a clash among one server's sources is vanishingly unlikely, and a clash only ever offers two."""
_FEED_DIGEST_CHARS = 8
"""32 bits beside the row id: only a feed followed again under the same id need differ."""


def source_key(record: SourceRecord) -> str:
    """The short value a choice for this source carries (well under Discord's 100 characters)."""
    digest = hashlib.sha256(record.id.encode("utf-8", "surrogatepass")).hexdigest()
    return _SOURCE_KEY + digest[:_DIGEST_CHARS]


def feed_key(feed: FeedRecord) -> str:
    """The short value a choice for this followed feed carries."""
    following = f"{feed.url}\n{feed.added_at}".encode("utf-8", "surrogatepass")
    return f"{_FEED_KEY}{feed.id}:{hashlib.sha256(following).hexdigest()[:_FEED_DIGEST_CHARS]}"


def picked_source(typed: str, records: Sequence[SourceRecord]) -> SourceRecord | None:
    """The source `typed` names among `records`: by full id, by key, else by its link if only one has it."""
    wanted = typed.strip()
    by_id = next((record for record in records if record.id == wanted), None)
    if by_id is not None:
        return by_id
    by_key = next((record for record in records if source_key(record) == wanted), None)
    if by_key is not None:
        return by_key
    by_link = [record for record in records if wanted and record.url == wanted]
    return by_link[0] if len(by_link) == 1 else None


def picked_feed(typed: str, feeds: Sequence[FeedRecord]) -> FeedRecord | None:
    """The followed feed `typed` names among `feeds`: by its link (the oldest, if followed twice), else by
    key."""
    wanted = typed.strip()
    by_link = next((feed for feed in feeds if feed.url == wanted), None)
    if by_link is not None:
        return by_link
    return next((feed for feed in feeds if feed_key(feed) == wanted), None)
