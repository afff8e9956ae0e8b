"""History benchmark: µs per event for one ticket with a long history.

A ticket is opened and then paused and resumed over and over (distinct event
ids, ten minutes apart, a P3 ticket on the example policy's business
calendar, so its warnings pass early and every later event meets a clock
with a long past). For tickets of 10, 200, 2,000 and 20,000 events it replays
the lines through ``monitor.core.replay.replay_lines`` (parsing included) and
prints the mean µs per event, the µs per event over the last tenth of the
accepted events (the marginal cost at that history length), how many events
were refused (a ticket over the per-ticket limit) and what a refusal costs, and
the peak RSS. A warm-up ticket with the same instants runs first, so the
calendar's caches are warm for the measured one; the measured replay runs with
the garbage collector tuned as the ``replay`` command tunes it (``replay_gc``).

Run it from the repository root with the checkout on the path
(``PYTHONPATH=. python bench/history_bench.py``, which ``make bench-history``
does): a script's own folder, not the working directory, starts ``sys.path``.

    python bench/history_bench.py [--sizes 10,200,2000,20000] [--policy FILE]
"""

from __future__ import annotations

import argparse
import gc
import json
import resource
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from monitor.core.policy import load_policy
from monitor.core.replay import Rejection, replay_gc, replay_lines

REPO = Path(__file__).resolve().parents[1]
START = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)  # a Monday
STEP = timedelta(minutes=10)


def ticket_lines(events: int, ticket_id: str = "H-1") -> list[bytes]:
    """``events`` lines of one P3 ticket: opened, then paused/resumed alternately."""
    lines = []
    for i in range(events):
        at = (START + i * STEP).isoformat().replace("+00:00", "Z")
        kind = "ticket.opened" if i == 0 else ("ticket.paused" if i % 2 else "ticket.resumed")
        body = {"type": kind, "event_id": f"{ticket_id}-e{i}", "ticket_id": ticket_id, "occurred_at": at}
        if i == 0:
            body["priority"] = "P3"
        lines.append(json.dumps(body).encode())
    return lines


@dataclass
class Row:
    """Per-event costs of one ticket's replay."""

    events: int
    mean_us: float  # all events, mean
    tail_us: float  # the last tenth of the accepted events
    refused: int
    refused_us: float  # refused events (over the per-ticket limit), mean


def measure(policy_path: str, events: int) -> Row:
    """Replay a warm-up ticket, then time one ticket of ``events`` events line by line."""
    policy = load_policy(policy_path)
    # Same instants, another ticket: the calendar's day caches are warm for the measured one.
    list(replay_lines(policy, ticket_lines(events, "W-1")))
    lines = ticket_lines(events)
    stamps: list[float] = []

    def source() -> Iterator[bytes]:
        for line in lines:
            stamps.append(time.perf_counter())
            yield line

    gc.collect()
    refused: set[int] = set()
    with replay_gc():  # as the replay command runs
        for item in replay_lines(policy, source()):
            if isinstance(item, Rejection):
                refused.add(item.line - 1)
    stamps.append(time.perf_counter())
    cost = [stamps[i + 1] - stamps[i] for i in range(events)]
    accepted = [c for i, c in enumerate(cost) if i not in refused]
    tail = accepted[-max(1, len(accepted) // 10) :]
    refused_cost = [cost[i] for i in refused]
    return Row(
        events,
        1e6 * sum(cost) / events,
        1e6 * sum(tail) / len(tail),
        len(refused),
        1e6 * sum(refused_cost) / len(refused_cost) if refused_cost else 0.0,
    )


def main(argv: list[str] | None = None) -> int:
    """Measure each history length and print one row per ticket size."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="10,200,2000,20000", help="events per ticket, comma-separated")
    parser.add_argument("--policy", default=str(REPO / "deploy" / "policy.example.yaml"), help="policy file")
    args = parser.parse_args(argv)
    sizes = [int(s) for s in args.sizes.split(",")]
    print(f"policy  {args.policy}; one P3 ticket, pause/resume every {STEP.seconds // 60} min, distinct ids")
    print(f"{'events':>8} {'µs/event':>9} {'µs/event, last 10% accepted':>28} {'refused':>8}"
          f" {'µs/refused':>11} {'max RSS MiB':>12}")
    for size in sizes:
        row = measure(args.policy, size)
        rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(f"{row.events:>8,} {row.mean_us:>9.1f} {row.tail_us:>28.1f} {row.refused:>8,}"
              f" {row.refused_us:>11.1f} {rss:>12,.0f}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
