"""The live shell: the SLA core behind faust-streaming agents.

One agent consumes, co-partitioned, the ticket and probe input topics, a
repartition topic (for input not keyed by ticket or service id) and a wake-up
topic. Per-ticket and per-service state live in RocksDB-backed tables that
only the agent writes. A timer turns due entries of
the in-memory wake-up heaps into wake-up messages on the ticket's partition;
the agent handles them like events, so every state change happens in order,
on the partition's owner, after the alert it records was acknowledged by the
broker. See DESIGN.md, "Durable per-ticket timers".
"""

from __future__ import annotations

import contextlib
import json
import time
import weakref
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import faust
import structlog
from faust.streams import _current_event
from faust.types import EventT
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

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
    WakeAt,
    apply_event,
    next_wake,
    rescheduled,
    wake,
)
from monitor.core.codec import decode_service, decode_state, encode_service, encode_state
from monitor.core.errors import EventRejected
from monitor.core.events import MaintenanceScheduled, ProbeResult, parse_event
from monitor.core.instants import US_PER_SECOND, format_us, to_us
from monitor.core.policy import Policy
from monitor.live.deadletter import MAX_ID_CHARS, dead_letter
from monitor.live.kafka import internal_topics, partition_for, ssl_context
from monitor.live.metrics import ClockView, Metrics, Snapshot, month_of, open_clocks
from monitor.live.publishing import Send, Source, publish_all
from monitor.live.readiness import BrokerCheck, Readiness, readiness
from monitor.live.settings import Settings
from monitor.live.wakeups import WakeHeaps, WakeUp, parse_wakeup
from monitor.live.webapp import NO_BUILTIN_PAGES
from monitor.live.webapp import App as OwnPagesApp

Clock = Callable[[], datetime]
log = structlog.get_logger("sla.worker")

H_SOURCE = "x-sla-source"  # "topic:partition:offset" of a repartitioned message
TICKETS, SERVICES, AGGREGATES = "tickets", "services", "aggregates"


def wall_clock() -> datetime:
    """The real time, for the live worker."""
    return datetime.now(UTC)


@dataclass
class WorkerState:
    """What one worker process knows beyond the table: heaps, readiness, counts."""

    heaps: WakeHeaps = field(default_factory=WakeHeaps)
    service_heaps: WakeHeaps = field(default_factory=WakeHeaps)
    recovered: set[str] = field(default_factory=set)
    ready: bool = False
    counts: Counter[str] = field(default_factory=Counter)
    # Mirrors of the owned partitions' table state, for metrics (rebuilt on recovery).
    clocks: dict[bytes, tuple[ClockView, ...]] = field(default_factory=dict)
    services: dict[bytes, ServiceState] = field(default_factory=dict)
    period_counts: dict[tuple[int, str], Counter[str]] = field(default_factory=dict)  # (partition, month)
    read_offsets: dict[tuple[str, int], int] = field(default_factory=dict)  # next offset to handle
    publish_error: str | None = None  # why the last try to publish failed, until a batch is acknowledged
    publishing_since: float | None = None  # monotonic start of the publish in progress
    broker_error: str | None = None  # why the last broker check failed
    warned: set[str] = field(default_factory=set)  # kinds of odd wake-ups already logged once

    def clear(self) -> None:
        """Forget everything derived from the partitions owned until now."""
        self.ready = False
        self.recovered.clear()
        self.heaps.clear()
        self.service_heaps.clear()
        self.clocks.clear()
        self.services.clear()
        self.period_counts.clear()
        self.read_offsets.clear()

    def track(self, table: str, key: bytes, state: TicketState | ServiceState) -> None:
        """Keep the metric mirrors in step with a state just recorded."""
        if isinstance(state, ServiceState):
            self.services[key] = state
        elif views := open_clocks(state):
            self.clocks[key] = views
        else:
            self.clocks.pop(key, None)


