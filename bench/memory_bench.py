"""Memory per open ticket in the worker's own structures (without Kafka, Faust or RocksDB).

Opens ``--tickets`` tickets through ``Processor.handle`` and ``recorded`` over a
``MemoryStore``, as the Faust agent feeds it (the scale benchmark's policy: a
day's targets, nothing falls due), then prints with tracemalloc the bytes per
open ticket of what the worker keeps in memory: the wake-up heaps and the
metric figures (``WorkerState.clocks``), and the decoded states kept between
batches (``WorkerState.decoded``, bounded, so a fixed total). The store's rows (RocksDB's business
in the worker) and the input messages are not counted: each structure is
measured as what ``tracemalloc`` frees when it is dropped.

    python bench/memory_bench.py [--tickets N] [--partitions N]
"""

from __future__ import annotations

import argparse
import gc
import json
import logging
import time
import tracemalloc

import structlog
from processor_bench import OUTPUTS, NoMetrics
from scale_bench import POLICY

from monitor.core.policy import parse_policy
from monitor.live.kafka import partition_for
from monitor.live.processor import MemoryStore, Message, Processor, Routes


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tickets", type=int, default=100_000)
    parser.add_argument("--partitions", type=int, default=4)
    args = parser.parse_args()
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.CRITICAL))
    policy = parse_policy(POLICY)
    routes = Routes("t.events", "t.probes", "t.repartition", "t.wakeups", "t.dead", OUTPUTS, args.partitions)
    now = int(time.time() * 1_000_000)
    processor = Processor(policy, routes, lambda: now, MemoryStore(), NoMetrics())
    offsets = [0] * args.partitions
    tracemalloc.start()
    for first in range(0, args.tickets, 1000):
        batch = []
        for n in range(first, min(first + 1000, args.tickets)):
            key = f"N{n}".encode()
            partition = partition_for(key, args.partitions)
            value = json.dumps({"type": "ticket.opened", "event_id": f"o{n}", "ticket_id": f"N{n}",
                                "occurred_at": "2026-12-01T10:00:00+00:00", "priority": "P3",
                                "customer_id": "acme", "service_id": "mail"}).encode()
            batch.append(Message("t.events", partition, offsets[partition], key, value))
            offsets[partition] += 1
        outbox = processor.handle(batch)
        for write in outbox.writes.values():
            processor.store.put(write.table, write.key, write.value, write.message)
        processor.recorded(outbox, [], now)
        del batch, outbox
    state = processor.state
    print(f"{'structure':<40}{'bytes per open ticket':>24}")
    gc.collect()  # first: the states it keeps share their due instants with the clock figures
    before, cached = tracemalloc.get_traced_memory()[0], len(state.decoded)
    state.decoded.clear()
    gc.collect()
    freed = before - tracemalloc.get_traced_memory()[0]
    print(f"{'decoded states (WorkerState.decoded)':<40}{freed / args.tickets:>24,.0f}  (bounded: {freed / 2**20:,.1f} MiB "
          f"for {cached:,} states, {freed / max(cached, 1):,.0f} bytes each)")
    for name, attribute in (("wake-up heaps (WorkerState.heaps)", "heaps"),
                            ("clock figures (WorkerState.clocks)", "clocks")):
        gc.collect()
        before = tracemalloc.get_traced_memory()[0]
        setattr(state, attribute, type(getattr(state, attribute))())  # an empty one of the same kind
        gc.collect()
        freed = before - tracemalloc.get_traced_memory()[0]
        print(f"{name:<40}{freed / args.tickets:>24,.0f}")
    gc.collect()
    before = tracemalloc.get_traced_memory()[0]
    rows = sum(len(v) for v in processor.store.rows["tickets"].values())
    processor.store.rows.clear()
    gc.collect()
    print(f"{'(not counted: store rows, of which data)':<40}{(before - tracemalloc.get_traced_memory()[0]) / args.tickets:>24,.0f}"
          f"  ({rows / args.tickets:,.0f} bytes of encoded state)")


if __name__ == "__main__":
    main()
