"""The per-ticket SLA clocks: a pure state machine.

Each ticket has two clocks, ``response`` and ``resolution``. A clock is a list
of real-time running spans: the closed ones (``closed``) and, while it runs,
the open one from ``open_start``. Business time used is measured over them in
the calendar of the clock's priority, so a priority change re-measures
everything retroactively. Ordinary events cost the same whatever the ticket's
history: the business time of the closed spans (``used``) and the instants at
which they reached each alert level (``reached``) are kept as running figures,
extended by the one span an event closes; only a change of calendar or levels
(a priority change, a changed policy) measures all spans again, in one loop.

``apply_event`` and ``wake`` take the state, the policy and ``now`` and return
a ``Decision``: the new state plus effects for the shell to carry out —
``Publish`` a record, ``WakeAt`` an instant. Nothing here reads a clock,
a file or the network. They wrap ``apply_into`` and ``wake_into``, the same
decisions without effect objects (records appended to the caller's list, the
new state returned, its next wake-up ``next_wake``), which the replay driver
calls for every event.

Alerts of a clock are numbered by severity: level ``k`` for ``1 <= k <= W``
is the warning at ``warn_at[k-1]``, level ``W+1`` the breach, and level
``W+1+n`` escalation ``n`` (due when the business time used reaches the target
plus the escalation's ``after``). Every level is one threshold of business time
used, ascending (``clock_levels``), so they are all scheduled, folded and
published alike. ``level`` in the state is the most severe alert handled so
far; a less severe one is never published after it (when several fall due at
once only the most severe goes).
"""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from fractions import Fraction
from typing import Any, NamedTuple

from monitor.core.calendar import BusinessCalendar
from monitor.core.errors import EventRejected
from monitor.core.events import (
    TicketAcknowledged,
    TicketEvent,
    TicketOpened,
    TicketPaused,
    TicketPriorityChanged,
    TicketRated,
    TicketReopened,
    TicketResolved,
    TicketResumed,
)
from monitor.core.history import RecentIds, Spans, event_key
from monitor.core.instants import format_us, to_us
from monitor.core.limits import MAX_EVENTS_PER_TICKET
from monitor.core.policy import ClockTargets, Policy

SCHEMA_VERSION = 1
METRICS = ("response", "resolution")

Segment = tuple[int, int | None]


class DuplicateEvent(EventRejected):
    """The event id was applied to this ticket before (one of its last ``DEDUP_WINDOW``)."""


class TicketOverLimit(EventRejected):
    """The ticket has accepted ``MAX_EVENTS_PER_TICKET`` events; only clock stops still count."""


class ClockState(NamedTuple):
    """One SLA clock of a ticket.

    ``used`` is the business time of the ``closed`` spans and ``reached`` the
    instants at which they reached the first alert levels, both measured for
    ``measure`` (a fingerprint of the calendar and levels) over the first
    ``measured`` closed spans. ``due`` caches when each alert level falls due
    (None where a paused clock cannot reach it) for the current spans and
    targets; every change to them recomputes it (see ``scheduled``).
    """

    priority: str
    closed: Spans
    open_start: int | None = None
    stopped_at: int | None = None
    level: int = 0
    published: tuple[tuple[int, int], ...] = ()  # (level, at_us) of published alerts
    outcomes: int = 0
    due: tuple[int | None, ...] = ()
    used: int = 0
    reached: tuple[int, ...] = ()
    measure: str = ""
    measured: int = 0

    @property
    def running(self) -> bool:
        """Tell whether business time is being counted right now (if open)."""
        return self.open_start is not None

    @property
    def stopped(self) -> bool:
        """Tell whether the clock has finished (acknowledged / resolved)."""
        return self.stopped_at is not None

    @property
    def segments(self) -> tuple[Segment, ...]:
        """Every span, the open one last with end None (a copy: for codecs and tests)."""
        spans: tuple[Segment, ...] = tuple(self.closed)
        return (*spans, (self.open_start, None)) if self.open_start is not None else spans

    @property
    def first_start(self) -> int:
        """Start of the clock's first span."""
        return self.closed[0][0] if len(self.closed) else self.open_start  # type: ignore[return-value]


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
    seen: RecentIds = RecentIds()  # digests of the last event ids (see monitor.core.history)
    version: int = 0
    events: int = 0  # accepted events, opened included
    rated: bool = False  # a ticket.rated was accepted (one per ticket)

    def clock(self, metric: str) -> ClockState:
        """Return the clock named ``metric``."""
        return self.response if metric == "response" else self.resolution


