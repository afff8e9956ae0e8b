"""Kafka plumbing shared by the worker, the simulator and the tools: security
settings for aiokafka, topic creation, and the key -> partition mapping."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import ssl
import struct
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, TypeVar

import structlog
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType
from aiokafka.errors import KafkaConnectionError, TopicAlreadyExistsError
from aiokafka.partitioner import DefaultPartitioner

from monitor.core.errors import UsageError
from monitor.live.settings import Settings

_partitioner = DefaultPartitioner()
log = structlog.get_logger("sla.worker")
KEY_HASHES_CACHED = 131_072  # keys whose murmur2 is remembered (least recently used dropped; ~175 bytes each, ~22 MiB)


_WORDS = [struct.Struct(f"<{n}I") for n in range(64)]  # little-endian 32-bit words of keys up to 255 bytes
_M = 0x5BD1E995


def murmur2(data: bytes) -> int:
    """Kafka's murmur2 of ``data`` (``org.apache.kafka.common.utils.Utils.murmur2``, seed 0x9747b28c).

    The same value as aiokafka's ``murmur2`` (a test compares them), in about half the time: the key's words
    unpacked at once and one mask per product, instead of a byte at a time and a mask per step.
    """
    length = len(data)
    h = 0x9747B28C ^ length
    count = length >> 2
    words = _WORDS[count].unpack_from(data) if count < len(_WORDS) else struct.unpack_from(f"<{count}I", data)
    for k in words:
        k = (k * _M) & 0xFFFFFFFF
        k ^= k >> 24
        h = ((h * _M) & 0xFFFFFFFF) ^ ((k * _M) & 0xFFFFFFFF)
    if extra := length & 3:
        tail = length & ~3
        if extra == 3:
            h ^= data[tail + 2] << 16
        if extra >= 2:
            h ^= data[tail + 1] << 8
        h = ((h ^ data[tail]) * _M) & 0xFFFFFFFF
    h ^= h >> 13
    h = (h * _M) & 0xFFFFFFFF
    return h ^ (h >> 15)


@functools.lru_cache(maxsize=KEY_HASHES_CACHED)
def _key_hash(key: bytes) -> int:
    # The worker hashes a ticket's key for each of its events and alerts, and a ticket comes back soon
    # (its next event, its next level).
    return murmur2(key) & 0x7FFFFFFF


def partition_for(key: bytes, partitions: int) -> int:
    """The partition Kafka's default partitioner (murmur2) gives ``key``."""
    return _key_hash(key) % partitions


def producer_partitioner(key: bytes | None, all_partitions: list[int], available: list[int]) -> int:
    """Kafka's default partitioner with the key hashes remembered (random among ``available`` without a key)."""
    if key is None:
        return _partitioner(key, all_partitions, available)  # type: ignore[no-any-return]
    return all_partitions[_key_hash(key) % len(all_partitions)]


Row = tuple[bytes, bytes | None, list[tuple[str, bytes]]]  # key, value (None: a tombstone), headers (a list: aiokafka wants one)


async def send_in_batches(client: Any, topic: str, partition: int, rows: Sequence[Row]) -> list[tuple[Any, int]]:
    """Hand ``rows`` to aiokafka's producer ``client`` as record batches of one partition.

    One ``send`` per message costs a future, a partitioner call and an accumulator
    look-up each; a batch's rows of one partition go in a few record batches instead.
    Returns (future of the batch's acknowledgement, number of rows in it) for each.
    """
    sent: list[tuple[Any, int]] = []
    batch, count = client.create_batch(), 0
    for key, value, headers in rows:
        if batch.append(key=key, value=value, timestamp=None, headers=headers) is None:  # full: send it, go on
            sent.append((await client.send_batch(batch, topic, partition=partition), count))
            batch, count = client.create_batch(), 0
            batch.append(key=key, value=value, timestamp=None, headers=headers)  # a first record always fits
        count += 1
    if count:
        sent.append((await client.send_batch(batch, topic, partition=partition), count))
    return sent


async def send_keyed(client: Any, topic: str, rows: Sequence[Row]) -> list[tuple[Any, Sequence[Row]]]:
    """Hand ``rows`` to ``client`` in record batches, each row in its key's partition (Kafka's default
    partitioner, as ``send`` would place it); returns (future of an acknowledgement, the rows it covers)."""
    partitions = len(await client.partitions_for(topic))
    groups: dict[int, list[Row]] = {}
    for row in rows:
        groups.setdefault(partition_for(row[0], partitions), []).append(row)
    out: list[tuple[Any, Sequence[Row]]] = []
    for partition, group in groups.items():
        start = 0
        for future, count in await send_in_batches(client, topic, partition, group):
            out.append((future, group[start:start + count]))
            start += count
    return out


def ssl_context(settings: Settings) -> ssl.SSLContext | None:
    """An SSL context for SSL / SASL_SSL, or None for plaintext."""
    if settings.security_protocol not in ("SSL", "SASL_SSL"):
        return None
    context = ssl.create_default_context(cafile=str(settings.ssl_cafile) if settings.ssl_cafile else None)
    if settings.ssl_certfile:
        context.load_cert_chain(str(settings.ssl_certfile), str(settings.ssl_keyfile) if settings.ssl_keyfile else None)
    return context


