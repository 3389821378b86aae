"""storybot's retrieval core: read sources, split paragraphs, tokenize, store and rank with BM25 in SQLite.

Nothing here knows Discord; the bot and the command line are front-ends over `StoryIndex`. The core has three
tiers under this facade: `index.sources` (offline reading), `index.engine` (BM25 in SQLite) and `index.web`
(the network, imported on demand with `index.feeds`, never from here).
"""

from index.engine.posting_cache import DEFAULT_BUDGET_BYTES as DEFAULT_CACHE_BYTES
from index.errors import (
    DatabaseError,
    FetchError,
    QuestionError,
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
    Citation,
    FeedItem,
    FeedRecord,
    IndexStats,
    Paragraph,
    Passage,
    PollReport,
    ReindexReport,
    SourceRecord,
    Usage,
    guild_of,
    guild_scope,
    iso_date,
    view_scopes,
)
from index.sources.origins import BUILTIN_PREFIX, UPLOAD_PREFIX
from index.status import (
    DEFAULT_MAX_AGE_SECONDS,
    HEARTBEAT_SECONDS,
    HEARTBEAT_SETTING,
    BotState,
    Heartbeat,
    Status,
)

__all__ = [
    "BUILTIN_PREFIX",
    "DEFAULT_CACHE_BYTES",
    "DEFAULT_MAX_AGE_SECONDS",
    "DEFAULT_TOP",
    "HEARTBEAT_SECONDS",
    "HEARTBEAT_SETTING",
    "MAX_QUESTION_CHARS",
    "SHARED_SCOPE",
    "UPLOAD_PREFIX",
    "AddReport",
    "Answer",
    "Article",
    "BotState",
    "Citation",
    "DatabaseError",
    "FeedItem",
    "FeedRecord",
    "FetchError",
    "Heartbeat",
    "IndexStats",
    "Paragraph",
    "Passage",
    "PollReport",
    "QuestionError",
    "ReindexReport",
    "SourceError",
    "SourceRecord",
    "Status",
    "StoryIndex",
    "StorybotError",
    "UnknownFeed",
    "UnknownSource",
    "Usage",
    "guild_of",
    "guild_scope",
    "iso_date",
    "validate_question",
    "view_scopes",
]
