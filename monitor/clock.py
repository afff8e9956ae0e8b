"""The per-ticket SLA clocks: a pure state machine.

Each ticket has two clocks, ``response`` and ``resolution``. A clock is a list
of real-time running spans (``segments``; the last is open while it runs);
business time used is measured over them in the calendar of the clock's
priority, so a priority change re-measures everything retroactively.

``apply_event`` and ``wake`` take the state, the policy and ``now`` and return
a ``Decision``: the new state plus effects for the shell to carry out —
``Publish`` a record, ``WakeAt`` an instant. Nothing here reads a clock,
a file or the network.

Alerts of a clock are numbered by severity: level ``k`` for ``1 <= k <= W``
is the warning at ``warn_at[k-1]``, level ``W+1`` the breach. ``level`` in the
state is the most severe alert handled so far; a less severe one is never
published after it (when several fall due at once only the most severe goes).
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction
from typing import Any, NamedTuple

from monitor.calendar import BusinessCalendar
from monitor.errors import EventRejected
from monitor.events import (
    TicketAcknowledged,
    TicketEvent,
    TicketOpened,
    TicketPaused,
    TicketPriorityChanged,
    TicketReopened,
    TicketResolved,
    TicketResumed,
)
from monitor.instants import format_us, to_us
from monitor.policy import ClockTargets, Policy

SCHEMA_VERSION = 1
METRICS = ("response", "resolution")

Segment = tuple[int, int | None]


class DuplicateEvent(EventRejected):
    """The event id was applied to this ticket before."""


class ClockState(NamedTuple):
    """One SLA clock of a ticket.

    ``due`` caches when each alert level falls due (None where a paused clock
    cannot reach it) for the current segments and targets; every change to
    them recomputes it (see ``scheduled``).
    """

    priority: str
    segments: tuple[Segment, ...]
    stopped_at: int | None = None
    level: int = 0
    published: tuple[tuple[int, int], ...] = ()  # (level, at_us) of published alerts
    outcomes: int = 0
    due: tuple[int | None, ...] = ()

    @property
    def running(self) -> bool:
        """Tell whether business time is being counted right now (if open)."""
        return bool(self.segments) and self.segments[-1][1] is None

    @property
    def stopped(self) -> bool:
        """Tell whether the clock has finished (acknowledged / resolved)."""
        return self.stopped_at is not None


class TicketState(NamedTuple):
    """Everything the core remembers about one ticket."""

    ticket_id: str
    priority: str
    customer_id: str | None
    service_id: str | None
    opened_at: int
    in_hours: bool
    response: ClockState
    resolution: ClockState
    paused: bool = False
    resolved: bool = False
    seen: frozenset[str] = frozenset()
    version: int = 0

    def clock(self, metric: str) -> ClockState:
        """Return the clock named ``metric``."""
        return self.response if metric == "response" else self.resolution


@dataclass(frozen=True, slots=True)
class Publish:
    """Effect: publish this record (a JSON-ready dict)."""

    record: dict[str, Any]


@dataclass(frozen=True, slots=True)
class WakeAt:
    """Effect: call ``wake`` for this ticket at ``at_us`` if still at ``version``."""

    ticket_id: str
    at_us: int
    version: int


Effect = Publish | WakeAt


@dataclass(frozen=True, slots=True)
class Decision:
    """The outcome of applying an event or a wake-up."""

    state: TicketState | None
    effects: list[Effect]

    @property
    def records(self) -> list[dict[str, Any]]:
        """The records to publish, in order."""
        return [e.record for e in self.effects if isinstance(e, Publish)]


# -- measuring ---------------------------------------------------------------------


def thresholds_us(target_us: int, warn_at: tuple[Fraction, ...]) -> tuple[int, ...]:
    """Business time at which each level falls due: warnings (rounded up to
    the microsecond, so never early), then the breach."""
    return (*(-((-target_us * f.numerator) // f.denominator) for f in warn_at), target_us)


@functools.lru_cache(maxsize=1 << 16)
def _closed_used(calendar: BusinessCalendar, spans: tuple[Segment, ...]) -> int:
    # A pure memo, built up span by span: a ticket's closed spans grow by one at a time.
    if not spans:
        return 0
    start, end = spans[-1]
    return _closed_used(calendar, spans[:-1]) + (calendar.elapsed(start, end) if end is not None else 0)


def used_us(calendar: BusinessCalendar, segments: tuple[Segment, ...], until_us: int) -> int:
    """Business time used by the spans up to ``until_us``."""
    if all(end is not None and end <= until_us for _, end in segments):
        return _closed_used(calendar, segments)
    return sum(
        calendar.elapsed(start, min(end if end is not None else until_us, until_us))
        for start, end in segments
    )


def fire_times(
    calendar: BusinessCalendar, segments: tuple[Segment, ...], durations: Sequence[int]
) -> list[int | None]:
    """Instant at which the spans reach each business duration (ascending);
    None where a stopped or paused clock never reaches it."""
    running = bool(segments) and segments[-1][1] is None
    closed = segments[:-1] if running else segments
    used = _closed_used(calendar, closed) if closed else 0
    if durations and durations[0] > used:  # every level still ahead: no need to walk the past
        if running:
            return list(calendar.add_many(segments[-1][0], [d - used for d in durations]))
        return [None] * len(durations)
    out: list[int | None] = []
    used = 0
    i = 0
    for start, end in segments:
        if end is None:
            out.extend(calendar.add_many(start, [d - used for d in durations[i:]]))
            return out
        span = calendar.elapsed(start, end)
        while i < len(durations) and durations[i] <= used + span:
            out.append(calendar.add(start, durations[i] - used))
            i += 1
        used += span
    out.extend([None] * (len(durations) - i))
    return out


# -- the state machine -------------------------------------------------------------


def apply_event(
    state: TicketState | None, event: TicketEvent, policy: Policy, now_us: int
) -> Decision:
    """Apply one event at its event time; raise EventRejected when it cannot be."""
    at = to_us(event.occurred_at)
    now = max(now_us, at)
    if state is None:
        if not isinstance(event, TicketOpened):
            raise EventRejected(f"unknown ticket {event.ticket_id!r}: no ticket.opened seen for it")
        return _open(event, policy, at, now)
    if event.event_id in state.seen:
        raise DuplicateEvent(f"duplicate event_id {event.event_id!r}: already applied")
    if isinstance(event, TicketOpened):
        raise EventRejected(
            f"ticket {state.ticket_id!r} already exists"
            + ("; send ticket.reopened to reopen it" if state.resolved else "")
        )
    if at < state.opened_at:
        raise EventRejected(
            f"{event.type} at {format_us(at)} is before the ticket was opened "
            f"({format_us(state.opened_at)})"
        )
    # What fell due before the event would have been published by a timely wake-up.
    effects: list[Effect] = []
    state = _fire_due(state, policy, at, effects, inclusive=False, event_at=None)
    state = state._replace(seen=state.seen | {event.event_id})
    before = state
    state = _transition(state, event, policy, at, effects)
    for metric in METRICS:
        old, new = before.clock(metric), state.clock(metric)
        if not new.stopped and (new.segments is not old.segments or new.priority != old.priority):
            state = _with_clock(state, metric, scheduled(state, policy, metric, new))
    state = _fire_due(state, policy, now, effects, inclusive=True, event_at=at)
    state = state._replace(version=state.version + 1)
    _schedule(state, policy, effects)
    return Decision(state, effects)


def wake(state: TicketState, policy: Policy, now_us: int) -> Decision:
    """Publish what has fallen due by ``now_us`` (most severe only per clock)."""
    effects: list[Effect] = []
    new = _fire_due(state, policy, now_us, effects, inclusive=True, event_at=None)
    if new is not state:
        new = new._replace(version=new.version + 1)
    _schedule(new, policy, effects)
    return Decision(new, effects)


def targets_of(state: TicketState, policy: Policy, metric: str) -> ClockTargets:
    """The targets that apply to one clock of a ticket now."""
    return policy.targets_for(
        state.clock(metric).priority, state.customer_id, state.service_id, state.in_hours
    )


def next_wake(state: TicketState, policy: Policy) -> int | None:
    """The next instant at which an alert of this ticket falls due, if any."""
    best: int | None = None
    for clock in (state.response, state.resolution):
        if clock.stopped or clock.level >= len(clock.due):
            continue
        fire = clock.due[clock.level]
        if fire is not None and (best is None or fire < best):
            best = fire
    return best


def scheduled(state: TicketState, policy: Policy, metric: str, clock: ClockState) -> ClockState:
    """``clock`` with ``due`` computed for its segments and current targets."""
    targets = policy.targets_for(clock.priority, state.customer_id, state.service_id, state.in_hours)
    levels = policy.thresholds(targets.target_us(metric), thresholds_us)
    return clock._replace(due=tuple(fire_times(targets.calendar, clock.segments, levels)))


def rescheduled(state: TicketState, policy: Policy) -> TicketState:
    """Recompute every running clock's schedule, e.g. after loading state under a changed policy."""
    for metric in METRICS:
        clock = state.clock(metric)
        if not clock.stopped:
            state = _with_clock(state, metric, scheduled(state, policy, metric, clock))
    return state


