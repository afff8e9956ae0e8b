"""The filter that keeps a Kafka outage from flooding the log."""

from __future__ import annotations

import logging

from mode.utils.logging import ExtensionFormatter

from monitor.live.logs import RepeatFilter


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def _record(msg: str, *args: object, level: int = logging.ERROR, name: str = "aiokafka.client") -> logging.LogRecord:
    return logging.LogRecord(name, level, __file__, 1, msg, args, None)


def test_repeats_within_the_window_are_held_back_and_counted() -> None:
    clock = Clock()
    repeats = RepeatFilter(window_s=10, clock=clock)
    assert repeats.filter(_record("Unable connect to node with id %s: %s", 1, "refused"))
    passed = 0
    for step in range(1, 80):  # 80 a second, as aiokafka does with the broker down
        clock.now = step / 80
        passed += repeats.filter(_record("Unable connect to node with id %s: %s", 1, "refused"))
    assert passed == 0
    clock.now = 10.0
    again = _record("Unable connect to node with id %s: %s", 1, "refused")
    assert repeats.filter(again)
    assert again.getMessage() == "Unable connect to node with id 1: refused (79 more like this held back in the last 10 s)"
    # Faust's log handler formats with mode's formatter, which rewrites the arguments.
    assert ExtensionFormatter(fmt="%(message)s").format(again) == again.getMessage()
    clock.now = 10.5
    assert not repeats.filter(_record("Unable connect to node with id %s: %s", 1, "refused"))


def test_different_messages_loggers_and_levels_are_kept_apart() -> None:
    repeats = RepeatFilter(window_s=10, clock=Clock())
    assert repeats.filter(_record("Unable to update metadata from %s", [1]))
    assert repeats.filter(_record("Failed fetch messages from %s: %s", 1, "x", name="aiokafka.consumer.fetcher"))
    assert repeats.filter(_record("Unable to update metadata from %s", [1], level=logging.WARNING))
    assert repeats.filter(_record("Unable to update metadata from %s", [1], name="other"))
    assert not repeats.filter(_record("Unable to update metadata from %s", [1]))


def test_info_and_debug_pass_untouched() -> None:
    repeats = RepeatFilter(window_s=10, clock=Clock())
    for _ in range(3):
        record = _record("Stopping... %s", "x", level=logging.INFO)
        assert repeats.filter(record)
        assert record.getMessage() == "Stopping... x"


def test_memory_stays_bounded_when_a_library_formats_its_own_messages() -> None:
    clock = Clock()
    repeats = RepeatFilter(window_s=10, clock=clock, most=50)
    for i in range(500):
        assert repeats.filter(_record(f"offset {i} out of range"))
    assert len(repeats._seen) <= 50


def test_the_worker_keeps_the_root_logger_at_the_level_asked_for() -> None:
    """Faust's progress spinner would set the root logger to DEBUG, so every debug record is built and dropped."""
    import asyncio

    import faust

    from monitor.live.run import _worker_class
    from monitor.live.settings import Settings

    loop = asyncio.new_event_loop()
    try:
        worker = _worker_class(Settings())(faust.App("log-level-test", autodiscover=False), loglevel="WARNING",
                                           quiet=True, loop=loop, redirect_stdouts=False)
        logger = logging.Logger("root-under-test", logging.WARNING)
        logger.addHandler(logging.StreamHandler())
        worker.on_setup_root_logger(logger, logging.WARNING)
        assert not logger.isEnabledFor(logging.DEBUG)
        assert not logger.isEnabledFor(logging.INFO)
    finally:
        loop.close()
