"""The notifier process: the output topics in, Alertmanager posts out, health and metrics on a web port.

At start-up it reads the warning, breach and outcome topics from the beginning to
their ends (records of the three topics merged back into publication order by
Kafka timestamp), so the firing set is rebuilt from the topics, never from memory;
then it posts the whole set and follows the topics live. Every
``notify_repost_s`` it re-posts every firing alert (Alertmanager ends an alert not
re-posted within its ``resolve_timeout``); an outcome posts the clock's alerts
with ``endsAt``. Posts that fail are retried with backoff and kept meanwhile in a
bounded outbox (``sla_notify_backlog_alerts``). It never resolves an alert on
its way out: a stopped notifier lets Alertmanager keep the alerts until
``resolve_timeout``, and the next one re-posts them.

Every replica reads every partition (a consumer group is used for committed
offsets only, so lag can be watched): two replicas post the same alerts and
Alertmanager deduplicates them, as it does for a pair of Prometheus servers.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import heapq
import json
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import structlog
from aiohttp import web
from aiokafka import AIOKafkaConsumer, ConsumerRecord
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.errors import KafkaConnectionError, KafkaError
from aiokafka.structs import TopicPartition
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest

from monitor.live.kafka import client_kwargs, when_reachable
from monitor.live.settings import Settings
from monitor.notify.alertmanager import AlertmanagerClient, Refused, Unreachable
from monitor.notify.alerts import FiringSet, Outbox, Post, kept_after_rebuild, merge_key
from monitor.notify.metrics import NotifyMetrics

log = structlog.get_logger("sla.notify")

POST_BATCH = 500  # alerts per POST
RETRY_FIRST_S = 0.5
RETRY_MAX_S = 30.0
LOG_EVERY_S = 30.0  # an unreachable Alertmanager is logged once per this
COMMIT_EVERY_S = 5.0
Clock = Callable[[], datetime]


def wall_clock() -> datetime:
    """The shell's clock."""
    return datetime.now(UTC)


