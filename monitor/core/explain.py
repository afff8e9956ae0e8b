"""The audit timeline of one ticket: how its clocks counted, and why.

``explain`` replays a whole file of events (so the ticket's records are exactly
what ``replay`` publishes for that file: other tickets' events move the
event-time clock too) and then takes the ticket apart: its events, and for each
clock every running span with the business time it counted, the closed
stretches inside it with the calendar rule that closed them, the gaps between
spans (pauses, resolved until reopened), each alert level's due instant, and the
records published. The business time of the spans is measured again here with
the calendar, independently of the engine's running figures, so an auditor (and
a test) can check that they add up to the outcome's ``used_seconds``.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from monitor.core.calendar import BusinessCalendar, merge_spans
from monitor.core.clock import METRICS, ClockState, TicketState, clock_levels, fire_times, targets_of
from monitor.core.durations import format_duration
from monitor.core.errors import EventRejected
from monitor.core.events import TicketEvent, parse_event
from monitor.core.instants import US_PER_SECOND, format_us, from_us, to_us
from monitor.core.policy import DAYS, Policy
from monitor.core.replay import Rejection, Replay

MAX_SKIPS_PER_SPAN = 200  # closed stretches listed per span; the rest are summed up


@dataclass(frozen=True)
class EventLine:
    """One input line of the ticket, and what became of it."""

    line: int
    type: str
    at: int
    detail: str = ""
    rejected: str | None = None


@dataclass(frozen=True)
class Skip:
    """A closed stretch inside a running span: no business time, and the calendar's reason."""

    start: int
    end: int
    rule: str


@dataclass
class Span:
    """A stretch in which a clock ran, with the business time it counted."""

    start: int
    end: int  # the stop, the pause, or ``until`` for a clock still running
    running: bool  # still running at ``until``
    business_us: int
    skipped: list[Skip] = field(default_factory=list)
    more_skipped: int = 0  # closed stretches beyond MAX_SKIPS_PER_SPAN, not listed
    gap_after: str | None = None  # why the clock did not count until the next span


@dataclass
class ClockTimeline:
    """One clock: its targets, spans, levels and records."""

    metric: str
    priority: str
    calendar: str
    target_us: int
    spans: list[Span]
    levels: list[tuple[str, int | None]]  # (label, due instant, None if never reached)
    used_us: int
    stopped_at: int | None
    records: list[dict[str, Any]]


@dataclass
class Timeline:
    """Everything the audit shows of one ticket."""

    ticket_id: str
    priority: str | None
    customer_id: str | None
    service_id: str | None
    until: int | None
    events: list[EventLine]
    clocks: list[ClockTimeline]
    records: list[dict[str, Any]]


def explain(policy: Policy, lines: Iterable[bytes | str], ticket_id: str, until_us: int | None = None) -> Timeline:
    """Replay ``lines`` and build the timeline of ``ticket_id`` (its records as replay publishes them)."""
    driver = Replay(policy)
    events: list[EventLine] = []
    records: list[dict[str, Any]] = []
    for number, raw in enumerate(lines, start=1):
        if not raw.strip():
            continue
        mine = _ticket_event(raw, ticket_id)
        published, rejection = driver.feed(number, raw)
        records.extend(r for r in published if r.get("ticket_id") == ticket_id)
        if mine is not None:
            detail = getattr(mine, "priority", None) or ""
            if getattr(mine, "score", None) is not None:
                detail = f"score {mine.score}"  # type: ignore[union-attr]
            reason = rejection.reason if isinstance(rejection, Rejection) else None
            events.append(EventLine(number, mine.type, to_us(mine.occurred_at), detail, reason))
    end = until_us if until_us is not None else driver.clock_us
    if end is not None:
        records.extend(r for r in driver.advance(end) if r.get("ticket_id") == ticket_id)
    state = driver.tickets.get(ticket_id)
    clocks = [] if state is None else [
        _clock_timeline(state, policy, metric, events, records, end) for metric in METRICS
    ]
    return Timeline(ticket_id, state.priority if state else None, state.customer_id if state else None,
                    state.service_id if state else None, end, events, clocks, records)


def _ticket_event(raw: bytes | str, ticket_id: str) -> TicketEvent | None:
    try:
        event = parse_event(raw.rstrip())
    except EventRejected:
        return None
    return event if getattr(event, "ticket_id", None) == ticket_id else None  # type: ignore[return-value]