def _quick_replace(cls: type[tuple[Any, ...]]) -> None:
    """Give a NamedTuple a ``_replace`` that sets fields by index (about twice as fast as the
    generic one, which maps every field through the keywords): states are replaced several times
    per event. Same results; an unknown field name is a ValueError, as before."""
    index = {name: i for i, name in enumerate(cls._fields)}  # type: ignore[attr-defined]
    new = tuple.__new__

    def _replace(self: tuple[Any, ...], /, **changes: Any) -> tuple[Any, ...]:
        values = list(self)
        try:
            for name, value in changes.items():
                values[index[name]] = value
        except KeyError:
            raise ValueError(f"Got unexpected field names: {[n for n in changes if n not in index]!r}") from None
        return new(cls, values)

    # NamedTuple forbids defining it in the class body, and mypy assigning to a method: setattr.
    setattr(cls, "_replace", _replace)  # noqa: B010


_quick_replace(ClockState)
_quick_replace(TicketState)


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


def clock_levels(policy: Policy, targets: ClockTargets, metric: str) -> tuple[int, ...]:
    """Business time at which each alert level of a clock falls due: the warnings, the breach, then each
    escalation (the target plus its ``after``)."""
    return policy.clock_levels(targets, metric, thresholds_us)


def level_kind(policy: Policy, level: int) -> str:
    """``warning``, ``breach`` or ``escalation`` for an alert level (see the module docstring)."""
    breach = len(policy.warn_at) + 1
    return "warning" if level < breach else "breach" if level == breach else "escalation"


@functools.lru_cache(maxsize=4096)
def fingerprint(calendar: BusinessCalendar, levels: tuple[int, ...]) -> str:
    """A short digest of what business time and alert instants are measured with.

    Stored with a clock's running figures, so a reader under a changed policy
    (other hours, holidays or targets) knows to measure the spans again.
    """
    definition = (
        str(calendar.timezone),
        calendar.always,
        calendar.weekly,
        sorted(calendar.holidays),
        sorted(calendar.workdays.items()),
        levels,
    )
    return hashlib.blake2b(repr(definition).encode(), digest_size=8).hexdigest()


def measure_spans(
    calendar: BusinessCalendar,
    spans: Iterable[tuple[int, int]],
    levels: Sequence[int],
    used: int = 0,
    reached: tuple[int, ...] = (),
) -> tuple[int, tuple[int, ...]]:
    """Extend ``(used, reached)`` over more closed spans, oldest first: the business
    time used, and the instant each level (ascending) was reached, for the levels
    reached so far."""
    out = list(reached)
    i = len(out)
    for start, end in spans:
        span = calendar.elapsed(start, end)
        while i < len(levels) and levels[i] <= used + span:
            out.append(calendar.add(start, levels[i] - used))
            i += 1
        used += span
    return used, tuple(out)


def fire_times(
    calendar: BusinessCalendar, segments: Sequence[Segment], durations: Sequence[int]
) -> list[int | None]:
    """Instant at which the spans reach each business duration (ascending);
    None where a stopped or paused clock never reaches it. Walks every span:
    the reference the running figures of ``ClockState`` agree with."""
    running = bool(segments) and segments[-1][1] is None
    closed = [(s, e) for s, e in (segments[:-1] if running else segments) if e is not None]
    used, reached = measure_spans(calendar, closed, durations)
    rest = durations[len(reached) :]
    if running:
        return [*reached, *calendar.add_many(segments[-1][0], [d - used for d in rest])]
    return [*reached, *([None] * len(rest))]


def used_us(calendar: BusinessCalendar, segments: Sequence[Segment], until_us: int) -> int:
    """Business time used by the spans up to ``until_us`` (walks every span)."""
    return sum(
        calendar.elapsed(start, min(end if end is not None else until_us, until_us))
        for start, end in segments
    )


def _figures(
    clock: ClockState,
    calendar: BusinessCalendar,
    levels: tuple[int, ...],
    closed: Spans | None = None,
    measure: str | None = None,
) -> tuple[int, tuple[int, ...], str]:
    """``(used, reached, measure)`` of all the clock's closed spans (or of ``closed``, the clock's spans
    with more appended) under these levels (no new state); ``measure`` is their fingerprint, if known."""
    if measure is None:
        measure = fingerprint(calendar, levels)
    if closed is None:
        closed = clock.closed
    if clock.measure == measure:
        if clock.measured == len(closed):
            return clock.used, clock.reached, measure
        if clock.measured < len(closed):
            # The usual case: the event closed one span; only it is measured.
            used, reached = measure_spans(calendar, closed.since(clock.measured), levels, clock.used, clock.reached)
            return used, reached, measure
    # another calendar or levels (a priority change, a changed policy): all spans again
    used, reached = measure_spans(calendar, closed, levels)
    return used, reached, measure


