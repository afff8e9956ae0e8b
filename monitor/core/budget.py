"""Service availability and error budgets: a pure state machine.

A service's state holds each probe location's latest result. The service is
**down** while more than half of its locations' latest results are failures
(before its first result it is unknown, which is not down). The period is a
calendar month in the service's time zone; its error budget is
``(1 - target) x period length``, computed in exact decimals and rounded up to
the microsecond. While the service is down, budget is used second by second
except inside maintenance windows announced at least ``min_notice`` before
they start. Warnings fire at each ``warn_at`` fraction of the budget and the
breach at the instant it is exhausted, at most once each per period (most
severe only when several fall due at once, as for tickets); the period's
outcome comes at its end, and the budget resets.

A service keeps at most ``MAX_PROBES_PER_SERVICE`` (64) probe locations and
``MAX_WINDOWS_PER_SERVICE`` (64) maintenance windows (those not ended before
the current period); a new location or window beyond is refused with a reason
starting ``service over limit``.

Downtime is accounted up to ``accounted``, the service's own event time. A
result older than that (another location ran ahead) takes effect at
``accounted``: the past is never rewritten, so a published alert stays true.
"""

from __future__ import annotations

import bisect
import functools
from dataclasses import dataclass
from datetime import date, datetime
from decimal import ROUND_CEILING, Decimal
from typing import Any, NamedTuple
from zoneinfo import ZoneInfo

from monitor.core.calendar import merge_spans
from monitor.core.clock import DuplicateEvent, Publish, thresholds_us
from monitor.core.errors import EventRejected
from monitor.core.events import ProbeResult, ServiceEvent
from monitor.core.instants import US_PER_SECOND, format_us, from_us, to_us
from monitor.core.limits import MAX_PROBES_PER_SERVICE, MAX_WINDOWS_PER_SERVICE
from monitor.core.policy import Policy, ServiceTarget

SCHEMA_VERSION = 1
METRIC = "availability"
MAX_AHEAD_US = 300 * US_PER_SECOND  # live: results dated further ahead of the worker's clock are refused


class Window(NamedTuple):
    """A maintenance window ``[start, end)`` announced at ``announced``."""

    event_id: str
    start: int
    end: int
    announced: int
    counts_from: int  # the window excludes nothing before this (service time when it arrived)


class ServiceState(NamedTuple):
    """Everything the core remembers about one service."""

    service_id: str
    period_start: int
    accounted: int  # downtime is accounted up to this instant
    probes: tuple[tuple[str, bool, int], ...] = ()  # (probe_id, ok, at) by probe id
    used: int = 0  # downtime counted in the current period, up to ``accounted``
    total: int = 0  # downtime counted since the service was first seen
    level: int = 0  # most severe alert of the period: 1..W warnings, W+1 breach
    published: tuple[tuple[int, int], ...] = ()  # (level, at) this period
    windows: tuple[Window, ...] = ()
    version: int = 0

    @property
    def down(self) -> bool:
        """Tell whether most probe locations report failure."""
        failing = sum(1 for _, ok, _ in self.probes if not ok)
        return failing * 2 > len(self.probes)

    @property
    def condition(self) -> str:
        """``up``, ``down`` or ``unknown`` (no result yet)."""
        if not self.probes:
            return "unknown"
        return "down" if self.down else "up"

    @property
    def last_probe(self) -> int | None:
        """Event time of the newest probe result."""
        return max((at for _, _, at in self.probes), default=None)


@dataclass(frozen=True, slots=True)
class WakeServiceAt:
    """Effect: call ``wake_service`` at ``at_us`` if the service is still at ``version``."""

    service_id: str
    at_us: int
    version: int


@dataclass(frozen=True, slots=True)
class Decision:
    """The new state of a service and what the shell must do."""

    state: ServiceState
    effects: list[Publish | WakeServiceAt]

    @property
    def records(self) -> list[dict[str, Any]]:
        """The records to publish, in order."""
        return [e.record for e in self.effects if isinstance(e, Publish)]


# -- periods -------------------------------------------------------------------------


