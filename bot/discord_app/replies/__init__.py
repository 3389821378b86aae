"""The one formatter: every message the bot sends is built here, within Discord's limits.

Answers, context, sources, help, status and notices become `Reply` values (content and/or one embed) or plain
text. All untrusted text goes through `escaping.escape`, and every length is clipped to the limits in
`limits`. The modules are split by audience: `for_members` (answers, context, /sources, /help), `for_admins`
(/admin, announcements, choices) and `notices` (refusals, restarting, apologies); handlers import from here.
"""

from bot.discord_app.replies.dated import (
    EXPLANATION_GONE,
    about_of,
    explanation_reply,
    timeline_pages,
    timeline_reply,
)
from bot.discord_app.replies.for_admins import (
    add_failed,
    added_reply,
    admin_sources_reply,
    announcement,
    feed_choice,
    followed_reply,
    reindex_failed,
    reindex_progress,
    reindex_stopped,
    reindex_summary,
    removed_notice,
    source_choice,
    status_reply,
    unfollowed_notice,
    unknown_feed,
    unknown_source,
)
from bot.discord_app.replies.for_members import (
    CONTEXT_UNAVAILABLE,
    EXAMPLE_QUESTIONS,
    answer_reply,
    context_reply,
    help_reply,
    page_count,
    question_of,
    sources_reply,
)
from bot.discord_app.replies.limits import (
    CHOICE_LIMIT,
    CONTENT_LIMIT,
    DESCRIPTION_LIMIT,
    EMBED_TOTAL_LIMIT,
    FIELD_VALUE_LIMIT,
    TITLE_LIMIT,
    embed_problems,
)
from bot.discord_app.replies.notices import (
    apology,
    busy_notice,
    cooldown_notice,
    date_problem,
    notice,
    question_problem,
    restarting_notice,
    server_limit_notice,
)

__all__ = [
    "CHOICE_LIMIT",
    "CONTENT_LIMIT",
    "CONTEXT_UNAVAILABLE",
    "DESCRIPTION_LIMIT",
    "EMBED_TOTAL_LIMIT",
    "EXAMPLE_QUESTIONS",
    "EXPLANATION_GONE",
    "FIELD_VALUE_LIMIT",
    "TITLE_LIMIT",
    "about_of",
    "add_failed",
    "added_reply",
    "admin_sources_reply",
    "announcement",
    "answer_reply",
    "apology",
    "busy_notice",
    "context_reply",
    "cooldown_notice",
    "date_problem",
    "embed_problems",
    "explanation_reply",
    "feed_choice",
    "followed_reply",
    "help_reply",
    "notice",
    "page_count",
    "question_of",
    "question_problem",
    "reindex_failed",
    "reindex_progress",
    "reindex_stopped",
    "reindex_summary",
    "removed_notice",
    "restarting_notice",
    "server_limit_notice",
    "source_choice",
    "sources_reply",
    "status_reply",
    "timeline_pages",
    "timeline_reply",
    "unfollowed_notice",
    "unknown_feed",
    "unknown_source",
]
