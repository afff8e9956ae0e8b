"""Scale: N open tickets in one worker — memory, /metrics, and kill -9 to ready and to the first alert.

Opens N tickets (default 1,000,000; targets of a day, so nothing falls due by
itself) and measures, beside a baseline from the same run:

- RSS of the worker with N open, beside an idle worker's (no tickets): bytes
  per open ticket is the difference over N; and the RSS of the restarted
  worker once it recovered them;
- /metrics: the median time of five scrapes (the idle worker's beside it);
- kill -9, then a restart on the same state folder and instance id: seconds to
  /health/ready (and the longest gap between two /health/live answers, polled
  every 50 ms from the first answer on, meanwhile), and to the first alert of 100 marker tickets whose warning fell
  due while the worker was down.

    make bench-scale                         # N = 1,000,000 (takes as long as the worker needs to open them)
    .venv/bin/python bench/scale_bench.py --tickets 100000
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import tempfile
import threading
import time
from pathlib import Path

from harness import Names, WorkerProcess, create, iso, produce, read_all

POLICY = """# Scale benchmark: 24x7; P3 tickets stay open for a day, P1 markers warn after 5 s.
calendars:
  always: {timezone: UTC, hours: always}
targets:
  P1: {calendar: always, response: 10s, resolution: 24h}
  P3: {calendar: always, response: 24h, resolution: 48h}
warn_at: [0.5, 0.75, 0.9]
"""
MARKERS = 100


def scrape_ms(worker: WorkerProcess, times: int = 5) -> float:
    """Median milliseconds of a /metrics scrape."""
    spent = []
    for _ in range(times):
        began = time.perf_counter()
        status, _ = worker.get("/metrics", 60.0)
        spent.append((time.perf_counter() - began) * 1000)
        if status != 200:
            raise SystemExit(f"/metrics answered {status}")
    return statistics.median(spent)


class LiveWatch:
    """Polls /health/live every 50 ms in a thread; the longest gap between two answers, from the first one on."""

    def __init__(self, worker: WorkerProcess) -> None:
        self.worker, self.longest_s, self.answers = worker, 0.0, 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        last: float | None = None
        while not self._stop.is_set():
            status, _ = self.worker.get("/health/live", 30.0)
            at = time.monotonic()
            if status == 200:
                if last is not None:
                    self.longest_s = max(self.longest_s, at - last)
                last = at
                self.answers += 1
            self._stop.wait(0.05)

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tickets", type=int, default=1_000_000)
    parser.add_argument("--partitions", type=int, default=4)
    args = parser.parse_args()
    names = Names()
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        (root / "policy.yaml").write_text(POLICY)
        asyncio.run(create([names.events], args.partitions))
        worker = WorkerProcess(names, root / "policy.yaml", root / "data").start()
        worker.wait_ready()
        idle_rss, idle_scrape = worker.rss_mib(), scrape_ms(worker)
        now = time.time()
        lines = [(f"N{i}".encode(), json.dumps({
            "type": "ticket.opened", "event_id": f"o{i}", "ticket_id": f"N{i}", "occurred_at": iso(now),
            "priority": "P3", "customer_id": "acme", "service_id": "mail"}).encode()) for i in range(args.tickets)]
        print(f"producing {args.tickets:,} ticket.opened events ...", flush=True)
        asyncio.run(produce(names.events, lines))
        del lines
        opening_s = worker.wait_processed(args.tickets)
        time.sleep(3)
        rss, scrape = worker.rss_mib(), scrape_ms(worker)
        # Markers whose 50 % warning (5 s) falls due while the worker is down.
        marked = time.time()
        asyncio.run(produce(names.events, [(f"M{i}".encode(), json.dumps({
            "type": "ticket.opened", "event_id": f"m{i}", "ticket_id": f"M{i}", "occurred_at": iso(marked),
            "priority": "P1"}).encode()) for i in range(MARKERS)]))
        worker.wait_processed(args.tickets + MARKERS)
        worker.kill()
        killed = time.time()
        time.sleep(max(0.0, marked + 6 - time.time()))
        restarted = time.time()
        worker.start()
        watch = LiveWatch(worker)
        ready_s = worker.wait_ready(timeout=1800)
        watch.stop()
        time.sleep(5)
        restarted_rss = worker.rss_mib()
        alerts = asyncio.run(read_all(names.alerts))
        worker.stop()
    after = sorted(ts for ts, record in alerts if record["ticket_id"].startswith("M") and ts >= restarted)
    first_alert_s = after[0] - restarted if after else float("nan")
    levels = sorted({r["id"].split(":", 2)[2] for ts, r in alerts if r["ticket_id"].startswith("M") and ts >= restarted})
    per_ticket = (rss - idle_rss) * 1024 * 1024 / args.tickets
    print()
    print(f"{'measure':<52}{'idle worker':>14}{f'{args.tickets:,} open':>16}")
    print(f"{'RSS (MiB)':<52}{idle_rss:>14.0f}{rss:>16.0f}")
    print(f"{'bytes per open ticket':<52}{'':>14}{per_ticket:>16,.0f}")
    print(f"{'RSS of the restarted worker, 5 s after ready (MiB)':<52}{'':>14}{restarted_rss:>16.0f}")
    print(f"{'/metrics scrape, median of 5 (ms)':<52}{idle_scrape:>14.1f}{scrape:>16.1f}")
    print(f"{'opening the tickets (events/s)':<52}{'':>14}{args.tickets / opening_s:>16,.0f}")
    print(f"{'kill -9 -> /health/ready (s)':<52}{'':>14}{ready_s:>16.1f}")
    print(f"{'longest /health/live gap until ready (s)':<52}{'':>14}{watch.longest_s:>16.2f}")
    print(f"{'kill -9 -> first marker alert after restart (s)':<52}{'':>14}{first_alert_s:>16.1f}")
    print(f"(down for {restarted - killed:.1f} s; the markers' 50 % warning was due {marked + 5 - killed:+.1f} s after "
          f"the kill; after the restart {len(after)} marker alerts, levels {', '.join(levels)}: what fell due "
          "meanwhile is folded into the most severe)")


if __name__ == "__main__":
    main()
