"""Replay benchmark: events/s of the full replay path against parse-only floors.

Generates (seeded, deterministic) a JSON-lines file of ticket events with
realistic lifecycles in event order, then measures in this one process:

  json floor      read the lines and ``json.loads`` each
  pydantic parse  read the lines and ``monitor.core.events.parse_event`` each
  replay          ``monitor.core.replay.replay_lines`` over the file, JSON-encoding
                  every record and rejection the way the CLI prints them

and prints them side by side with the peak RSS after each phase. The replay
phase runs as the ``replay`` command does: garbage collector tuned
(``replay_gc``), one JSON encoder for every line; its collections are timed
(``gc.callbacks``). Then a µs/event split of the replay of the first
``--split-events`` lines (cProfile's own time per function, grouped: parsing,
clock logic, state copies, calendar, instants, history, policy look-ups,
replay driver and heap, json.dumps, builtins; scaled to the measured µs/event,
GC beside it). ``--profile`` also prints cProfile's top 25 of that slice.

    python bench/replay_bench.py [--events N] [--tickets N] [--seed S] [--no-split] [--profile]
"""

from __future__ import annotations

import argparse
import cProfile
import gc
import heapq
import itertools
import json
import math
import pstats
import random
import resource
import subprocess
import sys
import time
from collections import Counter, deque
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from monitor.core.errors import EventRejected
from monitor.core.events import parse_event
from monitor.core.policy import Policy, load_policy
from monitor.core.replay import Rejection, replay_gc, replay_lines

REPO = Path(__file__).resolve().parents[1]

GENERATOR_VERSION = 2
TARGET_EVENTS_PER_S = 100_000
START = datetime(2026, 11, 30, tzinfo=UTC)  # a Monday; the weeks run into the Christmas holidays
BERLIN_WINTER = timezone(timedelta(hours=1))
BAD_SHARE = 0.001
PRIORITIES = (("P1", 0.15), ("P2", 0.35), ("P3", 0.50))
# Wall-clock delays in seconds: (mean acknowledgement, late share, late range, mean resolution).
PROFILES = {
    "P1": (6 * 60, 0.10, (15 * 60, 90 * 60), 90 * 60),
    "P2": (12 * 60, 0.12, (30 * 60, 4 * 3600), 6 * 3600),
    "P3": (40 * 60, 0.15, (2 * 3600, 10 * 3600), 20 * 3600),
}
BASE_EVENTS_PER_TICKET = 3.3  # opened, acknowledged, resolved and the odd extra, before pauses


# -- generating ----------------------------------------------------------------------


@dataclass
class Ticket:
    """One ticket's planned lifecycle: (milliseconds since START, event type, extra fields)."""

    ticket_id: str
    plan: list[tuple[int, str, dict[str, Any]]]
    step: int = 0


