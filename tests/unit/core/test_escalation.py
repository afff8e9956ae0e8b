"""Escalation after a breach: one more alert level per ``escalations`` entry, past the target in business time.

The calendar is the shared test policy's (Asia/Shanghai, Mon-Fri 09:00-12:00,13:00-18:00, Sat 10:00-14:00,
holidays 2026-10-01/02); P2 responds in 30 business minutes and escalates 30 minutes after (``default``), P1
(24x7, zone UTC) escalates 15 minutes and 1 hour after. 2026-11-30 is a Monday.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from monitor.core.clock import apply_event, clock_levels, rescheduled, targets_of, wake
from monitor.core.codec import decode_state, encode_state
from monitor.core.errors import EventRejected, PolicyError
from monitor.core.instants import from_us, to_us
from monitor.core.limits import MAX_ESCALATIONS
from monitor.core.policy import Policy, parse_policy
from monitor.core.records import SlaBreach, SlaEscalation, SlaOutcome, SlaWarning
from monitor.core.replay import Rejection, replay_lines
from tests.conftest import POLICY_YAML, event, event_json
from tests.unit.core.test_limits import _reference_fire_times

BASE_YAML = POLICY_YAML.split("overrides:")[0]
ESCALATIONS = """
escalations:
  default: [{after: 30m, to: team-lead}]
  P1: [{after: 15m, to: team-lead}, {after: 1h, to: duty-manager}]
"""
OVERRIDES = """
overrides:
  - match: {customer_id: acme}
    targets: {P1: {response: 10m}}
    escalations: {P1: [{after: 5m, to: acme-duty}]}
  - match: {customer_id: globex}
    escalations: {default: []}
  - match: {service_id: mail}
    escalations: {P2: [{after: 1h, to: mail-owner}]}
"""
MINUTE = 60 * 1_000_000


@pytest.fixture
def esc() -> Policy:
    """The shared test policy with escalations and overrides that change them."""
    return parse_policy(BASE_YAML + ESCALATIONS + OVERRIDES, "esc.yaml")


def us(text: str) -> int:
    """Instant of an RFC 3339 text; no offset means +08:00."""
    if "+" not in text[10:] and not text.endswith("Z"):
        text += "+08:00"
    return to_us(datetime.fromisoformat(text))


def run(policy: Policy, *lines: str, until: str | None = None) -> list[dict[str, Any]]:
    """Replay lines; return the records (rejections fail the test)."""
    out = list(replay_lines(policy, list(lines), us(until) if until else None))
    assert not [r for r in out if isinstance(r, Rejection)]
    return out  # type: ignore[return-value]


def alerts(records: list[dict[str, Any]], metric: str = "response") -> list[tuple[str, str]]:
    """(id, local instant) of one metric's records, in order."""
    return [(r["id"], str(from_us(us(r["at"]), _SHANGHAI))[:19]) for r in records if r["metric"] == metric]


_SHANGHAI = parse_policy(POLICY_YAML).calendars["business"].timezone


# -- when an escalation falls due ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("opened", "breach", "escalation"),
    [
        # Breach at the lunch break; the escalation's 30 minutes count from 13:00.
        ("2026-11-30T11:30:00", "2026-11-30 12:00:00", "2026-11-30 13:30:00"),
        # Escalation exactly at closing time: due at 18:00, not next morning.
        ("2026-11-30T17:00:00", "2026-11-30 17:30:00", "2026-11-30 18:00:00"),
        # Breach next morning (15 + 15 minutes), escalation 30 business minutes later.
        ("2026-11-30T17:45:00", "2026-12-01 09:15:00", "2026-12-01 09:45:00"),
        # Friday evening: breach and escalation on Saturday's 10:00-14:00.
        ("2026-11-27T17:45:00", "2026-11-28 10:15:00", "2026-11-28 10:45:00"),
        # Before the holidays: 15 minutes on Wed 30 Sep, the rest on Sat 3 Oct.
        ("2026-09-30T17:45:00", "2026-10-03 10:15:00", "2026-10-03 10:45:00"),
        # Breach at 11:50, escalation straddles lunch: 10 minutes before, 20 after.
        ("2026-11-30T11:20:00", "2026-11-30 11:50:00", "2026-11-30 13:20:00"),
    ],
)
def test_an_escalation_falls_due_after_the_target_in_business_time(
    esc: Policy, opened: str, breach: str, escalation: str
) -> None:
    """A P2 response escalates when its used business time reaches target + after, skipping closed hours."""
    records = run(esc, event_json("opened", "T", opened, priority="P2"), until="2026-12-31T00:00:00")
    found = dict(alerts(records))
    assert found["T:response:breach"] == breach
    assert found["T:response:escalation:1"] == escalation
    record = next(r for r in records if r["id"] == "T:response:escalation:1")
    assert record["deadline"] == next(r for r in records if r["id"] == "T:response:breach")["deadline"]


