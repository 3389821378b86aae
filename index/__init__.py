"""storybot's retrieval core: read sources, split paragraphs, tokenize, store and rank with BM25 in SQLite.

Nothing here knows Discord; the bot and the command line are front-ends over `StoryIndex`.
"""

from index.errors import DatabaseError, QuestionError, SourceError, StorybotError, UnknownSource
from index.library import MAX_QUESTION_CHARS, StoryIndex, validate_question
from index.models import (
    SHARED_SCOPE,
    AddReport,
    Answer,
    Article,
    Citation,
    Passage,
    ReindexReport,
    SourceRecord,
)

__all__ = [
    "MAX_QUESTION_CHARS",
    "SHARED_SCOPE",
    "AddReport",
    "Answer",
    "Article",
    "Citation",
    "DatabaseError",
    "Passage",
    "QuestionError",
    "ReindexReport",
    "SourceError",
    "SourceRecord",
    "StoryIndex",
    "StorybotError",
    "UnknownSource",
    "validate_question",
]