@dataclass
class GenerationStats:
    """What the generator wrote."""

    lines: int = 0
    tickets: int = 0
    bad: Counter[str] = field(default_factory=Counter)
    bad_lines: list[int] = field(default_factory=list)
    types: Counter[str] = field(default_factory=Counter)
    first_at: str = ""
    last_at: str = ""

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready form for the sidecar file."""
        return {
            "lines": self.lines,
            "tickets": self.tickets,
            "bad": dict(self.bad),
            "bad_lines": self.bad_lines,
            "types": dict(self.types),
            "first_at": self.first_at,
            "last_at": self.last_at,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> GenerationStats:
        """Read the sidecar form back."""
        return cls(
            data["lines"],
            data["tickets"],
            Counter(data["bad"]),
            data["bad_lines"],
            Counter(data["types"]),
            data["first_at"],
            data["last_at"],
        )


def _plan(rng: random.Random, number: int, opened: int, pause_mean: float) -> Ticket:
    """Plan a valid lifecycle: resume only after pause, reopen only after resolve, times never decreasing."""
    ticket_id = f"T-{number:07d}"
    priority = rng.choices([p for p, _ in PRIORITIES], [w for _, w in PRIORITIES])[0]
    ack_mean, late_share, late_range, resolve_mean = PROFILES[priority]
    customer = "acme" if rng.random() < 0.05 else f"c-{rng.randrange(500):03d}"
    fields: dict[str, Any] = {"priority": priority, "customer_id": customer}
    if rng.random() < 0.8:
        fields["service_id"] = f"svc-{rng.randrange(40):02d}"
    plan: list[tuple[int, str, dict[str, Any]]] = [(opened, "ticket.opened", fields)]
    t = opened / 1000  # seconds

    def stamp() -> int:
        """Stamp ``t`` (seconds) to the second or, now and then, the millisecond; never earlier."""
        nonlocal t
        ms = math.ceil(t) * 1000 if rng.random() < 0.8 else math.ceil(t * 1000)
        t = ms / 1000
        return ms

    if rng.random() < 0.97:
        late = rng.random() < late_share
        t += rng.uniform(*late_range) if late else rng.expovariate(1 / ack_mean)
        plan.append((stamp(), "ticket.acknowledged", {}))
        if rng.random() < 0.03:  # a second acknowledgement (allowed; changes nothing)
            t += rng.uniform(30, 600)
            plan.append((stamp(), "ticket.acknowledged", {}))
    never_resolved = rng.random() < 0.02
    rounds = 0
    while True:
        # Pause/resume cycles (waiting on the customer), geometric in number.
        while rng.random() < pause_mean / (1 + pause_mean):
            t += rng.expovariate(1 / (resolve_mean / 4))
            plan.append((stamp(), "ticket.paused", {}))
            t += min(rng.expovariate(1 / (4 * 3600)), 3 * 86_400)
            plan.append((stamp(), "ticket.resumed", {}))
        if rng.random() < 0.06:
            t += rng.expovariate(1 / (resolve_mean / 3))
            new = rng.choice([p for p, _ in PRIORITIES if p != priority])
            plan.append((stamp(), "ticket.priority_changed", {"priority": new}))
            priority = new
        if never_resolved:
            break
        t += rng.expovariate(1 / resolve_mean)
        plan.append((stamp(), "ticket.resolved", {}))
        rounds += 1
        if rounds >= 3 or rng.random() >= 0.10:
            break
        t += rng.uniform(2 * 3600, 2 * 86_400)
        plan.append((stamp(), "ticket.reopened", {}))
    return Ticket(ticket_id, plan)


def _arrivals(rng: random.Random, count: int, days: float) -> list[int]:
    """Opening times (milliseconds since START), sorted, three times denser in Berlin office hours."""
    out: list[int] = []
    span = days * 86_400
    while len(out) < count:
        t = rng.uniform(0, span)
        local = t + 3600  # Berlin winter time; the weeks generated are all in winter
        office = (local // 86_400) % 7 < 5 and 8 <= (local % 86_400) / 3600 < 19
        if office or rng.random() < 1 / 3:
            out.append(math.ceil(t) * 1000)
    out.sort()
    return out


def _timestamp(ms: int, rng: random.Random) -> str:
    """RFC 3339 text of an exact millisecond: mostly UTC, some in Berlin time."""
    at = START + timedelta(milliseconds=ms)
    if rng.random() < 0.3:
        at = at.astimezone(BERLIN_WINTER)
    text = at.isoformat(timespec="milliseconds" if ms % 1000 else "seconds")
    return text.replace("+00:00", "Z")


def _bad_line(rng: random.Random, recent: deque[str], at: str, serial: int) -> tuple[str, str]:
    """A deliberately unusable line and its kind: garbage, a duplicate or an unknown ticket."""
    kind = rng.choice(("garbage", "duplicate", "unknown_ticket"))
    if kind == "duplicate" and recent:
        return kind, rng.choice(recent)
    if kind == "unknown_ticket" or not recent:
        body = {"type": "ticket.acknowledged", "event_id": f"bad-{serial}", "ticket_id": f"X-{serial}", "occurred_at": at}
        return "unknown_ticket", json.dumps(body)
    garbage = rng.choice(
        (
            rng.choice(recent)[:40],  # truncated JSON
            "this is not json",
            "[1, 2, 3]",
            json.dumps({"type": "ticket.closed", "event_id": f"bad-{serial}", "ticket_id": "T-0000001", "occurred_at": at}),
            json.dumps({"type": "ticket.resolved", "event_id": f"bad-{serial}", "ticket_id": "T-0000001",
                        "occurred_at": at.replace("Z", "").split("+")[0]}),  # no offset
            json.dumps({"type": "ticket.opened", "event_id": f"bad-{serial}", "occurred_at": at}),  # fields missing
        )
    )
    return "garbage", garbage


def generate(path: Path, events: int, tickets: int, days: float, seed: int) -> GenerationStats:
    """Write ``events`` lines in event order; tickets keep arriving until the count is reached."""
    rng = random.Random(seed)
    pause_mean = max(0.0, (events / tickets - BASE_EVENTS_PER_TICKET) / 2)
    # Arrivals for more tickets over a longer span than needed, so the file never runs dry.
    openings = iter(_arrivals(rng, int(tickets * 1.25), days * 1.25))
    next_open = next(openings, None)
    heap: list[tuple[int, int, Ticket]] = []
    stats = GenerationStats()
    recent: deque[str] = deque(maxlen=500)
    serial = itertools.count()
    event_ids = itertools.count(1)
    with path.open("w", encoding="utf-8") as out:
        while stats.lines < events:
            if next_open is not None and (not heap or next_open <= heap[0][0]):
                stats.tickets += 1
                ticket = _plan(rng, stats.tickets, next_open, pause_mean)
                heapq.heappush(heap, (next_open, next(serial), ticket))
                next_open = next(openings, None)
                continue
            if not heap:
                break
            t, _, ticket = heapq.heappop(heap)
            _, kind, extra = ticket.plan[ticket.step]
            at = _timestamp(t, rng)
            if rng.random() < BAD_SHARE:
                bad_kind, bad = _bad_line(rng, recent, at, next(serial))
                out.write(bad + "\n")
                stats.bad[bad_kind] += 1
                stats.lines += 1
                stats.bad_lines.append(stats.lines)
            body = {"type": kind, "event_id": f"ev-{next(event_ids)}", "ticket_id": ticket.ticket_id, "occurred_at": at}
            body.update(extra)
            line = json.dumps(body)
            out.write(line + "\n")
            recent.append(line)
            stats.types[kind] += 1
            stats.lines += 1
            stats.first_at = stats.first_at or at
            stats.last_at = at
            ticket.step += 1
            if ticket.step < len(ticket.plan):
                heapq.heappush(heap, (ticket.plan[ticket.step][0], next(serial), ticket))
    return stats


def events_file(args: argparse.Namespace) -> tuple[Path, GenerationStats, float | None]:
    """Generate the events file, or reuse one made with the same parameters."""
    out_dir = Path(args.out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    stem = f"events-{args.events}-t{args.tickets}-d{args.days:g}-s{args.seed}-v{GENERATOR_VERSION}"
    path, meta = out_dir / f"{stem}.jsonl", out_dir / f"{stem}.meta.json"
    if path.exists() and meta.exists() and not args.regenerate:
        return path, GenerationStats.from_dict(json.loads(meta.read_text())), None
    started = time.perf_counter()
    stats = generate(path, args.events, args.tickets, args.days, args.seed)
    elapsed = time.perf_counter() - started
    meta.write_text(json.dumps(stats.as_dict(), indent=2))
    return path, stats, elapsed


# -- measuring ---------------------------------------------------------------------------


@dataclass
class Phase:
    """One measured pass over the file."""

    name: str
    lines: int
    wall_s: float
    cpu_s: float
    rss_mib: float
    notes: str

    @property
    def rate(self) -> float:
        """Input lines per wall-clock second."""
        return self.lines / self.wall_s if self.wall_s else float("inf")

    @property
    def cpu_rate(self) -> float:
        """Input lines per second of this process's CPU time (fairer when other processes share the cores)."""
        return self.lines / self.cpu_s if self.cpu_s else float("inf")


