"""Every documented bound: what an event may hold, what a ticket or a service keeps, and what it costs."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from monitor.core import clock as clock_module
from monitor.core.budget import apply_service_event
from monitor.core.calendar import BusinessCalendar
from monitor.core.clock import (
    DuplicateEvent,
    TicketOverLimit,
    TicketState,
    apply_event,
    rescheduled,
    targets_of,
    thresholds_us,
    wake,
)
from monitor.core.codec import decode_service, decode_state, encode_service, encode_state
from monitor.core.errors import EventRejected
from monitor.core.events import parse_event
from monitor.core.limits import (
    DEDUP_WINDOW,
    MAX_EVENTS_PER_TICKET,
    MAX_ID_LENGTH,
    MAX_PROBES_PER_SERVICE,
    MAX_SERVICE_STATE_BYTES,
    MAX_SPANS,
    MAX_TICKET_STATE_BYTES,
    MAX_WINDOWS_PER_SERVICE,
)
from monitor.core.policy import Policy, parse_policy
from monitor.core.replay import Rejection, replay_lines
from tests.conftest import POLICY_YAML, event, event_json
from tests.unit.core.test_budget import POLICY as SERVICE_POLICY

MINUTE = 60_000_000
T0 = "2026-11-30T09:00:00+08:00"
T0_US = 1_796_000_400_000_000


def _line(**fields: Any) -> str:
    body = {"type": "ticket.opened", "event_id": "e", "ticket_id": "T", "priority": "P1", "occurred_at": T0}
    body.update(fields)
    return json.dumps(body)


def _probe(**fields: Any) -> str:
    body = {"type": "probe.result", "event_id": "p", "service_id": "mail", "probe_id": "a", "occurred_at": T0, "ok": True}
    body.update(fields)
    return json.dumps(body)


def _reason(raw: str) -> str | None:
    try:
        parse_event(raw)
    except EventRejected as error:
        return error.reason
    return None


@pytest.mark.parametrize(
    ("accepted", "refused", "reason"),
    [
        # The line: year 1 at +14:00 is before 1970 in UTC (replay used to overflow on it).
        (_line(occurred_at="1970-01-01T00:00:00Z"), _line(occurred_at="0001-01-01T00:00:00+14:00"),
         "occurred_at: 0001-01-01T00:00:00+14:00 is outside the supported range 1970-01-01..9960-12-31 (UTC)"),
        # One microsecond before the epoch.
        (_line(occurred_at="1970-01-01T08:00:00+08:00"), _line(occurred_at="1969-12-31T23:59:59.999999Z"),
         "outside the supported range"),
        # The last supported instant, and the next one (a local time that is already 9961 in UTC).
        (_line(occurred_at="9960-12-31T23:59:59.999999Z"), _line(occurred_at="9960-12-31T23:00:00-01:00"),
         "outside the supported range"),
        # Near the end of what datetime holds, written with a negative offset.
        (_line(), _line(occurred_at="9999-12-31T23:59:59-14:00"), "outside the supported range"),
        # An epoch number, which pydantic's lax mode would read as seconds.
        (_line(), _line(occurred_at=1764464400), "occurred_at: must be an RFC 3339 text"),
        # The same number in a string.
        (_line(), _line(occurred_at="1764464400"), "is not an RFC 3339 date and time"),
        # Window instants follow the same rule.
        (json.dumps({"type": "maintenance.scheduled", "event_id": "m", "service_id": "crm", "occurred_at": T0,
                     "starts_at": "9960-12-30T00:00:00Z", "ends_at": "9960-12-31T00:00:00Z"}),
         json.dumps({"type": "maintenance.scheduled", "event_id": "m", "service_id": "crm", "occurred_at": T0,
                     "starts_at": "9960-12-30T00:00:00Z", "ends_at": "9961-01-01T00:00:00Z"}),
         "ends_at: 9961-01-01T00:00:00+00:00 is outside the supported range"),
        # Ids and names: 256 characters pass, 257 do not; the reason names the field and the limit.
        (_line(event_id="e" * 256), _line(event_id="e" * 257), "event_id: 257 characters; the limit is 256"),
        (_line(ticket_id="t" * 256), _line(ticket_id="t" * 257), "ticket_id: 257 characters; the limit is 256"),
        (_line(customer_id="c" * 256), _line(customer_id="c" * 257), "customer_id: 257 characters; the limit is 256"),
        (_line(service_id="s" * 256), _line(service_id="s" * 257), "service_id: 257 characters; the limit is 256"),
        (_line(priority="p" * 256), _line(priority="p" * 257), "priority: 257 characters; the limit is 256"),
        (_probe(probe_id="p" * 256), _probe(probe_id="p" * 257), "probe_id: 257 characters; the limit is 256"),
        # Characters, not bytes: 256 emoji are fine.
        (_line(ticket_id="\U0001f600" * 256), _line(ticket_id="\U0001f600" * 257), "ticket_id: 257 characters"),
        # The whole event: an unknown extra field passes through, within 64 KiB.
        (_line(note="x" * 60_000), _line(note="x" * 70_000), "event is 70"),
        # latency_ms: NaN was said to be "not >= 0".
        (_probe(latency_ms=0), _probe().replace("}", ', "latency_ms": NaN}'), "latency_ms: NaN is not a number"),
        # Infinity (a JSON extension pydantic reads) was accepted.
        (_probe(latency_ms=12.5), _probe().replace("}", ', "latency_ms": Infinity}'), "latency_ms: not a finite number"),
        # A 400-digit integer was accepted as a float.
        (_probe(latency_ms=86_400_000), _probe().replace("}", ', "latency_ms": 1' + "0" * 399 + "}"),
         "latency_ms: a 400-digit number is outside 0..86400000 ms"),
        # A 400-digit decimal overflows a float.
        (_probe(latency_ms=86_400_000.0), _probe().replace("}", ', "latency_ms": 1' + "0" * 399 + ".5}"),
         "latency_ms: not a finite number"),
        # Just over one day.
        (_probe(latency_ms=86_400_000), _probe(latency_ms=86_400_000.5), "latency_ms: 86400000.5 is outside 0..86400000"),
        # Negative.
        (_probe(latency_ms=0.0), _probe(latency_ms=-0.5), "latency_ms: -0.5 is outside"),
        # A boolean or a string is not a number (lax mode took true for 1.0).
        (_probe(latency_ms=1), _probe(latency_ms=True), "latency_ms: must be a JSON number"),
        (_probe(latency_ms=None), _probe(latency_ms="12"), "latency_ms: must be a JSON number"),
    ],
)
def test_each_input_bound_accepts_its_limit_and_refuses_beyond_it(accepted: str, refused: str, reason: str) -> None:
    """A value at a documented input limit parses; one beyond it is refused with a reason naming field and limit."""
    assert _reason(accepted) is None
    found = _reason(refused)
    assert found is not None
    assert reason in found


def test_replay_goes_on_past_an_instant_outside_the_range(policy: Policy) -> None:
    """The issue's year-1 line is a rejection with a reason, not an OverflowError that ends the replay."""
    lines = [_line(occurred_at="0001-01-01T00:00:00+14:00"), event_json("opened", "OK", "2026-11-30T09:00:00", priority="P1")]
    out = list(replay_lines(policy, lines, T0_US + 10 * MINUTE))
    rejected = [r for r in out if isinstance(r, Rejection)]
    assert [r.line for r in rejected] == [1]
    assert "outside the supported range" in rejected[0].reason
    assert any(isinstance(r, dict) and r["id"] == "OK:response:warning:0.5" for r in out)


