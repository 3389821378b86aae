"""The few errors the core raises on purpose; front-ends turn them into a message, never a traceback."""


class StorybotError(Exception):
    """Base of every error storybot reports to its user as a plain message."""


class DatabaseError(StorybotError):
    """The database cannot be used: not storybot's, from a newer version, or not writable."""


class NotStorybotDatabase(DatabaseError):
    """The file is not storybot's (another application's SQLite file, or not SQLite); left untouched."""


class DamagedDatabase(DatabaseError):
    """Storybot's own file is damaged: SQLite finds it malformed, or storybot's invariants do not hold."""

    def __init__(self, detail: str, path: object = None) -> None:
        self.detail = detail
        self.path = path
        """The database's path; None when the part that found the damage does not know it."""
        where = f" ({path})" if path is not None else ""
        super().__init__(
            f"the database is damaged{where}: {detail}; run `storybot check`, and restore a backup if it "
            "finds damage (`storybot reindex` rebuilds damaged postings and statistics)"
        )


class DiskFull(DatabaseError):
    """No space is left on the disk holding the database; the transaction was rolled back."""


class DatabaseLocked(DatabaseError):
    """Another process held the database's write lock for longer than the busy timeout."""


class ReadOnlyDatabase(DatabaseError):
    """A write was asked of a database this process can only read."""


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