def used_until(clock: ClockState, calendar: BusinessCalendar, at: int) -> int:
    """Business time used up to ``at`` (closed spans ending after it are cut there); walks back only over
    spans ending after it."""
    used, closed = clock.used, clock.closed
    i = len(closed)
    while i and closed[i - 1][1] > at:
        i -= 1
        start, end = closed[i]
        used -= calendar.elapsed(max(start, at), end)
    if clock.open_start is not None:
        used += calendar.elapsed(clock.open_start, at)
    return used


# -- the state machine -------------------------------------------------------------


def apply_event(
    state: TicketState | None,
    event: TicketEvent,
    policy: Policy,
    now_us: int,
    fold_before_us: int | None = None,
) -> Decision:
    """Apply one event at its event time; raise EventRejected when it cannot be.

    ``fold_before_us`` as for ``wake``: levels that fell due, before the event or after
    it, by ``now_us`` are each published when due at or after it; levels due before
    it (or, reached late by the event itself, at or before its instant) fold.
    """
    out: list[dict[str, Any]] = []
    new = apply_into(state, event, policy, now_us, out, fold_before_us)
    return _decision(new, policy, out)


def _decision(state: TicketState, policy: Policy, out: list[dict[str, Any]]) -> Decision:
    """The public form of a fast path's result: its records as ``Publish`` effects, then the wake-up."""
    effects: list[Effect] = [Publish(record) for record in out]
    at = next_wake(state, policy)
    if at is not None:
        effects.append(WakeAt(state.ticket_id, at, state.version))
    return Decision(state, effects)


def apply_into(
    state: TicketState | None,
    event: TicketEvent,
    policy: Policy,
    now_us: int,
    out: list[dict[str, Any]],
    fold_before_us: int | None = None,
) -> TicketState:
    """``apply_event`` without effect objects, for drivers that take many events (replay): the records
    are appended to ``out`` and the new state returned; its next wake-up is ``next_wake`` of it.

    Raises EventRejected as ``apply_event`` does; the state is then unchanged and whatever was appended
    to ``out`` meanwhile (levels due before the event) must be discarded with the event.
    """
    at = to_us(event.occurred_at)
    now = max(now_us, at)
    if state is None:
        if not isinstance(event, TicketOpened):
            raise EventRejected(f"unknown ticket {event.ticket_id!r}: no ticket.opened seen for it")
        return _open(event, policy, at, now, out, fold_before_us)
    key = event_key(event.event_id)
    if key in state.seen:
        raise DuplicateEvent(f"duplicate event_id {event.event_id!r}: already applied")
    transition = _TRANSITIONS.get(type(event))
    if transition is None:
        transition = _transition_of(event)
    if transition is None:
        raise EventRejected(
            f"ticket {state.ticket_id!r} already exists"
            + ("; send ticket.reopened to reopen it" if state.resolved else "")
        )
    if at < state.opened_at:
        raise EventRejected(
            f"{event.type} at {format_us(at)} is before the ticket was opened "
            f"({format_us(state.opened_at)})"
        )
    if state.events >= MAX_EVENTS_PER_TICKET and not _stops_a_clock(state, event):
        raise TicketOverLimit(
            f"ticket over limit: ticket {state.ticket_id!r} has accepted {state.events} events, the most "
            f"per ticket ({MAX_EVENTS_PER_TICKET}); only ticket.acknowledged and ticket.resolved are "
            "still accepted, and its clocks keep their deadlines"
        )
    # What fell due before the event would have been published by a timely wake-up.
    if _clocks_fall_due(state.response, state.resolution, at, inclusive=False):
        state = _fire_due(state, policy, at, out, inclusive=False, event_at=None, fold_before=fold_before_us)
    move = _MOVES.get(transition)
    if move is not None:
        # A pause or a resume (most events): only the resolution clock's spans change, so its new spans,
        # its schedule, the pause flag, the id, the count and the version go into two new states.
        closed, open_start, paused = move(state, at)
        clock = state.resolution
        resolution = clock
        if clock.stopped_at is None and (closed is not clock.closed or open_start != clock.open_start):
            resolution = _scheduled_with(state, policy, "resolution", clock, closed, open_start)
        elif closed is not clock.closed or open_start != clock.open_start:
            resolution = clock._replace(closed=closed, open_start=open_start)  # pragma: no cover (a running clock)
        seen, events, version = state.seen.added(key), state.events + 1, state.version + 1
        if _clocks_fall_due(state.response, resolution, now, inclusive=True):
            state = state._replace(resolution=resolution, paused=paused)
            state = _fire_due(state, policy, now, out, inclusive=True, event_at=at,
                              fold_before=_after_event(fold_before_us, at))
            return state._replace(seen=seen, events=events, version=version)
        return state._replace(resolution=resolution, paused=paused, seen=seen, events=events, version=version)
    old_response, old_resolution = state.response, state.resolution
    state = transition(state, event, policy, at, out)
    response, resolution = state.response, state.resolution
    if response.stopped_at is None and (
        response.closed is not old_response.closed
        or response.open_start != old_response.open_start
        or response.priority != old_response.priority
    ):
        response = scheduled(state, policy, "response", response)
    if resolution.stopped_at is None and (
        resolution.closed is not old_resolution.closed
        or resolution.open_start != old_resolution.open_start
        or resolution.priority != old_resolution.priority
    ):
        resolution = scheduled(state, policy, "resolution", resolution)
    seen, events, version = state.seen.added(key), state.events + 1, state.version + 1
    if _clocks_fall_due(response, resolution, now, inclusive=True):
        state = state._replace(response=response, resolution=resolution)  # both clocks in one new state
        state = _fire_due(state, policy, now, out, inclusive=True, event_at=at,
                          fold_before=_after_event(fold_before_us, at))
        # The id, the count and the version in one new state (nothing above reads them).
        return state._replace(seen=seen, events=events, version=version)
    # The usual case: the clocks, the id, the count and the version in one new state.
    return state._replace(response=response, resolution=resolution, seen=seen, events=events, version=version)