def create_app(settings: Settings, policy: Policy, partitions: int, clock: Clock = wall_clock) -> faust.App:
    """Build the Faust app for one worker process (no I/O until it starts)."""
    credentials: faust.SASLCredentials | faust.SSLCredentials | None = None
    if settings.sasl_mechanism:
        credentials = faust.SASLCredentials(
            username=settings.sasl_username,
            password=settings.sasl_password,
            mechanism=settings.sasl_mechanism,
            ssl_context=ssl_context(settings),
        )
    elif settings.security_protocol == "SSL":
        credentials = faust.SSLCredentials(ssl_context(settings))
    app = OwnPagesApp(
        settings.app_id,
        broker=[f"kafka://{host.strip()}" for host in settings.kafka_bootstrap.split(",")],
        broker_credentials=credentials,
        store="rocksdb://",
        datadir=str(settings.data_dir),
        web_enabled=True,
        web_bind=settings.web_host,
        web_port=settings.web_port,
        topic_partitions=partitions,
        topic_replication_factor=settings.replication_factor,
        consumer_group_instance_id=settings.instance_id,
        broker_session_timeout=settings.session_timeout_s,
        broker_heartbeat_interval=settings.heartbeat_interval_s,
        broker_rebalance_timeout=max(settings.session_timeout_s * 2, 10.0),
        consumer_auto_offset_reset="earliest",
        producer_acks=-1,
        table_standby_replicas=0,
        stream_buffer_maxsize=settings.stream_buffer,
        producer_linger=settings.producer_linger_s,
        autodiscover=False,
        # aiokafka refuses (client side) a message over this; ours stop at settings.max_record_bytes.
        producer_max_request_size=max(1_000_000, settings.max_record_bytes + 65_536),
        **NO_BUILTIN_PAGES,
    )
    repartition_name, wakeups_name = internal_topics(settings)
    source = app.topic(settings.topic_events, settings.topic_probes, repartition_name, wakeups_name,
                       key_type=bytes, value_type=bytes, key_serializer="raw", value_serializer="raw")
    # bytes key and value types make Faust use the raw codec; we encode state ourselves.
    tickets = app.Table(TICKETS, partitions=partitions, key_type=bytes, value_type=bytes)
    services = app.Table(SERVICES, partitions=partitions, key_type=bytes, value_type=bytes)
    # Month-to-date outcome counts, keyed "partition:month": each partition's own row (see DESIGN.md).
    aggregates = app.Table(AGGREGATES, partitions=partitions, key_type=bytes, value_type=bytes)
    tables = {TICKETS: tickets, SERVICES: services, AGGREGATES: aggregates}
    worker = WorkerState()
    app.sla_worker = worker  # type: ignore[attr-defined]
    outputs = settings.output_topics
    input_topics = (settings.topic_events, settings.topic_probes, repartition_name, wakeups_name)
    lag: dict[str, int] = {}

    def ready_now() -> Readiness:
        since = worker.publishing_since
        return readiness(recovered=worker.ready, rebalancing=app.rebalancing, broker_error=worker.broker_error,
                         publish_error=worker.publish_error, stall_s=settings.publish_stall_s,
                         publish_waiting_s=None if since is None else time.monotonic() - since)

    def snapshot() -> Snapshot:
        return Snapshot(
            now_us=now_us(),
            clocks=worker.clocks.values(),
            period_counts=_by_period(worker.period_counts),
            services=worker.services.values(),
            ready=ready_now().ready,
            assigned_partitions=len(_assigned_partitions(app, wakeups_name)),
            pending_wakeups=len(worker.heaps) + len(worker.service_heaps),
            lag=dict(lag),
        )

    metrics = Metrics(policy, snapshot)
    app.sla_metrics = metrics  # type: ignore[attr-defined]
    channel = _Channel(app, settings, metrics, worker, lambda: now_us())

    def load(raw_state: bytes) -> TicketState:
        # Schedules are derived from the policy, which may have changed since the state was stored.
        return rescheduled(decode_state(raw_state), policy)

    def now_us() -> int:
        return to_us(clock())

    def dead_letter_into(batch: Outbox, raw_value: bytes, reason: str, kind: str, source_at: tuple[str, int, int],
                         event_id: str | None = None, ticket_id: str | None = None,
                         service_id: str | None = None) -> None:
        topic, partition, offset = source_at
        record = dead_letter(raw_value, reason, kind=kind, topic=topic, partition=partition, offset=offset,
                             at_us=now_us(), event_id=event_id, ticket_id=ticket_id, service_id=service_id)
        owner = ticket_id or service_id
        batch.publish(settings.topic_dead_letter, _bounded_key(owner), record, source_at)
        worker.counts[f"dead_letter.{kind}"] += 1
        metrics.dead_letters.labels(kind).inc()
        log.warning("event rejected", kind=kind, reason=reason, source=record["id"], event_id=event_id,
                    ticket_id=ticket_id, service_id=service_id)

    def state_of(batch: Outbox, key: bytes) -> TicketState | None:
        if (TICKETS, key) in batch.states:
            return batch.states[TICKETS, key]  # type: ignore[return-value]
        raw_state = tickets.get(key)
        return load(raw_state) if raw_state is not None else None

    def service_of(batch: Outbox, key: bytes) -> ServiceState | None:
        if (SERVICES, key) in batch.states:
            return batch.states[SERVICES, key]  # type: ignore[return-value]
        raw_state = services.get(key)
        return decode_service(raw_state) if raw_state is not None else None

    def carry_out(batch: Outbox, event: EventT[bytes], key: bytes, state: TicketState | None, effects: list[Any]) -> None:
        wake_at = None
        partition = event.message.partition
        for effect in effects:
            if isinstance(effect, WakeAt):
                wake_at = effect.at_us
                worker.heaps.push(partition, key, effect.at_us, effect.version)
            else:
                batch.publish(outputs[effect.record["type"]], key, effect.record, _position(event))
                if effect.record["type"] == "sla.outcome":
                    batch.outcomes.append((event, effect.record))
        if wake_at is None:
            worker.heaps.forget(key)
        if state is not None:
            batch.states[TICKETS, key] = state
            batch.writes[TICKETS, key] = (event, encode_state(state))

    def carry_out_service(batch: Outbox, event: EventT[bytes], key: bytes, state: ServiceState,
                          effects: list[Publish | WakeServiceAt]) -> None:
        for effect in effects:
            if isinstance(effect, WakeServiceAt):
                worker.service_heaps.push(event.message.partition, key, effect.at_us, effect.version)
            else:
                batch.publish(outputs[effect.record["type"]], key, effect.record, _position(event))
        batch.states[SERVICES, key] = state
        batch.writes[SERVICES, key] = (event, encode_service(state))

    def handle_service_event(batch: Outbox, event: EventT[bytes], parsed: ProbeResult | MaintenanceScheduled,
                             key: bytes, value: bytes, source_at: tuple[str, int, int]) -> None:
        try:
            decision = apply_service_event(service_of(batch, key), parsed, policy, now_us())
        except EventRejected as error:
            kind = "duplicate" if isinstance(error, DuplicateEvent) else "rejected"
            metrics.inputs.labels(parsed.type, kind).inc()
            dead_letter_into(batch, value, error.reason, kind, source_at, parsed.event_id, service_id=parsed.service_id)
            return
        worker.counts[f"event.{parsed.type}"] += 1
        metrics.inputs.labels(parsed.type, "accepted").inc()
        if isinstance(parsed, MaintenanceScheduled):
            refusal = window_refusal(decision.state.windows[-1], policy)
            if refusal:
                log.warning("maintenance window excludes nothing", service_id=parsed.service_id,
                            event_id=parsed.event_id, reason=refusal)
            else:
                log.info("maintenance window accepted", service_id=parsed.service_id, event_id=parsed.event_id,
                         starts_at=parsed.starts_at.isoformat(), ends_at=parsed.ends_at.isoformat())
        carry_out_service(batch, event, key, decision.state, decision.effects)

    def handle_event(batch: Outbox, event: EventT[bytes]) -> None:
        message = event.message
        value: bytes = event.value or b""
        source_at = (message.topic, message.partition, message.offset)
        if message.topic == repartition_name:
            header = dict(event.headers or {}).get(H_SOURCE)
            if header:
                topic, partition_text, offset_text = header.decode().rsplit(":", 2)
                source_at = (topic, int(partition_text), int(offset_text))
        try:
            ticket_event = parse_event(value.strip())
        except EventRejected as error:
            metrics.inputs.labels("unknown", "malformed").inc()
            dead_letter_into(batch, value, error.reason, "malformed", source_at)
            return
        is_service = isinstance(ticket_event, ProbeResult | MaintenanceScheduled)
        owner: str = ticket_event.service_id if is_service else ticket_event.ticket_id  # type: ignore[union-attr,assignment]
        key = owner.encode()
        home, other = (settings.topic_probes, settings.topic_events)[:: 1 if is_service else -1]
        if source_at[0] == other and home != other:  # each kind has its topic: the other one is a mistake
            metrics.inputs.labels(ticket_event.type, "rejected").inc()
            dead_letter_into(batch, value, f"{ticket_event.type} belongs on topic {home}, not {other}", "rejected",
                             source_at, ticket_event.event_id, ticket_id=None if is_service else owner,
                             service_id=owner if is_service else None)
            return
        if partition_for(key, partitions) != message.partition:
            # Not keyed by ticket (or service) id: move it to that key's partition first.
            batch.sends.append(Send(repartition_name, key, value, [(H_SOURCE, ":".join(map(str, source_at)).encode())],
                                    source_at))
            worker.counts["repartitioned"] += 1
            metrics.inputs.labels(ticket_event.type, "repartitioned").inc()
            return
        if isinstance(ticket_event, ProbeResult | MaintenanceScheduled):
            handle_service_event(batch, event, ticket_event, key, value, source_at)
            return
        now = now_us()
        if (at := to_us(ticket_event.occurred_at)) > now + MAX_AHEAD_US:  # as services: see budget.MAX_AHEAD_US
            metrics.inputs.labels(ticket_event.type, "rejected").inc()
            dead_letter_into(batch, value, f"occurred_at {format_us(at)} is more than {MAX_AHEAD_US // US_PER_SECOND} "
                             f"s ahead of the worker's clock ({format_us(now)}); check the sender's clock", "rejected",
                             source_at, ticket_event.event_id, ticket_event.ticket_id)
            return
        try:
            decision = apply_event(state_of(batch, key), ticket_event, policy, now)
        except EventRejected as error:
            kind = "duplicate" if isinstance(error, DuplicateEvent) else "rejected"
            metrics.inputs.labels(ticket_event.type, kind).inc()
            dead_letter_into(batch, value, error.reason, kind, source_at, ticket_event.event_id, ticket_event.ticket_id)
            return
        worker.counts[f"event.{ticket_event.type}"] += 1
        metrics.inputs.labels(ticket_event.type, "accepted").inc()
        carry_out(batch, event, key, decision.state, decision.effects)

    def ignore_wake(kind: str, event: EventT[bytes], reason: str) -> None:
        """Count a wake-up the worker did not plan; log the first of each kind (a forger could send many)."""
        worker.counts[f"wake.{kind}"] += 1
        if kind not in worker.warned:
            worker.warned.add(kind)
            log.warning("wake-up ignored; further ones of this kind are only counted (see /stats)", kind=kind,
                        reason=reason, source=":".join(map(str, _position(event))))

    def handle_service_wake(batch: Outbox, event: EventT[bytes], wakeup: WakeUp) -> None:
        key = event.key or b""
        state = service_of(batch, key)
        if state is None or state.version != wakeup.version or state.service_id not in policy.services:
            worker.counts["wake.stale"] += 1
            return
        planned = next_service_wake(state, policy)
        if wakeup.due_us != planned:  # only the instant the state plans may move its clock
            ignore_wake("forged", event, f"due_us {wakeup.due_us} is not the planned {planned}")
            return
        if planned > now_us():  # genuine but early (another worker's clock ran ahead): plan it again
            ignore_wake("early", event, f"due_us {planned} is after the worker's clock")
            worker.service_heaps.push(event.message.partition, key, planned, state.version)
            return
        worker.counts["wake"] += 1
        # Only up to the planned instant, never to the wall clock: probe results may still be
        # queued behind (consumer lag), and accounting past them would count downtime they end.
        decision = wake_service(state, policy, planned)
        carry_out_service(batch, event, key, decision.state, decision.effects)

    def handle_wake(batch: Outbox, event: EventT[bytes]) -> None:
        wakeup = parse_wakeup(event.value, event.key)
        if isinstance(wakeup, str):  # the worker writes only well-formed ones: ignored, counted
            ignore_wake("malformed", event, wakeup)
            return
        key = event.key or b""
        if partition_for(key, partitions) != event.message.partition:  # its table row lives elsewhere
            ignore_wake("forged", event, "on another partition than its key's")
            return
        if wakeup.owner == "service":
            handle_service_wake(batch, event, wakeup)
            return
        state = state_of(batch, key)
        if state is None:
            return
        if state.version != wakeup.version:
            worker.counts["wake.stale"] += 1
            return  # the ticket changed since; its newer wake-up is on the way
        worker.counts["wake"] += 1
        decision = wake(state, policy, now_us())  # the wall clock: a wake-up can only fire what is due anyway
        if decision.state is state and not any(not isinstance(e, WakeAt) for e in decision.effects):
            for effect in decision.effects:  # nothing due yet (early wake): plan again, no write
                if isinstance(effect, WakeAt) and not worker.heaps.is_planned(key, effect.version):
                    worker.heaps.push(event.message.partition, key, effect.at_us, effect.version)
            return
        carry_out(batch, event, key, decision.state, decision.effects)

    async def flush(batch: Outbox) -> None:
        """Publish everything, wait for every acknowledgement, then record the states."""
        # Transient failures are retried (recording a state whose alert was not acknowledged would
        # lose it); a message refused for good becomes a dead letter (see monitor.live.publishing).
        worker.publishing_since = time.monotonic()
        try:
            lost = {id(item) for item in await publish_all(batch.sends, channel, settings.max_record_bytes)}
        finally:
            worker.publishing_since = None
        for (table, key), (event, raw_state) in batch.writes.items():
            with _in_context_of(event):  # the table writes to the partition of the current event
                tables[table][key] = raw_state
            state = batch.states.get((table, key))
            if state is not None:
                worker.track(table, key, state)
        count_outcomes(batch)
        acknowledged = now_us()
        for record in (s.record for s in batch.sends if s.record and not s.replacement and id(s) not in lost):
            if record["type"] == "sla.dead_letter":
                continue
            metrics.published(record, acknowledged)
            worker.counts[record["type"]] += 1
            log.info("alert published" if record["type"] != "sla.outcome" else "outcome published",
                     id=record["id"], at=record["at"], deadline=record.get("deadline"))

    def count_outcomes(batch: Outbox) -> None:
        """Add the batch's ticket outcomes to the month-to-date rows of their partitions."""
        touched: dict[tuple[int, str], EventT[bytes]] = {}
        for event, record in batch.outcomes:
            partition = event.message.partition
            period = month_of(policy, _parse_us(record["at"]))
            counts = worker.period_counts.setdefault((partition, period), Counter())
            counts[f"{record['priority']}|{record['metric']}|{record['status']}"] += 1
            touched[partition, period] = event
        for (partition, period), event in touched.items():
            with _in_context_of(event):
                aggregates[f"{partition}:{period}".encode()] = json.dumps(
                    dict(worker.period_counts[partition, period]), sort_keys=True).encode()

    @app.agent(source, concurrency=1)
    async def process(stream: faust.StreamT[bytes]) -> None:
        async for events in stream.take_events(settings.batch_max, within=settings.batch_wait_s):  # type: ignore[attr-defined]
            batch = Outbox()
            for event in events:
                message = event.message
                try:
                    with _in_context_of(event):
                        if message.topic == wakeups_name:
                            handle_wake(batch, event)
                        else:
                            handle_event(batch, event)
                except Exception as error:  # a bug must not stop the stream nor lose the message
                    log.exception("event handling failed", topic=message.topic, offset=message.offset)
                    dead_letter_into(batch, event.value or b"", f"internal error: {type(error).__name__}: {error}",
                                     "internal", (message.topic, message.partition, message.offset))
            await flush(batch)
            for event in events:
                worker.read_offsets[event.message.topic, event.message.partition] = event.message.offset + 1

    @tickets.on_recover
    async def rebuild_heaps() -> None:
        assigned = _assigned_partitions(app, wakeups_name)
        worker.heaps.clear()
        count = 0
        for key, raw_state in tickets.items():
            state = load(raw_state)
            wake_at = next_wake(state, policy)
            partition = partition_for(key, partitions)
            if partition not in assigned:
                continue
            worker.track(TICKETS, key, state)
            if wake_at is not None:
                worker.heaps.push(partition, key, wake_at, state.version)
                count += 1
        recovered(TICKETS, assigned, count)

    @services.on_recover
    async def rebuild_service_heaps() -> None:
        assigned = _assigned_partitions(app, wakeups_name)
        worker.service_heaps.clear()
        count = 0
        for key, raw_state in services.items():
            state = decode_service(raw_state)
            partition = partition_for(key, partitions)
            if partition not in assigned:
                continue
            if state.service_id not in policy.services:
                log.warning("service no longer in the policy; its state is kept but not watched", service_id=state.service_id)
                continue
            worker.track(SERVICES, key, state)
            worker.service_heaps.push(partition, key, next_service_wake(state, policy), state.version)
            count += 1
        recovered(SERVICES, assigned, count)

    @aggregates.on_recover
    async def rebuild_aggregates() -> None:
        assigned = _assigned_partitions(app, wakeups_name)
        worker.period_counts.clear()
        for key, raw in aggregates.items():
            partition_text, period = key.decode().split(":", 1)
            if int(partition_text) in assigned:
                worker.period_counts[int(partition_text), period] = Counter(json.loads(raw))
        recovered(AGGREGATES, assigned, 0)

    def recovered(table: str, assigned: set[int], count: int) -> None:
        worker.recovered.add(table)
        worker.ready = worker.recovered >= set(tables)
        log.info("partitions recovered", table=table, partitions=sorted(assigned), pending_wakeups=count)

    @app.on_partitions_revoked.connect  # type: ignore[arg-type]
    async def on_revoked(sender: Any, revoked: Any = None, **_: Any) -> None:
        # Heaps and mirrors are rebuilt from the tables once recovery of the new assignment ends.
        worker.clear()

    @app.timer(interval=settings.tick_s)
    async def fire_due_wakeups() -> None:
        if app.rebalancing or not worker.ready:
            return
        assigned = _assigned_partitions(app, wakeups_name)
        now = now_us()
        for partition, key, version, due_us in worker.heaps.pop_due(now, assigned):
            body = json.dumps({"ticket_id": key.decode(), "version": version, "due_us": due_us}).encode()
            await app.producer.send(wakeups_name, key, body, partition, None, None)
        for partition, key, version, due_us in worker.service_heaps.pop_due(now, assigned):
            body = json.dumps({"service_id": key.decode(), "version": version, "due_us": due_us}).encode()
            await app.producer.send(wakeups_name, key, body, partition, None, None)

    check_broker = BrokerCheck(settings, sorted({*input_topics, *outputs.values(), settings.topic_dead_letter}))

    @app.timer(interval=settings.broker_check_s)
    async def watch_broker() -> None:
        error = await check_broker()
        if error != worker.broker_error:
            if error is None:
                log.info("Kafka reachable again")
            else:
                log.warning("Kafka unreachable: not ready", reason=error)
        worker.broker_error = error

    @app.page("/health/live")
    async def live(web: Any, request: Any) -> Any:
        return web.json({"status": "alive"})

    @app.page("/health/ready")
    async def ready(web: Any, request: Any) -> Any:
        state = ready_now()
        return web.json(state.body(), status=200 if state.ready else 503)

    @app.page("/metrics")
    async def prometheus_metrics(web: Any, request: Any) -> Any:
        lag.clear()
        lag.update(await _lag(app, input_topics, worker.read_offsets))
        return web.bytes(generate_latest(metrics.registry), headers={"Content-Type": CONTENT_TYPE_LATEST})

    @app.page("/stats")
    async def stats(web: Any, request: Any) -> Any:
        return web.json({"counts": dict(worker.counts),
                         "pending_wakeups": len(worker.heaps) + len(worker.service_heaps),
                         "partitions": sorted(_assigned_partitions(app, wakeups_name))})

    return app