def _clock_timeline(state: TicketState, policy: Policy, metric: str, events: list[EventLine],
                    records: list[dict[str, Any]], until: int | None) -> ClockTimeline:
    clock: ClockState = state.clock(metric)
    targets = targets_of(state, policy, metric)
    calendar = targets.calendar
    target = targets.target_us(metric)
    spans: list[Span] = []
    segments = list(clock.segments)
    for i, (start, end) in enumerate(segments):
        running = end is None
        stop = end if end is not None else max(until or start, start)
        skipped, more = closed_stretches(calendar, start, stop)
        span = Span(start, stop, running, calendar.elapsed(start, stop), skipped, more)
        if i + 1 < len(segments):
            span.gap_after = _gap_reason(stop, segments[i + 1][0], events)
        spans.append(span)
    levels_us = clock_levels(policy, targets, metric)
    reached = fire_times(calendar, clock.segments, levels_us)
    labels = [f"warning {float(f) * 100:g} %" for f in policy.warn_at] + ["breach (deadline)"] + [
        f"escalation {n} to {e.to}" for n, e in enumerate(targets.escalations, start=1)
    ]
    mine = [r for r in records if r.get("metric") == metric]
    return ClockTimeline(metric, clock.priority, _calendar_name(policy, calendar), target, spans,
                         list(zip(labels, reached, strict=True)), sum(s.business_us for s in spans),
                         clock.stopped_at, mine)


def _gap_reason(end: int, start: int, events: list[EventLine]) -> str:
    kinds = {e.type for e in events if e.at == end and e.rejected is None}
    if "ticket.paused" in kinds:
        return "paused (waiting on the customer) until resumed"
    if "ticket.resolved" in kinds:
        return "resolved, until reopened"
    return "not counting"


def _calendar_name(policy: Policy, calendar: BusinessCalendar) -> str:
    return next((name for name, c in policy.calendars.items() if c is calendar), calendar.name)


def closed_stretches(calendar: BusinessCalendar, start: int, end: int) -> tuple[list[Skip], int]:
    """The closed stretches of ``[start, end)`` with the rule of each local date they touch,
    at most MAX_SKIPS_PER_SPAN of them, and how many more there were."""
    if calendar.always or end <= start:
        return [], 0
    opened: list[tuple[int, int]] = []
    day, last = calendar.local_date(start), calendar.local_date(end)
    while day <= last:
        opened.extend((max(lo, start), min(hi, end)) for lo, hi in calendar.open_on(day) if hi > start and lo < end)
        day += timedelta(days=1)
    skips: list[Skip] = []
    more = 0
    at = start
    for lo, hi in [*merge_spans(sorted(opened)), (end, end)]:
        if lo > at:
            if len(skips) < MAX_SKIPS_PER_SPAN:
                first, final = calendar.local_date(at), calendar.local_date(lo - 1)
                days = [first + timedelta(days=i) for i in range(min((final - first).days + 1, 7))]
                rule = "; ".join(dict.fromkeys(_day_rule(calendar, d) for d in days))
                if (final - first).days >= 7:  # a long closure: its first week, then its end
                    rule += f"; ... closed through {_day_rule(calendar, final)} ({(final - first).days + 1} days)"
                skips.append(Skip(at, lo, rule))
            else:
                more += 1
        at = max(at, hi)
    return skips, more


def _day_rule(calendar: BusinessCalendar, day: date) -> str:
    """Why a local date is (partly) closed, in the calendar's own terms."""
    name = f"{DAYS[day.weekday()]} {day.isoformat()}"
    intervals = calendar.intervals_on(day)
    hours = ",".join(f"{_hm(s)}-{_hm(e)}" for s, e in intervals)
    if day in calendar.workdays:
        text = f"{name}: extra working day, open {hours}" if intervals else f"{name}: extra working day, closed"
    elif day in calendar.holidays:
        text = f"{name}: holiday"
    elif not intervals:
        text = f"{name}: no hours on {DAYS[day.weekday()]}"
    else:
        text = f"{name}: outside hours {hours}"
    if _offset_changes(calendar, day):
        text += " (clocks changed this day)"
    return text


def _offset_changes(calendar: BusinessCalendar, day: date) -> bool:
    spans = calendar.open_on(day)
    if not spans:
        return False
    first, last = from_us(spans[0][0], calendar.timezone), from_us(spans[-1][1] - 1, calendar.timezone)
    return first.utcoffset() != last.utcoffset()


def _hm(seconds: int) -> str:
    return f"{seconds // 3600:02d}:{seconds % 3600 // 60:02d}"


# -- rendering ------------------------------------------------------------------------