def test_p1_escalates_twice_and_records_name_level_and_recipient(esc: Policy) -> None:
    """P1 (24x7) breaches at 15 min, escalates at +15 min to team-lead and +1 h to duty-manager; records conform."""
    records = run(esc, event_json("opened", "T", "2026-11-30T10:00:00", priority="P1", customer_id="c",
                                  service_id="s"), until="2026-11-30T13:00:00")
    assert alerts(records)[3:] == [
        ("T:response:breach", "2026-11-30 10:15:00"),
        ("T:response:escalation:1", "2026-11-30 10:30:00"),
        ("T:response:escalation:2", "2026-11-30 11:15:00"),
    ]
    first, second = (r for r in records if r["type"] == "sla.escalation" and r["metric"] == "response")
    assert first == {
        "type": "sla.escalation", "id": "T:response:escalation:1", "schema_version": 1, "ticket_id": "T",
        "metric": "response", "priority": "P1", "deadline": "2026-11-30T02:15:00Z", "at": "2026-11-30T02:30:00Z",
        "customer_id": "c", "service_id": "s", "level": 1, "to": "team-lead",
    }
    assert (second["level"], second["to"]) == (2, "duty-manager")
    resolution = [r["id"] for r in records if r["metric"] == "resolution" and r["type"] == "sla.escalation"]
    assert resolution == ["T:resolution:escalation:1", "T:resolution:escalation:2"]  # both metrics escalate
    models = {"sla.warning": SlaWarning, "sla.breach": SlaBreach, "sla.escalation": SlaEscalation,
              "sla.outcome": SlaOutcome}
    for record in records:
        models[record["type"]].model_validate(record)


def test_levels_are_warnings_target_then_target_plus_each_after(esc: Policy) -> None:
    """Escalation n is alert level W+1+n: the clock's levels are the warnings, the target, target + after_n."""
    state = apply_event(None, event("opened", "T", "2026-11-30T10:00:00", priority="P1"), esc, us("2026-11-30T10:00:00")).state
    assert state is not None
    levels = clock_levels(esc, targets_of(state, esc, "response"), "response")
    assert levels == tuple(m * MINUTE for m in (7.5, 11.25, 13.5, 15, 30, 75))
    assert len(state.response.due) == len(esc.warn_at) + 1 + 2


def test_a_policy_without_escalations_keeps_its_levels(policy: Policy) -> None:
    """No ``escalations``: a clock's levels are the warnings and the breach, as before."""
    state = apply_event(None, event("opened", "T", "2026-11-30T10:00:00", priority="P2"), policy, us("2026-11-30T10:00:00")).state
    assert state is not None
    assert len(state.response.due) == len(policy.warn_at) + 1


# -- folding and at most once --------------------------------------------------------------------------------


def test_only_the_most_severe_goes_out_when_several_fall_due_at_once(esc: Policy) -> None:
    """P3 changed to P1 an hour after opening: breach and escalation 1 are due at the change, only escalation 1
    goes out then, escalation 2 at its own instant; nothing less severe follows."""
    records = run(
        esc,
        event_json("opened", "T", "2026-11-30T09:00:00", priority="P3"),
        event_json("priority_changed", "T", "2026-11-30T10:00:00", priority="P1"),
        until="2026-11-30T12:00:00",
    )
    assert alerts(records) == [
        ("T:response:escalation:1", "2026-11-30 10:00:00"),
        ("T:response:escalation:2", "2026-11-30 10:15:00"),
    ]