def _revision() -> str:
    """The git commit measured, with a note when the working tree differs from it."""

    def git(*args: str) -> str:
        run = subprocess.run(["git", *args], cwd=REPO, capture_output=True, text=True, check=False)
        return run.stdout.strip()

    commit = git("rev-parse", "--short", "HEAD") or "unknown"
    return commit + (" + uncommitted changes in monitor/" if git("status", "--porcelain", "monitor") else "")


def _rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def _measure(name: str, path: Path, run: Any) -> Phase:
    gc.collect()
    with path.open("rb") as source:
        wall, cpu = time.perf_counter(), time.process_time()
        lines, notes = run(source)
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    return Phase(name, lines, wall, cpu, _rss_mib(), notes)


def json_floor(source: Iterable[bytes]) -> tuple[int, str]:
    """Read and json.loads every line."""
    lines = bad = 0
    loads = json.loads
    for raw in source:
        lines += 1
        try:
            loads(raw)
        except ValueError:
            bad += 1
    return lines, f"{bad} not JSON"


def pydantic_floor(source: Iterable[bytes]) -> tuple[int, str]:
    """Read and validate every line into a typed event."""
    lines = bad = 0
    for raw in source:
        lines += 1
        try:
            parse_event(raw.rstrip())
        except EventRejected:
            bad += 1
    return lines, f"{bad} invalid"


