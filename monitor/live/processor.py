"""The live path's logic without Faust: a batch of input messages in, an outbox out.

``Processor.handle`` decodes each message, checks its topic, its partition and
its clock skew, moves messages not keyed by their owner to the repartition
topic, turns bad input into dead letters, calls the core and collects what the
batch decided in an ``Outbox``: the messages to publish (each with the input
position it comes from, for ``publishing.publish_all``) and the table rows to
record once they are acknowledged, one per (table, key) with the message in
whose partition it is written. Wake-up heaps and counts are kept on the way.

The Faust adapter (``monitor.live.app``) only feeds it: it builds ``Message``
values from Faust's events, reads the tables through a ``Store``, publishes the
outbox, writes its rows and calls ``recorded``. Tests and benchmarks use a
``MemoryStore``.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

import structlog

from monitor.core.budget import (
    MAX_AHEAD_US,
    ServiceState,
    WakeServiceAt,
    apply_service_event,
    wake_service,
    window_refusal,
)
from monitor.core.budget import next_wake as next_service_wake
from monitor.core.clock import (
    DuplicateEvent,
    Publish,
    TicketState,
    apply_into,
    next_wake,
    rescheduled,
    wake_into,
)
from monitor.core.codec import (
    StoredSchedules,
    compact_json,
    decode_service,
    decode_state,
    encode_service,
    encode_state,
    recovered,
)
from monitor.core.errors import EventRejected
from monitor.core.events import MaintenanceScheduled, ProbeResult, parse_event
from monitor.core.instants import US_PER_SECOND, format_us, to_us
from monitor.core.policy import Policy
from monitor.live.deadletter import MAX_ID_CHARS, dead_letter
from monitor.live.kafka import internal_topics, partition_for
from monitor.live.publishing import Send, Source
from monitor.live.settings import Settings
from monitor.live.wakeups import TICK_KEY, Tick, parse_wakeup, tick_body
from monitor.live.worker_state import WorkerState, month_of

log = structlog.get_logger("sla.worker")

H_SOURCE = "x-sla-source"  # "topic:partition:offset" of a repartitioned message
TICKETS, SERVICES, AGGREGATES = "tickets", "services", "aggregates"
TABLES = (TICKETS, SERVICES, AGGREGATES)
TICK_RESEND_US = 5 * US_PER_SECOND  # a tick neither handled nor lost by then is sent again


@dataclass(frozen=True, slots=True)
class Message:
    """One input message as the consumer handed it over."""

    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None
    headers: tuple[tuple[str, bytes], ...] = ()

    @property
    def position(self) -> Source:
        """Where it was read: topic, partition, offset."""
        return self.topic, self.partition, self.offset


class Store(Protocol):
    """The worker's tables (``TICKETS``, ``SERVICES``, ``AGGREGATES``): encoded rows by key."""

    def get(self, table: str, key: bytes, at: Message) -> bytes | None:
        """The row of ``key``, read while handling ``at`` (whose partition holds it)."""

    def put_rows(self, table: str, partition: int, rows: Sequence[tuple[bytes, bytes]]) -> None:
        """Record rows (key, value) of one partition at once."""


class MemoryStore:
    """A ``Store`` in dictionaries, for tests and benchmarks."""

    def __init__(self) -> None:
        self.rows: dict[str, dict[bytes, bytes]] = {table: {} for table in TABLES}

    def get(self, table: str, key: bytes, at: Message) -> bytes | None:
        """The row of ``key``, if any."""
        return self.rows[table].get(key)

    def put(self, table: str, key: bytes, value: bytes, at: Message) -> None:
        """Record a row (tests and benchmarks recording a batch's rows one by one)."""
        self.rows[table][key] = value

    def put_rows(self, table: str, partition: int, rows: Sequence[tuple[bytes, bytes]]) -> None:
        """Record rows."""
        self.rows[table].update(rows)


