"""The Faust-free processor: batches of messages in, sends and table rows out, over a dict store and a fake clock."""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

import pytest

from monitor.core.budget import MAX_AHEAD_US
from monitor.core.budget import next_wake as next_service_wake
from monitor.core.codec import decode_service, decode_state
from monitor.core.instants import US_PER_SECOND, to_us
from monitor.core.policy import Policy, parse_policy
from monitor.live import processor as processor_module
from monitor.live.kafka import partition_for
from monitor.live.processor import (
    AGGREGATES,
    H_SOURCE,
    SERVICES,
    TICKETS,
    MemoryStore,
    Message,
    Outbox,
    Processor,
    Routes,
)
from monitor.live.publishing import Send
from tests.conftest import event_json
from tests.unit.core.test_budget import POLICY as SERVICE_POLICY
from tests.unit.core.test_budget import probe

PARTITIONS = 4
ROUTES = Routes(events="tickets.events", probes="probes.results", repartition="app-tickets-repartition",
                wakeups="app-wakeups", dead_letter="sla.dead-letter",
                outputs={"sla.warning": "sla.warnings", "sla.breach": "sla.breaches", "sla.outcome": "sla.outcomes",
                         "sla.rating": "sla.outcomes"},
                partitions=PARTITIONS)
OPENED_AT = "2026-11-30T09:00:00+08:00"  # P1 runs on the always-open calendar: response due 09:15


class Sink:
    """Counts what the processor reports, as the Prometheus counters would."""

    def __init__(self) -> None:
        self.inputs: Counter[tuple[str, str]] = Counter()
        self.dead_letters: Counter[str] = Counter()
        self.unpublishable = 0
        self.records: list[tuple[dict[str, Any], int]] = []  # published, with the acknowledgement instant

    def count_input(self, kind: str, result: str) -> None:
        self.inputs[kind, result] += 1

    def count_dead_letter(self, kind: str) -> None:
        self.dead_letters[kind] += 1

    def count_unpublishable(self) -> None:
        self.unpublishable += 1

    def published(self, record: dict[str, Any], now_us: int) -> None:
        self.records.append((record, now_us))


class Live:
    """A processor over an in-memory store, a fake clock, and the adapter's steps done by hand."""

    def __init__(self, policy: Policy, now: str = OPENED_AT) -> None:
        self.now = _us(now)
        self.store = MemoryStore()
        self.sink = Sink()
        self.processor = Processor(policy, ROUTES, lambda: self.now, self.store, self.sink)
        self.offsets: Counter[tuple[str, int]] = Counter()

    def message(self, topic: str, value: bytes | str, key: bytes | str | None, partition: int | None = None,
                headers: tuple[tuple[str, bytes], ...] = ()) -> Message:
        """A message as the consumer would hand it over: by default on its key's partition, next offset."""
        key = key.encode() if isinstance(key, str) else key
        value = value.encode() if isinstance(value, str) else value
        if partition is None:
            partition = partition_for(key or b"", PARTITIONS)
        offset = self.offsets[topic, partition]
        self.offsets[topic, partition] += 1
        return Message(topic, partition, offset, key, value, headers)

    def ticket(self, kind: str, ticket: str, at: str, **fields: Any) -> Message:
        """A ticket event on the ticket topic, keyed by its ticket."""
        return self.message(ROUTES.events, event_json(kind, ticket, at, **fields), ticket)

    def run(self, *messages: Message) -> Outbox:
        """Handle a batch, then do what the adapter does once every send is acknowledged."""
        outbox = self.processor.handle(messages)
        for write in outbox.writes.values():
            self.store.put(write.table, write.key, write.value, write.message)
        self.processor.recorded(outbox, [], self.now)
        return outbox

    def wakeups(self) -> list[Message]:
        """The ticks the timer would send now, as the agent reads them back."""
        return [self.message(ROUTES.wakeups, body, key, partition)
                for partition, key, body in self.processor.due_ticks(self.now, range(PARTITIONS))]


def _us(text: str) -> int:
    from datetime import datetime

    return to_us(datetime.fromisoformat(text))


def _records(outbox: Outbox, topic: str | None = None) -> list[dict[str, Any]]:
    return [json.loads(s.value) for s in outbox.sends if topic is None or s.topic == topic]


