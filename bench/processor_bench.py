"""Processor benchmark: events/s of ``Processor.handle`` without Kafka, beside a floor from the same run.

Builds (seeded, deterministic) messages for ``--tickets`` tickets on the
ticket topic, each keyed by its ticket and on its key's partition: first every
opening, then as many follow-ups on random tickets (priority changes, and a
pause for every fourth: live_bench's mix), then every acknowledgement, then
every resolution, and last one ticket flooding the worker up to its event limit
(``MAX_EVENTS_PER_TICKET`` pauses and resumes). They go through
``monitor.live.processor.Processor`` in batches of ``--batch`` over a
``MemoryStore``, as the Faust agent feeds it, timed beside a floor:

  floor             ``parse_event`` of each message and ``json.dumps`` of a
                    record-sized dict: what any consumer that decodes an event
                    and publishes one record per message pays
  handle            ``Processor.handle`` of each batch (decode, routing checks,
                    the core, sends, rows to record)
  handle + record   the same, then the rows written to the store and
                    ``Processor.recorded`` (mirrors, counters), as after the
                    broker's acknowledgement
  + clock records   the same, then the batch's ``sla.clock`` records built
                    and encoded (``clock_topic.clock_messages``), as the worker
                    does with its clocks topic (the default)

Beside each phase, its slowest batch (handle, record and clock records): the time a batch of it
delays the alerts of every other ticket on the worker.

The garbage collector runs with the worker's threshold (``monitor.live.run``)
and, after each batch, the worker's ``Collector`` (``monitor.live.garbage``).
Log lines are dropped (structlog filtered to CRITICAL) so the figures are the
processor's, not the terminal's.

    python bench/processor_bench.py [--tickets N] [--batch N] [--partitions N] [--seed S]
"""

from __future__ import annotations

import argparse
import gc
import json
import logging
import random
import resource
import sys
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import structlog

from monitor.core.events import parse_event
from monitor.core.instants import to_us
from monitor.core.limits import MAX_EVENTS_PER_TICKET
from monitor.core.policy import Policy, load_policy
from monitor.live.clock_topic import clock_messages
from monitor.live.garbage import Collector
from monitor.live.kafka import partition_for
from monitor.live.processor import MemoryStore, Message, Processor, Routes
from monitor.live.run import GC_YOUNG_THRESHOLD

REPO = Path(__file__).resolve().parents[1]
START = datetime(2026, 11, 30, 9, tzinfo=UTC)  # a Monday morning, inside the example policy's hours
PRIORITIES = (("P1", 0.15), ("P2", 0.35), ("P3", 0.50))
OUTPUTS = {"sla.warning": "sla.warnings", "sla.breach": "sla.breaches", "sla.outcome": "sla.outcomes",
           "sla.rating": "sla.outcomes"}


class NoMetrics:
    """A metric sink that counts nothing (the counters are prometheus-client's cost, not the processor's)."""

    def count_input(self, kind: str, result: str) -> None:
        """Drop it."""

    def count_dead_letter(self, kind: str) -> None:
        """Drop it."""

    def count_unpublishable(self) -> None:
        """Drop it."""

    def published(self, record: dict[str, Any], now_us: int) -> None:
        """Drop it."""


def phases(tickets: int, partitions: int, seed: int) -> list[tuple[str, list[Message]]]:
    """Openings, follow-ups (as live_bench's: priority changes, and pauses, on random tickets), then
    acknowledgements, then resolutions, each ticket on its key's partition."""
    rng = random.Random(seed)
    names = [f"T-{n:07d}" for n in range(tickets)]
    priorities = rng.choices([p for p, _ in PRIORITIES], [w for _, w in PRIORITIES], k=tickets)
    offsets = [0] * partitions
    out = []

    def message(body: dict[str, Any]) -> Message:
        key = body["ticket_id"].encode()
        partition = partition_for(key, partitions)
        offsets[partition] += 1
        return Message("tickets.events", partition, offsets[partition] - 1, key, json.dumps(body).encode())

    for kind, delay in (("opened", timedelta(0)), ("follow-up", timedelta(minutes=2)),
                        ("acknowledged", timedelta(minutes=5)), ("resolved", timedelta(hours=1))):
        messages = []
        for n, (ticket, priority) in enumerate(zip(names, priorities, strict=True)):
            at = START + timedelta(milliseconds=10 * n) + delay
            if kind == "follow-up":
                ticket = names[rng.randrange(tickets)]
                event = "ticket.paused" if n % 4 == 0 else "ticket.priority_changed"
                body: dict[str, Any] = {"type": event, "event_id": f"{ticket}-f{n}", "ticket_id": ticket,
                                        "occurred_at": at.isoformat()}
                if event == "ticket.priority_changed":
                    body["priority"] = rng.choice(["P2", "P3"])
                messages.append(message(body))
                continue
            body = {"type": f"ticket.{kind}", "event_id": f"{ticket}-{kind}", "ticket_id": ticket,
                    "occurred_at": at.isoformat()}
            if kind == "opened":
                body |= {"priority": priority, "customer_id": f"c-{n % 997}"}
            messages.append(message(body))
        out.append((kind, messages))
    # One ticket flooding the worker up to its event limit (pauses and resumes a millisecond apart, after the others).
    flood_at = START + timedelta(milliseconds=10 * tickets) + timedelta(hours=2)
    flood = [message({"type": "ticket.opened", "event_id": "flood-0", "ticket_id": "T-FLOOD",
                      "occurred_at": flood_at.isoformat(), "priority": "P3"})]
    flood += [message({"type": "ticket.paused" if n % 2 else "ticket.resumed", "event_id": f"flood-{n}",
                       "ticket_id": "T-FLOOD", "occurred_at": (flood_at + timedelta(milliseconds=n)).isoformat()})
              for n in range(1, MAX_EVENTS_PER_TICKET)]
    out.append(("flood", flood))
    return out