@dataclass
class Outbox:
    """What one batch of events decided: messages to publish, then states to record."""

    sends: list[Send] = field(default_factory=list)
    states: dict[tuple[str, bytes], TicketState | ServiceState | None] = field(default_factory=dict)
    writes: dict[tuple[str, bytes], tuple[EventT[bytes], bytes]] = field(default_factory=dict)
    outcomes: list[tuple[EventT[bytes], dict[str, Any]]] = field(default_factory=list)  # ticket outcomes

    def publish(self, topic: str, key: bytes | None, record: dict[str, Any], source: Source) -> None:
        """Queue a record, keyed, with its id in a header."""
        self.sends.append(_encoded(topic, key, record, source))


def _encoded(topic: str, key: bytes | None, record: dict[str, Any], source: Source, replacement: bool = False) -> Send:
    value = json.dumps(record, ensure_ascii=False).encode()
    return Send(topic, key, value, [("id", record["id"].encode())], source, record, replacement)


def _bounded_key(owner: str | None) -> bytes | None:
    """A dead letter's key: the owner's id, unless too long to be one (then none)."""
    return owner.encode() if owner and len(owner) <= MAX_ID_CHARS else None


def _position(event: EventT[bytes]) -> Source:
    return event.message.topic, event.message.partition, event.message.offset


