"""Live-only input checks: tickets dated far ahead of the worker's clock, and events on the other kind's topic."""

from __future__ import annotations

import base64
import json
import time
from pathlib import Path
from typing import Any

from aiokafka import AIOKafkaProducer

from tests.integration.conftest import (
    BOOTSTRAP,
    Names,
    Worker,
    create_topics,
    new_worker,
    probe,
    read_outputs,
    run,
    ticket,
)


async def _send(items: list[tuple[str, dict[str, Any]]]) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=BOOTSTRAP, acks="all")
    await producer.start()
    try:
        for topic, body in items:
            await producer.send_and_wait(topic, json.dumps(body).encode())
    finally:
        await producer.stop()


def test_future_tickets_and_events_on_the_wrong_topic_are_rejected(
    tmp_path: Path, names: Names, workers: list[Worker],
) -> None:
    """A ticket a year ahead, a ticket event on the probe topic and a probe on the ticket topic become dead letters."""
    run(create_topics(names, 1))
    worker = new_worker(workers, tmp_path, names, "a")
    worker.wait_ready()
    now = time.time()
    items = [
        (names.events, ticket("opened", "AHEAD", now + 365 * 86_400, priority="P3")),
        (names.events, ticket("opened", "SOON", now + 60, priority="P3")),  # within the 5 min bound: accepted
        (names.probes, ticket("opened", "ASTRAY", now, priority="P3")),
        (names.events, probe("crm", "a", now, ok=True)),
        (names.probes, probe("crm", "b", now, ok=True)),  # where it belongs: accepted
    ]
    run(_send(items))
    outputs = run(read_outputs(names, idle=3.0))
    dead = {json.loads(base64.b64decode(o.record["original_b64"]))["event_id"]: o.record
            for o in outputs if o.topic == names.dead_letter}
    assert sorted(dead) == sorted([items[0][1]["event_id"], items[2][1]["event_id"], items[3][1]["event_id"]])
    assert all(d["kind"] == "rejected" for d in dead.values())
    ahead, astray, probe_astray = (dead[items[i][1]["event_id"]] for i in (0, 2, 3))
    assert "is more than 300 s ahead of the worker's clock" in ahead["reason"]
    assert ahead["ticket_id"] == "AHEAD"
    assert astray["reason"] == f"ticket.opened belongs on topic {names.events}, not {names.probes}"
    assert astray["ticket_id"] == "ASTRAY"
    assert probe_astray["reason"] == f"probe.result belongs on topic {names.probes}, not {names.events}"
    assert probe_astray["service_id"] == "crm"
    counts = worker.stats()["counts"]
    assert counts.get("event.ticket.opened") == 1, counts
    assert counts.get("event.probe.result") == 1, counts
