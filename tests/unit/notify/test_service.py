"""The notifier's shell without Kafka: what it posts, retries and drops, with a stand-in Alertmanager client."""

from __future__ import annotations

import asyncio
import json
import re
from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from aiokafka.structs import TopicPartition

from monitor.live.settings import Settings
from monitor.notify.alertmanager import Refused, Unreachable
from monitor.notify.service import Item, Notifier, read_to_end

NOW = datetime(2026, 3, 2, 11, 0, tzinfo=UTC)


class FakeAlertmanager:
    """Takes posts into a list; refuses alerts of ticket BAD; unreachable while ``down``."""

    url = "http://fake/api/v2/alerts"

    def __init__(self) -> None:
        self.posts: list[list[dict[str, Any]]] = []
        self.down = False

    async def post(self, alerts: list[dict[str, Any]]) -> None:
        if self.down:
            raise Unreachable("connection refused")
        if any(a["labels"]["ticket_id"] == "BAD" for a in alerts):
            raise Refused("HTTP 400: start time must be before end time")
        self.posts.append(alerts)

    async def close(self) -> None:
        pass


def item(ticket: str, kind: str = "breach", timestamp_ms: int = 1) -> Item:
    body = {"type": f"sla.{kind}", "id": f"{ticket}:response:{kind}", "schema_version": 1, "ticket_id": ticket,
            "metric": "response", "priority": "P1", "deadline": "2026-03-02T10:15:00+00:00",
            "at": "2026-03-02T10:15:00+00:00"}
    return Item(((timestamp_ms, 1), "t", 0, 0), body, len(json.dumps(body)))


def notifier(client: FakeAlertmanager) -> Notifier:
    return Notifier(Settings(notify_repost_s=60), client, clock=lambda: NOW)  # type: ignore[arg-type]


def test_a_refused_alert_is_dropped_alone_and_the_rest_delivered() -> None:
    """An invalid alert (HTTP 400) in a batch is found and dropped; the others of the batch are posted."""
    asyncio.run(_a_refused_alert_is_dropped_alone_and_the_rest_delivered())


async def _a_refused_alert_is_dropped_alone_and_the_rest_delivered() -> None:
    client = FakeAlertmanager()
    shell = notifier(client)
    shell.topics_read()
    for ticket in ("A", "BAD", "C"):
        shell.take(item(ticket))
    await shell._deliver_once()
    posted = sorted(a["labels"]["ticket_id"] for batch in client.posts for a in batch)
    assert set(posted) == {"A", "C"}
    assert len(shell.outbox) == 0
    assert shell.metrics.failures.labels("refused")._value.get() >= 1


def test_unreachable_keeps_the_backlog_and_recovery_reposts_everything() -> None:
    """While Alertmanager is down the outbox grows; back, it drains and the whole firing set is posted."""
    asyncio.run(_unreachable_keeps_the_backlog_and_recovery_reposts_everything())


async def _unreachable_keeps_the_backlog_and_recovery_reposts_everything() -> None:
    client = FakeAlertmanager()
    shell = notifier(client)
    shell.topics_read()
    client.down = True
    task = asyncio.create_task(shell.deliver())
    shell.take(item("A"))
    shell.take(item("B"))
    await asyncio.sleep(0.2)
    assert len(shell.outbox) == 2
    assert shell.post_error is not None
    client.down = False
    for _ in range(50):
        await asyncio.sleep(0.1)
        if shell.post_error is None and not len(shell.outbox):
            break
    shell.stopping.set()
    shell._wake.set()
    await task
    assert len(shell.outbox) == 0
    assert shell.post_error is None
    assert {a["labels"]["ticket_id"] for a in client.posts[-1]} == {"A", "B"}  # the re-post after recovery


def test_nothing_is_posted_before_the_topics_are_read() -> None:
    """During the rebuild, firing alerts are not posted one by one; the whole set goes once it is read."""
    asyncio.run(_nothing_is_posted_before_the_topics_are_read())


async def _nothing_is_posted_before_the_topics_are_read() -> None:
    client = FakeAlertmanager()
    shell = notifier(client)
    shell.take(item("A"), rebuilding=True)
    shell.take(item("B"), rebuilding=True)
    assert len(shell.outbox) == 0
    shell.topics_read()
    await shell._deliver_once()
    assert [sorted(a["labels"]["ticket_id"] for a in batch) for batch in client.posts] == [["A", "B"]]



def test_every_notifier_metric_is_documented_and_nothing_more() -> None:
    """docs/metrics.md's Notifier section lists exactly the metrics the notifier exports."""
    shell = notifier(FakeAlertmanager())
    exported = {m.name + ("_total" if m.type == "counter" else "") for m in shell.registry.collect()}
    text = (Path(__file__).resolve().parents[3] / "docs" / "metrics.md").read_text()
    section = text[text.index("## Notifier"):]
    assert set(re.findall(r"^\| `(sla_notify_[a-z_]+)`", section, re.M)) == exported


class FakeConsumer:
    """Serves fixed partitions, each getmany giving one chunk of two records per partition asked for."""

    def __init__(self, records: dict[Any, list[Any]]) -> None:
        self.records = records
        self.positions = dict.fromkeys(records, 0)

    async def seek_to_beginning(self, *tps: Any) -> None:
        for tp in tps:
            self.positions[tp] = 0

    async def end_offsets(self, tps: list[Any]) -> dict[Any, int]:
        return {tp: len(self.records[tp]) for tp in tps}

    async def position(self, tp: Any) -> int:
        return self.positions[tp]

    async def getmany(self, *tps: Any, timeout_ms: int = 0) -> dict[Any, list[Any]]:
        out = {}
        for tp in tps:
            start = self.positions[tp]
            chunk = self.records[tp][start:start + 2]
            if chunk:
                out[tp] = chunk
                self.positions[tp] = start + len(chunk)
        return out


def test_the_start_up_read_takes_records_of_all_topics_in_publication_order() -> None:
    """However the topics' fetches arrive, records are taken by (timestamp, rank): an outcome never before the
    breach it ends, a breach of the same millisecond before the outcome."""
    def message(topic: str, offset: int, kind: str, ticket: str, timestamp: int) -> Any:
        value = json.dumps({"type": f"sla.{kind}", "ticket_id": ticket}).encode()
        return SimpleNamespace(topic=topic, partition=0, offset=offset, timestamp=timestamp, value=value)

    warnings, breaches, outcomes = (TopicPartition(t, 0) for t in ("w", "b", "o"))
    records = {
        outcomes: [message("o", i, "outcome", f"T-{i}", 10 + 10 * i) for i in range(5)],
        breaches: [message("b", i, "breach", f"T-{i}", 10 + 10 * i) for i in range(5)],  # same ms as its outcome
        warnings: [message("w", i, "warning", f"T-{i}", 5 + 10 * i) for i in range(5)],
    }
    taken: list[Item] = []
    count = asyncio.run(read_to_end(FakeConsumer(records), [outcomes, breaches, warnings],  # type: ignore[arg-type]
                                    taken.append, asyncio.Event()))
    assert count == 15
    order = [(i.record["type"][4:], i.record["ticket_id"]) for i in taken if i.record]
    assert order == [(kind, f"T-{n}") for n in range(5) for kind in ("warning", "breach", "outcome")]