class Notifier:
    """Decisions of ``FiringSet`` carried out: what to post, when, and what is waiting."""

    def __init__(self, settings: Settings, client: AlertmanagerClient, clock: Clock = wall_clock,
                 registry: CollectorRegistry | None = None) -> None:
        self.settings, self.client, self.clock = settings, client, clock
        self.firing = FiringSet(settings.notify_board_url, settings.notify_max_firing)
        self.outbox = Outbox(settings.notify_max_firing)
        self.registry = registry or CollectorRegistry()
        self.metrics = NotifyMetrics(self.registry, self.firing.counts, lambda: len(self.outbox))
        self.rebuilt = False
        self.post_error: str | None = None
        self.stopping = asyncio.Event()
        self._wake = asyncio.Event()
        self._repost_at = 0.0  # monotonic; 0 = as soon as the topics are read
        self._failures_unlogged = 0
        self._last_failure_log = -LOG_EVERY_S

    # -- records in -----------------------------------------------------------------------

    def take(self, item: Item, *, rebuilding: bool = False) -> None:
        """Decide on one record; queue what to post."""
        record, timestamp_ms = item.record, item.timestamp_ms
        if record is None:
            self.metrics.records.labels("malformed").inc()
            log.warning("record ignored", reason="malformed", detail="not a JSON object", topic=item.key[1],
                        partition=item.key[2], offset=item.key[3], bytes=item.size)
            return
        now = self.clock()
        decision = self.firing.apply(record, timestamp_ms, now)
        self.metrics.record(decision.ignored or "applied")
        if decision.ignored == "malformed":
            log.warning("record ignored", reason="malformed", detail=decision.detail, topic=item.key[1],
                        partition=item.key[2], offset=item.key[3])
        if not decision.posts:
            return
        posts = decision.posts
        for post in posts:
            self.metrics.alert(post.event)
            if post.event == "untracked":
                self.metrics.untracked.inc()
            if not rebuilding:  # re-reading the topics repeats decisions already logged
                log.info("alert decided", change=post.event, id=post.alert.record_id, labels=dict(post.alert.labels),
                         ends_at=post.ends_at.isoformat() if post.ends_at else None)
        if rebuilding:
            posts = [p for p in posts if kept_after_rebuild(p, timestamp_ms, now,
                                                              self.settings.alertmanager_resolve_timeout_s)]
        dropped = self.outbox.dropped
        self.outbox.add(posts)
        self.metrics.dropped.inc(self.outbox.dropped - dropped)
        if not rebuilding:
            self._wake.set()

    def topics_read(self) -> None:
        """The topics were read to their end: post the whole firing set next."""
        self.outbox.discard_firing()
        self.rebuilt = True
        self.metrics.ready.set(1)
        self._repost_at = 0.0
        self._wake.set()
        log.info("topics read", firing=self.firing.counts(), waiting=len(self.outbox))

    # -- posts out ------------------------------------------------------------------------

    async def deliver(self) -> None:
        """Post the outbox as it fills and the firing set every ``notify_repost_s``; retry with backoff."""
        delay = RETRY_FIRST_S
        while not self.stopping.is_set():
            if self.rebuilt:
                try:
                    await self._deliver_once()
                except Unreachable as error:
                    self._failed(str(error))
                    await self._sleep(delay)
                    delay = min(delay * 2, RETRY_MAX_S)
                    continue
                if self.post_error is not None:
                    log.info("Alertmanager reachable again", url=self.client.url, failures=self._failures_unlogged)
                    self.post_error, self._failures_unlogged = None, 0
                    self._repost_at = 0.0  # it may have restarted without our alerts: post them all now
                    delay = RETRY_FIRST_S
                    continue
                delay = RETRY_FIRST_S
            wait = max(0.05, self._repost_at - time.monotonic()) if self.rebuilt else 1.0
            await self._sleep(wait)

    async def _deliver_once(self) -> None:
        while len(self.outbox):
            batch = self.outbox.peek(POST_BATCH)
            await self._post(batch)
            self.outbox.done(batch)
        if time.monotonic() >= self._repost_at:
            alerts = [Post(alert) for alert in self.firing.firing()]
            for start in range(0, len(alerts), POST_BATCH):
                await self._post(alerts[start:start + POST_BATCH])
            self._repost_at = time.monotonic() + self.settings.notify_repost_s

    async def _post(self, posts: Sequence[Post]) -> None:
        try:
            await self.client.post([p.payload() for p in posts])
        except Refused as error:
            if len(posts) > 1:  # find the invalid alert; the others go through
                for post in posts:
                    await self._post([post])
                return
            self.metrics.failures.labels("refused").inc()
            log.error("Alertmanager refused an alert", id=posts[0].alert.record_id, error=str(error))
            return
        self.metrics.posts.inc()
        self.metrics.posted_alerts.inc(len(posts))
        self.metrics.up.set(1)
        self.metrics.last_success.set(time.time())

    def _failed(self, error: str) -> None:
        self.metrics.failures.labels("unreachable").inc()
        self.metrics.up.set(0)
        self.post_error = error
        self._failures_unlogged += 1
        if time.monotonic() - self._last_failure_log >= LOG_EVERY_S:
            log.warning("Alertmanager unreachable; retrying", url=self.client.url, error=error,
                        failures=self._failures_unlogged, backlog=len(self.outbox), firing=len(self.firing))
            self._last_failure_log = time.monotonic()

    async def _sleep(self, seconds: float) -> None:
        self._wake.clear()
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(self._wake.wait(), seconds)

    # -- web ------------------------------------------------------------------------------

    def web_app(self) -> web.Application:
        """/health/live, /health/ready and /metrics."""
        app = web.Application()

        async def live(_: web.Request) -> web.Response:
            return web.json_response({"status": "alive"})

        async def ready(_: web.Request) -> web.Response:
            if not self.rebuilt:
                return web.json_response({"status": "recovering", "reason": "reading the topics to their end"},
                                         status=503)
            if self.post_error is not None:
                return web.json_response({"status": "unavailable", "reason": f"Alertmanager: {self.post_error}",
                                          "backlog": len(self.outbox)}, status=503)
            return web.json_response({"status": "ready", "firing": len(self.firing)})

        async def metrics(_: web.Request) -> web.Response:
            return web.Response(body=generate_latest(self.registry), headers={"Content-Type": CONTENT_TYPE_LATEST})

        app.router.add_get("/health/live", live)
        app.router.add_get("/health/ready", ready)
        app.router.add_get("/metrics", metrics)
        return app


# -- Kafka ------------------------------------------------------------------------------------


def alert_topics(settings: Settings) -> list[str]:
    """The topics the notifier reads (escalations travel on the breach topic)."""
    return [settings.topic_warnings, settings.topic_breaches, settings.topic_outcomes]


async def partition_counts(settings: Settings) -> dict[str, int]:
    """Partitions of every existing topic (all topics are described: naming one could auto-create it)."""
    admin = AIOKafkaAdminClient(**client_kwargs(settings))
    await admin.start()
    try:
        described = await admin.describe_topics()
    finally:
        await admin.close()
    return {t["topic"]: len(t["partitions"]) for t in described if t.get("error_code", 0) == 0 and t["partitions"]}


async def assign_all(consumer: AIOKafkaConsumer, settings: Settings, stopping: asyncio.Event) -> list[TopicPartition]:
    """Every partition of the alert topics, waiting (and saying so) until they all exist."""
    topics, said = alert_topics(settings), False
    while True:
        counts = await partition_counts(settings)
        missing = [t for t in topics if t not in counts]
        if not missing:
            tps = [TopicPartition(t, p) for t in topics for p in range(counts[t])]
            consumer.assign(tps)
            return tps
        if not said:
            log.info("waiting for the topics (a worker creates them)", missing=missing)
            said = True
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(stopping.wait(), 2.0)
        if stopping.is_set():
            return []


