"""The worker's clock records: built from each batch's newest states, the same dicts replay prints."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from monitor.core.policy import Policy
from monitor.core.replay import Rejection, replay_lines
from monitor.live.clock_topic import ClockPublisher, clock_messages
from monitor.live.kafka import Row
from tests.conftest import event_json
from tests.unit.live.test_processor import Live, _us


class Recorder:
    """The worker's batch send: remembers each message, answers with one acknowledged (or failed) batch."""

    def __init__(self, fail: bool = False) -> None:
        self.sent: list[tuple[str, bytes, bytes | None, list[tuple[str, bytes]]]] = []
        self.fail = fail

    async def __call__(self, topic: str, rows: list[Row]) -> list[tuple[Any, list[Row]]]:
        self.sent.extend((topic, key, value, list(headers)) for key, value, headers in rows)
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        if self.fail:
            future.set_exception(RuntimeError("broker gone"))
        else:
            future.set_result(None)
        return [(future, rows)]


def _replayed(policy: Policy, lines: list[str], until: str) -> list[dict[str, Any]]:
    items = replay_lines(policy, lines, _us(until), clocks=True)
    return [r for r in items if not isinstance(r, Rejection) and r["type"] == "sla.clock"]


def test_one_record_per_ticket_per_batch_the_latest(policy: Policy) -> None:
    """Three events of one ticket and one of another in a batch: two records, each the ticket's newest state."""
    live = Live(policy)
    lines = [event_json("opened", "A", "2026-11-30T09:00:00", priority="P2"),
             event_json("opened", "B", "2026-11-30T09:01:00", priority="P3"),
             event_json("acknowledged", "A", "2026-11-30T09:02:00"),
             event_json("paused", "A", "2026-11-30T09:03:00")]
    live.now = _us("2026-11-30T09:03:00+08:00")
    outbox = live.run(*(live.message("tickets.events", line, json.loads(line)["ticket_id"]) for line in lines))
    messages = clock_messages(outbox, policy)
    assert [(key, record_id) for key, _, record_id in messages] == [(b"A", "A:clock"), (b"B", "B:clock")]
    records = {key: json.loads(value or b"null") for key, value, _ in messages}
    assert records[b"A"]["updated_at"] == "2026-11-30T09:03:00+08:00"
    assert records[b"A"]["clocks"]["resolution"]["state"] == "paused"
    assert records[b"A"]["clocks"]["response"]["state"] == "stopped"
    # The same dict replay prints last for each ticket.
    replayed = _replayed(policy, lines, "2026-11-30T09:03:00+08:00")
    assert records[b"A"] == [r for r in replayed if r["ticket_id"] == "A"][-1]
    assert records[b"B"] == [r for r in replayed if r["ticket_id"] == "B"][-1]


def test_wake_ups_publish_the_levels_they_fire_as_replay_does(policy: Policy) -> None:
    """A warning fired by a tick rewrites the record with that level and instant, as replay's record at it."""
    live = Live(policy)
    opened = event_json("opened", "T", "2026-11-30T09:00:00+08:00", priority="P1")
    live.run(live.message("tickets.events", opened, "T"))
    live.now = _us("2026-11-30T09:07:30+08:00")  # P1 (always open): 50 % of 15 min
    outbox = live.run(*live.wakeups())
    [(key, value, _)] = clock_messages(outbox, policy)
    record = json.loads(value or b"null")
    assert (key, record["clocks"]["response"]["level"], record["updated_at"]) == (
        b"T", "warning:0.5", "2026-11-30T01:07:30Z")
    replayed = _replayed(policy, [opened], "2026-11-30T09:07:30+08:00")
    assert record == replayed[-1]


def test_a_resolved_ticket_gets_a_tombstone(policy: Policy) -> None:
    """Resolution: the record's value is None (a tombstone keyed by the ticket id)."""
    live = Live(policy)
    live.run(live.ticket("opened", "T", "2026-11-30T09:00:00", priority="P2"))
    live.now = _us("2026-11-30T09:10:00+08:00")
    outbox = live.run(live.ticket("resolved", "T", "2026-11-30T09:10:00"))
    assert clock_messages(outbox, policy) == [(b"T", None, "T:clock")]


def test_a_batch_that_changes_no_ticket_publishes_no_clock_record(policy: Policy) -> None:
    """A rejected event (unknown ticket) and a dead letter change no state: no clock record."""
    live = Live(policy)
    outbox = live.run(live.ticket("acknowledged", "nobody", "2026-11-30T09:00:00"))
    assert clock_messages(outbox, policy) == []


def test_the_publisher_sends_keyed_records_with_their_id_and_none_when_the_topic_is_empty(policy: Policy) -> None:
    """Records go to the clocks topic keyed by ticket with the id header; an empty topic name turns it off."""
    live = Live(policy)
    outbox = live.run(live.ticket("opened", "T", "2026-11-30T09:00:00", priority="P2"))
    send = Recorder()
    assert asyncio.run(ClockPublisher("sla.clocks", policy, send).publish(outbox)) == 1
    [(topic, key, value, headers)] = send.sent
    assert (topic, key, headers) == ("sla.clocks", b"T", [("id", b"T:clock")])
    assert json.loads(value or b"null")["type"] == "sla.clock"
    off = Recorder()
    assert asyncio.run(ClockPublisher("", policy, off).publish(outbox)) == 0
    assert off.sent == []


def test_a_failed_delivery_is_counted_not_raised(policy: Policy) -> None:
    """The broker refusing a clock record does not stop the batch: it is logged and counted."""
    live = Live(policy)
    outbox = live.run(live.ticket("opened", "T", "2026-11-30T09:00:00", priority="P2"))
    publisher = ClockPublisher("sla.clocks", policy, Recorder(fail=True))

    async def go() -> None:
        await publisher.publish(outbox)
        await asyncio.sleep(0)  # the done callbacks run

    asyncio.run(go())
    assert publisher.failed == 1
