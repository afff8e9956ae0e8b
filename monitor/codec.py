"""Ticket and service state to bytes and back, for durable tables.

Compact JSON with short keys: it is written once per event. Alert schedules
(``ClockState.due``) are not stored: they derive from the policy, which may
change between runs, so the reader recomputes them (``clock.rescheduled``).
"""

from __future__ import annotations

import json
from typing import Any

from monitor.budget import ServiceState, Window
from monitor.clock import ClockState, TicketState

FORMAT = 1


def _clock(clock: ClockState) -> list[Any]:
    return [
        clock.priority,
        [list(s) for s in clock.segments],
        clock.stopped_at,
        clock.level,
        [list(p) for p in clock.published],
        clock.outcomes,
    ]


def _unclock(data: list[Any]) -> ClockState:
    priority, segments, stopped_at, level, published, outcomes = data
    return ClockState(
        priority=priority,
        segments=tuple((s, e) for s, e in segments),
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
            "e": sorted(state.seen),
            "v": state.version,
        },
        separators=(",", ":"),
    ).encode()


def decode_state(raw: bytes) -> TicketState:
    """Read what ``encode_state`` wrote (schedules empty: see ``clock.rescheduled``)."""
    d = json.loads(raw)
    if d.get("f") != FORMAT:
        raise ValueError(f"unknown ticket state format {d.get('f')!r}")
    return TicketState(
        ticket_id=d["t"],
        priority=d["p"],
        customer_id=d["c"],
        service_id=d["s"],
        opened_at=d["o"],
        in_hours=d["h"],
        response=_unclock(d["r"]),
        resolution=_unclock(d["R"]),
        paused=d["P"],
        resolved=d["D"],
        seen=frozenset(d["e"]),
        version=d["v"],
    )


def encode_service(state: ServiceState) -> bytes:
    """Serialise a service's state."""
    return json.dumps(
        {
            "f": FORMAT,
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
    if d.get("f") != FORMAT:
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