@dataclass(frozen=True)
class Item:
    """One message of the topics, decoded, with its place in publication order."""

    key: tuple[tuple[int, int], str, int, int]  # (timestamp, rank), topic, partition, offset
    record: dict[str, Any] | None  # None: not a JSON object
    size: int

    @classmethod
    def of(cls, message: ConsumerRecord[Any, Any]) -> Item:
        try:
            record = json.loads(message.value or b"")
        except ValueError:
            record = None
        record = record if isinstance(record, dict) else None
        return cls((merge_key(record or {}, message.timestamp), message.topic, message.partition, message.offset),
                   record, len(message.value or b""))

    @property
    def timestamp_ms(self) -> int:
        return self.key[0][0]


async def read_to_end(consumer: AIOKafkaConsumer, tps: list[TopicPartition], take: Callable[[Item], None],
                      stopping: asyncio.Event) -> int:
    """Read ``tps`` from the beginning to their current ends, records merged into publication order.

    A k-way merge on (timestamp, rank) over a heap of the partitions' heads: a record
    is taken only when every partition not yet at its end has one buffered, so an
    outcome never overtakes the alerts it ends. Returns how many records were taken.
    """
    await consumer.seek_to_beginning(*tps)
    ends = await consumer.end_offsets(tps)
    buffers: dict[TopicPartition, deque[Item]] = {tp: deque() for tp in tps}
    index = {tp: i for i, tp in enumerate(tps)}
    heads: list[tuple[tuple[tuple[int, int], str, int, int], int]] = []  # (head's key, partition index)
    empty = set(tps)  # partitions with nothing buffered that may not be at their end yet
    taken = 0
    while not stopping.is_set():
        if empty:
            for tp in [tp for tp in empty if await consumer.position(tp) >= ends[tp]]:
                empty.discard(tp)  # at its end (records beyond it are the live phase's)
            if not empty:
                continue
            batch = await consumer.getmany(*empty, timeout_ms=500)
            for tp, messages in batch.items():
                if messages:
                    buffers[tp].extend(Item.of(m) for m in messages)
                    heapq.heappush(heads, (buffers[tp][0].key, index[tp]))
                    empty.discard(tp)
            continue
        if not heads:
            return taken
        _, i = heapq.heappop(heads)
        buffer = buffers[tps[i]]
        take(buffer.popleft())
        taken += 1
        if buffer:
            heapq.heappush(heads, (buffer[0].key, i))
        else:
            empty.add(tps[i])
        if not taken % 1000:
            await asyncio.sleep(0)  # let the consumer's fetches run (and the web port answer) while deciding
    return taken


async def follow(consumer: AIOKafkaConsumer, notifier: Notifier) -> None:
    """Take records as they arrive (each fetched batch in publication order); commit offsets now and then."""
    committed = time.monotonic()
    while not notifier.stopping.is_set():
        batch = await consumer.getmany(timeout_ms=500)
        for item in sorted((Item.of(m) for ms in batch.values() for m in ms), key=lambda i: i.key):
            notifier.take(item)
        if time.monotonic() - committed >= COMMIT_EVERY_S:
            committed = time.monotonic()
            with contextlib.suppress(KafkaError):
                await consumer.commit()


async def started_consumer(settings: Settings, attempts: int = 20) -> AIOKafkaConsumer:
    """A started consumer of the notifier's group, waiting for Kafka as the worker does (0.5 s doubling to 5 s)."""

    async def start() -> AIOKafkaConsumer:
        consumer = AIOKafkaConsumer(group_id=settings.notify_group, enable_auto_commit=False,
                                    auto_offset_reset="earliest", **client_kwargs(settings))
        try:
            await consumer.start()
        except KafkaConnectionError:
            await consumer.stop()
            raise
        return consumer

    return await when_reachable(start, settings, log, attempts)


async def consume(settings: Settings, notifier: Notifier) -> None:
    """Rebuild the firing set from the topics, then follow them."""
    consumer = await started_consumer(settings)
    try:
        tps = await assign_all(consumer, settings, notifier.stopping)
        if not tps:
            return
        started = time.monotonic()
        # The rebuild makes no reference cycles worth collecting, and the cyclic collector's passes over the
        # growing firing set cost 40 % of its CPU (bench/notify_bench.py): off while it runs, and what it built
        # is then frozen out of later passes.
        gc.disable()
        try:
            records = await read_to_end(consumer, tps, lambda item: notifier.take(item, rebuilding=True),
                                        notifier.stopping)
        finally:
            gc.enable()
            gc.collect()
            gc.freeze()
        if notifier.stopping.is_set():
            return
        log.info("firing set rebuilt", records=records, seconds=round(time.monotonic() - started, 3),
                 partitions=len(tps))
        notifier.topics_read()
        await follow(consumer, notifier)
    finally:
        await consumer.stop()