def as_dict(timeline: Timeline, policy: Policy) -> dict[str, Any]:
    """The timeline as JSON-ready data (instants RFC 3339 in each clock's calendar zone)."""
    zone = _zone(timeline, policy)
    return {
        "ticket_id": timeline.ticket_id,
        "priority": timeline.priority,
        "customer_id": timeline.customer_id,
        "service_id": timeline.service_id,
        "until": format_us(timeline.until, zone) if timeline.until is not None else None,
        "events": [
            {"line": e.line, "type": e.type, "at": format_us(e.at, zone), "detail": e.detail or None,
             "rejected": e.rejected}
            for e in timeline.events
        ],
        "clocks": [_clock_dict(c, policy) for c in timeline.clocks],
        "records": timeline.records,
    }


def _clock_dict(clock: ClockTimeline, policy: Policy) -> dict[str, Any]:
    zone = policy.calendars[clock.calendar].timezone
    return {
        "metric": clock.metric,
        "priority": clock.priority,
        "calendar": clock.calendar,
        "target_seconds": clock.target_us / US_PER_SECOND,
        "used_seconds": clock.used_us / US_PER_SECOND,
        "stopped_at": format_us(clock.stopped_at, zone) if clock.stopped_at is not None else None,
        "spans": [
            {"start": format_us(s.start, zone), "end": format_us(s.end, zone), "running": s.running,
             "business_seconds": s.business_us / US_PER_SECOND,
             "skipped": [{"start": format_us(k.start, zone), "end": format_us(k.end, zone),
                          "seconds": (k.end - k.start) / US_PER_SECOND, "rule": k.rule} for k in s.skipped],
             "more_skipped": s.more_skipped, "gap_after": s.gap_after}
            for s in clock.spans
        ],
        "levels": [{"level": label, "due": format_us(due, zone) if due is not None else None}
                   for label, due in clock.levels],
        "records": [r["id"] for r in clock.records],
    }


def _zone(timeline: Timeline, policy: Policy) -> Any:
    if timeline.clocks:
        return policy.calendars[timeline.clocks[0].calendar].timezone
    return policy.report_zone


def render_text(timeline: Timeline, policy: Policy) -> str:
    """The timeline for a person at a terminal."""
    zone = _zone(timeline, policy)
    out = [f"ticket {timeline.ticket_id}"
           + "".join(f"  {k} {v}" for k, v in (("priority", timeline.priority), ("customer", timeline.customer_id),
                                               ("service", timeline.service_id)) if v)]
    if timeline.until is not None:
        out.append(f"as of {format_us(timeline.until, zone)}")
    out += ["", "events"]
    for e in timeline.events:
        text = f"  line {e.line:<6} {format_us(e.at, zone)}  {e.type}" + (f" ({e.detail})" if e.detail else "")
        out.append(text + (f"  REJECTED: {e.rejected}" if e.rejected else ""))
    if not timeline.clocks:
        out += ["", "no clock: the ticket was never opened (see the rejections above)"]
    for clock in timeline.clocks:
        czone = policy.calendars[clock.calendar].timezone
        out += ["", f"{clock.metric} clock: {clock.priority} in calendar {clock.calendar!r}, target "
                f"{format_duration(clock.target_us)}"]
        for span in clock.spans:
            end = "still running" if span.running else format_us(span.end, czone)
            out.append(f"  counted  {format_us(span.start, czone)} -> {end}: {format_duration(span.business_us)} "
                       "of business time")
            for skip in span.skipped:
                out.append(f"    skipped {format_us(skip.start, czone)} -> {format_us(skip.end, czone)} "
                           f"({format_duration(skip.end - skip.start)}): {skip.rule}")
            if span.more_skipped:
                out.append(f"    ... and {span.more_skipped} more closed stretches")
            if span.gap_after:
                out.append(f"  not counted: {span.gap_after}")
        out.append(f"  used {format_duration(clock.used_us)} of {format_duration(clock.target_us)}")
        for label, due in clock.levels:
            out.append(f"  {label:<18} {'due ' + format_us(due, czone) if due is not None else 'not reached'}")
        for record in clock.records:
            line = f"  published {record['at']}  {record['type']}  {record['id']}"
            if record["type"] == "sla.outcome":
                line += (f"  {record['status']}: used {record['used_seconds']:g} s of {record['target_seconds']:g} s,"
                         f" deadline {record['deadline']}")
                if record.get("retracts"):
                    line += f"; retracts {', '.join(record['retracts'])}"
            out.append(line)
    ratings = [r for r in timeline.records if r["type"] == "sla.rating"]
    for record in ratings:
        out += ["", f"rated {record['score']}/5 at {record['at']}"]
    return "\n".join(out)