def replay_all(
    policy: Policy, source: Iterable[bytes], counts: Counter[str], rejections: list[Rejection] | None = None
) -> int:
    """The CLI's replay loop without the terminal: replay, JSON-encode every output."""
    lines = 0

    def counted() -> Iterator[bytes]:
        nonlocal lines
        for raw in source:
            lines += 1
            yield raw

    dumps = json.JSONEncoder(ensure_ascii=False).encode  # as the CLI: json.dumps(item, ensure_ascii=False)
    with replay_gc():
        for item in replay_lines(policy, counted()):
            if isinstance(item, Rejection):
                dumps(item.as_dict())
                counts["rejected"] += 1
                if rejections is not None:
                    rejections.append(item)
            else:
                dumps(item)
                counts[item["type"]] += 1
    return lines


class GcTimer:
    """Wall time spent in garbage collections while installed (``gc.callbacks``)."""

    def __init__(self) -> None:
        self.seconds = 0.0
        self.collections = 0
        self._started = 0.0

    def __call__(self, phase: str, info: dict[str, Any]) -> None:
        if phase == "start":
            self._started = time.perf_counter()
        else:
            self.seconds += time.perf_counter() - self._started
            self.collections += 1

    def __enter__(self) -> GcTimer:
        gc.callbacks.append(self)
        return self

    def __exit__(self, *_: object) -> None:
        gc.callbacks.remove(self)


_BASELINE_CODE = """
import json, resource, sys, time
sys.path.insert(0, sys.argv[1])
from monitor.core.policy import load_policy
from monitor.core.replay import Rejection, replay_lines
policy = load_policy(sys.argv[2])
lines = 0
def counted(source):
    global lines
    for raw in source:
        lines += 1
        yield raw
with open(sys.argv[3], "rb") as source:
    wall, cpu = time.perf_counter(), time.process_time()
    for item in replay_lines(policy, counted(source)):
        json.dumps(item.as_dict() if isinstance(item, Rejection) else item, ensure_ascii=False)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
print(json.dumps([lines, wall, cpu, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024]))
"""


def baseline_phase(checkout: str, policy: str, path: Path) -> Phase:
    """The replay of ``path`` by another checkout's engine, in a child process (json.dumps per item, GC as is)."""
    run = subprocess.run([sys.executable, "-c", _BASELINE_CODE, checkout, policy, str(path)],
                         capture_output=True, text=True, check=True)
    lines, wall, cpu, rss = json.loads(run.stdout.strip().splitlines()[-1])
    return Phase("replay, baseline", lines, wall, cpu, rss, f"{checkout} (child process; its RSS)")


def _check_rejections(rejections: list[Rejection], bad_lines: list[int]) -> None:
    """Say whether exactly the deliberately bad lines were rejected; show any others."""
    bad = set(bad_lines)
    unexpected = [r for r in rejections if r.line not in bad]
    missed = sorted(bad - {r.line for r in rejections})
    if not unexpected and not missed:
        print(f"rejections:  exactly the {len(bad):,} deliberately bad lines")
        return
    print(f"WARNING: {len(unexpected):,} valid-looking lines rejected, {len(missed):,} bad lines accepted")
    for r in unexpected[:5]:
        print(f"  line {r.line}: {r.reason}")
    if missed:
        print(f"  accepted bad lines: {missed[:10]}")