def _clocks_fall_due(response: ClockState, resolution: ClockState, bound: int, *, inclusive: bool) -> bool:
    """``_falls_due`` of a state with these clocks."""
    for clock in (response, resolution):
        if clock.stopped_at is None and clock.level < len(clock.due):
            fire = clock.due[clock.level]
            if fire is not None and (fire <= bound if inclusive else fire < bound):
                return True
    return False


def _falls_due(state: TicketState, bound: int, *, inclusive: bool) -> bool:
    """Tell whether ``_fire_due`` up to ``bound`` has anything to publish (most events: no).

    A running clock's ``due`` is ascending with None only at its end (``scheduled`` builds it
    so), so its next level ``due[level]`` decides; a stopped clock publishes nothing.
    """
    for clock in (state.response, state.resolution):
        if clock.stopped_at is None and clock.level < len(clock.due):
            fire = clock.due[clock.level]
            if fire is not None and (fire <= bound if inclusive else fire < bound):
                return True
    return False


def _stops_a_clock(state: TicketState, event: TicketEvent) -> bool:
    """Tell whether the event stops a running clock (accepted even past the events limit)."""
    if isinstance(event, TicketAcknowledged):
        return not state.response.stopped
    return isinstance(event, TicketResolved) and not state.resolved


def wake(state: TicketState, policy: Policy, now_us: int, fold_before_us: int | None = None) -> Decision:
    """Publish what has fallen due by ``now_us``.

    Per clock, the levels due before ``fold_before_us`` (nobody watched: an outage)
    fold into the most severe of them; each level due at or after it goes out on its
    own, at its own instant, in order (a worker that was merely busy skips none).
    ``None`` folds everything due by ``now_us`` (replay wakes at each due instant).
    """
    out: list[dict[str, Any]] = []
    return _decision(wake_into(state, policy, now_us, out, fold_before_us), policy, out)


def wake_into(
    state: TicketState, policy: Policy, now_us: int, out: list[dict[str, Any]], fold_before_us: int | None = None
) -> TicketState:
    """``wake`` without effect objects (see ``apply_into``): the records appended to ``out``, the new
    state returned."""
    new = _fire_due(state, policy, now_us, out, inclusive=True, event_at=None, fold_before=fold_before_us)
    if new is not state:
        new = new._replace(version=new.version + 1)
    return new


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