class _Channel:
    """The worker's side of ``publish_all``: the producer, dead letters for refused messages, counts."""

    def __init__(self, app: faust.App, settings: Settings, metrics: Metrics, worker: WorkerState,
                 now_us: Callable[[], int]) -> None:
        self.app, self.settings, self.metrics, self.worker, self.now_us = app, settings, metrics, worker, now_us

    async def send(self, item: Send) -> Any:
        return await self.app.producer.send(item.topic, item.key, item.value, None, None, item.headers)

    def replacement(self, item: Send, reason: str) -> Send:
        text = f"could not publish {item.label} ({item.size} bytes) to {item.topic}: {reason}"
        topic, partition, offset = item.source
        record = dead_letter(item.value, text, kind="internal", topic=topic, partition=partition, offset=offset,
                             at_us=self.now_us(), replaces=item.label)
        self.worker.counts["dead_letter.internal"] += 1
        self.worker.counts["refused"] += 1
        self.metrics.dead_letters.labels("internal").inc()
        log.error("record refused for good, publishing a dead letter instead", record=item.label, topic=item.topic,
                  size=item.size, reason=reason)
        key = item.key if item.key is not None and len(item.key) <= MAX_ID_CHARS else None
        return _encoded(self.settings.topic_dead_letter, key, record, item.source, replacement=True)

    def unpublishable(self, item: Send, reason: str) -> None:
        self.worker.counts["unpublishable"] += 1
        self.metrics.unpublishable.inc()
        log.error("record cannot be published; dropped", record=item.label, topic=item.topic, size=item.size,
                  reason=reason)

    def failing(self, reason: str | None) -> None:
        if reason is not None:
            log.error("publish failed, retrying", error=reason)
        self.worker.publish_error = reason