def _open(event: TicketOpened, policy: Policy, at: int, now: int) -> Decision:
    if event.priority not in policy.targets:
        raise EventRejected(
            f"unknown priority {event.priority!r} (the policy defines {', '.join(policy.priorities)})"
        )
    clock = ClockState(priority=event.priority, segments=((at, None),))
    state = TicketState(
        ticket_id=event.ticket_id,
        priority=event.priority,
        customer_id=event.customer_id,
        service_id=event.service_id,
        opened_at=at,
        in_hours=policy.in_hours(at),
        response=clock,
        resolution=clock,
        seen=frozenset((event.event_id,)),
        version=1,
    )
    state = rescheduled(state, policy)
    effects: list[Effect] = []
    state = _fire_due(state, policy, now, effects, inclusive=True, event_at=at)
    _schedule(state, policy, effects)
    return Decision(state, effects)


def _transition(
    state: TicketState, event: TicketEvent, policy: Policy, at: int, effects: list[Effect]
) -> TicketState:
    if isinstance(event, TicketAcknowledged):
        if state.response.stopped:
            return state  # a repeated acknowledgement changes nothing
        return _stop(state, "response", policy, at, effects)
    if isinstance(event, TicketResolved):
        if state.resolved:
            raise EventRejected(f"ticket {state.ticket_id!r} is already resolved")
        if not state.response.stopped:
            state = _stop(state, "response", policy, at, effects)
        state = _stop(state, "resolution", policy, at, effects)
        return state._replace(resolved=True, paused=False)
    if isinstance(event, TicketReopened):
        if not state.resolved:
            raise EventRejected(f"ticket {state.ticket_id!r} is not resolved, so it cannot be reopened")
        clock = state.resolution
        start = max(at, clock.stopped_at or at)
        clock = clock._replace(segments=(*clock.segments, (start, None)), stopped_at=None, priority=state.priority)
        return state._replace(resolution=clock, resolved=False)
    if isinstance(event, TicketPaused):
        if state.resolved:
            raise EventRejected(f"ticket {state.ticket_id!r} is resolved, so it cannot be paused")
        if state.paused:
            raise EventRejected(f"ticket {state.ticket_id!r} is already paused")
        clock = state.resolution
        start, _ = clock.segments[-1]
        segments = (*clock.segments[:-1], (start, max(at, start)))
        return state._replace(resolution=clock._replace(segments=segments), paused=True)
    if isinstance(event, TicketResumed):
        if not state.paused:
            raise EventRejected(f"ticket {state.ticket_id!r} is not paused, so it cannot be resumed")
        clock = state.resolution
        last_end = clock.segments[-1][1] or at
        segments = (*clock.segments, (max(at, last_end), None))
        return state._replace(resolution=clock._replace(segments=segments), paused=False)
    if isinstance(event, TicketPriorityChanged):
        if event.priority not in policy.targets:
            raise EventRejected(
                f"unknown priority {event.priority!r} (the policy defines {', '.join(policy.priorities)})"
            )
        response, resolution = state.response, state.resolution
        if not response.stopped:
            response = response._replace(priority=event.priority)
        if not resolution.stopped:
            resolution = resolution._replace(priority=event.priority)
        return state._replace(priority=event.priority, response=response, resolution=resolution)
    raise EventRejected(f"unsupported event type {event.type!r}")  # pragma: no cover


