"""Notifier start-up benchmark: how fast `sla-monitor notify` rebuilds its firing set from the topics.

Produces (seeded) N records to fresh warning, breach and outcome topics on the local broker, as
the worker publishes them: per ticket one or two warnings, a breach for some, escalations for a
few, and an outcome for most (the rest stay open and firing). Then reads them back twice in the
same run:

  floor     a plain aiokafka consumer: every partition from the beginning to its end, ``json.loads``
  rebuild   the notifier's own start-up read (``read_to_end``: the k-way merge into publication
            order) feeding ``Notifier.take`` (decisions, firing set, outbox), no Alertmanager needed;
            once with Python's cyclic garbage collector on (before), once off as ``consume`` runs it

    PYTHONPATH=. python bench/notify_bench.py [--records N] [--partitions P] [--seed S]
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import random
import resource
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import structlog
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.structs import TopicPartition

from monitor.live.settings import Settings
from monitor.notify.alertmanager import AlertmanagerClient
from monitor.notify.service import Notifier, read_to_end

BOOTSTRAP = "127.0.0.1:9092"
START = datetime(2026, 6, 1, tzinfo=UTC)


def records(count: int, seed: int) -> list[dict[str, Any]]:
    """``count`` records of tickets in publication order (per ticket: warnings, breach, escalation, outcome)."""
    rng = random.Random(seed)
    out: list[dict[str, Any]] = []
    number = 0
    while len(out) < count:
        number += 1
        ticket, metric = f"T-{number}", rng.choice(("response", "resolution"))
        at = START + timedelta(seconds=number)
        base = {"schema_version": 1, "ticket_id": ticket, "metric": metric, "priority": rng.choice(("P1", "P2")),
                "customer_id": rng.choice(("acme", "globex")), "deadline": (at + timedelta(minutes=10)).isoformat()}
        out.append(base | {"type": "sla.warning", "id": f"{ticket}:{metric}:warning:0.5", "threshold": 0.5,
                           "at": at.isoformat()})
        if rng.random() < 0.5:
            out.append(base | {"type": "sla.warning", "id": f"{ticket}:{metric}:warning:0.9", "threshold": 0.9,
                               "at": at.isoformat()})
        if rng.random() < 0.3:
            out.append(base | {"type": "sla.breach", "id": f"{ticket}:{metric}:breach", "at": at.isoformat()})
            if rng.random() < 0.3:
                out.append(base | {"type": "sla.escalation", "id": f"{ticket}:{metric}:escalation:1", "level": 1,
                                   "to": "team-lead", "at": at.isoformat()})
        if rng.random() < 0.8:
            out.append(base | {"type": "sla.outcome", "id": f"{ticket}:{metric}:outcome", "status": "met",
                               "used_seconds": 1.0, "target_seconds": 2.0, "at": at.isoformat()})
    return out[:count]


async def produce(settings: Settings, items: list[dict[str, Any]], partitions: int) -> None:
    admin = AIOKafkaAdminClient(bootstrap_servers=BOOTSTRAP)
    await admin.start()
    try:
        await admin.create_topics([NewTopic(t, partitions, 1) for t in _topics(settings)])
    finally:
        await admin.close()
    topic = {"sla.warning": settings.topic_warnings, "sla.breach": settings.topic_breaches,
             "sla.escalation": settings.topic_breaches, "sla.outcome": settings.topic_outcomes}
    producer = AIOKafkaProducer(bootstrap_servers=BOOTSTRAP, linger_ms=20, max_batch_size=262_144)
    await producer.start()
    try:
        futures = [await producer.send(topic[r["type"]], json.dumps(r).encode(), key=r["ticket_id"].encode())
                   for r in items]
        await asyncio.gather(*futures)
    finally:
        await producer.stop()


def _topics(settings: Settings) -> list[str]:
    return [settings.topic_warnings, settings.topic_breaches, settings.topic_outcomes]


async def _assigned(settings: Settings, partitions: int) -> tuple[AIOKafkaConsumer, list[TopicPartition]]:
    consumer = AIOKafkaConsumer(bootstrap_servers=BOOTSTRAP, enable_auto_commit=False, max_partition_fetch_bytes=1 << 20)
    await consumer.start()
    tps = [TopicPartition(t, p) for t in _topics(settings) for p in range(partitions)]
    consumer.assign(tps)
    return consumer, tps


async def floor(settings: Settings, partitions: int) -> tuple[int, float, float]:
    """Every record read and decoded, no order kept."""
    consumer, tps = await _assigned(settings, partitions)
    try:
        began, cpu = time.perf_counter(), time.process_time()
        await consumer.seek_to_beginning(*tps)
        ends = await consumer.end_offsets(tps)
        pending, count = {tp for tp in tps if ends[tp]}, 0
        while pending:
            for tp, messages in (await consumer.getmany(timeout_ms=500)).items():
                for message in messages:
                    json.loads(message.value)
                    count += 1
                if await consumer.position(tp) >= ends[tp]:
                    pending.discard(tp)
        return count, time.perf_counter() - began, time.process_time() - cpu
    finally:
        await consumer.stop()


async def rebuild(settings: Settings, partitions: int, *, collect: bool) -> tuple[int, float, float, Notifier]:
    """The notifier's start-up read (``collect``: with the cyclic garbage collector on, as before)."""
    notifier = Notifier(settings, AlertmanagerClient("http://127.0.0.1:1"))
    consumer, tps = await _assigned(settings, partitions)
    try:
        began, cpu = time.perf_counter(), time.process_time()
        if not collect:
            gc.disable()  # as monitor.notify.service.consume does
        try:
            count = await read_to_end(consumer, tps, lambda item: notifier.take(item, rebuilding=True),
                                      asyncio.Event())
        finally:
            gc.enable()
        notifier.topics_read()
        return count, time.perf_counter() - began, time.process_time() - cpu, notifier
    finally:
        await consumer.stop()


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=200_000)
    parser.add_argument("--partitions", type=int, default=4)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    tag = uuid.uuid4().hex[:8]
    settings = Settings(app_id=f"notify-bench-{tag}", topic_warnings=f"nb{tag}.warnings",
                        topic_breaches=f"nb{tag}.breaches", topic_outcomes=f"nb{tag}.outcomes",
                        log_level="warning")
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(30))
    items = records(args.records, args.seed)
    began = time.perf_counter()
    await produce(settings, items, args.partitions)
    print(f"produced {len(items):,} records to {args.partitions} partitions x 3 topics in "
          f"{time.perf_counter() - began:.1f} s (topics nb{tag}.*)")
    count, seconds, cpu = await floor(settings, args.partitions)
    print(f"floor           (aiokafka read + json.loads): {count:,} records in {seconds:.2f} s "
          f"(CPU {cpu:.2f} s) = {count / seconds:,.0f} records/s")
    for collect in (True, False):
        count, seconds, cpu, notifier = await rebuild(settings, args.partitions, collect=collect)
        name = "rebuild, gc on " if collect else "rebuild, gc off"
        print(f"{name} (merge + notifier decisions): {count:,} records in {seconds:.2f} s "
              f"(CPU {cpu:.2f} s) = {count / seconds:,.0f} records/s; firing {notifier.firing.counts()}, "
              f"waiting to post {len(notifier.outbox):,}")
    print(f"load average now: {' '.join(f'{x:.1f}' for x in os.getloadavg())} (2 cores shared; wall time "
          "follows the load, CPU time less)")
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak RSS of this process: {rss:.0f} MiB")


if __name__ == "__main__":
    asyncio.run(main())