@functools.lru_cache(maxsize=4096)
def month_start(zone: ZoneInfo, year: int, month: int) -> int:
    """The first instant whose local date in ``zone`` is the 1st of the month."""
    naive = datetime(year, month, 1)  # noqa: DTZ001 - a wall-clock time, given a zone below
    early, late = sorted(to_us(naive.replace(tzinfo=zone, fold=f)) for f in (0, 1))
    if from_us(early, zone).replace(tzinfo=None) == naive:
        return early  # midnight exists (the first of two, when repeated)
    # Midnight falls in a gap: find the transition, the first instant of the date.
    target = date(year, month, 1)
    lo, hi = early // US_PER_SECOND, -(-late // US_PER_SECOND)
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if from_us(mid * US_PER_SECOND, zone).date() >= target:
            hi = mid
        else:
            lo = mid
    return hi * US_PER_SECOND


def period_of(zone: ZoneInfo, at_us: int) -> tuple[int, int]:
    """``(start, end)`` of the calendar month in ``zone`` holding ``at_us``."""
    day = from_us(at_us, zone).date()
    start = month_start(zone, day.year, day.month)
    if at_us < start:  # a repeated midnight: the instant still belongs to the month before
        year, month = (day.year, day.month - 1) if day.month > 1 else (day.year - 1, 12)
        return month_start(zone, year, month), start
    year, month = (day.year, day.month + 1) if day.month < 12 else (day.year + 1, 1)
    return start, month_start(zone, year, month)


def period_label(zone: ZoneInfo, period_start: int) -> str:
    """``YYYY-MM`` of the period starting at ``period_start``."""
    return from_us(period_start, zone).strftime("%Y-%m")


def budget_us(target: ServiceTarget, period_us: int) -> int:
    """Error budget of a period, exact, rounded up to the microsecond."""
    budget = (1 - target.objective) * period_us
    return int(budget.to_integral_value(rounding=ROUND_CEILING))


# -- maintenance ------------------------------------------------------------------------


def excluded(windows: tuple[Window, ...], policy: Policy) -> list[tuple[int, int]]:
    """Merged spans in which downtime does not count (windows announced in time)."""
    spans = sorted(
        (max(w.start, w.counts_from), w.end)
        for w in windows
        if w.start - w.announced >= policy.min_notice_us and w.end > max(w.start, w.counts_from)
    )
    return merge_spans(spans)


def counted(spans: list[tuple[int, int]], start: int, end: int) -> int:
    """Time in ``[start, end)`` outside the excluded spans."""
    total = end - start
    for lo, hi in spans:
        overlap = min(hi, end) - max(lo, start)
        if overlap > 0:
            total -= overlap
    return max(total, 0)


def reach(spans: list[tuple[int, int]], start: int, amount: int) -> int:
    """The first instant ``t >= start`` with ``counted(start, t) == amount``."""
    at = start
    i = bisect.bisect_right(spans, (start, start))
    if i and spans[i - 1][1] > at:
        i -= 1
    for lo, hi in spans[i:]:
        lo = max(lo, at)
        if lo - at >= amount:
            break
        amount -= lo - at
        at = max(hi, at)
    return at + amount


# -- the state machine -------------------------------------------------------------------


def target_of(service_id: str, policy: Policy) -> ServiceTarget:
    """The policy's target for a service; EventRejected when it has none."""
    target = policy.services.get(service_id)
    if target is None:
        known = ", ".join(sorted(policy.services)) or "none"
        raise EventRejected(f"unknown service {service_id!r} (the policy's services: {known})")
    return target


def apply_service_event(
    state: ServiceState | None, event: ServiceEvent, policy: Policy, now_us: int | None = None
) -> Decision:
    """Apply a probe result or a maintenance announcement; raise EventRejected if it cannot be.

    ``now_us`` is the live worker's clock: an event dated more than five minutes after it
    is refused, since accounting up to it would push the service's time into the future.
    """
    target = target_of(event.service_id, policy)
    at = to_us(event.occurred_at)
    if now_us is not None and at > now_us + MAX_AHEAD_US:
        raise EventRejected(
            f"occurred_at {format_us(at)} is more than {MAX_AHEAD_US // US_PER_SECOND} s ahead of the "
            f"worker's clock ({format_us(now_us)}); check the sender's clock"
        )
    if state is None:
        start, _ = period_of(target.timezone, at)
        state = ServiceState(event.service_id, period_start=start, accounted=at)
    effects: list[Publish | WakeServiceAt] = []
    if isinstance(event, ProbeResult):
        _check_probe(state, event, at)
    elif any(w.event_id == event.event_id for w in state.windows):
        raise DuplicateEvent(f"duplicate event_id {event.event_id!r}: already applied")
    now = max(at, state.accounted)
    state = advance(state, policy, now, effects)
    _check_bounds(state, event)
    if isinstance(event, ProbeResult):
        probes = {p: (ok, t) for p, ok, t in state.probes}
        probes[event.probe_id] = (event.ok, at)
        state = state._replace(probes=tuple((p, ok, t) for p, (ok, t) in sorted(probes.items())))
    else:
        window = Window(event.event_id, to_us(event.starts_at), to_us(event.ends_at), at, now)
        state = state._replace(windows=(*state.windows, window))
    state = state._replace(version=state.version + 1)
    effects.append(WakeServiceAt(state.service_id, next_wake(state, policy), state.version))
    return Decision(state, effects)


