"""Messages forged on the internal wake-up topic publish nothing and move no clock."""

from __future__ import annotations

import json
import time
from pathlib import Path

from aiokafka import AIOKafkaProducer

from monitor.live.kafka import internal_topics, partition_for
from monitor.live.settings import Settings
from tests.integration.conftest import (
    BOOTSTRAP,
    Names,
    Producer,
    Worker,
    create_topics,
    new_worker,
    probe,
    read_outputs,
    run,
)

DAY_US = 86_400 * 1_000_000


async def _forge(names: Names, messages: list[tuple[bytes, bytes]], partition: int | None = None) -> None:
    wakeups = internal_topics(Settings(app_id=names.app_id))[1]
    producer = AIOKafkaProducer(bootstrap_servers=BOOTSTRAP, acks="all")
    await producer.start()
    try:
        for key, body in messages:
            await producer.send_and_wait(wakeups, body, key=key, partition=partition_for(key, 4) if partition is None else partition)
    finally:
        await producer.stop()


def test_forged_and_malformed_wakeups_are_ignored_and_counted(
    tmp_path: Path, names: Names, workers: list[Worker],
) -> None:
    """A wake-up or tick 20 days ahead for a down service (any version), garbage and mismatched keys publish nothing."""
    run(create_topics(names, 4))
    worker = new_worker(workers, tmp_path, names, "a")
    worker.wait_ready()
    now = time.time()
    run(Producer(names).send_all([(0.0, probe("crm", "a", now, ok=False))], now))
    deadline = time.monotonic() + 20
    while not worker.stats()["counts"].get("event.probe.result"):
        assert time.monotonic() < deadline, "the probe result was not handled"
        time.sleep(0.2)
    due_us = int(now * 1_000_000) + 20 * DAY_US
    forged = [(b"crm", json.dumps({"service_id": "crm", "version": v, "due_us": due_us}).encode()) for v in range(4)]
    forged += [(b"crm", b"not json"), (b"crm", b'{"service_id": "crm"}'),
               (b"crm", json.dumps({"service_id": "shop", "version": 1, "due_us": due_us}).encode())]
    run(_forge(names, forged))
    # Ticks: one claiming an instant 20 days ahead on crm's partition (fires only what is due by the
    # worker's clock), and a keyed one (not the timer's: malformed).
    ticks = [(b"", json.dumps({"tick_us": due_us}).encode()), (b"crm", json.dumps({"tick_us": due_us}).encode())]
    run(_forge(names, ticks, partition=partition_for(b"crm", 4)))
    deadline = time.monotonic() + 20
    while (counts := worker.stats()["counts"]).get("wake.malformed", 0) < 4:
        assert time.monotonic() < deadline, f"the forged wake-ups were not handled: {counts}"
        time.sleep(0.2)
    assert counts.get("wake.forged", 0) >= 1, counts  # the one with the state's version
    assert counts.get("tick", 0) >= 1, counts
    outputs = run(read_outputs(names, idle=2.0))
    assert outputs == [], [o.record for o in outputs]
    assert worker.health() == 200
