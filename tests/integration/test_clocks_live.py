"""The worker's sla.clock records on the real broker: compacted topic, one record per change, tombstones; and
`sla-monitor board` reading them (ready after the topic's end, following live)."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from aiokafka import AIOKafkaConsumer
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType
from aiokafka.structs import TopicPartition

from monitor.core.clock_record import SlaClock
from tests.integration.board_process import BoardProcess
from tests.integration.conftest import (
    BOOTSTRAP,
    Names,
    Producer,
    Worker,
    new_worker,
    partition_counts,
    run,
    ticket,
    wait_until,
)

pytestmark = pytest.mark.integration


async def read_clocks(topic: str, idle: float = 2.0) -> list[tuple[bytes | None, dict[str, Any] | None]]:
    """Every message of the clocks topic from the start: (key, record or None for a tombstone)."""
    counts = await partition_counts([topic])
    consumer = AIOKafkaConsumer(bootstrap_servers=BOOTSTRAP, enable_auto_commit=False)
    await consumer.start()
    try:
        partitions = [TopicPartition(topic, p) for p in range(counts[topic])]
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        out = []
        while batch := await consumer.getmany(timeout_ms=int(idle * 1000)):
            for messages in batch.values():
                out.extend((m.key, None if m.value is None else json.loads(m.value)) for m in messages)
        return out
    finally:
        await consumer.stop()


async def topic_exists(topic: str) -> bool:
    """Whether the topic exists, asked without naming it (a metadata request naming a topic makes a broker that
    auto-creates topics create it)."""
    admin = AIOKafkaAdminClient(bootstrap_servers=BOOTSTRAP)
    await admin.start()
    try:
        return topic in await admin.list_topics()
    finally:
        await admin.close()


async def cleanup_policy(topic: str) -> str:
    admin = AIOKafkaAdminClient(bootstrap_servers=BOOTSTRAP)
    await admin.start()
    try:
        [described] = await admin.describe_configs([ConfigResource(ConfigResourceType.TOPIC, topic)])
        entries = {name: value for name, value, *_ in described.resources[0][4]}
        return str(entries["cleanup.policy"])
    finally:
        await admin.close()


@pytest.fixture
def boards(tmp_path: Path) -> Iterator[list[BoardProcess]]:
    """Board processes started by the test; all are stopped afterwards."""
    started: list[BoardProcess] = []
    yield started
    for board in started:
        board.stop()


def test_clock_records_appear_change_and_are_tombstoned(tmp_path: Path, names: Names, workers: list[Worker],
                                                        boards: list[BoardProcess]) -> None:
    """Open, warn, acknowledge, resolve: the clocks topic (compacted) holds each change keyed by ticket, the same
    dicts replay --clocks prints, then a tombstone; a board started later shows only the open ticket."""
    worker = new_worker(workers, tmp_path, names, "a")
    worker.wait_ready()
    assert run(cleanup_policy(names.clocks)) == "compact"
    t0 = time.time() + 0.5
    events = [
        (0.0, ticket("opened", "A", t0, priority="P1", customer_id="acme", service_id="mail")),
        (0.2, ticket("opened", "B", t0 + 0.2, priority="P3")),
        (6.0, ticket("acknowledged", "A", t0 + 6.0)),  # after A's 50 % warning at 5 s
        (8.0, ticket("resolved", "A", t0 + 8.0)),
    ]
    producer = Producer(names)
    run(producer.send_all(events, t0))
    wait_until(t0 + 10.0)
    messages = run(read_clocks(names.clocks))
    of_a = [(key, record) for key, record in messages if key == b"A"]
    assert of_a[-1] == (b"A", None), "A was resolved: its last message is a tombstone"
    records = [record for _, record in of_a[:-1]]
    for record in records:
        SlaClock.model_validate(record)
    assert records[0]["clocks"]["response"]["level"] == "none"
    assert [r["clocks"]["response"]["level"] for r in records][-1] == "warning:0.5"
    assert records[-1]["clocks"]["response"]["state"] == "stopped"
    # The same dicts replay --clocks prints for the same events (live folds a batch's changes into one).
    replayed = _replayed_clocks(producer.lines, t0 + 10.0)
    for record in records:
        assert record in replayed, record
    assert any(key == b"B" and record is not None for key, record in messages)
    board = BoardProcess(names, tmp_path / "board.log").start()
    boards.append(board)
    board.wait_ready()
    status, view = board.get("/api/clocks")
    assert status == 200
    assert {(r["ticket_id"], r["metric"]) for r in view["rows"]} == {("B", "response"), ("B", "resolution")}
    # Following live: a new ticket shows up, and leaves once resolved.
    t1 = time.time()
    run(producer.send_all([(0.0, ticket("opened", "C", t1, priority="P2"))], t1))
    assert _eventually(lambda: "C" in _tickets(board)), board.log_tail()
    run(producer.send_all([(0.0, ticket("resolved", "C", time.time()))], time.time()))
    assert _eventually(lambda: "C" not in _tickets(board)), board.log_tail()


def _replayed_clocks(lines: list[str], until: float) -> list[dict[str, Any]]:
    from datetime import UTC, datetime

    from monitor.core.instants import to_us
    from monitor.core.policy import load_policy
    from monitor.core.replay import Rejection, replay_lines
    from tests.integration.conftest import SECONDS_POLICY

    items = replay_lines(load_policy(SECONDS_POLICY), lines, to_us(datetime.fromtimestamp(until, UTC)), clocks=True)
    return [r for r in items if not isinstance(r, Rejection) and r["type"] == "sla.clock"]


def _tickets(board: BoardProcess) -> set[str]:
    _, view = board.get("/api/clocks")
    return {r["ticket_id"] for r in (view or {}).get("rows", [])}


def _eventually(check: Any, within: float = 2.0) -> bool:
    """Whether ``check()`` holds within ``within`` seconds (the board's promise: changes within 2 s)."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.05)
    return bool(check())


def test_an_empty_clocks_topic_setting_publishes_none(tmp_path: Path, names: Names, workers: list[Worker]) -> None:
    """SLA_TOPIC_CLOCKS='' turns the clock records off: the topic is not even created."""
    worker = new_worker(workers, tmp_path, names, "a", env={"SLA_TOPIC_CLOCKS": ""})
    worker.wait_ready()
    t0 = time.time()
    run(Producer(names).send_all([(0.0, ticket("opened", "A", t0, priority="P1"))], t0))
    wait_until(t0 + 2.0)
    assert worker.stats()["counts"].get("clock_records", 0) == 0
    assert not run(topic_exists(names.clocks))


def test_a_board_started_before_the_topic_exists_waits_then_follows(tmp_path: Path, names: Names,
                                                                    workers: list[Worker],
                                                                    boards: list[BoardProcess]) -> None:
    """Before the worker created the clocks topic the board is alive but not ready (and creates nothing); once
    the worker runs it gets ready and shows a ticket opened then."""
    board = BoardProcess(names, tmp_path / "board.log").start()
    boards.append(board)
    deadline = time.monotonic() + 20
    while board.get("/health/live")[0] != 200 and time.monotonic() < deadline:
        time.sleep(0.1)
    status, body = board.get("/health/ready")
    while body.get("reason") == "starting" and time.monotonic() < deadline:  # its first look at the topics
        assert (status, body["status"]) == (503, "unavailable")
        time.sleep(0.1)
        status, body = board.get("/health/ready")
    assert (status, body["status"]) == (503, "unavailable")
    assert "does not exist yet" in body["reason"]
    time.sleep(3)  # a few discovery rounds: the board must not create the topic itself
    assert not run(topic_exists(names.clocks))
    worker = new_worker(workers, tmp_path, names, "a")
    worker.wait_ready()
    board.wait_ready(timeout=20)
    t0 = time.time()
    run(Producer(names).send_all([(0.0, ticket("opened", "LATE", t0, priority="P3"))], t0))
    assert _eventually(lambda: "LATE" in _tickets(board)), board.log_tail()
    assert run(cleanup_policy(names.clocks)) == "compact"  # the worker's topic, not one the board made


def test_the_worker_warns_about_a_clocks_topic_that_is_not_compacted(names: Names) -> None:
    """A clocks topic that exists with cleanup.policy=delete (auto-created, or by hand) is named in a warning."""
    import structlog
    from aiokafka.admin import NewTopic

    from monitor.live.kafka import ensure_topics
    from monitor.live.settings import Settings

    async def go() -> list[dict[str, Any]]:
        admin = AIOKafkaAdminClient(bootstrap_servers=BOOTSTRAP)
        await admin.start()
        try:
            await admin.create_topics([NewTopic(names.clocks, 1, 1)])
        finally:
            await admin.close()
        settings = Settings(**{k[4:].lower(): v for k, v in names.env().items()})
        with structlog.testing.capture_logs() as logs:
            await ensure_topics(settings)
        return logs

    logs = run(go())
    [warning] = [entry for entry in logs if entry["event"].startswith("clocks topic is not compacted")]
    assert (warning["topic"], warning["cleanup_policy"]) == (names.clocks, "delete")
