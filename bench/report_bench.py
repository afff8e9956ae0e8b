"""Report benchmark: seconds and peak memory of `sla-monitor report` over N published records.

Generates (seeded) a JSON-lines file of records as the engine publishes them over a year: per
ticket warnings, a response and a resolution outcome, breaches (some retracted), reopened
tickets' second outcomes, ratings; 40 % of tickets belong to the example policy's contract
customers. Then measures, each in a fresh process so that peak RSS is its own:

  json floor   read the lines and ``json.loads`` each
  report       ``sla-monitor report --records FILE --month M`` (JSON to /dev/null), the whole command

    python bench/report_bench.py [--records N] [--seed S] [--month 2026-11]
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
POLICY = REPO / "deploy" / "policy.example.yaml"
START = datetime(2026, 1, 1, tzinfo=UTC)
CUSTOMERS = ("acme", "globex", "initech", "umbrella", "hooli")
WEIGHTS = (0.25, 0.15, 0.2, 0.2, 0.2)


def generate(path: Path, count: int, seed: int) -> None:
    """Write ``count`` records, tickets opening evenly over 2026."""
    rng = random.Random(seed)
    written = 0
    number = 0
    with path.open("w") as out:
        while written < count:
            number += 1
            ticket = f"T-{number}"
            customer = rng.choices(CUSTOMERS, WEIGHTS)[0]
            priority = rng.choice(("P1", "P2", "P3"))
            opened = START + timedelta(seconds=rng.randint(0, 365 * 86400 - 1))
            base = {"schema_version": 1, "ticket_id": ticket, "priority": priority, "customer_id": customer,
                    "service_id": rng.choice(("mail", "crm"))}
            lines: list[dict[str, object]] = []

            def record(kind: str, metric: str, at: datetime, suffix: str = "", *, lines: list[dict[str, object]] = lines,
                       base: dict[str, str] = base, **extra: object) -> None:
                lines.append({"type": f"sla.{kind}", "id": f"{base['ticket_id']}:{metric}:{kind}{suffix}", **base,
                              "metric": metric, "deadline": at.isoformat(), "at": at.isoformat(), **extra})

            record("warning", "response", opened + timedelta(minutes=5), ":0.5", threshold=0.5)
            late = rng.random() < 0.1
            if late:
                record("breach", "response", opened + timedelta(minutes=15))
            retract = late and rng.random() < 0.2
            record("outcome", "response", opened + timedelta(minutes=20), status="met" if retract or not late else "breached",
                   used_seconds=1.0, target_seconds=2.0, **({"retracts": [f"{ticket}:response:breach"]} if retract else {}))
            resolved = opened + timedelta(hours=rng.randint(1, 40))
            breached = rng.random() < 0.12
            if breached:
                record("breach", "resolution", resolved - timedelta(minutes=30))
            record("outcome", "resolution", resolved, status="breached" if breached else "met", used_seconds=1.0,
                   target_seconds=2.0)
            if rng.random() < 0.1:
                record("outcome", "resolution", resolved + timedelta(days=2), ":2", status="met", used_seconds=1.0,
                       target_seconds=2.0)
            if rng.random() < 0.3:
                lines.append({"type": "sla.rating", "id": f"{ticket}:rating", "schema_version": 1, "ticket_id": ticket,
                              "customer_id": customer, "score": rng.randint(1, 5),
                              "at": (resolved + timedelta(hours=3)).isoformat()})
            for line in lines:
                out.write(json.dumps(line) + "\n")
            written += len(lines)
        for month in range(1, 13):
            for service in ("mail", "crm"):
                period = f"2026-{month:02d}"
                out.write(json.dumps({"type": "sla.outcome", "id": f"{service}:availability:{period}:outcome",
                                      "schema_version": 1, "service_id": service, "metric": "availability",
                                      "period": period, "at": "2026-12-31T23:00:00Z", "target": 0.999,
                                      "budget_seconds": 2678.4, "downtime_seconds": 100.0, "status": "met",
                                      "availability": 0.99996, "period_start": "x", "period_end": "y"}) + "\n")


def measure(command: list[str]) -> tuple[float, float]:
    """Wall seconds and peak RSS (MiB) of a child process."""
    began = time.perf_counter()
    subprocess.run(command, cwd=REPO, check=True, stdout=subprocess.DEVNULL)
    seconds = time.perf_counter() - began
    return seconds, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024


def main() -> None:
    """Generate, measure, print."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--records", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--month", default="2026-11")
    args = parser.parse_args()
    folder = REPO / "bench" / "out"
    folder.mkdir(exist_ok=True)
    path = folder / f"report-records-{args.records}-{args.seed}.jsonl"
    if not path.exists():
        began = time.perf_counter()
        generate(path, args.records, args.seed)
        print(f"generated {path.name} in {time.perf_counter() - began:.1f} s", file=sys.stderr)
    lines = sum(1 for _ in path.open("rb"))
    floor = [sys.executable, "-c", f"import json\nfor line in open({str(path)!r}, 'rb'): json.loads(line)"]
    # RUSAGE_CHILDREN keeps the largest child so far: run the smaller one first.
    floor_s, floor_rss = measure(floor)
    report_s, report_rss = measure([sys.executable, "-m", "monitor.cli", "report", "--policy", str(POLICY),
                                    "--month", args.month, "--records", str(path), "--format", "json"])
    print(f"{lines:,} records ({path.stat().st_size / 1e6:.0f} MB), month {args.month}")
    print(f"{'phase':<12} {'seconds':>8} {'records/s':>11} {'peak RSS MiB':>13}")
    print(f"{'json floor':<12} {floor_s:8.2f} {lines / floor_s:11,.0f} {floor_rss:13.0f}")
    print(f"{'report':<12} {report_s:8.2f} {lines / report_s:11,.0f} {report_rss:13.0f}")


if __name__ == "__main__":
    main()
