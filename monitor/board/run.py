"""Start ``sla-monitor board``: logging, the feed and the web server, until SIGTERM or Ctrl-C."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import sys

import structlog
from aiohttp import web

from monitor.board.board import Board
from monitor.board.feed import Feed
from monitor.board.settings import BoardSettings
from monitor.board.web import create_web

log = structlog.get_logger("sla.board")


def configure_logging(fmt: str, level: str) -> None:
    """structlog as the worker sets it up: JSON lines unless on a terminal."""
    as_json = fmt == "json" or (fmt == "auto" and not sys.stderr.isatty())
    structlog.configure(
        processors=[structlog.processors.add_log_level, structlog.processors.TimeStamper(fmt="iso", utc=True),
                    structlog.processors.format_exc_info,
                    structlog.processors.JSONRenderer() if as_json else structlog.dev.ConsoleRenderer()],
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelName(level.upper())),
        logger_factory=structlog.PrintLoggerFactory(sys.stderr),
        cache_logger_on_first_use=True,
    )
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)


async def serve(settings: BoardSettings, stop: asyncio.Event) -> None:
    """Run the feed and the web server until ``stop`` is set."""
    feed = Feed(settings, Board(settings.board_max_tickets))
    runner = web.AppRunner(create_web(feed, settings.board_push_s), access_log=None, shutdown_timeout=1.0)
    await runner.setup()
    site = web.TCPSite(runner, settings.board_host, settings.board_port)
    await site.start()
    shown = "127.0.0.1" if settings.board_host in ("0.0.0.0", "::") else settings.board_host
    log.info("board listening", url=f"http://{shown}:{settings.board_port}/", topic=settings.topic_clocks)
    reading = asyncio.create_task(feed.run())
    try:
        await stop.wait()
    finally:
        reading.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await reading
        await runner.cleanup()


def run_board(settings: BoardSettings) -> int:
    """The process: serve until a stop signal; return the exit status."""
    configure_logging(settings.log_format, settings.log_level)

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, stop.set)
        await serve(settings, stop)

    try:
        asyncio.run(main())
    except OSError as error:  # the port is taken, the address is not ours
        log.error("board cannot start", error=str(error), host=settings.board_host, port=settings.board_port)
        return 1
    return 0
