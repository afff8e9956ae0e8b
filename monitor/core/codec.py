"""Ticket and service state to bytes and back, for durable tables.

Compact JSON with short keys: it is written once per event. Alert schedules
(``ClockState.due``) are not stored: they derive from the policy, which may
change between runs, so the reader recomputes them (``clock.rescheduled``).
The running figures they come from (business time of the closed spans, the
instants levels were reached) are stored with a fingerprint of the calendar
and levels they were measured with, so a reader measures the spans again only
when the policy changed. Event ids are kept as 16-byte digests (base64).

Format 2 (this release) bounds every part (see ``monitor.core.limits``); format 1
states, written by the previous release, are still read. Service states keep
format 1, whose layout did not change.
"""

from __future__ import annotations

import base64
import json
from typing import Any

from monitor.core.budget import ServiceState, Window
from monitor.core.clock import ClockState, TicketState
from monitor.core.history import RecentIds, Spans, event_key

FORMAT = 2
SERVICE_FORMAT = 1
READABLE = (1, 2)  # format 1: the previous release's (every id, spans as pairs); still read


def _clock(clock: ClockState) -> list[Any]:
    return [
        clock.priority,
        [t for span in clock.closed for t in span],
        clock.open_start,
        clock.stopped_at,
        clock.level,
        [list(p) for p in clock.published],
        clock.outcomes,
        clock.used,
        list(clock.reached),
        clock.measure,
        clock.measured,
    ]


def _unclock(data: list[Any]) -> ClockState:
    priority, flat, open_start, stopped_at, level, published, outcomes, used, reached, measure, measured = data
    return ClockState(
        priority=priority,
        closed=Spans([(flat[i], flat[i + 1]) for i in range(0, len(flat), 2)]),
        open_start=open_start,
        stopped_at=stopped_at,
        level=level,
        published=tuple((lv, at) for lv, at in published),
        outcomes=outcomes,
        used=used,
        reached=tuple(reached),
        measure=measure,
        measured=measured,
    )


def _unclock_v1(data: list[Any]) -> ClockState:
    # Format 1 kept no running figures: they are measured again (``clock.rescheduled``, or the
    # first event of a stopped clock that is reopened).
    priority, segments, stopped_at, level, published, outcomes = data
    open_start = segments[-1][0] if segments and segments[-1][1] is None else None
    return ClockState(
        priority=priority,
        closed=Spans([(s, e) for s, e in segments if e is not None]),
        open_start=open_start,
        stopped_at=stopped_at,
        level=level,
        published=tuple((lv, at) for lv, at in published),
        outcomes=outcomes,
    )


def encode_state(state: TicketState) -> bytes:
    """Serialise a ticket's state."""
    return json.dumps(
        {
            "f": FORMAT,
            "t": state.ticket_id,
            "p": state.priority,
            "c": state.customer_id,
            "s": state.service_id,
            "o": state.opened_at,
            "h": state.in_hours,
            "r": _clock(state.response),
            "R": _clock(state.resolution),
            "P": state.paused,
            "D": state.resolved,
            "e": base64.b64encode(b"".join(state.seen.ordered())).decode("ascii"),
            "v": state.version,
            "n": state.events,
            "rt": state.rated,
        },
        separators=(",", ":"),
    ).encode()


def decode_state(raw: bytes) -> TicketState:
    """Read what ``encode_state`` wrote, or the previous release wrote (schedules empty:
    see ``clock.rescheduled``)."""
    d = json.loads(raw)
    if d.get("f") not in READABLE:
        raise ValueError(f"unknown ticket state format {d.get('f')!r}")
    if d["f"] == 1:
        # Every id the ticket ever accepted, sorted: the window keeps the last DEDUP_WINDOW of them.
        ids: list[str] = d["e"]
        unclock, seen, events = _unclock_v1, RecentIds.of([event_key(i) for i in ids]), len(ids)
    else:
        digests = base64.b64decode(d["e"])
        keys = [digests[i : i + 16] for i in range(0, len(digests), 16)]
        unclock, seen, events = _unclock, RecentIds.of(keys), d["n"]
    return TicketState(
        ticket_id=d["t"],
        priority=d["p"],
        customer_id=d["c"],
        service_id=d["s"],
        opened_at=d["o"],
        in_hours=d["h"],
        response=unclock(d["r"]),
        resolution=unclock(d["R"]),
        paused=d["P"],
        resolved=d["D"],
        seen=seen,
        version=d["v"],
        events=events,
        rated=d.get("rt", False),  # absent before ticket.rated existed
    )


def encode_service(state: ServiceState) -> bytes:
    """Serialise a service's state."""
    return json.dumps(
        {
            "f": SERVICE_FORMAT,
            "s": state.service_id,
            "ps": state.period_start,
            "a": state.accounted,
            "p": [list(p) for p in state.probes],
            "u": state.used,
            "t": state.total,
            "l": state.level,
            "pub": [list(p) for p in state.published],
            "w": [list(w) for w in state.windows],
            "v": state.version,
        },
        separators=(",", ":"),
    ).encode()


def decode_service(raw: bytes) -> ServiceState:
    """Read what ``encode_service`` wrote."""
    d = json.loads(raw)
    if d.get("f") != SERVICE_FORMAT:
        raise ValueError(f"unknown service state format {d.get('f')!r}")
    return ServiceState(
        service_id=d["s"],
        period_start=d["ps"],
        accounted=d["a"],
        probes=tuple((p, ok, at) for p, ok, at in d["p"]),
        used=d["u"],
        total=d["t"],
        level=d["l"],
        published=tuple((lv, at) for lv, at in d["pub"]),
        windows=tuple(Window(*w) for w in d["w"]),
        version=d["v"],
    )