def _dead(outbox: Outbox) -> list[dict[str, Any]]:
    return _records(outbox, ROUTES.dead_letter)


def test_an_opening_is_recorded_and_its_warning_goes_out_on_wake_up(policy: Policy) -> None:
    """An opened ticket gets one row and a planned wake-up; at 50 % of its response time the wake-up publishes a warning."""
    live = Live(policy)
    opened = live.ticket("opened", "T-1", OPENED_AT, priority="P1")
    outbox = live.run(opened)
    assert outbox.sends == []
    assert list(outbox.writes) == [(TICKETS, b"T-1")]
    assert decode_state(live.store.rows[TICKETS][b"T-1"]).ticket_id == "T-1"
    assert live.processor.state.heaps.is_planned(b"T-1", decode_state(live.store.rows[TICKETS][b"T-1"]).version)
    assert live.wakeups() == []  # nothing due yet
    live.now = _us("2026-11-30T09:07:30+08:00")
    [wakeup] = live.wakeups()
    assert wakeup.partition == opened.partition
    outbox = live.run(wakeup)
    [send] = outbox.sends
    record = json.loads(send.value)
    assert (send.topic, send.key, record["type"], record["threshold"]) == ("sla.warnings", b"T-1", "sla.warning", 0.5)
    assert send.headers == [("id", record["id"].encode())]
    assert send.source == wakeup.position
    assert [r["id"] for r, _ in live.sink.records] == [record["id"]]
    assert live.processor.state.counts["sla.warning"] == 1
    assert live.run(*live.wakeups()).sends == []  # the next level is not due yet


def test_odd_wake_ups_change_nothing(policy: Policy) -> None:
    """Malformed, forged (wrong partition), stale (old version) and early wake-ups publish and write nothing."""
    live = Live(policy)
    opened = live.ticket("opened", "T-1", OPENED_AT, priority="P1")
    live.run(opened)
    version = decode_state(live.store.rows[TICKETS][b"T-1"]).version
    body = json.dumps({"ticket_id": "T-1", "version": version, "due_us": 0})
    other = (opened.partition + 1) % PARTITIONS
    odd = [live.message(ROUTES.wakeups, b"not json", "T-1"),
           live.message(ROUTES.wakeups, body, "T-1", partition=other),
           live.message(ROUTES.wakeups, json.dumps({"ticket_id": "T-1", "version": version - 1, "due_us": 0}), "T-1"),
           live.message(ROUTES.wakeups, body, "T-1")]  # well-formed, but nothing is due at 09:00
    outbox = live.run(*odd)
    assert (outbox.sends, outbox.writes) == ([], {})
    counts = live.processor.state.counts
    assert (counts["wake.malformed"], counts["wake.forged"], counts["wake.stale"], counts["wake"]) == (1, 1, 1, 1)
    assert live.processor.state.heaps.is_planned(b"T-1", version)  # the early one is planned again


def _tickets_on(partition: int, count: int) -> list[str]:
    """``count`` ticket ids whose key falls on ``partition``."""
    found = (f"T-{i}" for i in range(10_000) if partition_for(f"T-{i}".encode(), PARTITIONS) == partition)
    return [next(found) for _ in range(count)]


def test_one_tick_fires_every_due_clock_of_its_partition_in_one_batch(policy: Policy) -> None:
    """Twenty tickets on one partition due together: one tick, one batch, every warning, one row per ticket."""
    live = Live(policy)
    ids = _tickets_on(1, 20)
    other = _tickets_on(2, 1)
    live.run(*(live.ticket("opened", tid, OPENED_AT, priority="P1") for tid in ids + other))
    live.now = _us("2026-11-30T09:07:30+08:00")
    ticks = live.wakeups()
    assert sorted(t.partition for t in ticks) == [1, 2]  # one per partition with something due
    [tick] = [t for t in ticks if t.partition == 1]
    assert tick.key == b""
    assert set(json.loads(tick.value or b"")) == {"tick_us"}
    outbox = live.run(tick)
    assert sorted(r["ticket_id"] for r in _records(outbox)) == sorted(ids)
    assert sorted(key for _, key in outbox.writes) == sorted(tid.encode() for tid in ids)
    assert {s.source for s in outbox.sends} == {tick.position}
    assert live.processor.state.counts["tick"] == 1