def wake_service(state: ServiceState, policy: Policy, until_us: int) -> Decision:
    """Account downtime up to ``until_us`` and publish what fell due by then."""
    effects: list[Publish | WakeServiceAt] = []
    new = advance(state, policy, max(until_us, state.accounted), effects)
    new = new._replace(version=state.version + 1)
    effects.append(WakeServiceAt(new.service_id, next_wake(new, policy), new.version))
    return Decision(new, effects)


def next_wake(state: ServiceState, policy: Policy) -> int:
    """The next instant something falls due: an alert while down, else the period's end."""
    target = target_of(state.service_id, policy)
    _, end = period_of(target.timezone, state.period_start)
    levels = _levels(state, policy, target, end)
    if state.down and state.level < len(levels):
        spans = excluded(state.windows, policy)
        due = reach(spans, state.accounted, max(levels[state.level] - state.used, 0))
        return min(due, end)
    return end


def advance(state: ServiceState, policy: Policy, until: int, effects: list[Publish | WakeServiceAt]) -> ServiceState:
    """Account downtime from ``state.accounted`` to ``until``: alerts, period outcomes."""
    target = target_of(state.service_id, policy)
    spans = excluded(state.windows, policy)
    while True:
        _, end = period_of(target.timezone, state.period_start)
        stop = min(until, end)
        if state.down and stop > state.accounted:
            levels = _levels(state, policy, target, end)
            due = [
                (level, t)
                for level, t in (
                    (k, reach(spans, state.accounted, max(levels[k - 1] - state.used, 0)))
                    for k in range(state.level + 1, len(levels) + 1)
                )
                if t <= stop
            ]
            gone = counted(spans, state.accounted, stop)
            state = state._replace(used=state.used + gone, total=state.total + gone, accounted=stop)
            if due:
                level, fire = due[-1]
                state = state._replace(level=level, published=(*state.published, (level, fire)))
                effects.append(Publish(_alert(state, policy, target, level, fire, end)))
        else:
            state = state._replace(accounted=max(state.accounted, stop))
        if until < end:
            return state
        effects.append(Publish(_outcome(state, policy, target, end)))
        state = state._replace(
            period_start=end,
            used=0,
            level=0,
            published=(),
            windows=tuple(w for w in state.windows if w.end > end),
        )


def view(state: ServiceState, policy: Policy, now_us: int) -> ServiceState:
    """The state as it stands at ``now_us`` if nothing else happens (for metrics)."""
    return advance(state, policy, max(now_us, state.accounted), [])


def budget_of(state: ServiceState, policy: Policy) -> tuple[int, int]:
    """``(period_us, budget_us)`` of the state's current period."""
    target = target_of(state.service_id, policy)
    _, end = period_of(target.timezone, state.period_start)
    return end - state.period_start, budget_us(target, end - state.period_start)


def in_maintenance(state: ServiceState, policy: Policy, at_us: int) -> bool:
    """Tell whether downtime at ``at_us`` is excluded by a window announced in time."""
    return any(lo <= at_us < hi for lo, hi in excluded(state.windows, policy))


def _levels(state: ServiceState, policy: Policy, target: ServiceTarget, end: int) -> tuple[int, ...]:
    return policy.thresholds(budget_us(target, end - state.period_start), thresholds_us)


def _check_bounds(state: ServiceState, event: ServiceEvent) -> None:
    if isinstance(event, ProbeResult):
        if len(state.probes) >= MAX_PROBES_PER_SERVICE and all(p != event.probe_id for p, _, _ in state.probes):
            raise EventRejected(
                f"service over limit: service {state.service_id!r} already has {len(state.probes)} probe "
                f"locations, the most per service ({MAX_PROBES_PER_SERVICE}); a new probe_id "
                f"{event.probe_id!r} is refused"
            )
    elif len(state.windows) >= MAX_WINDOWS_PER_SERVICE:
        raise EventRejected(
            f"service over limit: service {state.service_id!r} already keeps {len(state.windows)} maintenance "
            f"windows, the most per service ({MAX_WINDOWS_PER_SERVICE}); windows are forgotten once "
            "they ended before the current period"
        )


