"""The monthly report's Kafka side: read the output topics from their beginning to their current end,
and publish reports on the reports topic keyed by their id."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable, Iterable
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAlreadyExistsError
from aiokafka.structs import TopicPartition

from monitor.core.errors import UsageError
from monitor.live.kafka import client_kwargs, retention_config
from monitor.live.settings import Settings

Feed = Callable[[str, bytes], None]  # (where the message came from, its value)
Progress = Callable[[int, int], None]  # (messages read, messages to read)


def source_topics(settings: Settings) -> tuple[str, str, str]:
    """The topics a report reads: warnings, breaches and outcomes (ratings come on outcomes)."""
    return settings.topic_warnings, settings.topic_breaches, settings.topic_outcomes


async def read_topics(settings: Settings, feed: Feed, progress: Progress | None = None) -> int:
    """Feed every message of the report's source topics, from the beginning up to the end they have now."""
    return await read_to_end(settings, source_topics(settings), feed, progress, hint="--records FILE")


async def read_to_end(settings: Settings, topics: Iterable[str], feed: Feed, progress: Progress | None = None,
                      *, keys: Callable[[bytes | None], bool] | None = None, hint: str = "a file") -> int:
    """Feed every message of ``topics`` (those that exist), from the beginning up to the end they have
    now; return how many. ``keys``, if given, picks the messages by key (the others are not fed)."""
    wanted = tuple(topics)
    counts = await _partition_counts(settings, wanted)
    partitions = [TopicPartition(topic, p) for topic, count in counts.items() for p in range(count)]
    consumer = AIOKafkaConsumer(**client_kwargs(settings), enable_auto_commit=False, auto_offset_reset="earliest",
                                group_id=None)
    await consumer.start()
    try:
        if not partitions:
            raise UsageError(f"none of the topics {', '.join(wanted)} exists on "
                             f"{settings.kafka_bootstrap}: is the worker running there (or give {hint})?")
        consumer.assign(partitions)
        ends: dict[TopicPartition, int] = await consumer.end_offsets(partitions)
        await consumer.seek_to_beginning(*partitions)
        starts: dict[TopicPartition, int] = await consumer.beginning_offsets(partitions)
        total = sum(ends[tp] - starts[tp] for tp in partitions)
        pending = {tp for tp in partitions if ends[tp] > starts[tp]}
        read = 0
        while pending:
            batch = await consumer.getmany(*pending, timeout_ms=1000, max_records=5000)
            for tp, messages in batch.items():
                for message in messages:
                    if message.offset >= ends[tp]:
                        break
                    read += 1
                    if keys is None or keys(message.key):
                        feed(f"topic {tp.topic} partition {tp.partition} offset {message.offset}", message.value or b"")
            for tp in list(pending):
                if await consumer.position(tp) >= ends[tp]:
                    pending.discard(tp)
            if progress is not None:
                progress(read, total)
        return read
    finally:
        await consumer.stop()


async def _partition_counts(settings: Settings, topics: Iterable[str]) -> dict[str, int]:
    admin = AIOKafkaAdminClient(**client_kwargs(settings))
    await admin.start()
    try:
        described = await admin.describe_topics()  # all topics: naming them could auto-create them
    finally:
        await admin.close()
    counts = {t["topic"]: len(t["partitions"]) for t in described if t.get("error_code", 0) == 0 and t["partitions"]}
    return {topic: counts[topic] for topic in topics if topic in counts}


async def publish_reports(settings: Settings, records: Iterable[dict[str, Any]]) -> int:
    """Send each report record to the reports topic keyed by its id (creating the topic if needed); return how many."""
    if settings.topic_reports not in await _partition_counts(settings, [settings.topic_reports]):
        admin = AIOKafkaAdminClient(**client_kwargs(settings))
        await admin.start()
        try:
            with contextlib.suppress(TopicAlreadyExistsError):
                await admin.create_topics([NewTopic(settings.topic_reports, 1, settings.replication_factor,
                                                    topic_configs=retention_config(settings))])
        finally:
            await admin.close()
    producer = AIOKafkaProducer(**client_kwargs(settings), acks="all")
    await producer.start()
    sent = 0
    try:
        for record in records:
            await producer.send_and_wait(settings.topic_reports, json.dumps(record, ensure_ascii=False).encode(),
                                         key=str(record["id"]).encode())
            sent += 1
    finally:
        await producer.stop()
    return sent