def test_a_wake_folds_what_fell_due_before_recovery_and_publishes_later_levels_each(esc: Policy) -> None:
    """Waking at 11:20 with everything due before recovery gives only escalation 2; a worker that was watching
    (recovered at the opening) publishes each response level at its own instant."""
    opened = us("2026-11-30T10:00:00")
    state = apply_event(None, event("opened", "T", "2026-11-30T10:00:00", priority="P1"), esc, opened).state
    assert state is not None
    now = us("2026-11-30T11:20:00")
    folded = [r["id"] for r in wake(state, esc, now, fold_before_us=now).records if r["metric"] == "response"]
    assert folded == ["T:response:escalation:2"]
    watched = [r["id"] for r in wake(state, esc, now, fold_before_us=opened).records if r["metric"] == "response"]
    assert watched[-3:] == ["T:response:breach", "T:response:escalation:1", "T:response:escalation:2"]
    assert len(watched) == len(esc.warn_at) + 3


def test_each_escalation_goes_out_at_most_once_across_wakes_and_reopening(esc: Policy) -> None:
    """Repeated wakes publish nothing twice; a reopened, breached and escalated resolution clock never repeats a level."""
    records = run(
        esc,
        event_json("opened", "T", "2026-11-30T09:00:00", priority="P2"),  # resolution: breach Mon 18:00
        event_json("resolved", "T", "2026-12-01T10:00:00"),  # after the escalation (Tue 09:30)
        event_json("reopened", "T", "2026-12-01T11:00:00"),
        event_json("resolved", "T", "2026-12-02T11:00:00"),
        until="2026-12-03T00:00:00",
    )
    ids = [r["id"] for r in records]
    assert len(ids) == len(set(ids))
    resolution = alerts(records, "resolution")
    assert ("T:resolution:escalation:1", "2026-12-01 09:30:00") in resolution
    assert [i for i, _ in resolution][-2:] == ["T:resolution:outcome", "T:resolution:outcome:2"]
    state = apply_event(None, event("opened", "U", "2026-11-30T10:00:00", priority="P1"), esc, us("2026-11-30T10:00:00")).state
    assert state is not None
    late = us("2026-11-30T12:00:00")
    first = wake(state, esc, late)
    assert first.state is not None
    assert [r["id"] for r in first.records if r["metric"] == "response"] == ["U:response:escalation:2"]
    again = wake(first.state, esc, late + MINUTE)
    assert [r for r in again.records if r["metric"] == "response"] == []


# -- pauses and priority changes re-plan ------------------------------------------------------------------


def test_a_pause_after_the_breach_moves_the_escalation_by_the_paused_time(esc: Policy) -> None:
    """Resolution breached Mon 18:00, paused Tue 09:10 with 20 of its 30 minutes to go, resumed 11:00: escalates 11:20."""
    records = run(
        esc,
        event_json("opened", "T", "2026-11-30T09:00:00", priority="P2"),
        event_json("acknowledged", "T", "2026-11-30T09:05:00"),
        event_json("paused", "T", "2026-12-01T09:10:00"),
        event_json("resumed", "T", "2026-12-01T11:00:00"),
        until="2026-12-02T00:00:00",
    )
    assert alerts(records, "resolution")[-2:] == [
        ("T:resolution:breach", "2026-11-30 18:00:00"),
        ("T:resolution:escalation:1", "2026-12-01 11:20:00"),
    ]


def test_a_pause_before_the_breach_moves_breach_and_escalation(esc: Policy) -> None:
    """Paused Mon 17:00 with 1 h to go, resumed Tue 10:00: breach 11:00, escalation 11:30."""
    records = run(
        esc,
        event_json("opened", "T", "2026-11-30T09:00:00", priority="P2"),
        event_json("acknowledged", "T", "2026-11-30T09:05:00"),
        event_json("paused", "T", "2026-11-30T17:00:00"),
        event_json("resumed", "T", "2026-12-01T10:00:00"),
        until="2026-12-02T00:00:00",
    )
    assert alerts(records, "resolution")[-2:] == [
        ("T:resolution:breach", "2026-12-01 11:00:00"),
        ("T:resolution:escalation:1", "2026-12-01 11:30:00"),
    ]