def _stop(
    state: TicketState, metric: str, policy: Policy, at: int, effects: list[Effect]
) -> TicketState:
    clock = state.clock(metric)
    segments = tuple(
        (start, at if end is None or end > at else end) for start, end in clock.segments if start < at
    ) or ((clock.segments[0][0], clock.segments[0][0]),)
    clock = clock._replace(segments=segments, stopped_at=at, outcomes=clock.outcomes + 1, due=())
    targets = targets_of(state, policy, metric)
    target = targets.target_us(metric)
    used = used_us(targets.calendar, segments, at)
    levels = policy.thresholds(target, thresholds_us)
    # Decided by instants, not by used time: a deadline at closing time is reached then, and a
    # clock stopped later, while the calendar is still closed, has used no more than its target
    # but stopped after its deadline. ``reached`` holds the instant each level fell due, None for
    # levels not reached by ``at``.
    reached = fire_times(targets.calendar, segments, levels)
    met = reached[-1] is None or reached[-1] >= at
    retracts = [
        _alert_id(state.ticket_id, metric, level, policy)
        for level, _ in clock.published
        if (level > len(policy.warn_at) and met) or (level <= len(policy.warn_at) and reached[level - 1] is None)
    ]
    state = _with_clock(state, metric, clock)
    record = _record(state, policy, metric, "outcome", at, clock, targets)
    record["status"] = "met" if met else "breached"
    record["used_seconds"] = used / 1_000_000
    record["target_seconds"] = target / 1_000_000
    if clock.outcomes > 1:
        record["id"] += f":{clock.outcomes}"
    if retracts:
        record["retracts"] = retracts
    effects.append(Publish(record))
    return state