# Where a function's own time goes in the split: the first matching (file part, function part) wins.
SPLIT_GROUPS: tuple[tuple[str, tuple[tuple[str, str], ...]], ...] = (
    ("parsing (pydantic, events.py)", (("events.py", ""), ("pydantic", ""), ("", "validate_json"))),
    ("state copies (NamedTuple _replace)", (("clock.py", "_replace"), ("", "__new__"))),
    ("clock logic (clock.py)", (("clock.py", ""),)),
    ("calendar (calendar.py)", (("calendar.py", ""),)),
    ("instants (to_us, format_us, datetime)", (("instants.py", ""), ("", "isoformat"), ("", "astimezone"),
                                              ("", "utcoffset"), ("", "fromordinal"))),
    ("history (event ids, spans)", (("history.py", ""), ("", "blake2b"), ("", "digest"))),
    ("policy look-ups (policy.py)", (("policy.py", ""),)),
    ("replay driver and heap (replay.py)", (("replay.py", ""), ("", "heappush"), ("", "heappop"))),
    ("json.dumps", (("json", ""), ("", "encode"))),
    ("services (budget.py)", (("budget.py", ""),)),
)


def _group_of(file: str, func: str) -> str:
    for name, patterns in SPLIT_GROUPS:
        if any(part in file and f in func for part, f in patterns):
            return name
    return "builtins and other (len, isinstance, dict.get, ...)"


def split_replay(policy: Policy, path: Path, events: int, top: bool) -> None:
    """Time the replay of the first ``events`` lines, then cProfile it; print the µs/event split."""
    with path.open("rb") as source:
        head = list(itertools.islice(source, events))
    gc.collect()
    gc.freeze()  # the slice itself stays out of the collections timed (the CLI reads line by line)
    with GcTimer() as collector:
        started = time.perf_counter()
        replay_all(policy, head, Counter())
        wall = time.perf_counter() - started
    per_event = 1e6 * wall / len(head)
    gc_us = 1e6 * collector.seconds / len(head)
    profiler = cProfile.Profile()
    gc.collect()
    profiler.enable()
    replay_all(policy, head, Counter())
    profiler.disable()
    gc.unfreeze()
    stats = pstats.Stats(profiler)
    rows = stats.stats  # type: ignore[attr-defined]
    groups: Counter[str] = Counter()
    for (file, _, func), (_, _, tottime, _, _) in rows.items():
        groups[_group_of(file, func)] += tottime
    total = sum(groups.values())
    print(f"\nµs/event split of the replay of the first {len(head):,} lines: {per_event:.2f} µs/event measured "
          f"({1e6 / per_event:,.0f} events/s), of which garbage collection {gc_us:.2f} µs "
          f"({collector.collections} collections); the rest shared out as cProfile's own time per function")
    for name, seconds in groups.most_common():
        share = seconds / total
        print(f"  {name:<52} {share * (per_event - gc_us):>6.2f} µs  {100 * share:>5.1f} %")
    print(f"  {'garbage collection (gc.callbacks)':<52} {gc_us:>6.2f} µs")
    if top:
        _print_top(stats)


def _print_top(stats: pstats.Stats) -> None:
    total = stats.total_tt  # type: ignore[attr-defined]
    rows = stats.stats  # type: ignore[attr-defined]
    print(f"\ncProfile of that slice: {total:.2f} s under the profiler")
    for title, column in (("cumulative", 3), ("tottime", 2)):
        print(f"\nTop 25 by {title}")
        print(f"  {'function':<58} {'calls':>10} {'tottime':>8} {'tot%':>6} {'cumtime':>8} {'cum%':>6}")
        ranked = sorted(rows.items(), key=lambda kv: kv[1][column], reverse=True)[:25]
        for (file, line, func), (_, calls, tottime, cumtime, _) in ranked:
            where = f"{Path(file).name}:{line}({func})" if line else func
            print(
                f"  {where[:58]:<58} {calls:>10,} {tottime:>8.2f} {100 * tottime / total:>5.1f}%"
                f" {cumtime:>8.2f} {100 * cumtime / total:>5.1f}%"
            )