def test_no_new_tick_while_one_is_in_flight_until_the_resend_timeout(policy: Policy) -> None:
    """A partition with an unhandled tick gets no other one until TICK_RESEND_US has passed; handling frees it."""
    live = Live(policy)
    live.run(live.ticket("opened", "T-1", OPENED_AT, priority="P1"))
    live.now = _us("2026-11-30T09:07:30+08:00")
    [first] = live.wakeups()
    live.now += processor_module.TICK_RESEND_US - 1
    assert live.wakeups() == []  # the first is still on its way
    live.now += 1
    [again] = live.wakeups()  # lost, perhaps: sent again
    assert again.partition == first.partition
    assert len(_records(live.run(first, again))) == 1  # the second finds nothing left to fire
    assert live.wakeups() == []


def test_a_forged_tick_fires_only_what_is_due_by_the_worker_clock(policy: Policy) -> None:
    """A tick claiming a far future instant, or on a partition with nothing due, publishes and writes nothing."""
    live = Live(policy)
    opened = live.ticket("opened", "T-1", OPENED_AT, priority="P1")
    live.run(opened)
    forged = [live.message(ROUTES.wakeups, json.dumps({"tick_us": live.now + 10**15}), b"", opened.partition),
              live.message(ROUTES.wakeups, json.dumps({"tick_us": 0}), b"", (opened.partition + 1) % PARTITIONS)]
    outbox = live.run(*forged)
    assert (outbox.sends, outbox.writes) == ([], {})
    version = decode_state(live.store.rows[TICKETS][b"T-1"]).version
    assert live.processor.state.heaps.is_planned(b"T-1", version)  # still planned: the warning will go out when due


def test_an_event_on_the_wrong_partition_is_sent_to_the_repartition_topic(policy: Policy) -> None:
    """An event not keyed by its ticket goes, unchanged, to its ticket's partition with its source in x-sla-source."""
    live = Live(policy)
    home = partition_for(b"T-1", PARTITIONS)
    unkeyed = live.message(ROUTES.events, event_json("opened", "T-1", OPENED_AT, priority="P1"), None,
                           partition=(home + 1) % PARTITIONS)
    outbox = live.run(unkeyed)
    [send] = outbox.sends
    assert (send.topic, send.key, send.value, send.source) == (ROUTES.repartition, b"T-1", unkeyed.value,
                                                               unkeyed.position)
    assert send.headers == [(H_SOURCE, f"tickets.events:{unkeyed.partition}:{unkeyed.offset}".encode())]
    assert outbox.writes == {}
    assert live.sink.inputs["ticket.opened", "repartitioned"] == 1
    moved = live.message(ROUTES.repartition, send.value, "T-1", partition=home, headers=tuple(send.headers))
    assert list(live.run(moved).writes) == [(TICKETS, b"T-1")]
    again = live.message(ROUTES.repartition, send.value, "T-1", partition=home, headers=tuple(send.headers))
    [letter] = _dead(live.run(again))  # a dead letter names the message as the producer sent it
    assert letter["source"] == {"topic": "tickets.events", "partition": unkeyed.partition, "offset": unkeyed.offset}


def test_bad_input_becomes_dead_letters_with_its_source_position(policy: Policy) -> None:
    """Malformed, rejected and duplicate input each give a dead letter of that kind, naming where it was read."""
    live = Live(policy)
    opened = live.ticket("opened", "T-1", OPENED_AT, priority="P1", event_id="e-1")
    garbage = live.message(ROUTES.events, b"\xff{not json", "T-1")
    unknown = live.ticket("acknowledged", "T-2", "2026-11-30T09:01:00+08:00")  # never opened
    duplicate = live.ticket("opened", "T-1", OPENED_AT, priority="P1", event_id="e-1")
    outbox = live.run(opened, garbage, unknown, duplicate)
    letters = _dead(outbox)
    assert [(d["kind"], d["source"]["offset"], d["source"]["partition"]) for d in letters] == [
        ("malformed", garbage.offset, garbage.partition),
        ("rejected", unknown.offset, unknown.partition),
        ("duplicate", duplicate.offset, duplicate.partition),
    ]
    assert [s.key for s in outbox.sends] == [None, b"T-2", b"T-1"]  # keyed by the owner when it is known
    assert [d["id"] for d in letters] == [f"tickets.events:{m.partition}:{m.offset}" for m in (garbage, unknown, duplicate)]
    assert live.sink.dead_letters == Counter(malformed=1, rejected=1, duplicate=1)
    assert live.sink.inputs["unknown", "malformed"] == 1
    assert live.sink.records == []  # dead letters are not counted as published alerts
    assert list(outbox.writes) == [(TICKETS, b"T-1")]