def test_an_unexpected_error_in_the_core_is_one_rejection(policy: Policy, monkeypatch: pytest.MonkeyPatch) -> None:
    """A bug hit by one line is reported as an internal-error rejection for it, and the replay goes on."""
    real = clock_module.apply_into  # what the replay driver calls

    def flaky(state: TicketState | None, ev: Any, pol: Policy, now: int, out: list[dict[str, Any]]) -> Any:
        if ev.ticket_id == "BUG":
            raise OverflowError("date value out of range")
        return real(state, ev, pol, now, out)

    monkeypatch.setattr("monitor.core.replay.apply_into", flaky)
    lines = [event_json("opened", "BUG", "2026-11-30T09:00:00", priority="P1"),
             event_json("opened", "OK", "2026-11-30T09:00:00", priority="P1")]
    out = list(replay_lines(policy, lines, T0_US + 10 * MINUTE))
    assert [(r.line, r.reason) for r in out if isinstance(r, Rejection)] == [
        (1, "internal error: OverflowError: date value out of range")
    ]
    assert any(isinstance(r, dict) and r["ticket_id"] == "OK" for r in out)


# -- per ticket -----------------------------------------------------------------------------


def _pause_resume(policy: Policy, state: TicketState, count: int, start_us: int, step_us: int = MINUTE) -> TicketState:
    """Apply ``count`` events alternating pause and resume, ``step_us`` apart, ids ``T-<events so far>``."""
    from monitor.core.instants import from_us

    for i in range(count):
        at = start_us + i * step_us
        body = {"type": "ticket.resumed" if state.paused else "ticket.paused", "event_id": f"{state.ticket_id}-{state.events}",
                "ticket_id": state.ticket_id, "occurred_at": from_us(at).isoformat()}
        decision = apply_event(state, parse_event(json.dumps(body)), policy, at)  # type: ignore[arg-type]
        assert decision.state is not None
        state = decision.state
    return state


