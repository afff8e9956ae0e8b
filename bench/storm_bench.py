"""Alert storm: N tickets opened at one instant, every first warning due in the same second.

A weekend's tickets all start counting at Monday 09:00: their warnings fall due
together. This opens N tickets (default 10,000) with one `occurred_at`, lets a
live worker take them in, and reads back what it published for the 50 %, 75 %
and 90 % warnings and the breach: how many of the N went out, how late (broker
timestamp minus the due instant) at p50 / p99 / max, and how many early.

Baseline from the same run: a plain aiokafka producer publishing N records of
the same size (acks=all): the floor for getting N alerts out.

    make bench-storm                       # N = 10,000, response target 20 s
    .venv/bin/python bench/storm_bench.py --tickets 10000 --target-s 40
"""

from __future__ import annotations

import argparse
import asyncio
import json
import tempfile
import time
from collections import defaultdict
from pathlib import Path

from harness import Names, WorkerProcess, create, parse_at, percentile, produce, read_all
from harness import iso as iso_text


def policy_text(target_s: int) -> str:
    return f"""# Storm benchmark: 24x7, one priority whose response target is {target_s} s.
calendars:
  always: {{timezone: UTC, hours: always}}
targets:
  P1: {{calendar: always, response: {target_s}s, resolution: 24h}}
warn_at: [0.5, 0.75, 0.9]
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tickets", type=int, default=10_000, help="tickets opened at one instant")
    parser.add_argument("--target-s", type=int, default=20, help="response target in seconds (warnings at 50/75/90 %%)")
    parser.add_argument("--partitions", type=int, default=4)
    args = parser.parse_args()
    names = Names()
    with tempfile.TemporaryDirectory() as folder:
        policy = Path(folder) / "policy.yaml"
        policy.write_text(policy_text(args.target_s))
        asyncio.run(create([names.events], args.partitions))
        sample = json.dumps({"type": "sla.warning", "id": "S-00000:response:warning:0.5", "schema_version": 1,
                             "ticket_id": "S-00000", "metric": "response", "priority": "P1", "threshold": 0.5,
                             "deadline": iso_text(time.time()), "at": iso_text(time.time())}).encode()
        floor_topic = f"bench-{names.tag}.floor"
        asyncio.run(create([floor_topic], args.partitions))
        floor_s = asyncio.run(produce(floor_topic, [(f"S-{i:05d}".encode(), sample) for i in range(args.tickets)]))

        worker = WorkerProcess(names, policy, Path(folder) / "data").start()
        worker.wait_ready()
        # One opening instant a few seconds ahead: the worker takes the tickets in before the first level.
        opened_at = time.time() + 3.0
        lines = [(f"S-{i:05d}".encode(), json.dumps({
            "type": "ticket.opened", "event_id": f"o{i}", "ticket_id": f"S-{i:05d}", "occurred_at": iso_text(opened_at),
            "priority": "P1"}).encode()) for i in range(args.tickets)]
        asyncio.run(produce(names.events, lines))
        taken_in = worker.wait_processed(args.tickets, timeout=args.target_s * 0.5 + 60)
        time.sleep(max(0.0, opened_at + args.target_s + 8 - time.time()))
        rss = worker.rss_mib(peak=True)
        worker.stop()
        published = asyncio.run(read_all(names.alerts))

    levels = {"warning:0.5": 0.5, "warning:0.75": 0.75, "warning:0.9": 0.9, "breach": 1.0}
    late: dict[str, list[float]] = defaultdict(list)
    early: dict[str, int] = defaultdict(int)
    for timestamp, record in published:
        level = record["id"].split(":", 2)[2]
        due = parse_at(record["at"])
        late[level].append(timestamp - due)
        if timestamp < due - 0.001:  # broker timestamps are whole milliseconds
            early[level] += 1
    print()
    print(f"storm: {args.tickets:,} tickets opened at one instant, response target {args.target_s} s; "
          f"taken in {taken_in:.1f} s after the last was produced; worker peak RSS {rss:.0f} MiB")
    print(f"baseline: a plain aiokafka producer publishes {args.tickets:,} records of that size in {floor_s:.2f} s "
          f"({args.tickets / floor_s:,.0f}/s)")
    print(f"{'level':<14}{'due at':>8}{'published':>12}{'share':>8}{'p50 s':>9}{'p99 s':>9}{'max s':>9}{'early':>7}")
    for level, fraction in levels.items():
        values = sorted(late[level])
        print(f"{level:<14}{fraction * args.target_s:>7.1f}s{len(values):>12,}{len(values) / args.tickets:>8.1%}"
              f"{percentile(values, 0.5):>9.3f}{percentile(values, 0.99):>9.3f}"
              f"{(values[-1] if values else float('nan')):>9.3f}{early[level]:>7}")


if __name__ == "__main__":
    main()