def _plan(policy: Policy, targets: ClockTargets, metric: str) -> tuple[int, tuple[int, ...], str]:
    """``(target, clock_levels, fingerprint)`` of one clock under these targets, kept with them."""
    plan = targets.plans.get(metric)
    if plan is None:
        levels = clock_levels(policy, targets, metric)
        plan = targets.plans[metric] = (targets.target_us(metric), levels, fingerprint(targets.calendar, levels))
    return plan


def scheduled(state: TicketState, policy: Policy, metric: str, clock: ClockState) -> ClockState:
    """``clock`` with ``due`` computed for its segments and current targets."""
    return _scheduled_with(state, policy, metric, clock, clock.closed, clock.open_start)


def _scheduled_with(
    state: TicketState, policy: Policy, metric: str, clock: ClockState, closed: Spans, open_start: int | None
) -> ClockState:
    """``scheduled`` of ``clock`` with these spans (what a pause or resume makes of it), in one new state."""
    targets = policy.targets_for(clock.priority, state.customer_id, state.service_id, state.in_hours)
    _, levels, measure = _plan(policy, targets, metric)
    calendar = targets.calendar
    count = len(closed)
    if clock.measure == measure and clock.measured == count:
        used, reached = clock.used, clock.reached  # nothing closed since: the running figures stand
    elif not count:
        used, reached = 0, ()  # no closed span yet (a new clock): nothing to measure
    else:
        used, reached, measure = _figures(clock, calendar, levels, closed, measure)
    rest = levels[len(reached) :]
    if open_start is None:
        due: tuple[int | None, ...] = (*reached, *([None] * len(rest)))
    else:
        due = (*reached, *calendar.add_many(open_start, [d - used for d in rest]))
    # One new state for the spans, the figures and the schedule together.
    return clock._replace(
        closed=closed, open_start=open_start, due=due, used=used, reached=reached, measure=measure, measured=count
    )


def rescheduled(state: TicketState, policy: Policy) -> TicketState:
    """Every running clock with the schedule ``scheduled`` gives it under ``policy``, e.g. after loading state:
    a stored schedule that still stands is kept (``schedule_stands``), the others are computed again."""
    for metric in METRICS:
        clock = state.clock(metric)
        if not clock.stopped and not schedule_stands(state, policy, metric, clock):
            state = _with_clock(state, metric, scheduled(state, policy, metric, clock))
    return state


def schedule_stands(state: TicketState, policy: Policy, metric: str, clock: ClockState) -> bool:
    """Whether ``clock.due`` is what ``scheduled`` would compute under ``policy``: it is one instant (or None)
    per level the policy now gives the clock, and the clock's figures were measured over all its closed spans
    with the calendar and levels the policy gives it now (the same fingerprint). ``scheduled`` derives the
    schedule from exactly those figures, the open span's start and that calendar, all stored with it."""
    if not clock.due or clock.measured != len(clock.closed):
        return False
    return plan_stands(policy, metric, clock.priority, state.customer_id, state.service_id, state.in_hours,
                       clock.measure, len(clock.due))


def plan_stands(policy: Policy, metric: str, priority: str, customer_id: str | None, service_id: str | None,
                in_hours: bool, measure: str, levels: int) -> bool:
    """Whether ``policy`` gives a clock of ``metric`` (of a ticket with these fields) the calendar and levels
    fingerprinted ``measure``, ``levels`` of them (``schedule_stands`` of a stored schedule)."""
    targets = policy.targets_for(priority, customer_id, service_id, in_hours)
    _, plan_levels, plan_measure = _plan(policy, targets, metric)
    return measure == plan_measure and levels == len(plan_levels)


def _after_event(fold_before: int | None, at: int) -> int | None:
    """Levels an event reaches by its own instant fold (event time), whatever the worker did."""
    return None if fold_before is None else max(fold_before, at + 1)


def _open(
    event: TicketOpened, policy: Policy, at: int, now: int, out: list[dict[str, Any]], fold_before: int | None = None
) -> TicketState:
    if event.priority not in policy.targets:
        raise EventRejected(
            f"unknown priority {event.priority!r} (the policy defines {', '.join(policy.priorities)})"
        )
    clock = ClockState(priority=event.priority, closed=Spans(), open_start=at)
    state = TicketState(
        ticket_id=event.ticket_id,
        priority=event.priority,
        customer_id=event.customer_id,
        service_id=event.service_id,
        opened_at=at,
        in_hours=policy.in_hours(at),
        response=clock,
        resolution=clock,
        seen=RecentIds().added(event_key(event.event_id)),
        version=1,
        events=1,
    )
    state = state._replace(
        response=scheduled(state, policy, "response", clock), resolution=scheduled(state, policy, "resolution", clock)
    )
    if _falls_due(state, now, inclusive=True):
        state = _fire_due(state, policy, now, out, inclusive=True, event_at=at,
                          fold_before=_after_event(fold_before, at))
    return state