# -- command line ----------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    """Generate (or reuse) the events file, measure the three phases, print the table."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=1_000_000, help="lines to generate (default 1,000,000)")
    parser.add_argument("--tickets", type=int, help="tickets to open (default events / 10)")
    parser.add_argument("--days", type=float, default=21, help="days over which tickets open (default 21)")
    parser.add_argument("--seed", type=int, default=1, help="generator seed (default 1)")
    parser.add_argument("--policy", default=str(REPO / "deploy" / "policy.example.yaml"), help="policy file")
    parser.add_argument("--out-dir", default=str(REPO / "bench" / "out"), help="where the events file goes (git-ignored)")
    parser.add_argument("--regenerate", action="store_true", help="write the events file even if it exists")
    parser.add_argument("--baseline", metavar="CHECKOUT",
                        help="also time the replay of another checkout of the project (e.g. the main branch) on the "
                        "same file, in a child process, the way its CLI replays (its own GC and encoder settings)")
    parser.add_argument("--no-split", action="store_true", help="skip the µs/event split")
    parser.add_argument("--profile", action="store_true", help="also print cProfile's top 25 of the split's slice")
    parser.add_argument("--split-events", "--profile-events", type=int, default=200_000,
                        help="slice size for the split and --profile (default 200,000)")
    args = parser.parse_args(argv)
    args.tickets = args.tickets or max(1, args.events // 10)

    policy = load_policy(args.policy)
    path, gen, gen_s = events_file(args)
    size_mib = path.stat().st_size / 2**20
    how = f"generated in {gen_s:.1f} s" if gen_s is not None else "reused (--regenerate to rewrite)"
    print(f"events file  {path.relative_to(REPO) if path.is_relative_to(REPO) else path}  ({how})")
    print(f"             {gen.lines:,} lines, {size_mib:,.0f} MiB, {gen.tickets:,} tickets, {gen.first_at} .. {gen.last_at}")
    print("             " + ", ".join(f"{k.removeprefix('ticket.')} {v:,}" for k, v in sorted(gen.types.items())))
    bad_total = sum(gen.bad.values())
    print(f"             deliberately bad: {bad_total:,} ({', '.join(f'{k} {v}' for k, v in sorted(gen.bad.items()))})")
    print(f"policy       {args.policy}")
    print(f"code         {_revision()}")
    print(f"python       {sys.version.split()[0]}, RSS before measuring {_rss_mib():,.0f} MiB\n")

    counts: Counter[str] = Counter()
    rejections: list[Rejection] = []
    phases = [
        _measure("json.loads (floor)", path, json_floor),
        _measure("parse_event (pydantic)", path, pydantic_floor),
    ]
    if args.baseline:
        phases.append(baseline_phase(args.baseline, args.policy, path))
    phases.append(
        _measure("replay + json.dumps", path, lambda source: (replay_all(policy, source, counts, rejections), ""))
    )
    phases[-1].notes = ", ".join(f"{k} {v:,}" for k, v in sorted(counts.items()))

    print(f"{'phase':<24} {'lines':>11} {'wall s':>8} {'cpu s':>8} {'lines/s':>11} {'µs/line':>8}"
          f" {'lines/cpu-s':>12} {'max RSS MiB':>12}")
    print("-" * 101)
    for p in phases:
        print(
            f"{p.name:<24} {p.lines:>11,} {p.wall_s:>8.2f} {p.cpu_s:>8.2f} {p.rate:>11,.0f}"
            f" {1e6 / p.rate:>8.2f} {p.cpu_rate:>12,.0f} {p.rss_mib:>12,.0f}"
        )
    print("-" * 101)
    for p in phases:
        print(f"{p.name:<24} {p.notes}")
    replay = phases[-1]
    print(
        f"\nreplay vs floors: {phases[0].rate / replay.rate:.1f}x slower than json.loads, "
        f"{phases[1].rate / replay.rate:.1f}x slower than pydantic parsing alone"
    )
    if args.baseline:
        base = phases[2]
        print(f"replay vs baseline: {replay.rate / base.rate:.2f}x by wall clock, "
              f"{replay.cpu_rate / base.cpu_rate:.2f}x by CPU time")
    verdict = "meets" if replay.rate >= TARGET_EVENTS_PER_S else "BELOW"
    print(f"target {TARGET_EVENTS_PER_S:,} events/s on one core: {verdict} ({replay.rate:,.0f} events/s)")
    _check_rejections(rejections, gen.bad_lines)

    if args.profile or not args.no_split:
        split_replay(policy, path, args.split_events, args.profile)
    return 0


if __name__ == "__main__":
    sys.exit(main())
