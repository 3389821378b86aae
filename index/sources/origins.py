"""Where a source comes from: the built-in story, an uploaded file, a path; and reading an origin again.

A stored source keeps its origin, so a reindex can read it again. The prefixes say which kind it is:
`builtin:` is the story shipped in the package, `upload:` a file sent to the bot (there is nowhere to read it
again), anything else a path, or a link that only a loader able to fetch reads (`index.web.remote`).
"""

from __future__ import annotations

from collections.abc import Callable
from importlib import resources
from pathlib import Path

from index.errors import SourceError
from index.models import Article
from index.sources.readers import read_path, read_text_source

BUILTIN_STORY = "musk-twitter-ai-gpus.txt"
BUILTIN_PREFIX = "builtin:"
UPLOAD_PREFIX = "upload:"
"""Origins of files uploaded to the bot: there is nowhere to read them again, so a reindex keeps them."""

Loader = Callable[[str], list[Article]]
"""Reads the articles of one origin (a path, a link, the built-in story) again, for a reindex."""


def read_builtin_story() -> list[Article]:
    """The story that ships inside the package."""
    text = resources.files("index").joinpath("data", BUILTIN_STORY).read_text(encoding="utf-8")
    return read_text_source(text, origin=BUILTIN_PREFIX + BUILTIN_STORY, name=BUILTIN_STORY, kind="text")


def load_origin(origin: str) -> list[Article]:
    """Read an origin again: the built-in story or a file path. Links need the fetcher of the front-end."""
    if origin.startswith(BUILTIN_PREFIX):
        return read_builtin_story()
    if origin.startswith(("http://", "https://")):
        raise SourceError(
            f"{origin}: a link is read again by a loader that fetches it (`index.web.remote.link_loader`)"
        )
    return read_path(Path(origin))