def _opened(policy: Policy, ticket: str = "T", priority: str = "P3", **fields: Any) -> TicketState:
    state = apply_event(None, event("opened", ticket, "2026-11-30T09:00:00", priority=priority, **fields), policy, T0_US).state
    assert state is not None
    return state


def test_the_dedup_window_refuses_recent_repeats_and_forgets_old_ids(policy: Policy) -> None:
    """A repeat of any of the last DEDUP_WINDOW ids is a duplicate; older ids are forgotten, so the window stays bounded."""
    state = _pause_resume(policy, _opened(policy), 3 * DEDUP_WINDOW, T0_US + MINUTE)
    assert len(state.seen) < DEDUP_WINDOW + 50
    recent = f"T-{state.events - DEDUP_WINDOW}"  # the oldest id the window guarantees
    kind = "resumed" if state.paused else "paused"
    with pytest.raises(DuplicateEvent):
        apply_event(state, event(kind, "T", "2026-12-31T09:00:00", event_id=recent), policy, 0)
    forgotten = apply_event(state, event(kind, "T", "2026-12-31T09:00:00", event_id="T-5"), policy, 0)
    assert forgotten.state is not None


def test_a_ticket_over_the_events_limit_refuses_events_but_keeps_its_deadlines(policy: Policy) -> None:
    """Past MAX_EVENTS_PER_TICKET only clock stops are accepted: the ticket still breaches, is acknowledged and resolved."""
    state = _pause_resume(policy, _opened(policy), MAX_EVENTS_PER_TICKET - 1, T0_US + MINUTE, step_us=500_000)
    assert state.events == MAX_EVENTS_PER_TICKET
    assert state.paused
    with pytest.raises(TicketOverLimit, match=r"^ticket over limit: ticket 'T' has accepted 10000 events"):
        apply_event(state, event("resumed", "T", "2026-12-01T09:00:00"), policy, 0)
    with pytest.raises(TicketOverLimit):
        apply_event(state, event("priority_changed", "T", "2026-12-01T09:00:00", priority="P1"), policy, 0)
    # The clocks run on: the response breach (2 business hours) still falls due and is published by a wake-up.
    assert state.response.level == 1
    late = wake(state, policy, T0_US + 30 * 24 * 60 * MINUTE)
    assert [r["id"] for r in late.records] == ["T:response:breach"]
    assert late.state is not None
    acked = apply_event(late.state, event("acknowledged", "T", "2026-12-31T09:00:00"), policy, 0)
    assert acked.state is not None
    with pytest.raises(TicketOverLimit):  # a second acknowledgement stops nothing
        apply_event(acked.state, event("acknowledged", "T", "2026-12-31T09:01:00"), policy, 0)
    resolved = apply_event(acked.state, event("resolved", "T", "2026-12-31T09:02:00"), policy, 0)
    assert [r["id"] for r in resolved.records] == ["T:resolution:outcome"]
    assert resolved.state is not None
    with pytest.raises(TicketOverLimit):
        apply_event(resolved.state, event("reopened", "T", "2026-12-31T10:00:00"), policy, 0)


