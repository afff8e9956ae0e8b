"""The live shell: the processor behind Faust's consumer (the adapter).

The worker consumes, co-partitioned, the ticket and probe input topics, a
repartition topic (for input not keyed by ticket or service id) and a wake-up
topic: an agent subscribes them, and Faust's consumer hands each fetch to the
processor in batches, past Faust's per-message stream
(``monitor.live.batch_consumer``). Per-ticket and per-service state live in RocksDB-backed tables that
only the agent writes. What a batch decides is ``monitor.live.processor``'s
business; this module feeds it the fetched records, publishes its outbox, writes
its rows in the partition of the message that changed them, and runs the
timers (ticks, broker check), the recovery hooks and the web pages. A timer
sends one tick to each owned partition of the wake-up topic whose in-memory
heap has something due; the agent handles it like an event, waking every due
clock of that partition in one batch, so every state change happens in order,
on the partition's owner, after the alert it records was acknowledged by the
broker. See DESIGN.md, "Durable per-ticket timers".
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import os
import sys
import time
from collections.abc import Awaitable, Callable, Iterable, Iterator, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

import faust
import structlog
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from rocksdict import WriteBatch

from monitor.core.instants import to_us
from monitor.core.policy import Policy
from monitor.live.batch_consumer import BatchTransport
from monitor.live.clock_topic import ClockPublisher
from monitor.live.garbage import Collector
from monitor.live.kafka import producer_partitioner, send_in_batches, send_keyed, ssl_context
from monitor.live.metrics import Metrics, Snapshot
from monitor.live.processor import AGGREGATES, SERVICES, TICKETS, Message, Processor, Routes, Store, Write
from monitor.live.publishing import Send, publish_all
from monitor.live.readiness import BrokerCheck, Readiness, readiness
from monitor.live.settings import Settings
from monitor.live.webapp import NO_BUILTIN_PAGES
from monitor.live.webapp import App as OwnPagesApp
from monitor.live.worker_state import WorkerState

Clock = Callable[[], datetime]
log = structlog.get_logger("sla.worker")
RECOVERY_CHUNK = 2_000  # ticket rows recovered between two yields to the event loop (~50 ms)
# RocksDB, per table partition: Faust's defaults are three 64 MiB memtables and a 2 GiB block cache *each*
# (12 databases with 4 partitions), so RocksDB kept most of a million rows in memory besides the heaps.
# A 16 MiB block cache was measured too small (alert lateness p99 1.3-1.6 s in bench/live_bench.py, 0.14 s here).
# One record batch per partition goes in each produce request, and one request is in flight per broker: with
# Faust's 16 KiB batches, a tick's 2,000 alerts took some 30 round trips (and their rows as many more).
PRODUCER_BATCH_BYTES = 256 * 1024  # well under a broker's 1 MiB message.max.bytes
ROCKSDB_OPTIONS = {"write_buffer_size": 8 << 20, "max_write_buffer_number": 2, "block_cache_size": 64 << 20}


def wall_clock() -> datetime:
    """The real time, for the live worker."""
    return datetime.now(UTC)


BATCH_FAILED_EXIT = 70  # EX_SOFTWARE: a batch failed outside the processor's per-message guard


def hard_exit(status: int, message: str, **fields: Any) -> None:
    """Leave now, as kill -9 would: table state and offsets are durable, nothing is lost."""
    log.warning(message, **fields)
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(status)


async def unless_failed(run_batch: Callable[[Sequence[Any]], Awaitable[None]], events: Sequence[Any],
                        exit_now: Callable[..., None] = hard_exit) -> None:
    """Run one batch through the shell (publish, record, clock records); if that raises, leave the process.

    The processor turns a failure of one message into a dead letter; what fails after it
    (a bug, a producer refusing for good) fails the batch. Going on would leave the batch
    half done: its alerts sent, its rows not recorded, while the next batch's offsets
    would commit past it (seen with Faust's stream: an acknowledgement gone, then a wrong
    breach). Exiting before the consumer acknowledges it leaves the batch unacknowledged,
    so the next start reads it again from the committed offsets.
    """
    try:
        await run_batch(events)
    except Exception as error:  # not CancelledError: a stop is not a failure
        log.critical("batch failed after handling; exiting so that it is read again", exc_info=True,
                     error=f"{type(error).__name__}: {error}", events=len(events))
        exit_now(BATCH_FAILED_EXIT, "exiting: batch not completed", events=len(events))


def create_app(settings: Settings, policy: Policy, partitions: int, clock: Clock = wall_clock,
               exit_now: Callable[..., None] = hard_exit) -> faust.App:
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
        broker_max_poll_records=settings.stream_buffer,
        producer_linger=settings.producer_linger_s,
        producer_partitioner=producer_partitioner,
        autodiscover=False,
        # aiokafka refuses (client side) a message over this; ours stop at settings.max_record_bytes.
        producer_max_request_size=max(1_000_000, settings.max_record_bytes + 65_536),
        # aiokafka keeps one open batch per partition and makes a send wait while it is full; a batch's alerts,
        # changelog rows and clock records would wait for several round trips at the default 16 KiB.
        producer_max_batch_size=PRODUCER_BATCH_BYTES,
        **NO_BUILTIN_PAGES,
    )
    routes = Routes.of(settings, partitions)
    source = app.topic(*routes.inputs, key_type=bytes, value_type=bytes, key_serializer="raw", value_serializer="raw")
    # bytes key and value types make Faust use the raw codec; we encode state ourselves.
    tickets = app.Table(TICKETS, partitions=partitions, key_type=bytes, value_type=bytes,
                        options=dict(ROCKSDB_OPTIONS))  # a copy each: the store pops what it reads
    services = app.Table(SERVICES, partitions=partitions, key_type=bytes, value_type=bytes,
                         options=dict(ROCKSDB_OPTIONS))
    # Month-to-date outcome counts, keyed "partition:month": each partition's own row (see DESIGN.md).
    aggregates = app.Table(AGGREGATES, partitions=partitions, key_type=bytes, value_type=bytes,
                           options=dict(ROCKSDB_OPTIONS))
    store = _TableStore({TICKETS: tickets, SERVICES: services, AGGREGATES: aggregates})
    worker = WorkerState()
    app.sla_worker = worker  # type: ignore[attr-defined]
    lag: dict[str, int] = {}

    def now_us() -> int:
        return to_us(clock())

    def ready_now() -> Readiness:
        since = worker.publishing_since
        return readiness(recovered=worker.ready, rebalancing=app.rebalancing, broker_error=worker.broker_error,
                         publish_error=worker.publish_error, stall_s=settings.publish_stall_s,
                         publish_waiting_s=None if since is None else time.monotonic() - since)

    def snapshot() -> Snapshot:
        at = now_us()
        return Snapshot(now_us=at, clocks=worker.clocks.figures(at), period_counts=worker.by_period(),
                        services=worker.services.values(), ready=ready_now().ready,
                        assigned_partitions=len(_assigned_partitions(app, routes.wakeups)),
                        pending_wakeups=worker.pending_wakeups, lag=dict(lag))

    metrics = Metrics(policy, snapshot)
    app.sla_metrics = metrics  # type: ignore[attr-defined]
    processor = Processor(policy, routes, now_us, store, metrics, worker, wakes_per_tick=settings.batch_max)
    channel = ProcessorChannel(
        lambda item: app.producer.send(item.topic, item.key, item.value, None, None, item.headers), processor, worker)
    collector = Collector()  # each batch's survivors frozen: collections do not walk the worker's live objects
    clocks = ClockPublisher(settings.topic_clocks, policy,
                            lambda topic, rows: send_keyed(_aiokafka_producer(app), topic, rows))

    async def run_batch(messages: Sequence[Message]) -> None:
        firing = () if app.rebalancing or not worker.ready else _assigned_partitions(app, routes.wakeups)
        outbox = processor.handle(messages, due_in=firing)
        # Publish everything, wait for every acknowledgement, then record the rows: transient failures
        # are retried (recording a state whose alert was not acknowledged would lose it); a message
        # refused for good becomes a dead letter (see monitor.live.publishing).
        worker.publishing_since = time.monotonic()
        try:
            lost = await publish_all(outbox.sends, channel, settings.max_record_bytes)
        finally:
            worker.publishing_since = None
        await store.record(outbox.writes.values(), _aiokafka_producer(app))
        worker.counts["clock_records"] += await clocks.publish(outbox)  # after the acks, like the rows
        processor.recorded(outbox, lost, now_us())
        for message in messages:
            worker.read_offsets[message.topic, message.partition] = message.offset + 1
        await send_ticks()  # what a capped tick left due goes on at once, not at the next timer run
        if collector.after_batch() is not None:
            worker.counts["full_collections"] += 1

    async def handle_records(records: Sequence[Any]) -> None:
        await unless_failed(run_batch, [_message(record) for record in records], exit_now)

    # Faust's consumer hands each fetch to handle_records in batches (monitor.live.batch_consumer), not through
    # a stream: the agent only subscribes the input topics, co-partitioned, and never receives a message.
    app.transport = BatchTransport(app.conf.broker_consumer, app)
    app.sla_batch_handler = handle_records  # type: ignore[attr-defined]
    app.sla_batch_max = settings.batch_max  # type: ignore[attr-defined]
    app.sla_batch_topics = frozenset(routes.inputs)  # type: ignore[attr-defined]

    @app.agent(source, concurrency=1)
    async def subscription(stream: faust.StreamT[bytes]) -> None:
        async for _ in stream:  # pragma: no cover - BatchConsumer hands the topics' records to handle_records
            # Leaving unacknowledged (a bug here): going on would acknowledge a message nobody handled.
            exit_now(BATCH_FAILED_EXIT, "exiting: an input message reached Faust's stream, not the batch handler")

    @tickets.on_recover
    async def rebuild_heaps() -> None:
        # In chunks, yielding to the loop between them: the web pages answer during a long recovery
        # (readiness says 503 until it ends). A revocation meanwhile abandons it: the next one rebuilds.
        assigned, generation = _assigned_partitions(app, routes.wakeups), worker.generation
        processor.start_ticket_recovery()
        count = 0
        for chunk in _chunks(tickets.items(), RECOVERY_CHUNK):
            count += processor.recover_ticket_rows(chunk, assigned)
            await asyncio.sleep(0)
            if worker.generation != generation:
                return
        processor.finish_recovery(TICKETS, assigned, count)
        # The recovered heaps, figures and states live until the next rebalance: out of the collector's
        # sight, a full collection no longer walks a million tickets' objects (they are still freed when dropped).
        collector.rebase()

    @services.on_recover
    async def rebuild_service_heaps() -> None:
        processor.recover_services(services.items(), _assigned_partitions(app, routes.wakeups))

    @aggregates.on_recover
    async def rebuild_aggregates() -> None:
        processor.recover_aggregates(aggregates.items(), _assigned_partitions(app, routes.wakeups))

    @app.on_partitions_revoked.connect  # type: ignore[arg-type]
    async def on_revoked(sender: Any, revoked: Any = None, **_: Any) -> None:
        # Heaps and mirrors are rebuilt from the tables once recovery of the new assignment ends.
        processor.revoked()

    async def send_ticks() -> None:
        if app.rebalancing or not worker.ready:
            return
        for partition, key, body in processor.due_ticks(now_us(), _assigned_partitions(app, routes.wakeups)):
            await app.producer.send(routes.wakeups, key, body, partition, None, None)

    app.timer(interval=settings.tick_s)(send_ticks)

    check_broker = BrokerCheck(settings, sorted({*routes.inputs, *routes.outputs.values(), routes.dead_letter}))

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
        lag.update(await _lag(app, routes.inputs, worker.read_offsets))
        return web.bytes(generate_latest(metrics.registry), headers={"Content-Type": CONTENT_TYPE_LATEST})

    @app.page("/stats")
    async def stats(web: Any, request: Any) -> Any:
        return web.json({"counts": dict(worker.counts), "pending_wakeups": worker.pending_wakeups,
                         "partitions": sorted(_assigned_partitions(app, routes.wakeups))})

    return app


class _TableStore:
    """The processor's ``Store`` over the Faust tables: each row in the RocksDB of its message's partition.

    Faust's own path (``table.get(key)`` with the message's event made current) asks the
    store twice (``key in data``, then ``data[key]``) through four layers and a context
    variable. The rows are read and written here in the partition database that path
    ends at (``Store._db_for_partition``, the one Faust's ``_get``/``_set`` pick for the
    current event's partition; our tables are neither global nor partitioner-keyed), once.
    """

    def __init__(self, tables: Mapping[str, Any]) -> None:
        self.tables = tables
        self._changelogs = {name: table.changelog_topic.get_topic_name() for name, table in tables.items()}
        self._settling: set[asyncio.Future[None]] = set()  # acknowledgements awaited (one task per batch)

    def _db(self, table: str, partition: int) -> Any:
        return self.tables[table].data._db_for_partition(partition)  # Faust's rocksdb store, opened on first use

    def get(self, table: str, key: bytes, at: Message) -> bytes | None:
        value: bytes | None = self._db(table, at.partition).get(key)
        return value

    def put_rows(self, table: str, partition: int, rows: Sequence[tuple[bytes, bytes]]) -> None:
        write_rows(self._db(table, partition), rows)

    async def record(self, writes: Iterable[Write], producer: Any) -> None:
        """Write a batch's rows and send their changelog records as one producer batch per partition.

        ``table[key] = value`` would queue one changelog message at a time behind Faust's
        single sending task, each going out in a produce request of its own. Here each row
        goes into the store of its message's partition, and the changelog records of each
        (table, partition) into record batches handed to the producer at once. Their
        acknowledgements move the tables' persisted offsets (as Faust's own callback does),
        and Faust's commit flushes the producer before it commits the input offsets, so a
        row is in the changelog before the message that changed it counts as handled.
        """
        sent = [(self.tables[name], future, count)
                for name, future, count in await record_rows(self, writes, producer, self._changelogs)]
        if not sent:
            return
        self._settling.add(task := asyncio.ensure_future(_persisted_offsets(sent)))
        task.add_done_callback(self._settling.discard)


def write_rows(db: Any, rows: Sequence[tuple[bytes, bytes]]) -> None:
    """Rows (key, value) into a RocksDB (rocksdict, raw bytes) in one write batch, as Faust's changelog recovery
    writes: ~0.5 us a row instead of ~2.4 for a put."""
    batch = WriteBatch(raw_mode=True)
    for key, value in rows:
        batch.put(key, value)
    db.write(batch)


async def record_rows(store: Store, writes: Iterable[Write], producer: Any,
                      changelog_of: Mapping[str, str]) -> list[tuple[str, Any, int]]:
    """Put the rows of each (table, partition of the row's message) in ``store`` at once and hand their changelog
    records to ``producer`` in record batches; returns (table, future of a record batch, records in it)."""
    groups: dict[tuple[str, int], list[Write]] = {}
    for write in writes:
        groups.setdefault((write.table, write.message.partition), []).append(write)
    sent: list[tuple[str, Any, int]] = []
    for (table, partition), rows in groups.items():
        store.put_rows(table, partition, [(w.key, w.value) for w in rows])
        batches = await send_in_batches(producer, changelog_of[table], partition, [(w.key, w.value, []) for w in rows])
        sent.extend((table, future, count) for future, count in batches)
    return sent


async def _persisted_offsets(sent: Sequence[tuple[Any, Any, int]]) -> None:
    """Once a batch's changelog records are acknowledged, store the newest offset of each table partition."""
    outcomes = await asyncio.gather(*(future for _, future, _ in sent), return_exceptions=True)
    newest: dict[tuple[int, Any], tuple[Any, int]] = {}
    errors = []
    for (table, _, count), outcome in zip(sent, outcomes, strict=True):
        if isinstance(outcome, BaseException):
            errors.append(outcome)
            continue
        mark, last = (id(table), outcome.topic_partition), outcome.offset + count - 1  # a batch's base offset
        if mark not in newest or newest[mark][1] < last:
            newest[mark] = table, last
    for (_, tp), (table, offset) in newest.items():
        table.data.set_persisted_offset(tp, offset)
    if errors:  # the rows are in the local store, but a recovery from the changelog would miss them
        log.error("changelog records not acknowledged", count=len(errors), error=str(errors[0]))


def _aiokafka_producer(app: faust.App) -> Any:
    """The aiokafka producer under Faust's: Faust has no batch API of its own."""
    return app.producer._ensure_producer()  # type: ignore[attr-defined]


def _message(record: Any) -> Message:
    """An aiokafka ``ConsumerRecord`` as the processor's message."""
    headers = record.headers
    return Message(record.topic, record.partition, record.offset, record.key, record.value,
                   tuple((name, value or b"") for name, value in headers) if headers else ())


class ProcessorChannel:
    """The worker's side of ``publish_all``: ``send`` hands a message to the producer (Faust's in the worker);
    refused messages are the processor's business."""

    def __init__(self, send: Callable[[Send], Awaitable[Any]], processor: Processor, worker: WorkerState) -> None:
        self._send, self.processor, self.worker = send, processor, worker

    async def send(self, item: Send) -> Any:
        return await self._send(item)

    def replacement(self, item: Send, reason: str) -> Send:
        return self.processor.replacement(item, reason)

    def unpublishable(self, item: Send, reason: str) -> None:
        self.processor.unpublishable(item, reason)

    def failing(self, reason: str | None) -> None:
        if reason is not None:
            log.error("publish failed, retrying", error=reason)
        self.worker.publish_error = reason


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


def _chunks(rows: Iterable[tuple[bytes, bytes]], size: int) -> Iterator[list[tuple[bytes, bytes]]]:
    iterator = iter(rows)
    while chunk := list(itertools.islice(iterator, size)):
        yield chunk


def _assigned_partitions(app: faust.App, topic: str) -> set[int]:
    try:
        assignment = app.consumer.assignment()
    except Exception:  # consumer not started yet
        return set()
    return {tp.partition for tp in assignment if tp.topic == topic}