_Transition = Callable[[TicketState, Any, Policy, int, list[dict[str, Any]]], TicketState]


def _acknowledged(
    state: TicketState, event: TicketAcknowledged, policy: Policy, at: int, out: list[dict[str, Any]]
) -> TicketState:
    if state.response.stopped_at is not None:
        return state  # a repeated acknowledgement changes nothing
    return _stop(state, "response", policy, at, out)


def _resolved(
    state: TicketState, event: TicketResolved, policy: Policy, at: int, out: list[dict[str, Any]]
) -> TicketState:
    if state.resolved:
        raise EventRejected(f"ticket {state.ticket_id!r} is already resolved")
    if state.response.stopped_at is None:
        state = _stop(state, "response", policy, at, out)
    state = _stop(state, "resolution", policy, at, out)
    return state._replace(resolved=True, paused=False)


def _reopened(
    state: TicketState, event: TicketReopened, policy: Policy, at: int, out: list[dict[str, Any]]
) -> TicketState:
    if not state.resolved:
        raise EventRejected(f"ticket {state.ticket_id!r} is not resolved, so it cannot be reopened")
    clock = state.resolution
    start = max(at, clock.stopped_at or at)
    clock = clock._replace(open_start=start, stopped_at=None, priority=state.priority)
    return state._replace(resolution=clock, resolved=False)


def _pause_spans(state: TicketState, at: int) -> tuple[Spans, int | None, bool]:
    """The resolution clock's ``(closed, open_start)`` after a pause at ``at``, and the pause flag."""
    if state.resolved:
        raise EventRejected(f"ticket {state.ticket_id!r} is resolved, so it cannot be paused")
    if state.paused:
        raise EventRejected(f"ticket {state.ticket_id!r} is already paused")
    clock = state.resolution
    # Not resolved and not paused: the resolution clock runs.
    running_from = clock.open_start if clock.open_start is not None else at
    return clock.closed.appended((running_from, max(at, running_from))), None, True


def _resume_spans(state: TicketState, at: int) -> tuple[Spans, int | None, bool]:
    """The resolution clock's ``(closed, open_start)`` after a resume at ``at``, and the pause flag."""
    if not state.paused:
        raise EventRejected(f"ticket {state.ticket_id!r} is not paused, so it cannot be resumed")
    closed = state.resolution.closed
    last_end = closed[-1][1] if len(closed) else at
    return closed, max(at, last_end), False


def _paused(
    state: TicketState, event: TicketPaused, policy: Policy, at: int, out: list[dict[str, Any]]
) -> TicketState:
    closed, open_start, paused = _pause_spans(state, at)
    return state._replace(resolution=state.resolution._replace(closed=closed, open_start=open_start), paused=paused)


def _resumed(
    state: TicketState, event: TicketResumed, policy: Policy, at: int, out: list[dict[str, Any]]
) -> TicketState:
    _, open_start, paused = _resume_spans(state, at)
    return state._replace(resolution=state.resolution._replace(open_start=open_start), paused=paused)


def _priority_changed(
    state: TicketState, event: TicketPriorityChanged, policy: Policy, at: int, out: list[dict[str, Any]]
) -> TicketState:
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


def _rated(
    state: TicketState, event: TicketRated, policy: Policy, at: int, out: list[dict[str, Any]]
) -> TicketState:
    if state.resolution.outcomes == 0:
        raise EventRejected(f"ticket {state.ticket_id!r} has not been resolved yet, so it cannot be rated")
    if state.rated:
        raise EventRejected(f"ticket {state.ticket_id!r} already rated")
    out.append(_rating(state, policy, event.score, at))
    return state._replace(rated=True)


def _unsupported(
    state: TicketState, event: TicketEvent, policy: Policy, at: int, out: list[dict[str, Any]]
) -> TicketState:
    raise EventRejected(f"unsupported event type {event.type!r}")  # pragma: no cover


# What each event type does to an existing ticket, looked up by the event's class (one dict look-up
# instead of a chain of instance checks against pydantic classes). ``ticket.opened`` has none.
_TRANSITIONS: dict[type, _Transition] = {
    TicketAcknowledged: _acknowledged,
    TicketResolved: _resolved,
    TicketReopened: _reopened,
    TicketPaused: _paused,
    TicketResumed: _resumed,
    TicketPriorityChanged: _priority_changed,
    TicketRated: _rated,
}