def batches(messages: Sequence[Message], size: int) -> list[Sequence[Message]]:
    """The messages cut into batches of ``size``."""
    return [messages[i:i + size] for i in range(0, len(messages), size)]


def floor(messages: Sequence[Message]) -> None:
    """Decode each event and encode one record-sized dict per message."""
    for message in messages:
        event = parse_event((message.value or b"").strip())
        json.dumps({"type": "sla.outcome", "id": f"{message.key!r}:{event.event_id}", "schema_version": 1,
                    "ticket_id": message.key, "at": event.occurred_at.isoformat()}, default=str)


def run_processor(policy: Policy, partitions: int, all_batches: list[list[Sequence[Message]]],
                  ) -> tuple[list[float], list[float], list[float], list[float], Processor]:
    """Seconds per phase in ``handle``, in handling and recording (store writes, ``recorded``), in those and the
    clock records, and the slowest batch's handling, recording and clock records, over a fresh store."""
    store = MemoryStore()
    now = [0]
    routes = Routes("tickets.events", "probes.results", "sla-monitor-tickets-repartition", "sla-monitor-wakeups",
                    "sla.dead-letter", OUTPUTS, partitions)  # the default settings' topics
    processor = Processor(policy, routes, lambda: now[0], store, NoMetrics())
    collector = Collector()  # as the worker runs after each batch (monitor.live.garbage)
    handle_s, record_s, clocks_s, slowest_s = [], [], [], []
    clock = time.perf_counter
    for phase in all_batches:
        handling = recording = clocking = slowest = 0.0
        for batch in phase:
            now[0] = _last_at(batch)
            started = clock()
            outbox = processor.handle(batch)
            handled = clock()
            for write in outbox.writes.values():
                store.put(write.table, write.key, write.value, write.message)
            processor.recorded(outbox, [], now[0])
            collector.after_batch()
            recorded = clock()
            clock_messages(outbox, policy)
            done = clock()
            handling += handled - started
            recording += recorded - handled
            clocking += done - recorded
            slowest = max(slowest, done - started)
        handle_s.append(handling)
        record_s.append(handling + recording)
        clocks_s.append(handling + recording + clocking)
        slowest_s.append(slowest)
    return handle_s, record_s, clocks_s, slowest_s, processor


def _last_at(batch: Sequence[Message]) -> int:
    # The worker's clock just past the batch's newest event: no skew refusals, nothing due early.
    return to_us(datetime.fromisoformat(json.loads(batch[-1].value or b"{}")["occurred_at"])) + 1_000_000


def timed(step: Callable[[], None]) -> float:
    """Seconds one call takes, garbage collected before."""
    gc.collect()
    started = time.perf_counter()
    step()
    return time.perf_counter() - started


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--tickets", type=int, default=100_000)
    parser.add_argument("--batch", type=int, default=500)
    parser.add_argument("--partitions", type=int, default=4)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--policy", type=Path, default=REPO / "deploy" / "policy.example.yaml")
    args = parser.parse_args(argv)
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.CRITICAL),
                        cache_logger_on_first_use=True)
    policy = load_policy(args.policy)
    built = phases(args.tickets, args.partitions, args.seed)
    all_batches = [batches(messages, args.batch) for _, messages in built]
    counts = [len(messages) for _, messages in built]
    floor_s = [timed(lambda m=messages: floor(m)) for _, messages in built]  # type: ignore[misc]
    gc.collect()
    gc.set_threshold(GC_YOUNG_THRESHOLD, 20, 20)  # as the worker runs (monitor.live.run)
    handle_s, record_s, clocks_s, slowest_s, processor = run_processor(policy, args.partitions, all_batches)
    counts_seen = processor.state.counts
    print(f"processor benchmark: {args.tickets:,} tickets, batches of {args.batch}, {args.partitions} partitions, "
          f"policy {args.policy.name}, Python {sys.version.split()[0]}")
    print(f"{'phase':<14} {'messages':>9}  {'floor ev/s':>11}  {'handle ev/s':>11}  {'handle+record ev/s':>18}  "
          f"{'+ clock records ev/s':>20}  {'handle/floor':>12}  {'slowest batch ms':>16}")
    for (kind, _), n, f, h, r, c, w in zip(built, counts, floor_s, handle_s, record_s, clocks_s, slowest_s, strict=True):
        print(f"{kind:<14} {n:>9,}  {n / f:>11,.0f}  {n / h:>11,.0f}  {n / r:>18,.0f}  {n / c:>20,.0f}  {f / h:>12.2f}  "
              f"{1e3 * w:>16.1f}")
    total = sum(counts)
    print(f"{'all':<14} {total:>9,}  {total / sum(floor_s):>11,.0f}  {total / sum(handle_s):>11,.0f}  "
          f"{total / sum(record_s):>18,.0f}  {total / sum(clocks_s):>20,.0f}  {sum(floor_s) / sum(handle_s):>12.2f}")
    accepted = sum(v for k, v in counts_seen.items() if k.startswith("event."))
    print(f"accepted events {accepted:,}, dead letters {sum(v for k, v in counts_seen.items() if k.startswith('dead_letter.')):,}, "
          f"outcomes published {counts_seen['sla.outcome']:,}, peak RSS "
          f"{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:,.0f} MiB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
