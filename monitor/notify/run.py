"""Start `sla-monitor notify`: logging, the web port, the consumer and the poster, until a stop signal."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import sys

import structlog
from aiohttp import web
from aiokafka.errors import KafkaError

from monitor.live.logs import RepeatFilter, configure_logging
from monitor.live.settings import Settings
from monitor.notify.alertmanager import AlertmanagerClient
from monitor.notify.service import Notifier, alert_topics, consume

log = structlog.get_logger("sla.notify")


async def serve(settings: Settings) -> int:
    """Run the notifier until SIGTERM / SIGINT; return the exit status."""
    client = AlertmanagerClient(settings.alertmanager_url)
    notifier = Notifier(settings, client)
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, notifier.stopping.set)
    runner = web.AppRunner(notifier.web_app(), access_log=None)
    await runner.setup()
    try:
        await web.TCPSite(runner, settings.notify_web_host, settings.notify_web_port).start()
    except OSError as error:
        log.error("cannot open the web port", host=settings.notify_web_host, port=settings.notify_web_port,
                  error=str(error), hint="set SLA_NOTIFY_WEB_PORT")
        await runner.cleanup()
        return 2
    log.info("notifier starting", alertmanager=settings.alertmanager_url, bootstrap=settings.kafka_bootstrap,
             topics=alert_topics(settings), group=settings.notify_group, web_port=settings.notify_web_port,
             repost_s=settings.notify_repost_s)
    status = 0
    delivery = asyncio.create_task(notifier.deliver())
    consumer = asyncio.create_task(consume(settings, notifier))
    stopped = asyncio.create_task(notifier.stopping.wait())
    try:
        await asyncio.wait({consumer, stopped}, return_when=asyncio.FIRST_COMPLETED)
        if consumer.done() and not stopped.done():
            failure = consumer.exception()
            log.error("reading the topics failed", error=f"{type(failure).__name__}: {failure}", bootstrap=settings.kafka_bootstrap,
                      hint="is the broker running? (make kafka-up)")
            status = 1
    finally:
        notifier.stopping.set()
        for task in (consumer, delivery, stopped):
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, KafkaError, Exception):
                await task
        await client.close()
        await runner.cleanup()
        log.info("notifier stopped", firing=len(notifier.firing), backlog=len(notifier.outbox))
    return status


def library_logs(fmt: str) -> None:
    """Warnings of aiokafka and aiohttp as log lines in the same format, repeats held back (``RepeatFilter``)."""
    as_json = fmt == "json" or (fmt == "auto" and not sys.stderr.isatty())
    renderer: structlog.types.Processor = (
        structlog.processors.JSONRenderer() if as_json else structlog.dev.ConsoleRenderer()
    )
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(structlog.stdlib.ProcessorFormatter(
        processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, renderer],
        foreign_pre_chain=[structlog.stdlib.add_log_level, structlog.stdlib.add_logger_name,
                           structlog.processors.TimeStamper(fmt="iso", utc=True)],
    ))
    handler.addFilter(RepeatFilter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(logging.WARNING)


def run_notify(settings: Settings) -> int:
    """Entry point of `sla-monitor notify`."""
    configure_logging(settings.log_format, settings.log_level)
    library_logs(settings.log_format)
    return asyncio.run(serve(settings))