def test_a_priority_change_after_the_breach_replans_the_escalation(esc: Policy) -> None:
    """P1 breached at 10:15, changed to P2 at 10:20: its escalation follows P2's (deadline 10:30, +30 business
    minutes: 11:00, to team-lead, priority P2); the breach is not published again."""
    records = run(
        esc,
        event_json("opened", "T", "2026-11-30T10:00:00", priority="P1"),
        event_json("priority_changed", "T", "2026-11-30T10:20:00", priority="P2"),
        event_json("acknowledged", "T", "2026-11-30T11:05:00"),
        until="2026-11-30T12:00:00",
    )
    response = [r for r in records if r["metric"] == "response"]
    assert [r["id"] for r in response][-3:] == ["T:response:breach", "T:response:escalation:1", "T:response:outcome"]
    escalation = response[-2]
    assert (escalation["at"], escalation["priority"], escalation["to"]) == ("2026-11-30T11:00:00+08:00", "P2", "team-lead")
    assert escalation["deadline"] == "2026-11-30T10:30:00+08:00"
    assert "retracts" not in response[-1]


# -- late acknowledgements retract -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("acknowledged", "status", "retracts"),
    [
        # Before the deadline: the breach and its escalation were wrong (and the warnings not yet reached).
        ("09:20:00", "met", ["warning:0.75", "warning:0.9", "breach", "escalation:1"]),
        # After the deadline, before the escalation fell due: only the escalation was wrong.
        ("09:45:00", "breached", ["escalation:1"]),
        # At the escalation's instant: it would not have gone out (the clock stopped then).
        ("10:00:00", "breached", ["escalation:1"]),
        # After it: nothing to retract.
        ("10:01:00", "breached", []),
    ],
)
def test_a_late_acknowledgement_retracts_what_it_proves_wrong(
    esc: Policy, acknowledged: str, status: str, retracts: list[str]
) -> None:
    """An acknowledgement dated earlier but read at 10:05, after the escalation went out, retracts in the outcome."""
    records = run(
        esc,
        event_json("opened", "T", "2026-11-30T09:00:00", priority="P2"),
        event_json("opened", "OTHER", "2026-11-30T10:05:00", priority="P3"),  # moves event time to 10:05
        event_json("acknowledged", "T", f"2026-11-30T{acknowledged}"),
    )
    outcome = next(r for r in records if r["id"] == "T:response:outcome")
    assert outcome["status"] == status
    assert outcome.get("retracts", []) == [f"T:response:{kind}" for kind in retracts]
    assert "T:response:escalation:1" in [r["id"] for r in records]


def test_an_escalation_the_final_priority_does_not_have_is_retracted(esc: Policy) -> None:
    """P1 escalated twice, then changed to P3 (whose default has one level) and acknowledged late but after P3's
    escalation: escalation 2 never existed under P3's targets and is retracted; the breach stands."""
    records = run(
        esc,
        event_json("opened", "T", "2026-11-30T09:00:00", priority="P1"),
        event_json("priority_changed", "T", "2026-11-30T12:00:00", priority="P3"),  # P3: breach 11:00, esc 11:30
        event_json("acknowledged", "T", "2026-11-30T12:10:00"),
    )
    response = [r["id"] for r in records if r["metric"] == "response"]
    assert "T:response:escalation:2" in response
    outcome = next(r for r in records if r["id"] == "T:response:outcome")
    assert (outcome["status"], outcome["retracts"]) == ("breached", ["T:response:escalation:2"])


# -- overrides ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fields", "priority", "expected"),
    [
        # acme: its own P1 target (10 min) and its own single escalation 5 minutes after.
        ({"customer_id": "acme"}, "P1", [("2026-11-30 10:15:00", "acme-duty")]),
        # acme's override names no P2 escalations: the policy's default applies (30 min to team-lead).
        ({"customer_id": "acme"}, "P2", [("2026-11-30 11:00:00", "team-lead")]),
        # globex: an empty default turns escalation off for every priority.
        ({"customer_id": "globex"}, "P1", []),
        # service mail: P2 escalates an hour after, to the service owner.
        ({"service_id": "mail"}, "P2", [("2026-11-30 11:30:00", "mail-owner")]),
        # First match wins, as for targets: acme's override (no P2 list) hides mail's.
        ({"customer_id": "acme", "service_id": "mail"}, "P2", [("2026-11-30 11:00:00", "team-lead")]),
        # No override: the policy's P1 list.
        ({}, "P1", [("2026-11-30 10:30:00", "team-lead"), ("2026-11-30 11:15:00", "duty-manager")]),
    ],
)
def test_overrides_change_escalations_like_targets(
    esc: Policy, fields: dict[str, str], priority: str, expected: list[tuple[str, str]]
) -> None:
    """The first matching override's escalations for the priority (or its default) replace the policy's."""
    records = run(esc, event_json("opened", "T", "2026-11-30T10:00:00", priority=priority, **fields),
                  until="2026-11-30T13:00:00")
    found = [(str(from_us(us(r["at"]), _SHANGHAI))[:19], r["to"]) for r in records
             if r["type"] == "sla.escalation" and r["metric"] == "response"]
    assert found == expected