# The transitions that only move the resolution clock's spans, by what computes the new spans
# (``apply_into`` schedules and stores them in one step).
_MOVES: dict[_Transition, Callable[[TicketState, int], tuple[Spans, int | None, bool]]] = {
    _paused: _pause_spans,
    _resumed: _resume_spans,
}


def _transition_of(event: TicketEvent) -> _Transition | None:
    """The transition of an event whose class is not in ``_TRANSITIONS`` (a subclass): None for an
    opening."""
    if isinstance(event, TicketOpened):
        return None
    for cls, transition in _TRANSITIONS.items():
        if isinstance(event, cls):
            return transition
    return _unsupported


def _transition(
    state: TicketState, event: TicketEvent, policy: Policy, at: int, out: list[dict[str, Any]]
) -> TicketState:
    """Apply an event's own change to an existing ticket (no scheduling, no due levels)."""
    transition = _TRANSITIONS.get(type(event)) or _transition_of(event) or _unsupported
    return transition(state, event, policy, at, out)


def _rating(state: TicketState, policy: Policy, score: int, at: int) -> dict[str, Any]:
    """The ``sla.rating`` record of a customer's rating, at its event time in the resolution calendar's zone."""
    zone = targets_of(state, policy, "resolution").calendar.timezone
    record: dict[str, Any] = {"type": "sla.rating", "id": f"{state.ticket_id}:rating",
                              "schema_version": SCHEMA_VERSION, "ticket_id": state.ticket_id}
    if state.customer_id is not None:
        record["customer_id"] = state.customer_id
    if state.service_id is not None:
        record["service_id"] = state.service_id
    record["score"] = score
    record["at"] = format_us(at, zone)
    return record


def _stop(
    state: TicketState, metric: str, policy: Policy, at: int, out: list[dict[str, Any]]
) -> TicketState:
    targets = targets_of(state, policy, metric)
    calendar = targets.calendar
    target, levels, measure = _plan(policy, targets, metric)
    clock = state.clock(metric)
    used, reached, measure = _figures(clock, calendar, levels, None, measure)
    # Spans after the stop instant (an event that arrived late) no longer count: drop or clip
    # them, taking their business time off the running figure.
    closed = clock.closed
    keep = len(closed)
    while keep and closed[keep - 1][0] >= at:
        keep -= 1
        used -= calendar.elapsed(*closed[keep])
    clipped = None
    if keep and closed[keep - 1][1] > at:
        keep -= 1
        start, end = closed[keep]
        used -= calendar.elapsed(at, end)
        clipped = (start, at)
    # The deadline a running clock was scheduled for (``due`` of the target level) stands when the stop
    # drops no span: business time from ``open_start`` to it is what is left from ``at`` to it.
    scheduled_deadline = None
    if keep == len(closed) and clock.open_start is not None and clock.open_start < at and (
        clock.measure == measure and clock.measured == keep and len(clock.due) > len(policy.warn_at)
    ):
        scheduled_deadline = clock.due[len(policy.warn_at)]
    if keep != len(closed):
        spans = closed.head(keep)
        # A level reached by the instant ``at`` was reached at the same instant without the later spans.
        reached = tuple(t for t, level in zip(reached, levels, strict=False) if level <= used)
    else:
        spans = closed  # nothing dropped: every level reached stays reached
    if clipped is not None:
        spans = spans.appended(clipped)
    if clock.open_start is not None and clock.open_start < at:
        spans = spans.appended((clock.open_start, at))
        used, reached = measure_spans(calendar, [(clock.open_start, at)], levels, used, reached)
    if not len(spans):
        spans = Spans().appended((clock.first_start, clock.first_start))
    clock = clock._replace(
        closed=spans, open_start=None, stopped_at=at, outcomes=clock.outcomes + 1, due=(),
        used=used, reached=reached, measure=measure, measured=len(spans),
    )
    # Decided by instants, not by used time: a deadline at closing time is reached then, and a
    # clock stopped later, while the calendar is still closed, has used no more than its target
    # but stopped after its deadline. ``fell_due`` holds the instant each level fell due, None for
    # levels not reached by ``at``.
    fell_due: list[int | None] = [*reached, *([None] * (len(levels) - len(reached)))]
    warnings = len(policy.warn_at)
    breached_at = fell_due[warnings]
    met = breached_at is None or breached_at >= at
    retracts = [
        _alert_id(state.ticket_id, metric, level, policy)
        for level, _ in clock.published
        if (level <= warnings and fell_due[level - 1] is None) or (level > warnings and not _overdue(fell_due, level, at))
    ]
    state = _with_clock(state, metric, clock)
    if breached_at is not None:
        deadline = breached_at
    elif scheduled_deadline is not None:
        deadline = scheduled_deadline
    else:
        deadline = calendar.add(at, target - used)
    record = _record(state, policy, metric, "outcome", at, clock, targets, deadline)
    record["status"] = "met" if met else "breached"
    record["used_seconds"] = used / 1_000_000
    record["target_seconds"] = target / 1_000_000
    if clock.outcomes > 1:
        record["id"] += f":{clock.outcomes}"
    if retracts:
        record["retracts"] = retracts
    out.append(record)
    return state