class MetricSink(Protocol):
    """The counters the processor moves (``metrics.Metrics`` in the worker)."""

    def count_input(self, kind: str, result: str) -> None:
        """One input message of type ``kind`` and what became of it."""

    def count_dead_letter(self, kind: str) -> None:
        """One dead letter of ``kind``."""

    def count_unpublishable(self) -> None:
        """One record dropped after its dead letter was refused too."""

    def published(self, record: dict[str, Any], now_us: int) -> None:
        """One record acknowledged by the broker at ``now_us``."""


@dataclass(frozen=True)
class Routes:
    """The topics a worker reads and writes, and the partition count they share."""

    events: str
    probes: str
    repartition: str
    wakeups: str
    dead_letter: str
    outputs: Mapping[str, str]  # record type -> topic
    partitions: int

    @classmethod
    def of(cls, settings: Settings, partitions: int) -> Routes:
        """The routes the settings name."""
        repartition, wakeups = internal_topics(settings)
        return cls(settings.topic_events, settings.topic_probes, repartition, wakeups, settings.topic_dead_letter,
                   settings.output_topics, partitions)

    @property
    def inputs(self) -> tuple[str, ...]:
        """Every topic the agent consumes."""
        return self.events, self.probes, self.repartition, self.wakeups


@dataclass(frozen=True, slots=True)
class Write:
    """A table row to record after the batch's messages are acknowledged."""

    table: str
    key: bytes
    value: bytes  # empty until the batch's end (``Processor._encode_rows``): a row is encoded once per batch
    message: Message  # the last message that changed it: the row is written in its partition
    state: TicketState | ServiceState | Counter[str]  # what the metric mirrors keep of it


@dataclass
class Outbox:
    """What one batch decided: messages to publish, then rows to record."""

    sends: list[Send] = field(default_factory=list)
    writes: dict[tuple[str, bytes], Write] = field(default_factory=dict)
    states: dict[tuple[str, bytes], TicketState | ServiceState] = field(default_factory=dict)  # newest, decoded
    outcomes: list[tuple[Message, dict[str, Any]]] = field(default_factory=list)  # ticket outcomes
    # Tickets whose state changed -> event time of the change (None: a wake-up), for monitor.live.clock_topic.
    clock_changes: dict[bytes, int | None] = field(default_factory=dict)
    fired: int = 0  # ticket clocks woken by the batch's ticks: what is left of wakes_per_tick may fire in the batch

    def publish(self, topic: str, key: bytes | None, record: dict[str, Any], source: Source) -> None:
        """Queue a record, keyed, with its id in a header."""
        self.sends.append(encoded(topic, key, record, source))


def encoded(topic: str, key: bytes | None, record: dict[str, Any], source: Source, replacement: bool = False) -> Send:
    """The message carrying ``record`` as compact JSON in UTF-8, its id in a header."""
    value = compact_json(record)
    return Send(topic, key, value, [("id", record["id"].encode())], source, record, replacement)