# -- state and properties ---------------------------------------------------------------------------------


def test_an_escalated_clock_encodes_and_reads_back_alike(esc: Policy) -> None:
    """A state past escalation 2 survives the codec: it goes on without repeating any level."""
    state = apply_event(None, event("opened", "T", "2026-11-30T10:00:00", priority="P1"), esc, us("2026-11-30T10:00:00")).state
    assert state is not None
    woken = wake(state, esc, us("2026-11-30T11:20:00")).state
    assert woken is not None
    assert woken.response.level == len(esc.warn_at) + 3
    again = rescheduled(decode_state(encode_state(woken)), esc)
    assert again == woken
    later = us("2026-11-30T12:30:00")
    assert wake(again, esc, later).records == wake(woken, esc, later).records


_STEPS = st.lists(
    st.tuples(
        st.sampled_from(["paused", "resumed", "priority_changed", "acknowledged", "resolved", "reopened", "wake"]),
        st.integers(min_value=-120, max_value=600),  # minutes after the previous step: some events arrive late
        st.sampled_from(["P1", "P2", "P3"]),
    ),
    max_size=25,
)


@settings(max_examples=150, deadline=None)
@given(steps=_STEPS, customer=st.sampled_from([None, "acme", "globex"]))
def test_alerts_go_out_at_most_once_in_order_of_severity(steps: list[tuple[str, int, str]], customer: str | None) -> None:
    """After any sequence of events and wakes: every running clock's schedule (escalations included) equals a walk
    over its spans, no alert id repeats, each clock's published levels ascend, and outcomes retract only alerts
    published before."""
    policy = parse_policy(BASE_YAML + ESCALATIONS + OVERRIDES, "esc.yaml")
    start = us("2026-11-30T09:00:00")
    decision = apply_event(None, event("opened", "T", "2026-11-30T09:00:00", priority="P2", customer_id=customer),
                           policy, start)
    state, at = decision.state, start
    assert state is not None
    published: list[dict[str, Any]] = list(decision.records)
    for kind, minutes, priority in steps:
        at = max(start, at + minutes * MINUTE)
        if kind == "wake":
            decision = wake(state, policy, at)
        else:
            fields = {"priority": priority} if kind == "priority_changed" else {}
            try:
                decision = apply_event(state, event(kind, "T", from_us(at).isoformat(), **fields), policy, at)
            except EventRejected:
                continue
        assert decision.state is not None
        state = decision.state
        for metric in ("response", "resolution"):
            clock = state.clock(metric)
            if not clock.stopped:  # the running figures' schedule equals a walk over every span, escalations too
                targets = targets_of(state, policy, metric)
                levels = clock_levels(policy, targets, metric)
                assert clock.due == tuple(_reference_fire_times(targets.calendar, clock.segments, levels))
        for record in decision.records:
            if record["type"] == "sla.outcome":
                earlier = {r["id"] for r in published}
                assert set(record.get("retracts", [])) <= earlier
            if record["type"] == "sla.escalation":
                assert 1 <= record["level"] <= 2
                assert record["id"].endswith(f":escalation:{record['level']}")
        published.extend(decision.records)
    ids = [r["id"] for r in published]
    assert len(ids) == len(set(ids))
    for metric in ("response", "resolution"):
        levels = [level for level, _ in state.clock(metric).published]
        assert levels == sorted(set(levels))


# -- validation --------------------------------------------------------------------------------------------