class _Counting:
    """Counts calls of BusinessCalendar.elapsed (the per-span measurement)."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.calls = 0
        real = BusinessCalendar.elapsed

        def counted(calendar: BusinessCalendar, start: int, end: int) -> int:
            self.calls += 1
            return real(calendar, start, end)

        monkeypatch.setattr(BusinessCalendar, "elapsed", counted)


def test_an_ordinary_event_measures_no_more_than_the_span_it_closes(policy: Policy, monkeypatch: pytest.MonkeyPatch) -> None:
    """With thousands of closed spans and every warning passed, a pause and a resume each measure at most one span."""
    state = _pause_resume(policy, _opened(policy), 4_000, T0_US + MINUTE, step_us=10 * MINUTE)
    assert state.resolution.level == len(policy.warn_at) + 1  # the past is long: every level was reached
    counter = _Counting(monkeypatch)
    _pause_resume(policy, state, 2, T0_US + 40_001 * MINUTE)
    assert counter.calls <= 2


def test_the_largest_ticket_state_encodes_under_the_documented_size_and_reads_back(policy: Policy) -> None:
    """At every bound at once the state stays under MAX_TICKET_STATE_BYTES, round-trips, and reschedules without recursion."""
    from monitor.core.instants import from_us

    long_id = "\U0001f600" * MAX_ID_LENGTH  # 12 bytes each in JSON
    opened = parse_event(json.dumps({"type": "ticket.opened", "event_id": "x" * MAX_ID_LENGTH, "ticket_id": long_id,
                                     "priority": "P3", "customer_id": long_id, "service_id": long_id,
                                     "occurred_at": "9940-01-01T00:00:00Z"}))
    state = apply_event(None, opened, policy, 0).state
    assert state is not None
    at = state.opened_at
    for i in range(MAX_EVENTS_PER_TICKET - 1):
        at += 10 * MINUTE
        kind = "ticket.resumed" if state.paused else "ticket.paused"
        ev = parse_event(json.dumps({"type": kind, "event_id": f"{i:0{MAX_ID_LENGTH}d}", "ticket_id": long_id,
                                     "occurred_at": from_us(at).isoformat()}))
        state = apply_event(state, ev, policy, at).state  # type: ignore[assignment]
        assert state is not None
    assert len(state.resolution.closed) + 1 == MAX_SPANS
    assert state.resolution.level == len(policy.warn_at) + 1
    raw = encode_state(state)
    assert len(raw) < MAX_TICKET_STATE_BYTES, len(raw)
    assert rescheduled(decode_state(raw), policy) == state
    # Under another policy (other hours) every span is measured again, in one loop, and agrees with the reference.
    other = parse_policy(POLICY_YAML.replace('mon-fri: "09:00-12:00,13:00-18:00"', 'mon-fri: "08:00-17:00"'), "other.yaml")
    moved = rescheduled(decode_state(raw), other)
    targets = targets_of(moved, other, "resolution")
    levels = other.thresholds(targets.target_us("resolution"), thresholds_us)
    assert moved.resolution.due == tuple(_reference_fire_times(targets.calendar, moved.resolution.segments, levels))


# -- the running figures agree with measuring every span --------------------------------------


def _reference_fire_times(calendar: BusinessCalendar, segments: tuple[tuple[int, int | None], ...],
                          levels: tuple[int, ...]) -> list[int | None]:
    """The instant each level falls due, walking every span (the rule before running figures)."""
    out: list[int | None] = []
    used = 0
    for start, end in segments:
        for level in levels[len(out):]:
            if end is None or level <= used + calendar.elapsed(start, end):
                out.append(calendar.add(start, level - used))
            else:
                break
        if end is not None:
            used += calendar.elapsed(start, end)
    return out + [None] * (len(levels) - len(out))


_STEPS = st.lists(
    st.tuples(
        st.sampled_from(["paused", "resumed", "priority_changed", "acknowledged", "resolved", "reopened"]),
        st.integers(min_value=-300, max_value=900),  # minutes after the previous step: some events arrive late
        st.sampled_from(["P1", "P2", "P3"]),
    ),
    max_size=30,
)


@settings(max_examples=150, deadline=None)
@given(steps=_STEPS)
def test_running_figures_equal_measuring_every_span(steps: list[tuple[str, int, str]]) -> None:
    """After any sequence of events (late ones included), every clock's schedule and outcome equal a walk over all its spans."""
    policy = parse_policy(POLICY_YAML, "p.yaml")
    state = apply_event(None, event("opened", "T", "2026-11-30T09:00:00", priority="P3"), policy, T0_US).state
    assert state is not None
    at = T0_US
    from monitor.core.instants import from_us

    for kind, minutes, priority in steps:
        at = max(T0_US, at + minutes * MINUTE)
        fields = {"priority": priority} if kind == "priority_changed" else {}
        try:
            decision = apply_event(state, event(kind, "T", from_us(at).isoformat(), **fields), policy, at)
        except EventRejected:
            continue
        assert decision.state is not None
        state = decision.state
        for metric in ("response", "resolution"):
            clock = state.clock(metric)
            targets = targets_of(state, policy, metric)
            levels = policy.thresholds(targets.target_us(metric), thresholds_us)
            closed = tuple((s, e) for s, e in clock.closed)
            if not clock.stopped:
                assert clock.due == tuple(_reference_fire_times(targets.calendar, clock.segments, levels))
            assert clock.used == sum(targets.calendar.elapsed(s, e) for s, e in closed) or not clock.stopped
        for record in decision.records:
            if record["type"] == "sla.outcome":
                clock = state.clock(record["metric"])
                targets = targets_of(state, policy, record["metric"])
                spans = tuple((s, e) for s, e in clock.closed)
                assert record["used_seconds"] * 1_000_000 == sum(targets.calendar.elapsed(s, e) for s, e in spans)