class Processor:
    """Routes batches of input messages through the core; see the module docstring."""

    def __init__(self, policy: Policy, routes: Routes, now_us: Callable[[], int], store: Store, sink: MetricSink,
                 state: WorkerState | None = None, wakes_per_tick: int = 500) -> None:
        self.policy, self.routes, self.now_us, self.store, self.sink = policy, routes, now_us, store, sink
        # A tick fires at most this many ticket clocks, earliest first; the rest wait for the next tick,
        # which the agent sends right after the batch: alerts go out while the others are decided.
        self.wakes_per_tick = wakes_per_tick
        self.state = state if state is not None else WorkerState()
        self.state.clocks.use([str(float(f)) for f in policy.warn_at])

    # -- a batch -------------------------------------------------------------------------------

    def handle(self, batch: Sequence[Message], due_in: Collection[int] = ()) -> Outbox:
        """Decide what a batch of messages sends and records; then fire the clocks of the partitions
        ``due_in`` (the worker's, when it is ready) due by the worker's clock, as a tick would."""
        outbox = Outbox()
        for message in batch:
            try:
                if message.topic == self.routes.wakeups:
                    self._wake(outbox, message)
                else:
                    self._event(outbox, message)
            except Exception as error:  # a bug must not stop the stream nor lose the message
                log.exception("event handling failed", topic=message.topic, offset=message.offset)
                self._internal_dead_letter(outbox, message, error)
        if due_in:
            self._fire_due(outbox, due_in)
        self._encode_rows(outbox)
        self._count_outcomes(outbox)
        return outbox

    def _encode_rows(self, outbox: Outbox) -> None:
        """Encode each ticket's and service's row once per batch, its newest state: encoding it after each event
        would cost a ticket that floods the batch its whole bounded history (up to ``MAX_TICKET_STATE_BYTES``) per
        event, and delay every other ticket's alerts with it. A row that cannot be encoded (a bug) is not recorded:
        its last message becomes an internal dead letter, and the others go on."""
        writes = outbox.writes
        failed = []
        for slot, write in writes.items():
            state = write.state
            if write.value or isinstance(state, Counter):
                continue
            try:
                value = encode_state(state) if isinstance(state, TicketState) else encode_service(state)
            except Exception as error:
                log.exception("state encoding failed", table=write.table, key=write.key, offset=write.message.offset)
                self._internal_dead_letter(outbox, write.message, error)
                failed.append(slot)
                continue
            writes[slot] = Write(write.table, write.key, value, write.message, write.state)
        for slot in failed:
            del writes[slot]
            outbox.states.pop(slot, None)

    def _internal_dead_letter(self, outbox: Outbox, message: Message, error: Exception) -> None:
        """A bug met while handling ``message``: its dead letter of kind ``internal``, naming the error."""
        self._dead_letter(outbox, message.value or b"", f"internal error: {type(error).__name__}: {error}",
                          "internal", message.position)

    def recorded(self, outbox: Outbox, lost: Collection[Send], acknowledged_us: int) -> None:
        """The outbox was published (but for ``lost``) and its rows written: update mirrors, count, log."""
        state = self.state
        for write in outbox.writes.values():
            if isinstance(write.state, Counter):
                partition_text, period = write.key.decode().split(":", 1)
                state.period_counts[int(partition_text), period] = write.state
            else:
                state.track(write.key, write.state)
        lost_ids = {id(item) for item in lost}
        for record in (s.record for s in outbox.sends if s.record and not s.replacement and id(s) not in lost_ids):
            if record["type"] == "sla.dead_letter":
                continue
            self.sink.published(record, acknowledged_us)
            state.counts[record["type"]] += 1
            log.info("alert published" if record["type"] != "sla.outcome" else "outcome published",
                     id=record["id"], at=record["at"], deadline=record.get("deadline"))

    # -- input events ----------------------------------------------------------------------------

    def _event(self, outbox: Outbox, message: Message) -> None:
        routes, value = self.routes, message.value or b""
        source_at = message.position
        if message.topic == routes.repartition:
            header = dict(message.headers).get(H_SOURCE)
            if header:
                topic, partition_text, offset_text = header.decode().rsplit(":", 2)
                source_at = (topic, int(partition_text), int(offset_text))
        try:
            ticket_event = parse_event(value.strip())
        except EventRejected as error:
            self.sink.count_input("unknown", "malformed")
            self._dead_letter(outbox, value, error.reason, "malformed", source_at)
            return
        is_service = isinstance(ticket_event, ProbeResult | MaintenanceScheduled)
        owner: str = ticket_event.service_id if is_service else ticket_event.ticket_id  # type: ignore[union-attr,assignment]
        key = owner.encode()
        home, other = (routes.probes, routes.events)[:: 1 if is_service else -1]
        if source_at[0] == other and home != other:  # each kind has its topic: the other one is a mistake
            self.sink.count_input(ticket_event.type, "rejected")
            self._dead_letter(outbox, value, f"{ticket_event.type} belongs on topic {home}, not {other}", "rejected",
                              source_at, ticket_event.event_id, ticket_id=None if is_service else owner,
                              service_id=owner if is_service else None)
            return
        if partition_for(key, routes.partitions) != message.partition:
            # Not keyed by ticket (or service) id: move it to that key's partition first.
            outbox.sends.append(Send(routes.repartition, key, value,
                                     [(H_SOURCE, ":".join(map(str, source_at)).encode())], source_at))
            self.state.counts["repartitioned"] += 1
            self.sink.count_input(ticket_event.type, "repartitioned")
            return
        if isinstance(ticket_event, ProbeResult | MaintenanceScheduled):
            self._service_event(outbox, message, ticket_event, key, value, source_at)
            return
        now = self.now_us()
        if (at := to_us(ticket_event.occurred_at)) > now + MAX_AHEAD_US:  # as services: see budget.MAX_AHEAD_US
            self.sink.count_input(ticket_event.type, "rejected")
            self._dead_letter(outbox, value, f"occurred_at {format_us(at)} is more than {MAX_AHEAD_US // US_PER_SECOND} "
                              f"s ahead of the worker's clock ({format_us(now)}); check the sender's clock", "rejected",
                              source_at, ticket_event.event_id, ticket_event.ticket_id)
            return
        records: list[dict[str, Any]] = []  # the core's fast path: no effect objects (discarded if refused)
        try:
            new_state = apply_into(self._ticket(outbox, key, message), ticket_event, self.policy, now, records,
                                   self.fold_before(message.partition))
        except EventRejected as error:
            kind = "duplicate" if isinstance(error, DuplicateEvent) else "rejected"
            self.sink.count_input(ticket_event.type, kind)
            self._dead_letter(outbox, value, error.reason, kind, source_at, ticket_event.event_id,
                              ticket_event.ticket_id)
            return
        self.state.counts[f"event.{ticket_event.type}"] += 1
        self.sink.count_input(ticket_event.type, "accepted")
        self._carry_out(outbox, message, key, new_state, records, next_wake(new_state, self.policy), at)

    def _service_event(self, outbox: Outbox, message: Message, parsed: ProbeResult | MaintenanceScheduled,
                       key: bytes, value: bytes, source_at: Source) -> None:
        policy = self.policy
        try:
            decision = apply_service_event(self._service(outbox, key, message), parsed, policy, self.now_us())
        except EventRejected as error:
            kind = "duplicate" if isinstance(error, DuplicateEvent) else "rejected"
            self.sink.count_input(parsed.type, kind)
            self._dead_letter(outbox, value, error.reason, kind, source_at, parsed.event_id,
                              service_id=parsed.service_id)
            return
        self.state.counts[f"event.{parsed.type}"] += 1
        self.sink.count_input(parsed.type, "accepted")
        if isinstance(parsed, MaintenanceScheduled):
            refusal = window_refusal(decision.state.windows[-1], policy)
            if refusal:
                log.warning("maintenance window excludes nothing", service_id=parsed.service_id,
                            event_id=parsed.event_id, reason=refusal)
            else:
                log.info("maintenance window accepted", service_id=parsed.service_id, event_id=parsed.event_id,
                         starts_at=parsed.starts_at.isoformat(), ends_at=parsed.ends_at.isoformat())
        self._carry_out_service(outbox, message, key, decision.state, decision.effects)

    # -- wake-ups --------------------------------------------------------------------------------

    def _wake(self, outbox: Outbox, message: Message) -> None:
        wakeup = parse_wakeup(message.value, message.key)
        if isinstance(wakeup, str):  # the worker writes only well-formed ones: ignored, counted
            self._ignore_wake("malformed", message, wakeup)
            return
        if isinstance(wakeup, Tick):
            self._tick(outbox, message)
            return
        key = message.key or b""
        if partition_for(key, self.routes.partitions) != message.partition:  # its table row lives elsewhere
            self._ignore_wake("forged", message, "on another partition than its key's")
            return
        if wakeup.owner == "service":
            self._service_wake(outbox, message, key, wakeup.version, wakeup.due_us)
        else:
            self._ticket_wake(outbox, message, key, wakeup.version)

    def _tick(self, outbox: Outbox, message: Message) -> None:
        """Wake every clock of the tick's partition due by the worker's clock, in this batch."""
        self.state.ticks_sent.pop(message.partition, None)  # handled: the timer may send the next one
        self.state.counts["tick"] += 1
        # A forged tick can only fire what is due anyway: the heaps and the worker's clock decide.
        outbox.fired += self._wake_due(outbox, {message.partition: message}, self.wakes_per_tick, self.now_us())

    def _fire_due(self, outbox: Outbox, partitions: Collection[int]) -> None:
        """What a tick of each partition would fire, without waiting for one: a tick queues behind the events
        buffered ahead of it, so under load (or a flood from one producer) alerts would wait for the backlog.
        At most what is left of ``wakes_per_tick`` after the batch's ticks. Ticks still wake an idle worker."""
        now, state = self.now_us(), self.state
        due = [p for p in partitions if state.heaps.is_due(p, now) or state.service_heaps.is_due(p, now)]
        if not due:
            return
        state.counts["fired_in_batch"] += 1
        # The rows are written in the clock's partition, as for its tick (offset -1: no message of its own).
        self._wake_due(outbox, {p: Message(self.routes.wakeups, p, -1, TICK_KEY, None) for p in due},
                       max(0, self.wakes_per_tick - outbox.fired), now)

    def _wake_due(self, outbox: Outbox, at: Mapping[int, Message], most: int, now: int) -> int:
        """Wake the ticket clocks (at most ``most``, earliest first) and services due by ``now`` on
        the partitions of ``at``, each in the name of its partition's message; return the ticket clocks woken."""
        tickets = self.state.heaps.pop_due(now, at, most)
        services = self.state.service_heaps.pop_due(now, at)
        for partition, key, version, due_us in [*((p, k, v, None) for p, k, v, _ in tickets), *services]:
            try:
                if due_us is None:
                    self._ticket_wake(outbox, at[partition], key, version)
                else:
                    self._service_wake(outbox, at[partition], key, version, due_us)
            except Exception:  # a bug in one clock must not stop the others' alerts
                log.exception("wake-up failed", partition=partition, key=key.decode(errors="replace"))
        return len(tickets)

    def _ticket_wake(self, outbox: Outbox, message: Message, key: bytes, version: int) -> None:
        state = self._ticket(outbox, key, message)
        if state is None:
            return
        if state.version != version:
            self.state.counts["wake.stale"] += 1
            return  # the ticket changed since; its newer wake-up is on the way
        self.state.counts["wake"] += 1
        # The wall clock: a wake-up can only fire what is due anyway.
        records: list[dict[str, Any]] = []
        new_state = wake_into(state, self.policy, self.now_us(), records, self.fold_before(message.partition))
        wake_at = next_wake(new_state, self.policy)
        if new_state is state and not records:  # nothing due yet (early wake): plan again, no write
            if wake_at is not None and not self.state.heaps.is_planned(key, state.version):
                self.state.heaps.push(message.partition, key, wake_at, state.version)
            return
        self._carry_out(outbox, message, key, new_state, records, wake_at)

    def _service_wake(self, outbox: Outbox, message: Message, key: bytes, version: int, due_us: int) -> None:
        state = self._service(outbox, key, message)
        if state is None or state.version != version or state.service_id not in self.policy.services:
            self.state.counts["wake.stale"] += 1
            return
        planned = next_service_wake(state, self.policy)
        if due_us != planned:  # only the instant the state plans may move its clock
            self._ignore_wake("forged", message, f"due_us {due_us} is not the planned {planned}")
            return
        if planned > self.now_us():  # genuine but early (another worker's clock ran ahead): plan it again
            self._ignore_wake("early", message, f"due_us {planned} is after the worker's clock")
            self.state.service_heaps.push(message.partition, key, planned, state.version)
            return
        self.state.counts["wake"] += 1
        # Only up to the planned instant, never to the wall clock: probe results may still be
        # queued behind (consumer lag), and accounting past them would count downtime they end.
        decision = wake_service(state, self.policy, planned)
        self._carry_out_service(outbox, message, key, decision.state, decision.effects)

    def _ignore_wake(self, kind: str, message: Message, reason: str) -> None:
        """Count a wake-up the worker did not plan; log the first of each kind (a forger could send many)."""
        self.state.counts[f"wake.{kind}"] += 1
        if kind not in self.state.warned:
            self.state.warned.add(kind)
            log.warning("wake-up ignored; further ones of this kind are only counted (see /stats)", kind=kind,
                        reason=reason, source=":".join(map(str, message.position)))

    def due_ticks(self, now_us: int, assigned: Iterable[int]) -> list[tuple[int, bytes, bytes]]:
        """The ticks to send now, (partition, key, body): one per assigned partition with something due.

        None for a partition whose last tick was neither handled nor sent more than
        ``TICK_RESEND_US`` ago (one tick fires everything due there; more would only queue).
        """
        state, ticks = self.state, []
        for partition in assigned:
            if not (state.heaps.is_due(partition, now_us) or state.service_heaps.is_due(partition, now_us)):
                continue
            sent = state.ticks_sent.get(partition)
            if sent is not None and now_us - sent < TICK_RESEND_US:
                continue
            state.ticks_sent[partition] = now_us
            ticks.append((partition, TICK_KEY, tick_body(now_us)))
        return ticks

    # -- what the core decided -------------------------------------------------------------------

    def _carry_out(self, outbox: Outbox, message: Message, key: bytes, state: TicketState,
                   records: list[dict[str, Any]], wake_at: int | None, at_us: int | None = None) -> None:
        """Publish what the core decided for a ticket, plan its next wake-up (``wake_at``), record its state."""
        outputs = self.routes.outputs
        for record in records:
            outbox.publish(outputs[record["type"]], key, record, message.position)
            if record["type"] == "sla.outcome":
                outbox.outcomes.append((message, record))
        if wake_at is None:
            self.state.heaps.forget(key)
        else:
            self.state.heaps.push(message.partition, key, wake_at, state.version)
        outbox.states[TICKETS, key] = state
        outbox.writes[TICKETS, key] = Write(TICKETS, key, b"", message, state)  # encoded once: _encode_rows
        if at_us is not None or key not in outbox.clock_changes:
            outbox.clock_changes[key] = at_us

    def _carry_out_service(self, outbox: Outbox, message: Message, key: bytes, state: ServiceState,
                           effects: list[Publish | WakeServiceAt]) -> None:
        for effect in effects:
            if isinstance(effect, WakeServiceAt):
                self.state.service_heaps.push(message.partition, key, effect.at_us, effect.version)
            else:
                outbox.publish(self.routes.outputs[effect.record["type"]], key, effect.record, message.position)
        outbox.states[SERVICES, key] = state
        outbox.writes[SERVICES, key] = Write(SERVICES, key, b"", message, state)  # encoded once: _encode_rows

    def _count_outcomes(self, outbox: Outbox) -> None:
        """Add the batch's ticket outcomes to the month-to-date rows of their partitions ("partition:month")."""
        rows: dict[tuple[int, str], tuple[Counter[str], Message]] = {}
        for message, record in outbox.outcomes:
            row = message.partition, month_of(self.policy, _parse_us(record["at"]))
            counts = rows[row][0] if row in rows else Counter(self.state.period_counts.get(row, Counter()))
            counts[f"{record['priority']}|{record['metric']}|{record['status']}"] += 1
            rows[row] = counts, message
        for (partition, period), (counts, message) in rows.items():
            key = f"{partition}:{period}".encode()
            outbox.writes[AGGREGATES, key] = Write(AGGREGATES, key, json.dumps(dict(counts), sort_keys=True).encode(),
                                                   message, counts)

    def _dead_letter(self, outbox: Outbox, raw_value: bytes, reason: str, kind: str, source_at: Source,
                     event_id: str | None = None, ticket_id: str | None = None, service_id: str | None = None) -> None:
        topic, partition, offset = source_at
        record = dead_letter(raw_value, reason, kind=kind, topic=topic, partition=partition, offset=offset,
                             at_us=self.now_us(), event_id=event_id, ticket_id=ticket_id, service_id=service_id)
        owner = ticket_id or service_id
        outbox.publish(self.routes.dead_letter, _bounded_key(owner), record, source_at)
        self.state.counts[f"dead_letter.{kind}"] += 1
        self.sink.count_dead_letter(kind)
        log.warning("event rejected", kind=kind, reason=reason, source=record["id"], event_id=event_id,
                    ticket_id=ticket_id, service_id=service_id)

    # -- messages the broker refuses (publishing.Channel) ----------------------------------------

    def replacement(self, item: Send, reason: str) -> Send:
        """The dead letter to publish instead of a message refused for good."""
        text = f"could not publish {item.label} ({item.size} bytes) to {item.topic}: {reason}"
        topic, partition, offset = item.source
        record = dead_letter(item.value, text, kind="internal", topic=topic, partition=partition, offset=offset,
                             at_us=self.now_us(), replaces=item.label)
        self.state.counts["dead_letter.internal"] += 1
        self.state.counts["refused"] += 1
        self.sink.count_dead_letter("internal")
        log.error("record refused for good, publishing a dead letter instead", record=item.label, topic=item.topic,
                  size=item.size, reason=reason)
        key = item.key if item.key is not None and len(item.key) <= MAX_ID_CHARS else None
        return encoded(self.routes.dead_letter, key, record, item.source, replacement=True)

    def unpublishable(self, item: Send, reason: str) -> None:
        """Log and count a message that cannot be published at all."""
        self.state.counts["unpublishable"] += 1
        self.sink.count_unpublishable()
        log.error("record cannot be published; dropped", record=item.label, topic=item.topic, size=item.size,
                  reason=reason)

    # -- state -----------------------------------------------------------------------------------

    def _ticket(self, outbox: Outbox, key: bytes, message: Message) -> TicketState | None:
        if (TICKETS, key) in outbox.states:
            return outbox.states[TICKETS, key]  # type: ignore[return-value]
        if (cached := self.state.decoded.get(key)) is not None:  # as recorded by an earlier batch
            return cached
        raw_state = self.store.get(TICKETS, key, message)
        return self.load(raw_state) if raw_state is not None else None

    def _service(self, outbox: Outbox, key: bytes, message: Message) -> ServiceState | None:
        if (SERVICES, key) in outbox.states:
            return outbox.states[SERVICES, key]  # type: ignore[return-value]
        raw_state = self.store.get(SERVICES, key, message)
        return decode_service(raw_state) if raw_state is not None else None

    def load(self, raw_state: bytes) -> TicketState:
        """A ticket's stored state, with the schedules the policy (which may have changed) gives it: those stored
        with it where they still stand, the others computed again (``clock.rescheduled``)."""
        return rescheduled(decode_state(raw_state), self.policy)

    # -- recovery --------------------------------------------------------------------------------

    def recover_tickets(self, rows: Iterable[tuple[bytes, bytes]], assigned: set[int]) -> None:
        """Rebuild the ticket heaps and mirrors from the table rows of the assigned partitions."""
        self.start_ticket_recovery()
        self.finish_recovery(TICKETS, assigned, self.recover_ticket_rows(rows, assigned))

    def start_ticket_recovery(self) -> None:
        """Forget the ticket heaps and mirrors, to rebuild them with ``recover_ticket_rows``."""
        self.state.heaps.clear()
        self.state.clocks.clear()
        self.state.decoded.clear()

    def recover_ticket_rows(self, rows: Iterable[tuple[bytes, bytes]], assigned: set[int]) -> int:
        """Plan and mirror some ticket rows (those of the assigned partitions); return the wake-ups planned."""
        count = 0
        policy, partitions, heaps, track = self.policy, self.routes.partitions, self.state.heaps, self.state.track
        index = self.state.clocks
        for key, raw_state in rows:
            partition = partition_for(key, partitions)
            if partition not in assigned:
                continue
            # Where the stored schedules stand, the clocks are watched from them: the state is decoded only when
            # the ticket is next touched (a third of the time of decoding it now).
            row = recovered(raw_state, policy)
            if isinstance(row, StoredSchedules):
                index.track(key, tuple((priority, metric, due) for metric, priority, _, due in row.clocks))
                version, wake_at = row.version, row.next_wake()
            else:
                state = rescheduled(row, policy)
                track(key, state)
                version, wake_at = state.version, next_wake(state, policy)
            if wake_at is not None:
                heaps.push(partition, key, wake_at, version)
                count += 1
        return count

    def recover_services(self, rows: Iterable[tuple[bytes, bytes]], assigned: set[int]) -> None:
        """Rebuild the service heaps and mirrors from the table rows of the assigned partitions."""
        self.state.service_heaps.clear()
        count = 0
        for key, raw_state in rows:
            state = decode_service(raw_state)
            partition = partition_for(key, self.routes.partitions)
            if partition not in assigned:
                continue
            if state.service_id not in self.policy.services:
                log.warning("service no longer in the policy; its state is kept but not watched",
                            service_id=state.service_id)
                continue
            self.state.track(key, state)
            self.state.service_heaps.push(partition, key, next_service_wake(state, self.policy), state.version)
            count += 1
        self.finish_recovery(SERVICES, assigned, count)

    def recover_aggregates(self, rows: Iterable[tuple[bytes, bytes]], assigned: set[int]) -> None:
        """Rebuild the month-to-date mirrors from the rows ("partition:month") of the assigned partitions."""
        self.state.period_counts.clear()
        for key, raw in rows:
            partition_text, period = key.decode().split(":", 1)
            if int(partition_text) in assigned:
                self.state.period_counts[int(partition_text), period] = Counter(json.loads(raw))
        self.finish_recovery(AGGREGATES, assigned, 0)

    def fold_before(self, partition: int) -> int | None:
        """The instant before which levels due on ``partition`` fold into the most severe (core ``wake``).

        When this worker recovered the partition: what fell due before nobody here watched (an
        outage, or the partition was another worker's), what falls due after only waited for a
        busy worker and goes out level by level. A partition that stays here across a rebalance
        keeps its instant (eager rebalancing: nobody else owned it in between).
        """
        return self.state.recovered_at.get(partition)

    def finish_recovery(self, table: str, assigned: set[int], count: int) -> None:
        """Recovery of ``table`` ended (``count`` wake-ups planned): ready once every table is recovered."""
        self.state.recovered.add(table)
        self.state.ready = self.state.recovered >= set(TABLES)
        if self.state.ready:
            now, since = self.now_us(), self.state.recovered_at
            for partition in set(since) - assigned:
                del since[partition]
            for partition in assigned:
                since.setdefault(partition, now)
        log.info("partitions recovered", table=table, partitions=sorted(assigned), pending_wakeups=count)

    def revoked(self) -> None:
        """Partitions were revoked: forget what came from them until recovery of the new assignment ends."""
        self.state.clear()


def _bounded_key(owner: str | None) -> bytes | None:
    """A dead letter's key: the owner's id, unless too long to be one (then none)."""
    return owner.encode() if owner and len(owner) <= MAX_ID_CHARS else None


def _parse_us(text: str) -> int:
    return to_us(datetime.fromisoformat(text))