def test_an_exception_in_the_core_becomes_an_internal_dead_letter(policy: Policy, monkeypatch: pytest.MonkeyPatch) -> None:
    """A bug while handling one message dead-letters it (kind internal) and the rest of the batch goes on."""
    live = Live(policy)

    def broken(*_: Any) -> Any:
        raise RuntimeError("boom")

    monkeypatch.setattr(processor_module, "apply_into", broken)
    first = live.ticket("opened", "T-1", OPENED_AT, priority="P1")
    garbage = live.message(ROUTES.events, b"[]", "T-1")
    [internal, malformed] = _dead(live.run(first, garbage))
    assert (internal["kind"], internal["reason"]) == ("internal", "internal error: RuntimeError: boom")
    assert internal["source"] == {"topic": "tickets.events", "partition": first.partition, "offset": first.offset}
    assert malformed["kind"] == "malformed"


def test_an_event_on_the_other_kinds_topic_is_rejected(policy: Policy) -> None:
    """A probe result on the ticket topic, or a ticket event on the probe topic, is a rejected dead letter."""
    live = Live(parse_policy(SERVICE_POLICY))
    on_tickets = live.message(ROUTES.events, probe("mail", "a", "2026-11-30T09:00:00", ok=True), "mail")
    on_probes = live.message(ROUTES.probes, event_json("opened", "T-1", OPENED_AT, priority="P1"), "T-1")
    letters = _dead(live.run(on_tickets, on_probes))
    assert [(d["kind"], d["reason"]) for d in letters] == [
        ("rejected", "probe.result belongs on topic probes.results, not tickets.events"),
        ("rejected", "ticket.opened belongs on topic tickets.events, not probes.results"),
    ]
    assert (letters[0]["service_id"], letters[1]["ticket_id"]) == ("mail", "T-1")


def test_an_event_ahead_of_the_clock_is_rejected(policy: Policy) -> None:
    """A ticket event whose occurred_at is more than MAX_AHEAD_US past the worker's clock is refused, not applied."""
    live = Live(policy)
    ahead = (MAX_AHEAD_US + US_PER_SECOND) // US_PER_SECOND
    live.now = _us(OPENED_AT) - ahead * US_PER_SECOND
    outbox = live.run(live.ticket("opened", "T-1", OPENED_AT, priority="P1"))
    [letter] = _dead(outbox)
    assert letter["kind"] == "rejected"
    assert "ahead of the worker's clock" in letter["reason"]
    assert outbox.writes == {}


def test_a_batch_writes_each_ticket_once_in_its_last_messages_partition(policy: Policy) -> None:
    """Several events of one ticket in a batch give one row, the newest state, tied to the last message."""
    live = Live(policy)
    opened = live.ticket("opened", "T-1", OPENED_AT, priority="P1")
    acknowledged = live.ticket("acknowledged", "T-1", "2026-11-30T09:05:00+08:00")
    outbox = live.run(opened, acknowledged)
    ticket_writes = [w for w in outbox.writes.values() if w.table == TICKETS]
    assert len(ticket_writes) == 1
    assert ticket_writes[0].message is acknowledged
    assert decode_state(ticket_writes[0].value).response.stopped