def _fire_due(
    state: TicketState,
    policy: Policy,
    bound: int,
    effects: list[Effect],
    *,
    inclusive: bool,
    event_at: int | None,
) -> TicketState:
    breach = len(policy.warn_at) + 1
    for metric in METRICS:
        clock = state.clock(metric)
        if clock.stopped or clock.level >= breach:
            continue
        due = [
            (level, t)
            for level, t in enumerate(clock.due[clock.level :], start=clock.level + 1)
            if t is not None and (t <= bound if inclusive else t < bound)
        ]
        if not due:
            continue
        level, fire = due[-1]
        at = fire if event_at is None else max(fire, event_at)
        clock = clock._replace(level=level, published=(*clock.published, (level, at)))
        state = _with_clock(state, metric, clock)
        kind = "breach" if level == breach else "warning"
        record = _record(state, policy, metric, kind, at, clock, targets_of(state, policy, metric))
        if kind == "warning":
            record["threshold"] = float(policy.warn_at[level - 1])
        effects.append(Publish(record))
    return state


def _schedule(state: TicketState, policy: Policy, effects: list[Effect]) -> None:
    at = next_wake(state, policy)
    if at is not None:
        effects.append(WakeAt(state.ticket_id, at, state.version))


def _with_clock(state: TicketState, metric: str, clock: ClockState) -> TicketState:
    return state._replace(response=clock) if metric == "response" else state._replace(resolution=clock)


def _alert_id(ticket_id: str, metric: str, level: int, policy: Policy) -> str:
    if level > len(policy.warn_at):
        return f"{ticket_id}:{metric}:breach"
    return f"{ticket_id}:{metric}:warning:{float(policy.warn_at[level - 1])}"


def _record(
    state: TicketState,
    policy: Policy,
    metric: str,
    kind: str,
    at: int,
    clock: ClockState,
    targets: ClockTargets,
) -> dict[str, Any]:
    target = targets.target_us(metric)
    calendar = targets.calendar
    deadline = clock.due[-1] if clock.due and not clock.stopped else fire_times(calendar, clock.segments, [target])[0]
    if deadline is None:  # stopped or paused short of the target: as if it ran on from `at`
        deadline = calendar.add(at, target - used_us(calendar, clock.segments, at))
    if kind == "outcome":
        record_id = f"{state.ticket_id}:{metric}:outcome"
    else:
        level = clock.level
        record_id = _alert_id(state.ticket_id, metric, level, policy)
    record: dict[str, Any] = {
        "type": f"sla.{kind}",
        "id": record_id,
        "schema_version": SCHEMA_VERSION,
        "ticket_id": state.ticket_id,
        "metric": metric,
        "priority": clock.priority,
        "deadline": format_us(deadline, calendar.timezone),
        "at": format_us(at, calendar.timezone),
    }
    if state.customer_id is not None:
        record["customer_id"] = state.customer_id
    if state.service_id is not None:
        record["service_id"] = state.service_id
    return record
