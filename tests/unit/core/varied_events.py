"""A seeded generator of varied replay input, for the byte-identity tests of replay.

Tickets of every priority and customer kind over weeks that hold daylight-saving
changes (Europe/Berlin and America/New_York, both directions) and holidays, with
acknowledgements (some late, some twice), pauses, priority changes, resolutions,
reopenings and ratings; probe results and maintenance announcements for the
policy's services and for unknown ones; a share of lines that arrive out of
order, and bad lines of every kind the parser and the engine refuse. The same
seed gives the same lines on every Python 3.11+ (``random.Random`` with
``random``, ``randrange``, ``choice`` and ``uniform`` only).
"""

from __future__ import annotations

import json
import random
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

from monitor.core.clock import TicketState
from monitor.core.policy import Policy
from monitor.core.replay import Replay

GOLDEN_POLICY_YAML = """
calendars:
  office:
    timezone: America/New_York
    hours:
      mon-thu: "08:30-12:00,13:00-17:30"
      fri: "08:30-15:00"
      sat: "10:00-14:00"
      sun: "00:30-03:30"
    holidays: ["2027-03-15", "2027-11-11", "2027-11-25"]
    workdays:
      "2027-03-20": "09:00-18:00"
      "2027-11-06": "00:00-24:00"
  berlin:
    timezone: Europe/Berlin
    hours:
      mon-fri: "09:00-18:00"
    holidays: ["2027-03-26", "2027-03-29", "2027-11-01"]
  always:
    timezone: Asia/Kolkata
    hours: always
service_hours: office
targets:
  P1:
    calendar: always
    response: 15m
    resolution: 2h
    out_of_hours: {response: 30m, resolution: 4h}
  P2: {calendar: office, response: 45m, resolution: 8h}
  P3: {calendar: berlin, response: 2h, resolution: 24h}
  P4: {calendar: office, response: 1h30m, resolution: 40h}
warn_at: [0.25, 0.5, 0.9]
overrides:
  - match: {customer_id: acme}
    targets: {P1: {response: 10m}, P3: {resolution: 12h}}
  - match: {service_id: svc-1}
    targets: {P2: {resolution: 6h}}
services:
  mail: {availability: 99.9, timezone: Europe/Berlin}
  crm: {availability: 99.0, timezone: America/New_York}
maintenance:
  min_notice: 24h
"""

ESCALATIONS_YAML = """
escalations:
  default: [{after: 30m, to: team-lead}]
  P1: [{after: 10m, to: team-lead}, {after: 1h, to: duty-manager}]
  P3: [{after: 2h30m, to: team-lead}, {after: 8h, to: duty-manager}]
"""
"""Escalation levels after the breach, added to the golden policy for the escalating variant."""

# Two windows of weeks, each holding a daylight-saving change in both zones' direction.
WINDOWS = (
    datetime(2027, 3, 8, tzinfo=UTC),  # New York springs forward 14 March, Berlin 28 March
    datetime(2027, 10, 25, tzinfo=UTC),  # Berlin falls back 31 October, New York 7 November
)
WINDOW_DAYS = 24
OFFSETS = (UTC, UTC, timezone(timedelta(hours=1)), timezone(timedelta(hours=-5)),
           timezone(timedelta(hours=5, minutes=30)), timezone(timedelta(hours=-3, minutes=-30)))
PRIORITIES = ("P1", "P2", "P3", "P4")
SERVICES = ("mail", "crm")
PROBES = ("fra", "ams", "nyc")


def _text(at: datetime, rng: random.Random) -> str:
    """RFC 3339 text of ``at`` in a random offset, to the second or finer, sometimes with Z."""
    local = at.astimezone(rng.choice(OFFSETS))
    spec = rng.choice(("seconds", "seconds", "seconds", "milliseconds", "microseconds"))
    text = local.isoformat(timespec=spec)
    return text.replace("+00:00", "Z") if rng.random() < 0.7 else text