def _refusal(text: str) -> list[str]:
    with pytest.raises(PolicyError) as caught:
        parse_policy(BASE_YAML + text, "p.yaml")
    return str(caught.value).splitlines()[1:]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("escalations: {P1: [{after: 0s, to: a}]}", "p.yaml: escalations.P1.0.after: duration '0s' must be longer than zero"),
        ("escalations: {P1: [{after: soon, to: a}]}", "p.yaml: escalations.P1.0.after: invalid duration 'soon'"),
        ("escalations: {P1: [{after: 30, to: a}]}", "p.yaml: escalations.P1.0.after: invalid duration 30"),
        ("escalations: {P1: [{after: 1h, to: a}, {after: 30m, to: b}]}",
         "p.yaml: escalations.P1.1.after: 30m is not later than the level before it (1h)"),
        ("escalations: {P1: [{after: 1h, to: a}, {after: 1h, to: b}]}",
         "p.yaml: escalations.P1.1.after: 1h is not later than the level before it (1h)"),
        ("escalations: {P9: [{after: 1h, to: a}]}", "p.yaml: escalations.P9: unknown priority 'P9' (targets define: P1, P2, P3; or use default)"),
        ("escalations: {P1: [{after: 1h}]}", "p.yaml: escalations.P1.0.to: required field is missing"),
        ("escalations: {P1: [{after: 1h, to: ''}]}", "p.yaml: escalations.P1.0.to: 0 characters; the limit is 1-256"),
        (f"escalations: {{P1: [{{after: 1h, to: {'x' * 257}}}]}}", "p.yaml: escalations.P1.0.to: 257 characters; the limit is 1-256"),
        ("escalations: {P1: [{after: 1h, to: 5}]}", "p.yaml: escalations.P1.0.to: invalid recipient 5"),
        ("escalations: {P1: [{after: 1h, to: a, cc: b}]}", "p.yaml: escalations.P1.0.cc: unknown field"),
        ("escalations: {P1: {after: 1h, to: a}}", "p.yaml: escalations.P1: Input should be a valid list"),
        ("escalations: {P1: [" + ", ".join(f"{{after: {i}m, to: a}}" for i in range(1, MAX_ESCALATIONS + 2)) + "]}",
         f"p.yaml: escalations.P1: {MAX_ESCALATIONS + 1} escalation levels; the limit is {MAX_ESCALATIONS}"),
        ("overrides: [{match: {customer_id: a}, escalations: {P1: [{after: 2h, to: a}, {after: 1h, to: b}]}}]",
         "p.yaml: overrides.0.escalations.P1.1.after: 1h is not later than the level before it (2h)"),
        ("overrides: [{match: {customer_id: a}}]", "p.yaml: overrides.0: give targets, escalations or both"),
    ],
)
def test_invalid_escalations_are_refused_with_file_path_and_reason(text: str, expected: str) -> None:
    """Each invalid escalation is refused naming the file, the path inside it and what is wrong."""
    problems = _refusal(text)
    assert any(p.startswith(expected) for p in problems), problems


def test_the_limit_of_escalation_levels_is_accepted() -> None:
    """Exactly MAX_ESCALATIONS levels is a valid list."""
    levels = ", ".join(f"{{after: {i}m, to: a}}" for i in range(1, MAX_ESCALATIONS + 1))
    policy = parse_policy(BASE_YAML + f"escalations: {{P1: [{levels}]}}", "p.yaml")
    assert policy.max_escalations == MAX_ESCALATIONS


def test_target_plus_after_beyond_the_horizon_is_refused() -> None:
    """A target that is reachable plus an escalation that is not, within twenty years, is refused at the escalation."""
    text = """
calendars:
  c1: {timezone: Europe/Berlin, hours: {mon-fri: "09:00-17:00"}}
targets:
  P1: {calendar: c1, response: 1h, resolution: 41000h}
escalations:
  P1: [{after: 1h, to: a}, {after: 1000h, to: b}]
overrides:
  - match: {customer_id: acme}
    escalations: {default: [{after: 700h, to: c}]}
  - match: {customer_id: ok}
    escalations: {default: [{after: 600m, to: c}]}
"""
    with pytest.raises(PolicyError) as caught:
        parse_policy(text, "p.yaml")
    problems = str(caught.value).splitlines()[1:]
    assert problems == [
        "p.yaml: escalations.P1.1.after: target 41000h (targets.P1.resolution) plus 1000h of calendar 'c1' cannot be "
        "guaranteed within the supported horizon of 7305 days (twenty years): any twenty years of it hold at least "
        "41632h, so keep target plus after at most that",
        "p.yaml: overrides.0.escalations.default.0.after: target 41000h (targets.P1.resolution) plus 700h of "
        "calendar 'c1' cannot be guaranteed within the supported horizon of 7305 days (twenty years): any twenty "
        "years of it hold at least 41632h, so keep target plus after at most that",
    ]