def test_a_ticket_flooding_a_batch_is_encoded_once(policy: Policy, monkeypatch: pytest.MonkeyPatch) -> None:
    """Forty events of one ticket and one of another in a batch: two encodings, one per row, each of the newest
    state (encoding after each event would cost a flooding ticket its whole history forty times)."""
    live = Live(policy)
    live.run(live.ticket("opened", "T-1", OPENED_AT, priority="P1"), live.ticket("opened", "T-2", OPENED_AT, priority="P1"))
    encoded: list[str] = []
    real = processor_module.encode_state
    monkeypatch.setattr(processor_module, "encode_state", lambda state: encoded.append(state.ticket_id) or real(state))
    flood = [live.ticket("paused" if i % 2 == 0 else "resumed", "T-1", f"2026-11-30T09:01:{i:02d}+08:00")
             for i in range(40)]
    outbox = live.run(*flood, live.ticket("acknowledged", "T-2", "2026-11-30T09:02:00+08:00"))
    assert sorted(encoded) == ["T-1", "T-2"]
    state = decode_state(live.store.rows[TICKETS][b"T-1"])
    assert (state.events, state.paused) == (41, False)  # the opening and all forty, the last a resume
    assert outbox.writes[TICKETS, b"T-1"].message is flood[-1]
    assert outbox.writes[TICKETS, b"T-1"].value == real(outbox.states[TICKETS, b"T-1"])  # type: ignore[arg-type]