def _ticket(rng: random.Random, number: int, opened: datetime) -> list[tuple[datetime, dict[str, Any]]]:
    """One ticket's events in event time (no lines of other tickets)."""
    ticket_id = f"V-{number:05d}"
    priority = rng.choice(PRIORITIES)
    first: dict[str, Any] = {"type": "ticket.opened", "ticket_id": ticket_id, "priority": priority}
    roll = rng.random()
    if roll < 0.15:
        first["customer_id"] = "acme"
    elif roll < 0.85:
        first["customer_id"] = f"c-{rng.randrange(30)}"
    if rng.random() < 0.7:
        first["service_id"] = f"svc-{rng.randrange(4)}"
    if rng.random() < 0.05:
        first["note"] = "extra fields pass through"
    out = [(opened, first)]
    t = opened

    def step(low: float, high: float) -> datetime:
        nonlocal t
        t += timedelta(seconds=rng.uniform(low, high))
        if rng.random() < 0.6:
            t = t.replace(microsecond=0) + timedelta(seconds=1)
        return t

    def add(kind: str, **fields: Any) -> None:
        out.append((t, {"type": f"ticket.{kind}", "ticket_id": ticket_id, **fields}))

    if rng.random() < 0.93:
        step(30, 3 * 3600 if rng.random() < 0.2 else 1200)
        add("acknowledged")
        if rng.random() < 0.05:
            step(10, 600)
            add("acknowledged")
    resolved = False
    for _ in range(rng.randrange(1, 5)):
        roll = rng.random()
        if resolved:
            if roll < 0.5:
                step(600, 2 * 86_400)
                add("reopened")
                resolved = False
            elif roll < 0.7:
                step(60, 86_400)
                add("rated", score=rng.randrange(1, 6), **({"comment": "thanks"} if rng.random() < 0.3 else {}))
            continue
        if roll < 0.35:
            step(60, 8 * 3600)
            add("paused")
            step(60, 2 * 86_400)
            add("resumed")
        elif roll < 0.5:
            step(60, 6 * 3600)
            priority = rng.choice([p for p in PRIORITIES if p != priority])
            add("priority_changed", priority=priority)
        elif roll < 0.9:
            step(300, 30 * 3600)
            add("resolved")
            resolved = True
        elif roll < 0.95:
            step(60, 3600)
            add("paused")  # paused and left so: the clock stays paused, or resolved while paused
            if rng.random() < 0.5:
                step(60, 86_400)
                add("resolved")
                resolved = True
    return out


def _service_events(rng: random.Random, start: datetime) -> list[tuple[datetime, dict[str, Any]]]:
    """Probe results every half hour from each location with outages, and maintenance notices."""
    out: list[tuple[datetime, dict[str, Any]]] = []
    for service in (*SERVICES, "unknown-svc"):
        down_until = start
        t = start
        while t < start + timedelta(days=WINDOW_DAYS):
            if t >= down_until and rng.random() < 0.02:
                down_until = t + timedelta(minutes=rng.choice((30, 60, 90, 240, 600)))
            for probe in PROBES[: {"mail": 2, "crm": 3}.get(service, 1)]:
                ok = not (t < down_until and rng.random() < 0.9)
                body: dict[str, Any] = {"type": "probe.result", "service_id": service, "probe_id": probe, "ok": ok}
                if ok and rng.random() < 0.8:
                    body["latency_ms"] = round(rng.uniform(5, 900), rng.choice((0, 1, 3)))
                out.append((t + timedelta(seconds=rng.randrange(0, 20)), body))
            t += timedelta(minutes=30)
        for _ in range(4):
            begins = start + timedelta(hours=rng.randrange(12, 24 * WINDOW_DAYS - 12))
            notice = timedelta(hours=rng.choice((2, 30, 72)))
            body = {"type": "maintenance.scheduled", "service_id": service,
                    "starts_at": begins, "ends_at": begins + timedelta(minutes=rng.choice((30, 90, 180)))}
            out.append((begins - notice, body))
    return out


def _bad(rng: random.Random, good: list[str], at: str, serial: int) -> str:
    """One line the parser or the engine must refuse (or, for blank ones, skip)."""
    choices = (
        lambda: rng.choice(good)[: rng.randrange(1, 60)],  # truncated JSON
        lambda: "not json at all",
        lambda: "[1, 2, 3]",
        lambda: "42",
        lambda: '"a string"',
        lambda: "   ",
        lambda: "",
        lambda: rng.choice(good),  # a duplicate (or, for a service event, a repeated probe)
        lambda: json.dumps({"type": "ticket.closed", "event_id": f"b{serial}", "ticket_id": "V-00001", "occurred_at": at}),
        lambda: json.dumps({"event_id": f"b{serial}", "ticket_id": "V-00001", "occurred_at": at}),
        lambda: json.dumps({"type": "ticket.resolved", "event_id": f"b{serial}", "ticket_id": "V-00002",
                            "occurred_at": at[:19]}),  # no offset
        lambda: json.dumps({"type": "ticket.resolved", "event_id": f"b{serial}", "ticket_id": "V-00002",
                            "occurred_at": 1_800_000_000}),
        lambda: json.dumps({"type": "ticket.resolved", "event_id": f"b{serial}", "ticket_id": "V-00002",
                            "occurred_at": "1800000000"}),
        lambda: json.dumps({"type": "ticket.resolved", "event_id": f"b{serial}", "ticket_id": "V-00002",
                            "occurred_at": "2027-13-40T25:00:00Z"}),
        lambda: json.dumps({"type": "ticket.resolved", "event_id": f"b{serial}", "ticket_id": "V-00002",
                            "occurred_at": "9999-12-31T23:00:00Z"}),
        lambda: json.dumps({"type": "ticket.opened", "event_id": f"b{serial}", "ticket_id": "V-new",
                            "occurred_at": at}),  # no priority
        lambda: json.dumps({"type": "ticket.opened", "event_id": f"b{serial}", "ticket_id": f"N-{serial}",
                            "occurred_at": at, "priority": "P9"}),
        lambda: json.dumps({"type": "ticket.acknowledged", "event_id": f"b{serial}", "ticket_id": f"X-{serial}",
                            "occurred_at": at}),  # unknown ticket
        lambda: json.dumps({"type": "ticket.acknowledged", "event_id": "", "ticket_id": "V-00003", "occurred_at": at}),
        lambda: json.dumps({"type": "ticket.acknowledged", "event_id": "e" * 300, "ticket_id": "V-00003",
                            "occurred_at": at}),
        lambda: json.dumps({"type": "ticket.acknowledged", "event_id": 17, "ticket_id": "V-00003", "occurred_at": at}),
        lambda: json.dumps({"type": "ticket.acknowledged", "event_id": f"b{serial}", "ticket_id": None,
                            "occurred_at": at}),
        lambda: json.dumps({"type": "ticket.rated", "event_id": f"b{serial}", "ticket_id": "V-00004",
                            "occurred_at": at, "score": rng.choice((0, 6, 3.5, "4", True))}),
        lambda: json.dumps({"type": "probe.result", "event_id": f"b{serial}", "service_id": "mail",
                            "probe_id": "fra", "occurred_at": at, "ok": "yes"}),
        lambda: json.dumps({"type": "probe.result", "event_id": f"b{serial}", "service_id": "mail",
                            "probe_id": "fra", "occurred_at": at, "ok": True,
                            "latency_ms": rng.choice((-1, 1e12, "12", None))}),
        lambda: json.dumps({"type": "maintenance.scheduled", "event_id": f"b{serial}", "service_id": "crm",
                            "occurred_at": at, "starts_at": at, "ends_at": at}),
        lambda: json.dumps({"type": "ticket.paused", "event_id": f"b{serial}", "ticket_id": "V-00005",
                            "occurred_at": at, "x": "é" * 33_000}, ensure_ascii=False),  # over the size limit
        lambda: '{"type": "ticket.paused", "event_id": "dup", "event_id": "dup2", "ticket_id": "V-00006", '
                f'"occurred_at": "{at}"}}',
        lambda: '{"type": "ticket.paused", "event_id": "b\\ud800", "ticket_id": "V-00006", '
                f'"occurred_at": "{at}"}}',
        lambda: json.dumps({"type": "ticket.paused", "event_id": f"b{serial}", "ticket_id": "V-00006",
                            "occurred_at": at}, ensure_ascii=False) + "\t",
    )
    return rng.choice(choices)()


