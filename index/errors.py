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


class UnknownFeed(StorybotError):
    """No followed feed has the given link (in the scopes asked about)."""


class FetchError(SourceError):
    """A link was refused or could not be fetched; the message says why, starting with the link."""


class BlockedAddress(FetchError):
    """A link leads to an address the operator has not allowed (loopback, private, link-local, ...)."""


class DateError(StorybotError):
    """A date as typed cannot be read, or a date range ends before it starts."""