def client_kwargs(settings: Settings) -> dict[str, Any]:
    """Connection and security keyword arguments for aiokafka clients."""
    kwargs: dict[str, Any] = {
        "bootstrap_servers": settings.kafka_bootstrap,
        "security_protocol": settings.security_protocol,
    }
    context = ssl_context(settings)
    if context is not None:
        kwargs["ssl_context"] = context
    if settings.sasl_mechanism:
        kwargs["sasl_mechanism"] = settings.sasl_mechanism
        kwargs["sasl_plain_username"] = settings.sasl_username
        kwargs["sasl_plain_password"] = settings.sasl_password
    return kwargs


T = TypeVar("T")


async def when_reachable(attempt: Callable[[], Awaitable[T]], settings: Settings, log: Any, attempts: int = 20) -> T:
    """Await ``attempt()`` until Kafka answers: up to ``attempts`` tries, 0.5 s doubling to 5 s between them,
    each failure logged on ``log`` as "waiting for Kafka"; the last failure is raised."""
    delay = 0.5
    for number in range(1, attempts + 1):
        try:
            return await attempt()
        except KafkaConnectionError as error:
            if number == attempts:
                raise
            log.warning("waiting for Kafka", bootstrap=settings.kafka_bootstrap, attempt=number, error=str(error))
            await asyncio.sleep(delay)
            delay = min(delay * 2, 5.0)
    raise AssertionError("unreachable")  # pragma: no cover


def internal_topics(settings: Settings) -> tuple[str, str]:
    """Names of the repartition and wake-up topics of this app."""
    return f"{settings.app_id}-tickets-repartition", f"{settings.app_id}-wakeups"


async def ensure_topics(settings: Settings) -> int:
    """Create missing topics and return the partition count all ticket topics share.

    The input topic keeps the count it has (or gets ``settings.partitions``);
    the internal topics take the same count so partition *p* of each belongs
    to the same worker.
    """
    admin = AIOKafkaAdminClient(**client_kwargs(settings))
    await admin.start()
    try:
        existing = await _partition_counts(admin)
        partitions = existing.get(settings.topic_events, settings.partitions)
        repartition, wakeups = internal_topics(settings)
        wanted = {
            settings.topic_events: partitions,
            settings.topic_probes: partitions,
            repartition: partitions,
            wakeups: partitions,
            settings.topic_warnings: partitions,
            settings.topic_breaches: partitions,
            settings.topic_outcomes: partitions,
            settings.topic_dead_letter: partitions,
            settings.topic_reports: 1,  # a few records a month
        }
        for name in (repartition, wakeups):
            if name in existing and existing[name] != partitions:
                raise UsageError(
                    f"topic {name} has {existing[name]} partitions but {settings.topic_events} has {partitions}; "
                    f"delete {name} (it holds only transient messages) or use a new SLA_APP_ID"
                )
        probes = settings.topic_probes
        if probes in existing and existing[probes] != partitions:
            raise UsageError(
                f"topic {probes} has {existing[probes]} partitions but {settings.topic_events} has {partitions}; "
                "one worker handles a partition number of both, so give them the same count"
            )
        kept = retained_topics(settings)
        if settings.topic_clocks:
            wanted[settings.topic_clocks] = partitions
            if settings.topic_clocks in existing:
                await _warn_unless_compacted(admin, settings.topic_clocks)
        missing = [
            NewTopic(name, count, settings.replication_factor, topic_configs=_topic_config(settings, name, kept))
            for name, count in wanted.items()
            if name not in existing
        ]
        if missing:
            with contextlib.suppress(TopicAlreadyExistsError):  # another worker was first
                await admin.create_topics(missing)
        return partitions
    finally:
        await admin.close()


def retained_topics(settings: Settings) -> tuple[str, ...]:
    """Output topics the monthly report reads back (or writes), kept for ``output_retention_days``."""
    return (settings.topic_warnings, settings.topic_breaches, settings.topic_outcomes, settings.topic_reports)


async def _warn_unless_compacted(admin: AIOKafkaAdminClient, topic: str) -> None:
    """Log when the clocks topic exists without compaction (made by hand, or auto-created by a broker)."""
    try:
        [described] = await admin.describe_configs([ConfigResource(ConfigResourceType.TOPIC, topic)])
        policy = {name: value for name, value, *_ in described.resources[0][4]}.get("cleanup.policy", "")
    except Exception as error:  # not allowed to read configs: nothing to say
        log.debug("clocks topic config unreadable", topic=topic, error=str(error))
        return
    if "compact" not in str(policy):
        log.warning("clocks topic is not compacted: it keeps every record and readers re-read them all; set "
                    "cleanup.policy=compact (kafka-configs.sh --alter --add-config cleanup.policy=compact)",
                    topic=topic, cleanup_policy=policy)


def _topic_config(settings: Settings, name: str, kept: tuple[str, ...]) -> dict[str, str] | None:
    if name == settings.topic_clocks:
        return COMPACTED  # the latest record of each open ticket; a resolved one's tombstone removes it
    return retention_config(settings) if name in kept else None


COMPACTED = {"cleanup.policy": "compact"}


def retention_config(settings: Settings) -> dict[str, str]:
    """Topic configuration of the retained output topics."""
    return {"retention.ms": str(settings.output_retention_days * 86_400_000)}


async def _partition_counts(admin: AIOKafkaAdminClient) -> dict[str, int]:
    metadata = await admin.describe_topics()
    return {
        t["topic"]: len(t["partitions"])
        for t in metadata
        if t.get("error_code", 0) == 0 and t["partitions"]
    }
