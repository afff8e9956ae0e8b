"""The worker's own work behind a plain aiokafka loop, without Faust: what leaving Faust's stream would gain.

    python bench/plain_worker.py --events-topic T --opened N --follow M [--partitions 4] [--clocks-topic C]

A measurement, not a worker: one consumer-group member reads the events topic
with aiokafka's ``getmany`` (batches of at most ``SLA_BATCH_MAX``, 500) and
does, per batch, what the worker's agent does (``monitor.live.app``):

- ``Processor.handle`` of the batch, firing the clocks due on every partition;
- ``publish_all`` of its alerts and dead letters, every acknowledgement awaited;
- its rows written to one RocksDB per table and partition (rocksdict, the
  worker's options) and their changelog records sent as record batches;
- its ``sla.clock`` records (``--clocks-topic``; none when empty);
- ``Processor.recorded`` (mirrors, the real Prometheus counters), then the
  worker's ``Collector.after_batch`` (``monitor.live.garbage``);

and, every 2.8 s (Faust's default commit interval), flushes the producer and
commits the offsets read. No rebalance handling, no table recovery, no ticks,
no web server: the real worker needs them, so this is a ceiling for a worker
whose consume loop is off Faust, not a replacement for it.

It prints ``{"opened": ...}`` once the first N messages (the openings) are
handled — the caller then produces the M follow-ups — and at the end one JSON
line with the opening and follow-up rates (events/s), the latter timed from the
first follow-up handled, as ``live_bench.py`` times the worker, and the time the
garbage collector took over the whole run (``gc.callbacks``).
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import sys
import tempfile
import time
import uuid
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from rocksdict import Options, Rdict

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from monitor.core.instants import to_us  # noqa: E402
from monitor.core.policy import load_policy  # noqa: E402
from monitor.live.app import (  # noqa: E402
    PRODUCER_BATCH_BYTES,
    ROCKSDB_OPTIONS,
    ProcessorChannel,
    record_rows,
    wall_clock,
    write_rows,
)
from monitor.live.clock_index import ClockFigures  # noqa: E402
from monitor.live.clock_topic import ClockPublisher  # noqa: E402
from monitor.live.garbage import Collector  # noqa: E402
from monitor.live.kafka import producer_partitioner, send_keyed  # noqa: E402
from monitor.live.logs import configure_logging  # noqa: E402
from monitor.live.metrics import Metrics, Snapshot  # noqa: E402
from monitor.live.processor import Message, Processor, Routes, Write  # noqa: E402
from monitor.live.publishing import publish_all  # noqa: E402
from monitor.live.run import GC_YOUNG_THRESHOLD  # noqa: E402
from monitor.live.worker_state import WorkerState  # noqa: E402

BOOTSTRAP = os.environ.get("SLA_KAFKA_BOOTSTRAP", "127.0.0.1:9092")
BATCH_MAX = 500
COMMIT_INTERVAL_S = 2.8
MAX_RECORD_BYTES = 1_000_000


class RocksStore:
    """The processor's ``Store``: one RocksDB per (table, partition), as Faust's store keeps them."""

    def __init__(self, directory: str) -> None:
        self.directory = directory
        self.dbs: dict[tuple[str, int], Rdict] = {}

    def db(self, table: str, partition: int) -> Rdict:
        found = self.dbs.get((table, partition))
        if found is None:
            options = Options(raw_mode=True)
            options.set_write_buffer_size(ROCKSDB_OPTIONS["write_buffer_size"])
            options.set_max_write_buffer_number(ROCKSDB_OPTIONS["max_write_buffer_number"])
            found = self.dbs[table, partition] = Rdict(f"{self.directory}/{table}-{partition}", options)
        return found

    def get(self, table: str, key: bytes, at: Message) -> bytes | None:
        value: bytes | None = self.db(table, at.partition).get(key)
        return value

    def put_rows(self, table: str, partition: int, rows: Sequence[tuple[bytes, bytes]]) -> None:
        write_rows(self.db(table, partition), rows)

    async def record(self, writes: Iterable[Write], producer: Any, changelog_of: dict[str, str]) -> list[Any]:
        """Write the rows; send their changelog records as record batches per (table, partition)."""
        return [future for _, future, _ in await record_rows(self, writes, producer, changelog_of)]

    def close(self) -> None:
        for db in self.dbs.values():
            db.close()


async def run(args: argparse.Namespace) -> dict[str, float]:
    tag = uuid.uuid4().hex[:6]
    prefix = f"plain-{tag}"
    outputs = {"sla.warning": f"{prefix}.warnings", "sla.breach": f"{prefix}.breaches",
               "sla.escalation": f"{prefix}.breaches", "sla.outcome": f"{prefix}.outcomes",
               "sla.rating": f"{prefix}.outcomes"}
    routes = Routes(args.events_topic, f"{prefix}.probes", f"{prefix}.repartition", f"{prefix}.wakeups",
                    f"{prefix}.dead", outputs, args.partitions)
    changelog_of = {table: f"{prefix}-{table}-changelog" for table in ("tickets", "services", "aggregates")}
    policy = load_policy(args.policy)
    worker = WorkerState()
    now_us = lambda: to_us(wall_clock())  # noqa: E731
    partitions = set(range(args.partitions))

    def snapshot() -> Snapshot:
        at = now_us()
        figures: ClockFigures = worker.clocks.figures(at)
        return Snapshot(now_us=at, clocks=figures, period_counts=worker.by_period(), services=worker.services.values(),
                        ready=True, assigned_partitions=args.partitions, pending_wakeups=worker.pending_wakeups)

    consumer = AIOKafkaConsumer(args.events_topic, bootstrap_servers=BOOTSTRAP, group_id=prefix,
                                auto_offset_reset="earliest", enable_auto_commit=False)
    producer = AIOKafkaProducer(bootstrap_servers=BOOTSTRAP, acks="all", linger_ms=0,
                                max_batch_size=PRODUCER_BATCH_BYTES, partitioner=producer_partitioner)
    with tempfile.TemporaryDirectory(prefix="plain-worker-") as data:
        store = RocksStore(data)
        processor = Processor(policy, routes, now_us, store, Metrics(policy, snapshot), worker, wakes_per_tick=BATCH_MAX)
        worker.ready = True
        channel = ProcessorChannel(
            lambda item: producer.send(item.topic, item.value, key=item.key, headers=item.headers), processor, worker)
        collector = Collector()
        clocks = ClockPublisher(args.clocks_topic, policy, lambda topic, rows: send_keyed(producer, topic, rows))
        await consumer.start()
        await producer.start()
        handled, total = 0, args.opened + args.follow
        began = time.perf_counter()
        open_rate = follow_from = 0.0
        last_commit = time.monotonic()
        try:
            while handled < total:
                fetched = await consumer.getmany(timeout_ms=1000, max_records=BATCH_MAX)
                messages = [Message(r.topic, r.partition, r.offset, r.key, r.value,
                                    tuple((name, value or b"") for name, value in r.headers))
                            for records in fetched.values() for r in records]
                if not messages:
                    continue
                if handled >= args.opened and not follow_from:
                    follow_from = time.perf_counter()
                outbox = processor.handle(messages, due_in=partitions)
                lost = await publish_all(outbox.sends, channel, MAX_RECORD_BYTES)
                await store.record(outbox.writes.values(), producer, changelog_of)
                worker.counts["clock_records"] += await clocks.publish(outbox)
                processor.recorded(outbox, lost, now_us())
                collector.after_batch()
                before, handled = handled, handled + len(messages)
                if before < args.opened <= handled:
                    open_rate = args.opened / (time.perf_counter() - began)
                    print(json.dumps({"opened": handled}), flush=True)
                if time.monotonic() - last_commit >= COMMIT_INTERVAL_S:
                    await producer.flush()  # rows and clock records before the offsets, as Faust does
                    await consumer.commit()
                    last_commit = time.monotonic()
            await producer.flush()
            await consumer.commit()
            rate = args.follow / (time.perf_counter() - follow_from)
        finally:
            await consumer.stop()
            await producer.stop()
            store.close()
    return {"open_rate": open_rate, "rate": rate, "clock_records": worker.counts["clock_records"],
            "gc_s": round(sum(_pauses), 3), "collections": len(_pauses), "gc_max_ms": round(1e3 * max(_pauses), 1),
            "full_collections": _full[0], "collected": _full[1]}


_started = [0.0]  # when the collection under way started
_pauses: list[float] = [0.0]  # seconds each collection took
_full = [0, 0]  # full (oldest-generation) collections, objects collected (cyclic garbage) by all


def _timed_collection(phase: str, info: dict[str, int]) -> None:
    if phase == "start":
        _started[0] = time.perf_counter()
    else:
        _pauses.append(time.perf_counter() - _started[0])
        _full[0] += info["generation"] == 2
        _full[1] += info["collected"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events-topic", required=True)
    parser.add_argument("--opened", type=int, required=True, help="openings already on the topic")
    parser.add_argument("--follow", type=int, required=True, help="follow-ups the caller produces after them")
    parser.add_argument("--partitions", type=int, default=4)
    parser.add_argument("--clocks-topic", default="", help="sla.clock records' topic (none when empty)")
    parser.add_argument("--policy", default=str(REPO / "bench" / "policy.bench.yaml"))
    args = parser.parse_args()
    configure_logging("json", "warning")  # as live_bench.py runs the worker: to stderr, warnings and worse
    gc.set_threshold(GC_YOUNG_THRESHOLD, 20, 20)  # the worker's (monitor.live.run)
    gc.callbacks.append(_timed_collection)
    print(json.dumps(asyncio.run(run(args))), flush=True)


if __name__ == "__main__":
    main()
