"""Following the clocks topic: every partition from the beginning, no consumer group, then live.

A reconnection goes on from the offsets already read (a tombstone stays on a
compacted topic for ``delete.retention.ms``, a day by default, so an outage
shorter than that misses no removal). Ready once every partition was read up to the end offset it had when the feed
started (``/health/ready``); until the topic exists the feed waits for it. A
record the board cannot use is logged (the first of each minute) and counted;
nothing stops the feed.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import structlog
from aiokafka import AIOKafkaConsumer
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.structs import TopicPartition

from monitor.board.board import BadRecord, Board
from monitor.board.settings import BoardSettings

log = structlog.get_logger("sla.board")
RETRY_S = 2.0


class Feed:
    """Reads ``settings.topic_clocks`` into a ``Board``."""

    def __init__(self, settings: BoardSettings, board: Board) -> None:
        self.settings, self.board = settings, board
        self.ready = False
        self.reason = "starting"
        self.read = 0
        self.positions: dict[TopicPartition, int] = {}  # next offset to read of each partition
        self._warned_at = 0.0

    async def run(self) -> None:
        """Read the topic forever (cancel to stop); reconnects after errors."""
        while True:
            consumer = AIOKafkaConsumer(**self.settings.client_kwargs(), group_id=None, enable_auto_commit=False,
                                        auto_offset_reset="earliest", client_id="sla-board")
            try:
                await consumer.start()
                partitions = await self._partitions(consumer)
                consumer.assign(partitions)
                await consumer.seek_to_beginning(*partitions)
                for tp in partitions:  # after a reconnection: on from where the board stands
                    if tp in self.positions:
                        consumer.seek(tp, self.positions[tp])
                if not self.ready:
                    await self._catch_up(consumer, partitions)
                await self._follow(consumer)
            except asyncio.CancelledError:
                raise
            except Exception as error:  # the broker went away: start again (the board keeps what it has)
                self.reason = f"Kafka: {type(error).__name__}: {error}"
                log.warning("clocks topic unreadable, retrying", topic=self.settings.topic_clocks, error=self.reason)
                await asyncio.sleep(RETRY_S)
            finally:
                await consumer.stop()

    async def _partitions(self, consumer: AIOKafkaConsumer) -> list[TopicPartition]:
        topic = self.settings.topic_clocks
        while True:
            # Every topic's metadata, as the worker reads it: asking for this one by name could make a broker
            # that auto-creates topics create it (not compacted) before the worker does.
            admin = AIOKafkaAdminClient(**self.settings.client_kwargs())
            await admin.start()
            try:
                described = await admin.describe_topics()
            finally:
                await admin.close()
            for found in described:
                if found["topic"] == topic and found.get("error_code", 0) == 0 and found["partitions"]:
                    return [TopicPartition(topic, p["partition"]) for p in sorted(found["partitions"],
                                                                                 key=lambda p: p["partition"])]
            self.reason = f"topic {topic} does not exist yet (the worker creates it)"
            await asyncio.sleep(RETRY_S)

    async def _catch_up(self, consumer: AIOKafkaConsumer, partitions: list[TopicPartition]) -> None:
        ends: dict[TopicPartition, int] = await consumer.end_offsets(partitions)
        self.reason = f"reading {self.settings.topic_clocks} up to its end"
        while True:
            behind = [tp for tp in partitions if await consumer.position(tp) < ends[tp]]
            if not behind:
                break
            self._take(await consumer.getmany(timeout_ms=500, max_records=5_000))
        self.board.loaded()
        self.ready, self.reason = True, "ready"
        log.info("clocks topic read", topic=self.settings.topic_clocks, tickets=len(self.board.tickets),
                 messages=self.read)

    async def _follow(self, consumer: AIOKafkaConsumer) -> None:
        while True:
            self._take(await consumer.getmany(timeout_ms=1_000, max_records=5_000))

    def _take(self, batch: dict[TopicPartition, list[Any]]) -> None:
        for tp, messages in batch.items():
            if messages:
                self.positions[tp] = messages[-1].offset + 1
            for message in messages:
                self.read += 1
                try:
                    self.board.apply(message.key, message.value)
                except BadRecord as error:
                    self._warn(message, str(error))

    def _warn(self, message: Any, reason: str) -> None:
        now = time.monotonic()
        if now - self._warned_at >= 60:
            self._warned_at = now
            log.warning("clock record skipped; further ones this minute are only counted", reason=reason,
                        source=f"{message.topic}:{message.partition}:{message.offset}", bad=self.board.bad)