@contextlib.contextmanager
def _in_context_of(event: EventT[bytes]) -> Iterator[None]:
    # Faust tables find the partition to read and write through the stream's
    # current event; a batch handles many, so each is made current in turn.
    token = _current_event.set(weakref.ref(event))
    try:
        yield
    finally:
        _current_event.reset(token)


def _parse_us(text: str) -> int:
    return to_us(datetime.fromisoformat(text))


def _by_period(counts: dict[tuple[int, str], Counter[str]]) -> dict[str, Counter[str]]:
    out: dict[str, Counter[str]] = {}
    for (_, period), counter in counts.items():
        out.setdefault(period, Counter()).update(counter)
    return out


async def _lag(app: faust.App, topics: tuple[str, ...], read: dict[tuple[str, int], int]) -> dict[str, int]:
    """Messages behind the broker's end on the owned partitions, by topic (0 when unknown)."""
    lag = dict.fromkeys(topics, 0)
    try:
        assignment = app.consumer.assignment()
    except Exception:  # consumer not started yet
        return lag
    for tp in assignment:
        if tp.topic not in lag:
            continue
        try:
            end = app.consumer.highwater(tp)
        except Exception:  # no fetch for the partition yet
            continue
        position = read.get((tp.topic, tp.partition))
        if position is None:  # nothing handled there yet: where the consumer stands
            with contextlib.suppress(Exception):
                position = await app.consumer.position(tp)
        if end is not None and position is not None:
            lag[tp.topic] += max(0, int(end) - position)
    return lag


def _assigned_partitions(app: faust.App, topic: str) -> set[int]:
    try:
        assignment = app.consumer.assignment()
    except Exception:  # consumer not started yet
        return set()
    return {tp.partition for tp in assignment if tp.topic == topic}
