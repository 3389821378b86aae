"""The few errors the core raises on purpose; front-ends turn them into a message, never a traceback."""


class StorybotError(Exception):
    """Base of every error storybot reports to its user as a plain message."""


class DatabaseError(StorybotError):
    """The database cannot be used: not storybot's, from a newer version, or not writable."""


class SourceError(StorybotError):
    """A source could not be read: missing, unsupported, malformed or empty."""


class QuestionError(StorybotError):
    """A question is empty or too long to be answered."""


class UnknownSource(StorybotError):
    """No source has the given id."""