def varied_lines(tickets: int = 1500, seed: int = 13, services: bool = True) -> list[str]:
    """The lines of one varied replay input, in file order."""
    rng = random.Random(seed)
    timed: list[tuple[datetime, int, dict[str, Any]]] = []
    serial = 0
    for window in WINDOWS:
        for number in range(tickets // len(WINDOWS)):
            opened = window + timedelta(seconds=rng.uniform(0, WINDOW_DAYS * 86_400 - 5 * 86_400))
            if rng.random() < 0.5:
                opened = opened.replace(microsecond=0)
            for at, body in _ticket(rng, serial + number, opened):
                timed.append((at, len(timed), body))
        serial += tickets
        if services:
            for at, body in _service_events(rng, window):
                timed.append((at, len(timed), body))
    timed.sort(key=lambda item: (item[0], item[1]))
    lines: list[str] = []
    late: list[tuple[int, str]] = []  # (index at which to emit, line)
    for number, (at, _, body) in enumerate(timed):
        body = {"type": body["type"], "event_id": f"v{number}", **{k: v for k, v in body.items() if k != "type"}}
        body["occurred_at"] = _text(at, rng)
        for key in ("starts_at", "ends_at"):
            if key in body:
                body[key] = _text(body[key], rng)
        line = json.dumps(body, ensure_ascii=rng.random() < 0.5)
        while late and late[0][0] <= len(lines):
            lines.append(late.pop(0)[1])
        if rng.random() < 0.02:  # arrives late: some lines after, in file order
            late.append((len(lines) + rng.randrange(1, 400), line))
            late.sort()
        else:
            lines.append(line)
        if rng.random() < 0.01:
            lines.append(_bad(rng, lines[-50:] or [line], body["occurred_at"], number))
    lines.extend(line for _, line in late)
    return lines


def varied_states(policy: Policy, every: int = 7) -> list[TicketState]:
    """Ticket states of varied input (400 tickets, no services) replayed under ``policy``: those an event or a
    wake-up changed, every ``every``-th line, every state now and then, and all at the end (each object once)."""
    replay, seen = Replay(policy), list[TicketState]()
    for number, line in enumerate(varied_lines(tickets=400, seed=29, services=False), start=1):
        records, _ = replay.feed(number, line)
        if number % every == 0:
            seen.extend(replay.tickets.values() if number % (every * 50) == 0 else [])
            seen.extend(replay.tickets[r["ticket_id"]] for r in records if r.get("ticket_id") in replay.tickets)
    seen.extend(replay.tickets.values())
    return list({id(s): s for s in seen}.values())


def format3(raw: bytes) -> bytes:
    """The format 3 row of a format 4 one (``monitor.core.codec``): the same array without the schedules."""
    row = json.loads(raw)
    assert row[0] == 4
    return json.dumps([3, *row[1:10], *(clock[:11] for clock in row[10:])], separators=(",", ":")).encode()