def _check_probe(state: ServiceState, event: ProbeResult, at: int) -> None:
    for probe_id, _, last in state.probes:
        if probe_id != event.probe_id:
            continue
        if at == last:
            raise DuplicateEvent(
                f"duplicate probe result: {event.probe_id!r} already reported at {format_us(at)}"
            )
        if at < last:
            raise EventRejected(
                f"stale probe result: {event.probe_id!r} at {format_us(at)} is older than its latest "
                f"result ({format_us(last)})"
            )


def _alert_id(service_id: str, period: str, level: int, policy: Policy) -> str:
    if level > len(policy.warn_at):
        return f"{service_id}:{METRIC}:{period}:breach"
    return f"{service_id}:{METRIC}:{period}:warning:{float(policy.warn_at[level - 1])}"


def _base(state: ServiceState, target: ServiceTarget, kind: str, at: int, end: int) -> dict[str, Any]:
    period_us = end - state.period_start
    return {
        "type": f"sla.{kind}",
        "id": "",
        "schema_version": SCHEMA_VERSION,
        "service_id": state.service_id,
        "metric": METRIC,
        "period": period_label(target.timezone, state.period_start),
        "at": format_us(at, target.timezone),
        "target": float(target.objective),
        "budget_seconds": budget_us(target, period_us) / US_PER_SECOND,
        "downtime_seconds": state.used / US_PER_SECOND,
    }


def _alert(
    state: ServiceState, policy: Policy, target: ServiceTarget, level: int, at: int, end: int
) -> dict[str, Any]:
    record = _base(state, target, "breach" if level > len(policy.warn_at) else "warning", at, end)
    record["id"] = _alert_id(state.service_id, record["period"], level, policy)
    # Downtime at the alert's instant: exactly its share of the budget.
    record["downtime_seconds"] = _levels(state, policy, target, end)[level - 1] / US_PER_SECOND
    if level <= len(policy.warn_at):
        record["threshold"] = float(policy.warn_at[level - 1])
    return record


def _outcome(state: ServiceState, policy: Policy, target: ServiceTarget, end: int) -> dict[str, Any]:
    record = _base(state, target, "outcome", end, end)
    period_us = end - state.period_start
    met = state.used <= budget_us(target, period_us)
    record["id"] = f"{state.service_id}:{METRIC}:{record['period']}:outcome"
    record["status"] = "met" if met else "breached"
    record["availability"] = float(1 - Decimal(state.used) / Decimal(period_us))
    record["period_start"] = format_us(state.period_start, target.timezone)
    record["period_end"] = format_us(end, target.timezone)
    windows = [w for w in state.windows if w.end > state.period_start and w.start < end]
    if windows:
        record["maintenance"] = [_window_note(w, policy, target) for w in windows]
    retracts = [_alert_id(state.service_id, record["period"], lv, policy)
                for lv, _ in state.published if met and lv > len(policy.warn_at)]
    if retracts:
        record["retracts"] = retracts
    return record


def _window_note(window: Window, policy: Policy, target: ServiceTarget) -> dict[str, Any]:
    notice = window.start - window.announced
    note: dict[str, Any] = {
        "event_id": window.event_id,
        "starts_at": format_us(window.start, target.timezone),
        "ends_at": format_us(window.end, target.timezone),
        "announced_at": format_us(window.announced, target.timezone),
        "excluded": notice >= policy.min_notice_us,
    }
    if not note["excluded"]:
        note["reason"] = window_refusal(window, policy)
    elif window.counts_from > window.start:
        note["reason"] = (
            f"the announcement arrived after the window began; downtime is excluded from "
            f"{format_us(window.counts_from, target.timezone)}"
        )
    return note


def window_refusal(window: Window, policy: Policy) -> str | None:
    """Why a window excludes nothing (announced too late), or None when it counts."""
    notice = window.start - window.announced
    if notice >= policy.min_notice_us:
        return None
    need = policy.min_notice_us // US_PER_SECOND
    return (
        f"announced {max(notice, 0) // US_PER_SECOND} s before it starts; the policy requires "
        f"{need} s (maintenance.min_notice), so its downtime counts"
    )
