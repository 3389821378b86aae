"""`LOG_FORMAT`: discord.py's coloured text lines on stderr, or one JSON object a line for a log collector."""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime

import discord
from discord.utils import MISSING

from bot.config import Settings


class JsonFormatter(logging.Formatter):
    """A record as one JSON object: time (UTC, ISO 8601), level, logger, message, and any traceback."""

    def format(self, record: logging.LogRecord) -> str:
        """The record on one line; a traceback stays inside the object, never on lines of its own."""
        entry = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False)


def setup_logging(settings: Settings) -> None:
    """Log at LOG_LEVEL to stderr, as LOG_FORMAT says (discord.py's own handler, so its loggers follow)."""
    formatter = JsonFormatter() if settings.log_format == "json" else MISSING
    discord.utils.setup_logging(level=settings.log_level, formatter=formatter)