# -- state formats ----------------------------------------------------------------------------


def test_a_format_1_state_from_the_previous_release_is_read_and_goes_on_alike(policy: Policy) -> None:
    """A table written by the previous release decodes: same schedule, same duplicates refused, same records next."""
    s = apply_event(None, event("opened", "T", "2026-11-30T09:00:00", priority="P2", event_id="a"), policy, 0).state
    s = apply_event(s, event("paused", "T", "2026-11-30T09:10:00", event_id="b"), policy, 0).state
    s = apply_event(s, event("resumed", "T", "2026-11-30T10:00:00", event_id="c"), policy, 0).state
    assert s is not None
    r, R = s.response, s.resolution
    v1 = json.dumps({
        "f": 1, "t": "T", "p": "P2", "c": None, "s": None, "o": s.opened_at, "h": s.in_hours,
        "r": [r.priority, [list(x) for x in r.segments], r.stopped_at, r.level, [list(p) for p in r.published], r.outcomes],
        "R": [R.priority, [list(x) for x in R.segments], R.stopped_at, R.level, [list(p) for p in R.published], R.outcomes],
        "P": False, "D": False, "e": ["a", "b", "c"], "v": s.version,
    }).encode()
    old = rescheduled(decode_state(v1), policy)
    assert old.events == 3
    assert (old.response.due, old.resolution.due) == (s.response.due, s.resolution.due)
    assert old.resolution.segments == s.resolution.segments
    with pytest.raises(DuplicateEvent):
        apply_event(old, event("acknowledged", "T", "2026-11-30T10:05:00", event_id="b"), policy, 0)
    ack = event("acknowledged", "T", "2026-11-30T10:05:00", event_id="d")
    assert apply_event(old, ack, policy, 0).records == apply_event(s, ack, policy, 0).records


# -- per service ------------------------------------------------------------------------------


def test_a_service_refuses_probe_locations_and_windows_beyond_its_bounds() -> None:
    """The 65th probe location and the 65th kept window are refused as over limit; known locations still report."""
    policy = parse_policy(SERVICE_POLICY)
    state = None
    for i in range(MAX_PROBES_PER_SERVICE):
        state = apply_service_event(state, parse_event(_probe(event_id=f"p{i}", probe_id=f"loc-{i}")), policy).state
    for i in range(MAX_WINDOWS_PER_SERVICE):
        window = json.dumps({"type": "maintenance.scheduled", "event_id": f"m{i}", "service_id": "mail", "occurred_at": T0,
                             "starts_at": "2026-12-20T00:00:00Z", "ends_at": "2026-12-20T01:00:00Z"})
        state = apply_service_event(state, parse_event(window), policy).state
    assert state is not None
    with pytest.raises(EventRejected, match=r"^service over limit: service 'mail' already has 64 probe locations"):
        apply_service_event(state, parse_event(_probe(event_id="new", probe_id="loc-new", occurred_at="2026-11-30T10:00:00+08:00")), policy)
    known = apply_service_event(state, parse_event(_probe(event_id="k", probe_id="loc-3", occurred_at="2026-11-30T10:00:00+08:00")), policy)
    assert known.state.probes
    extra = json.dumps({"type": "maintenance.scheduled", "event_id": "m-extra", "service_id": "mail", "occurred_at": T0,
                        "starts_at": "2026-12-21T00:00:00Z", "ends_at": "2026-12-21T01:00:00Z"})
    with pytest.raises(EventRejected, match=r"^service over limit: service 'mail' already keeps 64 maintenance windows"):
        apply_service_event(state, parse_event(extra), policy)


def test_the_largest_service_state_encodes_under_the_documented_size() -> None:
    """With the most locations and windows, all with the longest ids (worst JSON escaping), a service state stays small."""
    policy = parse_policy(SERVICE_POLICY)
    long = "\U0001f600" * (MAX_ID_LENGTH - 4)
    state = None
    for i in range(MAX_PROBES_PER_SERVICE):
        state = apply_service_event(state, parse_event(_probe(event_id=f"p{i}", probe_id=f"{i:04d}{long}")), policy).state
    for i in range(MAX_WINDOWS_PER_SERVICE):
        window = json.dumps({"type": "maintenance.scheduled", "event_id": f"{i:04d}{long}", "service_id": "mail",
                             "occurred_at": T0, "starts_at": "2026-12-20T00:00:00Z", "ends_at": "2026-12-20T01:00:00Z"})
        state = apply_service_event(state, parse_event(window), policy).state
    assert state is not None
    raw = encode_service(state)
    assert len(raw) < MAX_SERVICE_STATE_BYTES, len(raw)
    assert decode_service(raw) == state
