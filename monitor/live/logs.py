"""Logging set-up: structlog, JSON lines in production, readable on a terminal."""

from __future__ import annotations

import logging
import sys
import time
from collections.abc import Callable

import structlog


def configure_logging(fmt: str = "auto", level: str = "info") -> None:
    """Configure structlog (and stdlib logging it shares a stream with) once, at start-up."""
    as_json = fmt == "json" or (fmt == "auto" and not sys.stderr.isatty())
    renderer: structlog.types.Processor = (
        structlog.processors.JSONRenderer() if as_json else structlog.dev.ConsoleRenderer()
    )
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.format_exc_info,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelName(level.upper())),
        logger_factory=structlog.PrintLoggerFactory(sys.stderr),
        cache_logger_on_first_use=True,
    )


class RepeatFilter(logging.Filter):
    """Pass one of each repeated library warning or error per window; count the rest.

    With Kafka unreachable, aiokafka logs the same few errors for every retry
    (about 80 lines a second here). This keeps the first of each (logger, level,
    message template) per ``window_s`` and adds to the next one let through how
    many it held back. Records below WARNING pass untouched.
    """

    def __init__(self, window_s: float = 10.0, clock: Callable[[], float] = time.monotonic, most: int = 1000) -> None:
        super().__init__()
        self.window_s = window_s
        self.clock = clock
        self.most = most  # distinct templates remembered (libraries format some messages themselves)
        self._seen: dict[tuple[str, int, str], list[float]] = {}  # key -> [window start, held back]

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno < logging.WARNING:
            return True
        key = (record.name, record.levelno, str(record.msg))
        now = self.clock()
        entry = self._seen.get(key)
        if entry is not None and now - entry[0] < self.window_s:
            entry[1] += 1
            return False
        held = int(entry[1]) if entry is not None else 0
        if len(self._seen) >= self.most and entry is None:
            self._seen.clear()
        self._seen[key] = [now, 0]
        if held:
            record.msg = f"{record.getMessage()} ({held} more like this held back in the last {self.window_s:g} s)"
            record.args = ()  # not None: mode's formatter would make it (None,)
        return True
