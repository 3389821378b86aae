"""storybot's retrieval core: read sources, split paragraphs, tokenize, store and rank with BM25 in SQLite.

Nothing here knows Discord; the bot and the command line are front-ends over `StoryIndex`. The core has three
tiers under this facade: `index.sources` (offline reading), `index.engine` (BM25 in SQLite) and `index.web`
(the network, imported on demand with `index.feeds`, never from here).
"""

from index.dates import MAX_DATE_CHARS, known_zone, parse_day, parse_window
from index.engine.confidence import Evidence
from index.engine.database import storage_error
from index.engine.explain import Explanation, TermContribution
from index.engine.leases import EVERYTHING, Lease, LeaseTaken, ReindexLeases, describe_scope
from index.engine.posting_cache import DEFAULT_BUDGET_BYTES as DEFAULT_CACHE_BYTES
from index.errors import (
    DamagedDatabase,
    DatabaseError,
    DatabaseLocked,
    DateError,
    DiskFull,
    FetchError,
    NotStorybotDatabase,
    QuestionError,
    ReadOnlyDatabase,
    SourceError,
    StorybotError,
    UnknownFeed,
    UnknownSource,
)
from index.library import MAX_QUESTION_CHARS, StoryIndex, validate_question
from index.models import (
    DEFAULT_TOP,
    SHARED_SCOPE,
    AddReport,
    Answer,
    Article,
    CheckReport,
    Citation,
    DateWindow,
    FeedItem,
    FeedRecord,
    IndexStats,
    Paragraph,
    Passage,
    PollReport,
    ReindexReport,
    SourceRecord,
    TimelineEntry,
    Usage,
    guild_of,
    guild_scope,
    iso_date,
    view_scopes,
)
from index.sources.origins import BUILTIN_PREFIX, UPLOAD_PREFIX

__all__ = [
    "BUILTIN_PREFIX",
    "DEFAULT_CACHE_BYTES",
    "DEFAULT_TOP",
    "EVERYTHING",
    "MAX_DATE_CHARS",
    "MAX_QUESTION_CHARS",
    "SHARED_SCOPE",
    "UPLOAD_PREFIX",
    "AddReport",
    "Answer",
    "Article",
    "CheckReport",
    "Citation",
    "DamagedDatabase",
    "DatabaseError",
    "DatabaseLocked",
    "DateError",
    "DateWindow",
    "DiskFull",
    "Evidence",
    "Explanation",
    "FeedItem",
    "FeedRecord",
    "FetchError",
    "IndexStats",
    "Lease",
    "LeaseTaken",
    "NotStorybotDatabase",
    "Paragraph",
    "Passage",
    "PollReport",
    "QuestionError",
    "ReadOnlyDatabase",
    "ReindexLeases",
    "ReindexReport",
    "SourceError",
    "SourceRecord",
    "StoryIndex",
    "StorybotError",
    "TermContribution",
    "TimelineEntry",
    "UnknownFeed",
    "UnknownSource",
    "Usage",
    "describe_scope",
    "guild_of",
    "guild_scope",
    "iso_date",
    "known_zone",
    "parse_day",
    "parse_window",
    "storage_error",
    "validate_question",
    "view_scopes",
]
