"""Ticket and service state to bytes and back, for durable tables.

Compact JSON with short keys: it is written once per event. The running
figures of a clock (business time of the closed spans, the instants levels
were reached) are stored with a fingerprint of the calendar and levels they
were measured with, so a reader measures the spans again only when the policy
changed. Event ids are kept as 16-byte digests (base64).

Format 4 (this release) is one JSON array, fields by position, flags in one
integer and pairs flattened, and each clock's alert schedule (``ClockState.due``)
with it: the schedule derives from the figures under the same fingerprint, so
a reader whose policy gives the clock the same calendar and levels keeps it
(``clock.rescheduled``) instead of walking the calendar again for every level
(about half of a row's rebuild after a restart). Format 3 (the same without
the schedules), format 2 (an object with short keys, bounded parts: see
``monitor.core.limits``) and format 1 (the first release's: every id, spans as
pairs) are still read, their schedules computed again; the tests write format 2
with ``tests/unit/core/state_format2.py``. Service states keep format 1, whose
layout did not change.
"""

from __future__ import annotations

import base64
import json
from typing import Any, NamedTuple

import orjson

from monitor.core.budget import ServiceState, Window
from monitor.core.clock import METRICS, ClockState, TicketState, plan_stands
from monitor.core.history import RecentIds, Spans, event_key
from monitor.core.policy import Policy

FORMAT = 4
SERVICE_FORMAT = 1
READABLE = (1, 2)  # earlier releases' objects; still read (as are arrays of format 3)
_ARRAYS = (3, FORMAT)  # positional arrays: format 3, and format 4 with the schedules
_IN_HOURS, _PAUSED, _RESOLVED, _RATED = 1, 2, 4, 8  # the arrays' flag bits


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


def _clock3(clock: ClockState) -> list[Any]:
    return [
        clock.priority,
        [t for span in clock.closed for t in span],
        clock.open_start,
        clock.stopped_at,
        clock.level,
        [t for pair in clock.published for t in pair],
        clock.outcomes,
        clock.used,
        clock.reached,
        clock.measure,
        clock.measured,
        clock.due,
    ]


def _unclock3(data: list[Any]) -> ClockState:
    # Format 4 adds the schedule; format 3 has none (``clock.rescheduled`` computes it).
    priority, flat, open_start, stopped_at, level, published, outcomes, used, reached, measure, measured = data[:11]
    spans, pairs = iter(flat), iter(published)
    return ClockState(
        priority=priority,
        closed=Spans(list(zip(spans, spans, strict=True))),
        open_start=open_start,
        stopped_at=stopped_at,
        level=level,
        published=tuple(zip(pairs, pairs, strict=True)),
        outcomes=outcomes,
        used=used,
        reached=tuple(reached),
        measure=measure,
        measured=measured,
        due=tuple(data[11]) if len(data) > 11 else (),
    )


def compact_json(value: Any) -> bytes:
    """``value`` as compact JSON in UTF-8 (``orjson``: ~0.3 us for a state row or a record, ``json.dumps`` ~3-6).

    Copied to its size: orjson writes into a buffer of a few KiB and shrinks it in place, and the rest of such
    a buffer is seldom reused while the bytes live (100,000 rows kept took 406 MiB of RSS as returned, 32 MiB
    copied; the copy costs ~0.1 us).
    """
    return bytes(memoryview(orjson.dumps(value)))


def encode_state(state: TicketState) -> bytes:
    """Serialise a ticket's state (format 4, ``compact_json``)."""
    flags = (_IN_HOURS * state.in_hours) | (_PAUSED * state.paused) | (_RESOLVED * state.resolved) | (
        _RATED * state.rated)
    return compact_json(
        [
            FORMAT,
            state.ticket_id,
            state.priority,
            state.customer_id,
            state.service_id,
            state.opened_at,
            flags,
            state.version,
            state.events,
            base64.b64encode(b"".join(state.seen.ordered())).decode("ascii"),
            _clock3(state.response),
            _clock3(state.resolution),
        ]
    )


def _decode_state3(d: list[Any]) -> TicketState:
    _, ticket_id, priority, customer_id, service_id, opened_at, flags, version, events, seen, response, resolution = d
    digests = base64.b64decode(seen)
    return TicketState(
        ticket_id=ticket_id,
        priority=priority,
        customer_id=customer_id,
        service_id=service_id,
        opened_at=opened_at,
        in_hours=bool(flags & _IN_HOURS),
        response=_unclock3(response),
        resolution=_unclock3(resolution),
        paused=bool(flags & _PAUSED),
        resolved=bool(flags & _RESOLVED),
        seen=RecentIds.of([digests[i : i + 16] for i in range(0, len(digests), 16)]),
        version=version,
        events=events,
        rated=bool(flags & _RATED),
    )


class StoredSchedules(NamedTuple):
    """What a restarted worker needs of a format 4 row to watch the ticket, read without building the state."""

    version: int
    clocks: tuple[tuple[str, str, int, tuple[int | None, ...]], ...]  # (metric, priority, level, due), running ones

    def next_wake(self) -> int | None:
        """``clock.next_wake`` of the row's state: the earliest instant a next level falls due."""
        best: int | None = None
        for _, _, level, due in self.clocks:
            fire = due[level] if level < len(due) else None
            if fire is not None and (best is None or fire < best):
                best = fire
        return best


def recovered(raw: bytes, policy: Policy) -> StoredSchedules | TicketState:
    """A row as a restarted worker reads it, parsed once: the running clocks' stored schedules where they stand
    under ``policy`` (each clock's figures measured over all its closed spans, with the calendar and levels the
    policy gives it now: ``clock.plan_stands``), else the state decoded (``decode_state``; its schedules are
    then computed again by ``clock.rescheduled``)."""
    d = orjson.loads(raw)
    if isinstance(d, list) and d and d[0] == FORMAT:
        customer_id, service_id, in_hours = d[3], d[4], bool(d[6] & _IN_HOURS)
        clocks = []
        for metric, clock in zip(METRICS, d[10:12], strict=True):
            if clock[3] is not None:  # stopped: not watched
                continue
            due = clock[11]
            if (not due or clock[10] != len(clock[1]) >> 1 or not plan_stands(
                    policy, metric, clock[0], customer_id, service_id, in_hours, clock[9], len(due))):
                return _decoded(d)
            clocks.append((metric, clock[0], clock[4], tuple(due)))
        return StoredSchedules(d[7], tuple(clocks))
    return _decoded(d)


def decode_state(raw: bytes) -> TicketState:
    """Read what ``encode_state`` wrote, or earlier releases wrote (formats 3, 2 and 1; schedules
    empty: see ``clock.rescheduled``)."""
    return _decoded(orjson.loads(raw))


def _decoded(d: Any) -> TicketState:
    if isinstance(d, list):
        if not d or d[0] not in _ARRAYS:
            raise ValueError(f"unknown ticket state format {d[0] if d else None!r}")
        return _decode_state3(d)
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