def _overdue(fell_due: Sequence[int | None], level: int, at: int) -> bool:
    """Tell whether a clock stopped at ``at`` had passed the breach or escalation ``level`` before it stopped
    (a level the final targets do not have was never due)."""
    due = fell_due[level - 1] if level <= len(fell_due) else None
    return due is not None and due < at


def _fire_due(
    state: TicketState,
    policy: Policy,
    bound: int,
    out: list[dict[str, Any]],
    *,
    inclusive: bool,
    event_at: int | None,
    fold_before: int | None = None,
) -> TicketState:
    for metric in METRICS:
        clock = state.clock(metric)
        if clock.stopped or clock.level >= len(clock.due):
            continue
        due = [
            (level, t)
            for level, t in enumerate(clock.due[clock.level :], start=clock.level + 1)
            if t is not None and (t <= bound if inclusive else t < bound)
        ]
        for level, fire in _published_levels(due, fold_before):
            state = _publish_level(state, policy, metric, level, fire, event_at, out)
    return state


def _published_levels(due: list[tuple[int, int]], fold_before: int | None) -> list[tuple[int, int]]:
    """Of the due ``(level, instant)`` pairs in order, those that go out: the most severe of those due
    before ``fold_before`` (all of them when None), then the most severe of each later instant."""
    if not due:
        return []
    if fold_before is None:
        return due[-1:]
    out: list[tuple[int, int]] = []
    for i, (level, fire) in enumerate(due):
        following = due[i + 1][1] if i + 1 < len(due) else None
        if following is None or (fire >= fold_before and following != fire) or (fire < fold_before <= following):
            out.append((level, fire))
    return out


def _publish_level(
    state: TicketState, policy: Policy, metric: str, level: int, fire: int, event_at: int | None,
    out: list[dict[str, Any]],
) -> TicketState:
    warnings = len(policy.warn_at)
    clock = state.clock(metric)
    at = fire if event_at is None else max(fire, event_at)
    clock = clock._replace(level=level, published=(*clock.published, (level, at)))
    state = _with_clock(state, metric, clock)
    kind = level_kind(policy, level)
    targets = targets_of(state, policy, metric)
    deadline = clock.due[warnings] if len(clock.due) > warnings else None
    if deadline is None:  # paused short of the target: as if it ran on from `at`
        target = targets.target_us(metric)
        deadline = targets.calendar.add(at, target - used_until(clock, targets.calendar, at))
    record = _record(state, policy, metric, kind, at, clock, targets, deadline)
    if kind == "warning":
        record["threshold"] = policy.warn_float(level)
    elif kind == "escalation":
        n = level - warnings - 1
        record["level"] = n
        record["to"] = targets.escalations[n - 1].to
    out.append(record)
    return state


def _with_clock(state: TicketState, metric: str, clock: ClockState) -> TicketState:
    return state._replace(response=clock) if metric == "response" else state._replace(resolution=clock)


def _alert_id(ticket_id: str, metric: str, level: int, policy: Policy) -> str:
    warnings = len(policy.warn_at)
    if level > warnings + 1:
        return f"{ticket_id}:{metric}:escalation:{level - warnings - 1}"
    if level == warnings + 1:
        return f"{ticket_id}:{metric}:breach"
    return f"{ticket_id}:{metric}:warning:{policy.warn_float(level)}"


def _record(
    state: TicketState,
    policy: Policy,
    metric: str,
    kind: str,
    at: int,
    clock: ClockState,
    targets: ClockTargets,
    deadline: int,
) -> dict[str, Any]:
    calendar = targets.calendar
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