def test_a_row_that_cannot_be_encoded_is_not_recorded_and_the_others_are(policy: Policy,
                                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    """A bug encoding one ticket's state: its last message becomes an internal dead letter, its row and clock record
    are left out (the row keeps its last recorded state), and the batch's other rows are written."""
    live = Live(policy)
    real = processor_module.encode_state

    def broken(state: Any) -> bytes:
        if state.ticket_id == "T-1":
            raise RuntimeError("boom")
        return real(state)

    monkeypatch.setattr(processor_module, "encode_state", broken)
    first = live.ticket("opened", "T-1", OPENED_AT, priority="P1")
    outbox = live.run(first, live.ticket("opened", "T-2", OPENED_AT, priority="P1"))
    [internal] = _dead(outbox)
    assert (internal["kind"], internal["reason"]) == ("internal", "internal error: RuntimeError: boom")
    assert internal["source"] == {"topic": "tickets.events", "partition": first.partition, "offset": first.offset}
    assert list(outbox.writes) == [(TICKETS, b"T-2")]
    assert (TICKETS, b"T-1") not in outbox.states
    assert set(live.store.rows[TICKETS]) == {b"T-2"}


def test_month_to_date_rows_are_keyed_by_partition_and_month(policy: Policy) -> None:
    """Outcomes add to the row "partition:YYYY-MM" of their ticket's partition; a later batch adds to it."""
    live = Live(policy)
    live.run(live.ticket("opened", "T-1", OPENED_AT, priority="P1"))
    acknowledged = live.ticket("acknowledged", "T-1", "2026-11-30T09:05:00+08:00")
    outbox = live.run(acknowledged)
    [outcome] = _records(outbox, "sla.outcomes")
    assert (outcome["metric"], outcome["status"]) == ("response", "met")
    key = f"{acknowledged.partition}:2026-11".encode()
    assert outbox.writes[AGGREGATES, key].message is acknowledged
    assert json.loads(live.store.rows[AGGREGATES][key]) == {"P1|response|met": 1}
    live.now = _us("2026-11-30T12:00:00+08:00")
    live.run(live.ticket("resolved", "T-1", "2026-11-30T10:00:00+08:00"))
    assert json.loads(live.store.rows[AGGREGATES][key]) == {"P1|response|met": 1, "P1|resolution|met": 1}
    assert live.processor.state.by_period() == {"2026-11": Counter({"P1|response|met": 1, "P1|resolution|met": 1})}


def test_service_events_and_their_wake_ups(policy: Policy) -> None:
    """Probe results make a service row and plan its wake-up; only the planned instant, once due, moves its clock."""
    live = Live(parse_policy(SERVICE_POLICY), now="2026-11-10T10:00:00+08:00")
    outbox = live.run(*(live.message(ROUTES.probes, probe("mail", loc, "2026-11-10T10:00:00", ok=False), "mail")
                        for loc in ("a", "b")))
    assert list(outbox.writes) == [(SERVICES, b"mail")]
    state = decode_service(live.store.rows[SERVICES][b"mail"])
    planned = next_service_wake(state, live.processor.policy)
    assert live.sink.inputs["probe.result", "accepted"] == 2

    def wakeup(due_us: int) -> Message:
        return live.message(ROUTES.wakeups, json.dumps({"service_id": "mail", "version": state.version,
                                                        "due_us": due_us}), "mail")

    assert live.run(wakeup(planned + 1)).writes == {}  # forged: not the planned instant
    assert live.run(wakeup(planned)).writes == {}  # early: the worker's clock is before it
    counts = live.processor.state.counts
    assert (counts["wake.forged"], counts["wake.early"]) == (1, 1)
    live.now = planned
    [due] = live.wakeups()  # the early one was planned again
    outbox = live.run(due)
    assert list(outbox.writes) == [(SERVICES, b"mail")]
    assert decode_service(live.store.rows[SERVICES][b"mail"]).version > state.version


def test_recovery_rebuilds_heaps_and_mirrors_of_the_assigned_partitions_only(policy: Policy) -> None:
    """After recovery the worker plans wake-ups and mirrors clocks for its own partitions' rows, then is ready."""
    live = Live(policy)
    tickets = [f"T-{n}" for n in range(12)]
    live.run(*(live.ticket("opened", t, OPENED_AT, priority="P1") for t in tickets))
    live.processor.revoked()
    assert live.processor.state.pending_wakeups == 0
    mine = {0, 1}
    rows = live.store.rows
    live.processor.recover_tickets(rows[TICKETS].items(), mine)
    live.processor.recover_services(rows[SERVICES].items(), mine)
    assert not live.processor.state.ready
    live.processor.recover_aggregates(rows[AGGREGATES].items(), mine)
    assert live.processor.state.ready
    own = {t.encode() for t in tickets if partition_for(t.encode(), PARTITIONS) in mine}
    assert set(live.processor.state.clocks) == own
    assert live.processor.state.pending_wakeups == len(own)


def _recover(live: Live, partitions: set[int]) -> None:
    """What the adapter's on_recover hooks do once the tables of ``partitions`` are read back."""
    rows = live.store.rows
    live.processor.revoked()
    live.processor.recover_tickets(rows[TICKETS].items(), partitions)
    live.processor.recover_services(rows[SERVICES].items(), partitions)
    live.processor.recover_aggregates(rows[AGGREGATES].items(), partitions)


P1_LEVELS = ["T-1:response:warning:0.5", "T-1:response:warning:0.75", "T-1:response:warning:0.9",
             "T-1:response:breach"]


def test_a_busy_worker_publishes_every_level_a_recovered_one_folds(policy: Policy) -> None:
    """A tick handled 16 min late by the worker that owned the partition all along publishes all four response
    levels at their own instants; after a restart at that time, only the breach (what fell due while down)."""
    busy = Live(policy)
    _recover(busy, set(range(PARTITIONS)))  # recovered at 09:00, before the ticket was opened
    busy.run(busy.ticket("opened", "T-1", OPENED_AT, priority="P1"))
    busy.now = _us("2026-11-30T09:16:00+08:00")  # every response level is due: 09:07:30 ... 09:15
    records = _records(busy.run(*busy.wakeups()))
    assert [r["id"] for r in records] == P1_LEVELS
    assert [r["at"][11:19] for r in records] == ["01:07:30", "01:11:15", "01:13:30", "01:15:00"]  # in UTC

    restarted = Live(policy)
    restarted.run(restarted.ticket("opened", "T-1", OPENED_AT, priority="P1"))
    restarted.now = _us("2026-11-30T09:16:00+08:00")
    _recover(restarted, set(range(PARTITIONS)))  # down from 09:00 until now
    assert [r["id"] for r in _records(restarted.run(*restarted.wakeups()))] == ["T-1:response:breach"]


def test_a_partition_kept_across_a_rebalance_keeps_its_recovery_instant(policy: Policy) -> None:
    """A rebalance that leaves a partition on this worker is no outage (nothing folds); one that moved away and
    came back was someone else's meanwhile (folds what fell due before it came back)."""
    live = Live(policy)
    home = partition_for(b"T-1", PARTITIONS)
    _recover(live, set(range(PARTITIONS)))
    live.run(live.ticket("opened", "T-1", OPENED_AT, priority="P1"))
    live.now = _us("2026-11-30T09:16:00+08:00")
    _recover(live, set(range(PARTITIONS)))  # a rebalance: every partition stays
    assert live.processor.fold_before(home) == _us(OPENED_AT)
    _recover(live, set(range(PARTITIONS)) - {home})  # moved away ...
    _recover(live, set(range(PARTITIONS)))  # ... and back
    assert live.processor.fold_before(home) == live.now
    assert [r["id"] for r in _records(live.run(*live.wakeups()))] == ["T-1:response:breach"]


def test_a_busy_worker_reading_an_event_late_publishes_the_levels_due_before_it(policy: Policy) -> None:
    """An acknowledgement at 09:14 read at 09:16 by a busy worker: the 50/75/90 % warnings due before it all go
    out (as replay has them), then the outcome."""
    live = Live(policy)
    _recover(live, set(range(PARTITIONS)))
    live.run(live.ticket("opened", "T-1", OPENED_AT, priority="P1"))
    live.now = _us("2026-11-30T09:16:00+08:00")
    records = _records(live.run(live.ticket("acknowledged", "T-1", "2026-11-30T09:14:00+08:00")))
    assert [r["id"] for r in records] == [*P1_LEVELS[:3], "T-1:response:outcome"]


def test_a_refused_record_is_replaced_by_a_bounded_internal_dead_letter(policy: Policy) -> None:
    """A record the broker refuses for good becomes a dead letter naming it; one refused in turn is only counted."""
    live = Live(policy)
    record = {"type": "sla.warning", "id": "T-1:response:warning:0.5"}
    refused = Send("sla.warnings", b"T-1", b"{}", [("id", b"x")], ("tickets.events", 2, 7), record)
    replacement = live.processor.replacement(refused, "MessageSizeTooLargeError")
    letter = json.loads(replacement.value)
    assert (replacement.topic, replacement.key, replacement.replacement) == ("sla.dead-letter", b"T-1", True)
    assert (letter["kind"], letter["id"]) == ("internal", "tickets.events:2:7:T-1:response:warning:0.5")
    live.processor.unpublishable(replacement, "still too large")
    assert (live.sink.dead_letters["internal"], live.sink.unpublishable) == (1, 1)


def test_a_ticket_touched_in_consecutive_batches_is_not_decoded_again(policy: Policy,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    """After a batch records a ticket, the next batches take its decoded state from the cache, not the row; after
    recovery, the first batch that touches it decodes the row."""
    live = Live(policy)
    live.run(live.ticket("opened", "T-1", OPENED_AT, priority="P1"))
    decoded: list[bytes] = []
    real = processor_module.decode_state
    monkeypatch.setattr(processor_module, "decode_state", lambda raw: decoded.append(raw) or real(raw))
    live.now = _us("2026-11-30T09:07:30+08:00")
    assert len(_records(live.run(*live.wakeups()))) == 1
    live.run(live.ticket("acknowledged", "T-1", "2026-11-30T09:08:00"))
    assert decoded == []
    live.processor.revoked()  # what came from the partitions is forgotten: the row is read again
    live.processor.recover_tickets(live.store.rows[TICKETS].items(), set(range(PARTITIONS)))
    assert decoded == []  # recovery read the row's stored schedules, which stand under the same policy
    live.run(live.ticket("resolved", "T-1", "2026-11-30T09:09:00"))
    assert len(decoded) == 1  # the first batch after recovery decodes the row


def test_the_state_cache_keeps_the_most_recently_used_up_to_its_limit(policy: Policy) -> None:
    """Past its limit the cache drops the least recently used ticket; a get counts as a use."""
    from monitor.live.worker_state import StateCache

    live = Live(policy)
    live.run(*(live.ticket("opened", tid, OPENED_AT, priority="P1") for tid in ("T-1", "T-2", "T-3")))
    states = {key: decode_state(row) for key, row in live.store.rows[TICKETS].items()}
    cache = StateCache(limit=2)
    cache.put(b"T-1", states[b"T-1"])
    cache.put(b"T-2", states[b"T-2"])
    assert cache.get(b"T-1") is states[b"T-1"]
    cache.put(b"T-3", states[b"T-3"])
    assert (len(cache), cache.get(b"T-2"), cache.get(b"T-1"), cache.get(b"T-3")) == (2, None, states[b"T-1"],
                                                                                      states[b"T-3"])


def test_cached_and_stored_states_decide_alike(policy: Policy) -> None:
    """A ticket's records and rows are the same whether its state comes from the cache or from its row."""
    runs = []
    for limit in (0, 100):
        live = Live(policy)
        live.processor.state.decoded.limit = limit
        sent: list[bytes] = []
        for kind, at in (("opened", OPENED_AT), ("paused", "2026-11-30T09:05:00"), ("resumed", "2026-11-30T09:06:00")):
            fields = {"priority": "P1"} if kind == "opened" else {}
            sent += [s.value for s in live.run(live.ticket(kind, "T-1", at, event_id=f"{kind}-1", **fields)).sends]
        for minute in range(8, 40):
            live.now = _us(f"2026-11-30T09:{minute:02d}:00+08:00")
            sent += [s.value for s in live.run(*live.wakeups()).sends]
        runs.append((sent, dict(live.store.rows[TICKETS])))
    assert runs[0] == runs[1]
    assert len(runs[0][0]) >= 4  # warnings and the breach went out


def test_a_tick_fires_at_most_wakes_per_tick_clocks_and_the_next_tick_goes_at_once(policy: Policy) -> None:
    """Twenty clocks due on one partition, eight per tick: the earliest first, a new tick due right after each
    batch (no resend wait), and every warning once."""
    live = Live(policy)
    live.processor.wakes_per_tick = 8
    ids = _tickets_on(1, 20)
    for n, tid in enumerate(ids):  # opened a second apart: due a second apart, in this order
        live.run(live.ticket("opened", tid, f"2026-11-30T09:00:{n:02d}", priority="P1"))
    live.now = _us("2026-11-30T09:08:00+08:00")
    fired: list[list[str]] = []
    while ticks := live.wakeups():
        [tick] = ticks
        fired.append([r["ticket_id"] for r in _records(live.run(tick))])
    assert [len(f) for f in fired] == [8, 8, 4]
    assert [tid for f in fired for tid in f] == ids


def test_a_busy_batch_fires_what_is_due_without_waiting_for_a_tick(policy: Policy) -> None:
    """A batch of events on other tickets fires the clocks due on every partition handed in, earliest first and at
    most wakes_per_tick (ticks of the batch included), each row in its clock's partition; the rest go on in the
    next batch or tick. Nothing fires for partitions not handed in (not the worker's, or not ready)."""
    live = Live(policy)
    live.processor.wakes_per_tick = 5
    ids = [tid for partition in range(PARTITIONS) for tid in _tickets_on(partition, 2)]
    opened = {tid: f"2026-11-30T09:00:{n:02d}" for n, tid in enumerate(ids)}
    for tid, at in opened.items():
        live.run(live.ticket("opened", tid, at, priority="P1"))
    live.now = _us("2026-11-30T09:08:00+08:00")  # every 50 % warning is due
    busy = [live.ticket("opened", f"B-{n}", "2026-11-30T09:08:00", priority="P3") for n in range(3)]
    assert _records(live.run(*busy[:1])) == []  # no partition handed in: nothing fires
    outbox = live.processor.handle(busy[1:], due_in=range(PARTITIONS))
    warned = [r for r in _records(outbox) if r["type"] == "sla.warning"]
    assert [r["ticket_id"] for r in warned] == sorted(ids, key=opened.__getitem__)[:5]  # earliest of all first
    for r in warned:
        write = outbox.writes[TICKETS, r["ticket_id"].encode()]
        assert write.message.partition == partition_for(r["ticket_id"].encode(), PARTITIONS)
        assert write.message.topic == ROUTES.wakeups
    for write in outbox.writes.values():
        live.store.put(write.table, write.key, write.value, write.message)
    live.processor.recorded(outbox, [], live.now)
    [tick] = [t for t in live.wakeups() if t.partition == partition_for(ids[-1].encode(), PARTITIONS)]
    rest = [r["ticket_id"] for r in _records(live.run(tick)) if r["type"] == "sla.warning"]
    assert rest  # the tick fires its partition's remainder, each warning once
    assert set(rest) <= set(ids[5:])
