"""Start a live worker process: logging, topics, the Faust app, its loop."""

from __future__ import annotations

import asyncio
import gc
import logging
import signal
import threading

import structlog
from aiokafka.errors import KafkaError

from monitor.core.errors import UsageError
from monitor.core.policy import Policy
from monitor.live.app import create_app, hard_exit
from monitor.live.kafka import ensure_topics, when_reachable
from monitor.live.logs import RepeatFilter, configure_logging
from monitor.live.settings import Settings

log = structlog.get_logger("sla.run")
GC_YOUNG_THRESHOLD = 50_000  # allocations between two young-generation collections (Python's default: 700)


async def _topics_when_reachable(settings: Settings, attempts: int = 20) -> int:
    return await when_reachable(lambda: ensure_topics(settings), settings, log, attempts)


def _worker_class(settings: Settings) -> type:
    """faust.Worker that cannot hang on the way out.

    mode's Worker ignores a second stop signal and waits for every service to stop;
    with the broker gone, or a batch's publish being retried, the streams never
    finish (observed: "Wait for streams...", "wait_empty: Waiting for tasks" for
    minutes). After ``shutdown_timeout_s``, or at a second signal, the process
    exits without the clean steps.
    """
    import faust

    class Worker(faust.Worker):
        def on_setup_root_logger(self, logger: logging.Logger, level: int) -> None:
            # No progress spinner: it sets the root logger to DEBUG whatever the level asked for, so
            # every library's debug record (aiokafka logs one per message sent) is built, then dropped.
            self.spinner = None
            super().on_setup_root_logger(logger, level)
            for handler in logger.handlers:  # one filter each: a filter counts what it sees
                handler.addFilter(RepeatFilter())

        def _schedule_shutdown(self, signum: signal.Signals) -> None:
            if self._signal_stop_time:
                hard_exit(1, "second stop signal: exiting without a clean stop", signal=signum.name)
            super()._schedule_shutdown(signum)
            timer = threading.Timer(
                settings.shutdown_timeout_s, hard_exit,
                (1, "clean stop took too long: exiting without it (is Kafka reachable? is a publish being retried?)"),
                {"timeout_s": settings.shutdown_timeout_s},
            )
            timer.daemon = True
            timer.start()

    return Worker


def run_worker(settings: Settings, policy: Policy) -> int:
    """Run the worker until it is stopped; return the exit status."""
    configure_logging(settings.log_format, settings.log_level)
    # Fewer young collections: a batch makes thousands of short-lived tuples, none of them cycles.
    gc.set_threshold(GC_YOUNG_THRESHOLD, 20, 20)
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    try:
        partitions = loop.run_until_complete(_topics_when_reachable(settings))
    except UsageError as error:
        log.error("cannot use the topics", problem=str(error))
        return 2
    except KafkaError as error:
        log.error("cannot reach Kafka", bootstrap=settings.kafka_bootstrap, error=str(error),
                  hint="is the broker running? (make kafka-up)")
        return 1
    app = create_app(settings, policy, partitions)
    log.info(
        "worker starting", app_id=settings.app_id, bootstrap=settings.kafka_bootstrap, partitions=partitions,
        instance_id=settings.instance_id, policy=str(settings.policy), web_port=settings.web_port,
    )
    worker = _worker_class(settings)(app, loglevel=settings.log_level.upper(), quiet=True, loop=loop, redirect_stdouts=False)
    worker.execute_from_commandline()  # exits the process when the worker stops
    return 0  # pragma: no cover
