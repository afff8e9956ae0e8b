"""The per-ticket clock rules, with hand-computed expectations.

Business calendar (Asia/Shanghai): Mon-Fri 09:00-12:00,13:00-18:00, Sat
10:00-14:00, holidays 2026-10-01/02, extra workday Sat 2026-10-10 09:00-18:00.
2026-11-30 is a Monday.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest

from monitor.core.clock import DuplicateEvent, Publish, WakeAt, apply_event, wake
from monitor.core.errors import EventRejected
from monitor.core.instants import to_us
from monitor.core.policy import Policy
from monitor.core.records import SlaBreach, SlaOutcome, SlaWarning
from monitor.core.replay import Rejection, replay_lines
from tests.conftest import event, event_json


def us(text: str) -> int:
    """Instant of an RFC 3339 text; no offset means +08:00."""
    if "+" not in text[10:] and not text.endswith("Z"):
        text += "+08:00"
    return to_us(datetime.fromisoformat(text))


def run(policy: Policy, *lines: str, until: str | None = None) -> list[dict[str, Any]]:
    """Replay lines; return records (rejections as {'rejected': reason})."""
    out: list[dict[str, Any]] = []
    for item in replay_lines(policy, list(lines), us(until) if until else None):
        out.append({"rejected": item.reason} if isinstance(item, Rejection) else item)
    return out


def brief(records: list[dict[str, Any]]) -> list[tuple[str, ...]]:
    """(id, at[, status]) of each record, for compact expectations."""
    out = []
    for r in records:
        if "rejected" in r:
            out.append(("rejected", r["rejected"]))
        else:
            out.append((r["id"], r["at"][11:19]) + ((r["status"],) if "status" in r else ()))
    return out


def test_warnings_and_breach_fall_due_at_exact_fractions(policy: Policy) -> None:
    """A P2 response clock warns at 50/75/90 % of 30 business minutes and breaches at 30."""
    records = run(policy, event_json("opened", "T", "2026-11-30T09:00:00", priority="P2"), until="2026-11-30T09:40:00")
    assert brief(records) == [
        ("T:response:warning:0.5", "09:15:00"),
        ("T:response:warning:0.75", "09:22:30"),
        ("T:response:warning:0.9", "09:27:00"),
        ("T:response:breach", "09:30:00"),
    ]
    assert all(r["deadline"] == "2026-11-30T09:30:00+08:00" for r in records)


def test_records_conform_to_their_models(policy: Policy) -> None:
    """Every record the core builds validates against the published record models."""
    models = {"sla.warning": SlaWarning, "sla.breach": SlaBreach, "sla.outcome": SlaOutcome}
    records = run(
        policy,
        event_json("opened", "T", "2026-11-30T09:00:00", priority="P2", customer_id="c", service_id="s"),
        event_json("acknowledged", "T", "2026-11-30T09:40:00"),
        event_json("resolved", "T", "2026-11-30T10:00:00"),
    )
    assert {r["type"] for r in records} == set(models)
    for record in records:
        models[record["type"]].model_validate(record)


@pytest.mark.parametrize(
    ("opened", "priority", "metric", "deadline"),
    [
        # 15 minutes before closing + 15 minutes next morning.
        ("2026-11-30T17:45:00", "P2", "response", "2026-12-01T09:15:00+08:00"),
        # Ends exactly at closing time: due at 18:00, not next morning.
        ("2026-11-30T17:30:00", "P2", "response", "2026-11-30T18:00:00+08:00"),
        # Ends exactly at the lunch break.
        ("2026-11-30T11:30:00", "P2", "response", "2026-11-30T12:00:00+08:00"),
        # Straddles lunch: 10 minutes before, 20 after.
        ("2026-11-30T11:50:00", "P2", "response", "2026-11-30T13:20:00+08:00"),
        # Opened during lunch: counts from 13:00.
        ("2026-11-30T12:10:00", "P2", "response", "2026-11-30T13:30:00+08:00"),
        # Opened on Sunday: Monday 09:00 + 30 min.
        ("2026-11-29T15:00:00", "P2", "response", "2026-11-30T09:30:00+08:00"),
        # Friday 17:00 + 2 h: 1 h Friday, 1 h of Saturday's 10:00-14:00.
        ("2026-11-27T17:00:00", "P3", "response", "2026-11-28T11:00:00+08:00"),
        # Before the holidays: 1 h Wed 30 Sep, Sat 3 Oct 10-14 (4 h), Mon 5 Oct 09-12 (3 h).
        ("2026-09-30T17:00:00", "P2", "resolution", "2026-10-05T12:00:00+08:00"),
        # Extra workday Sat 10 Oct 09:00-18:00 (not the usual 10-14): 8 h = 09:00 to 18:00 minus no lunch.
        ("2026-10-10T09:00:00", "P2", "resolution", "2026-10-10T17:00:00+08:00"),
        # P1 is 24x7 (in hours: 2 h straight through lunch).
        ("2026-11-30T11:00:00", "P1", "resolution", "2026-11-30T13:00:00+08:00"),
        # P1 opened out of hours uses 30 min / 4 h.
        ("2026-11-30T22:00:00", "P1", "response", "2026-11-30T22:30:00+08:00"),
        ("2026-11-30T22:00:00", "P1", "resolution", "2026-12-01T02:00:00+08:00"),
        # 09:00:00 is inside 09:00-18:00 (half-open): in hours, 15 min.
        ("2026-11-30T09:00:00", "P1", "response", "2026-11-30T09:15:00+08:00"),
        # 18:00:00 is outside: out of hours, 30 min.
        ("2026-11-30T18:00:00", "P1", "response", "2026-11-30T18:30:00+08:00"),
    ],
)
def test_deadlines_follow_business_hours(policy: Policy, opened: str, priority: str, metric: str, deadline: str) -> None:
    """Deadlines count only business time of the priority's calendar, exact to the second."""
    records = run(policy, event_json("opened", "T", opened, priority=priority), until="2026-12-31T00:00:00")
    breach = next(r for r in records if r["id"] == f"T:{metric}:breach")
    assert breach["at"] == breach["deadline"]
    assert datetime.fromisoformat(breach["deadline"]) == datetime.fromisoformat(deadline)


def test_override_for_customer_tightens_p1_response(policy: Policy) -> None:
    """The first matching override replaces only the fields it names."""
    records = run(policy, event_json("opened", "T", "2026-11-30T10:00:00", priority="P1", customer_id="acme"), until="2026-11-30T13:00:00")
    ids = {r["id"]: r for r in records}
    assert ids["T:response:breach"]["at"] == "2026-11-30T02:10:00Z"
    assert ids["T:resolution:breach"]["at"] == "2026-11-30T04:00:00Z"


def test_acknowledgement_stops_response_with_met_outcome(policy: Policy) -> None:
    """An acknowledgement before the deadline publishes a met outcome and no further alerts."""
    records = run(
        policy,
        event_json("opened", "T", "2026-11-30T09:00:00", priority="P2"),
        event_json("acknowledged", "T", "2026-11-30T09:20:00"),
        until="2026-11-30T10:00:00",
    )
    assert brief(records) == [
        ("T:response:warning:0.5", "09:15:00"),
        ("T:response:outcome", "09:20:00", "met"),
    ]
    assert records[-1]["used_seconds"] == 1200.0


def test_stopping_exactly_at_the_deadline_is_met(policy: Policy) -> None:
    """A clock that stops at its deadline instant is met; the breach due at that instant is not published first."""
    records = run(
        policy,
        event_json("opened", "T", "2026-11-30T09:00:00", priority="P2"),
        event_json("acknowledged", "T", "2026-11-30T09:30:00"),
    )
    assert brief(records)[-1] == ("T:response:outcome", "09:30:00", "met")
    assert "T:response:breach" not in {r["id"] for r in records}


def test_resolution_before_acknowledgement_stops_both(policy: Policy) -> None:
    """Resolving an unacknowledged ticket stops the response clock too, at the same instant."""
    records = run(
        policy,
        event_json("opened", "T", "2026-11-30T09:00:00", priority="P2"),
        event_json("resolved", "T", "2026-11-30T09:10:00"),
    )
    assert brief(records) == [
        ("T:response:outcome", "09:10:00", "met"),
        ("T:resolution:outcome", "09:10:00", "met"),
    ]


def test_pause_stops_only_the_resolution_clock(policy: Policy) -> None:
    """Waiting on the customer moves the resolution deadline but not the response one."""
    records = run(
        policy,
        event_json("opened", "T", "2026-11-30T09:00:00", priority="P2"),
        event_json("paused", "T", "2026-11-30T09:05:00"),
        event_json("resumed", "T", "2026-11-30T14:05:00"),  # 4 business hours paused (lunch excluded)
        until="2026-12-01T18:00:00",
    )
    ids = {r["id"]: r for r in records}
    assert ids["T:response:breach"]["at"] == "2026-11-30T09:30:00+08:00"
    # 5 min before the pause + 3h55m after 14:05 = 4 h by 18:00; 4 h more on Tue: 09-12, 13-14.
    assert ids["T:resolution:breach"]["at"] == "2026-12-01T14:00:00+08:00"


def test_priority_change_is_retroactive_and_publishes_only_the_breach(policy: Policy) -> None:
    """Raising P3 to P1 after the P1 deadline publishes the breach at the change, without the warnings."""
    records = run(
        policy,
        event_json("opened", "T", "2026-11-30T09:00:00", priority="P3"),
        event_json("priority_changed", "T", "2026-11-30T09:20:00", priority="P1"),
        until="2026-11-30T09:20:00",
    )
    # P3's first warning (1 h) is not due by 09:20; P1's 15 min are long gone.
    assert [r["id"] for r in records] == ["T:response:breach"]
    breach = records[-1]
    assert breach["id"] == "T:response:breach"
    assert breach["priority"] == "P1"
    assert breach["deadline"] == "2026-11-30T01:15:00Z"  # P1 is measured in UTC, 15 min after opening
    assert breach["at"] == "2026-11-30T01:20:00Z"


def test_priority_change_keeps_warnings_already_due(policy: Policy) -> None:
    """After a change to P1 whose 75 % point has passed but not its deadline, only the 75 % warning goes out now."""
    records = run(
        policy,
        event_json("opened", "T", "2026-11-30T09:00:00", priority="P3"),
        event_json("priority_changed", "T", "2026-11-30T09:12:00", priority="P1"),
        until="2026-11-30T09:14:00",
    )
    assert [(r["id"], r["at"]) for r in records] == [
        ("T:response:warning:0.75", "2026-11-30T01:12:00Z"),
        ("T:response:warning:0.9", "2026-11-30T01:13:30Z"),
    ]


def test_reopen_resumes_from_used_time_and_publishes_a_new_outcome(policy: Policy) -> None:
    """A reopened ticket's resolution clock continues from the time it had used, with a second outcome id."""
    records = run(
        policy,
        event_json("opened", "T", "2026-11-30T09:00:00", priority="P2"),
        event_json("acknowledged", "T", "2026-11-30T09:05:00"),
        event_json("resolved", "T", "2026-11-30T15:00:00"),  # 5 h used (lunch excluded)
        event_json("reopened", "T", "2026-12-01T09:00:00"),
        # 3 h more: 8 h, exactly the target, at its deadline (Tue 12:00, lunch follows). Resolving at
        # 13:00 instead would also use 8 h but stop after the deadline: breached.
        event_json("resolved", "T", "2026-12-01T12:00:00"),
        until="2026-12-02T00:00:00",
    )
    outcomes = [r for r in records if r["type"] == "sla.outcome" and r["metric"] == "resolution"]
    assert [(r["id"], r["status"], r["used_seconds"]) for r in outcomes] == [
        ("T:resolution:outcome", "met", 18000.0),
        ("T:resolution:outcome:2", "met", 28800.0),
    ]
    assert "T:resolution:breach" not in {r["id"] for r in records}
    # 0.75 of 8 h = 6 h: reached Tue 10:00 after the reopen; 0.5 was already passed on Monday.
    warnings = [r for r in records if r["type"] == "sla.warning" and r["metric"] == "resolution"]
    assert [(r["id"], r["at"]) for r in warnings] == [
        ("T:resolution:warning:0.5", "2026-11-30T14:00:00+08:00"),
        ("T:resolution:warning:0.75", "2026-12-01T10:00:00+08:00"),
        ("T:resolution:warning:0.9", "2026-12-01T11:12:00+08:00"),  # 7h12m
    ]


def test_late_acknowledgement_corrects_a_published_breach(policy: Policy) -> None:
    """An acknowledgement that arrives after the breach but happened before the deadline is met and retracts the breach."""
    records = run(
        policy,
        event_json("opened", "T", "2026-11-30T09:00:00", priority="P2"),
        event_json("opened", "U", "2026-11-30T09:45:00", priority="P2"),  # moves event time past T's deadline
        event_json("acknowledged", "T", "2026-11-30T09:25:00"),  # arrives late
    )
    outcome = records[-1]
    assert outcome["id"] == "T:response:outcome"
    assert outcome["status"] == "met"
    # 25 of 30 minutes used: the 90 % warning (27 min) and the breach were both wrong.
    assert outcome["retracts"] == ["T:response:warning:0.9", "T:response:breach"]


def test_only_the_most_severe_alert_goes_out_on_a_late_wake(policy: Policy) -> None:
    """When several alerts are due at once, only the most severe is published, and never a lesser one later."""
    state = apply_event(None, event("opened", "T", "2026-11-30T09:00:00", priority="P2"), policy, us("2026-11-30T09:00:00")).state
    assert state is not None
    late = wake(state, policy, us("2026-11-30T09:31:00"))
    assert [r["id"] for r in late.records] == ["T:response:breach"]
    assert late.records[0]["at"] == "2026-11-30T09:30:00+08:00"  # the instant it fell due
    again = wake(late.state, policy, us("2026-11-30T09:40:00"))  # type: ignore[arg-type]
    assert again.records == []


W50, W75, W90, BREACH = ("T:response:warning:0.5", "09:15:00"), ("T:response:warning:0.75", "09:22:30"), (
    "T:response:warning:0.9", "09:27:00"), ("T:response:breach", "09:30:00")


@pytest.mark.parametrize(
    ("fold_before", "expected"),
    [
        (None, [BREACH]),  # no instant given: everything due folds (replay's call, today's rule)
        ("09:00:00", [W50, W75, W90, BREACH]),  # recovered before any level fell due: merely busy, none skipped
        ("09:15:00", [W50, W75, W90, BREACH]),  # a level due at the instant itself is not folded
        ("09:15:01", [W50, W75, W90, BREACH]),  # one level before it: the most severe of one is itself
        ("09:23:00", [W75, W90, BREACH]),  # 50 % and 75 % fell due during an outage: 75 % stands for both
        ("09:29:00", [W90, BREACH]),  # three during the outage fold into the 90 % warning
        ("09:31:00", [BREACH]),  # all four during the outage: the breach alone, as before
    ],
)
def test_wake_folds_only_levels_due_before_fold_before(policy: Policy, fold_before: str | None,
                                                       expected: list[tuple[str, str]]) -> None:
    """A late wake publishes each level due at or after fold_before, in order at its own instant, and folds
    the ones due before it into the most severe of them."""
    state = apply_event(None, event("opened", "T", "2026-11-30T09:00:00", priority="P2"), policy,
                        us("2026-11-30T09:00:00")).state
    assert state is not None
    late = wake(state, policy, us("2026-11-30T09:31:00"), None if fold_before is None else us(f"2026-11-30T{fold_before}"))
    assert brief(late.records) == expected
    assert wake(late.state, policy, us("2026-11-30T09:40:00"), us("2026-11-30T09:00:00")).records == []  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("fold_before", "expected"),
    [
        (None, [W75]),  # no instant given: what fell due before the event folds, as replay has it
        ("09:00:00", [W50, W75]),  # a busy worker read the event after two levels fell due: both go out
        ("09:23:00", [W75]),  # both fell due during an outage: folded
    ],
)
def test_an_event_read_late_folds_only_levels_due_before_fold_before(
        policy: Policy, fold_before: str | None, expected: list[tuple[str, str]]) -> None:
    """Levels due before an event that was read late are published as wake would have (apply_event's fold_before)."""
    state = apply_event(None, event("opened", "T", "2026-11-30T09:00:00", priority="P2"), policy,
                        us("2026-11-30T09:00:00")).state
    ack = event("acknowledged", "T", "2026-11-30T09:25:00")
    decision = apply_event(state, ack, policy, us("2026-11-30T09:25:30"),
                           None if fold_before is None else us(f"2026-11-30T{fold_before}"))
    assert [r for r in brief(decision.records) if r[0] != "T:response:outcome"] == expected


def test_wake_before_due_publishes_nothing_and_reschedules(policy: Policy) -> None:
    """An early or stale wake-up publishes nothing and asks to be woken at the next due instant."""
    decision = apply_event(None, event("opened", "T", "2026-11-30T09:00:00", priority="P2"), policy, us("2026-11-30T09:00:00"))
    assert next(e for e in decision.effects if isinstance(e, WakeAt)).at_us == us("2026-11-30T09:15:00")
    state = decision.state
    assert state is not None
    early = wake(state, policy, us("2026-11-30T09:10:00"))
    assert early.records == []
    assert early.state is state
    assert [e.at_us for e in early.effects if isinstance(e, WakeAt)] == [us("2026-11-30T09:15:00")]


def test_paused_clock_schedules_no_wake_for_resolution(policy: Policy) -> None:
    """While paused and acknowledged, nothing can fall due, so no wake-up is asked for."""
    s = apply_event(None, event("opened", "T", "2026-11-30T09:00:00", priority="P2"), policy, 0).state
    s = apply_event(s, event("acknowledged", "T", "2026-11-30T09:01:00"), policy, 0).state
    decision = apply_event(s, event("paused", "T", "2026-11-30T09:02:00"), policy, 0)
    assert not [e for e in decision.effects if isinstance(e, WakeAt)]


@pytest.mark.parametrize(
    ("lines", "reason"),
    [
        # An event for a ticket never opened.
        ([event_json("acknowledged", "X", "2026-11-30T09:00:00")], "unknown ticket 'X'"),
        # A second opened for an open ticket.
        ([event_json("opened", "T", "2026-11-30T09:00:00", priority="P2"), event_json("opened", "T", "2026-11-30T09:01:00", priority="P2")], "already exists"),
        # A priority the policy does not define.
        ([event_json("opened", "T", "2026-11-30T09:00:00", priority="P9")], "unknown priority 'P9'"),
        # Resume without pause.
        ([event_json("opened", "T", "2026-11-30T09:00:00", priority="P2"), event_json("resumed", "T", "2026-11-30T09:01:00")], "not paused"),
        # Pause twice.
        ([event_json("opened", "T", "2026-11-30T09:00:00", priority="P2"), event_json("paused", "T", "2026-11-30T09:01:00"), event_json("paused", "T", "2026-11-30T09:02:00")], "already paused"),
        # Reopen an open ticket.
        ([event_json("opened", "T", "2026-11-30T09:00:00", priority="P2"), event_json("reopened", "T", "2026-11-30T09:01:00")], "not resolved"),
        # Resolve twice.
        ([event_json("opened", "T", "2026-11-30T09:00:00", priority="P2"), event_json("resolved", "T", "2026-11-30T09:01:00"), event_json("resolved", "T", "2026-11-30T09:02:00")], "already resolved"),
        # Happened before the ticket was opened.
        ([event_json("opened", "T", "2026-11-30T09:00:00", priority="P2"), event_json("acknowledged", "T", "2026-11-30T08:00:00")], "before the ticket was opened"),
        # Missing field, bad timestamp, no offset, unknown type, not JSON.
        (['{"type": "ticket.opened", "event_id": "e", "ticket_id": "T", "occurred_at": "2026-11-30T09:00:00+08:00"}'], "missing field 'priority'"),
        (['{"type": "ticket.resolved", "event_id": "e", "ticket_id": "T", "occurred_at": "yesterday"}'], "occurred_at"),
        (['{"type": "ticket.resolved", "event_id": "e", "ticket_id": "T", "occurred_at": "2026-11-30T09:00:00"}'], "no offset"),
        (['{"type": "ticket.closed", "event_id": "e", "ticket_id": "T", "occurred_at": "2026-11-30T09:00:00Z"}'], "unknown event type 'ticket.closed'"),
        (["{not json"], "not valid JSON"),
    ],
)
def test_bad_events_are_rejected_with_a_reason(policy: Policy, lines: list[str], reason: str) -> None:
    """Invalid events are rejected with a readable reason and never stop processing."""
    records = run(policy, *lines, event_json("opened", "OK", "2026-11-30T09:00:00", priority="P1"), until="2026-11-30T09:10:00")
    rejected = [r["rejected"] for r in records if "rejected" in r]
    assert len(rejected) == 1
    assert reason in rejected[0]
    assert any(r.get("id") == "OK:response:warning:0.5" for r in records)  # later events still processed


def test_duplicate_event_ids_are_skipped(policy: Policy) -> None:
    """A repeated event_id is refused as a duplicate and changes nothing."""
    state = apply_event(None, event("opened", "T", "2026-11-30T09:00:00", priority="P2", event_id="a"), policy, 0).state
    acked = apply_event(state, event("acknowledged", "T", "2026-11-30T09:05:00", event_id="b"), policy, 0)
    with pytest.raises(DuplicateEvent):
        apply_event(acked.state, event("acknowledged", "T", "2026-11-30T09:06:00", event_id="b"), policy, 0)
    with pytest.raises(EventRejected):
        apply_event(acked.state, event("opened", "T", "2026-11-30T09:00:00", priority="P2", event_id="a"), policy, 0)


def test_rejected_far_future_event_moves_no_clock(policy: Policy) -> None:
    """A refused event dated far ahead does not fire other tickets' alerts early."""
    records = run(
        policy,
        event_json("opened", "T", "2026-11-30T09:00:00", priority="P2"),
        event_json("acknowledged", "NOPE", "2027-06-01T09:00:00"),
        event_json("acknowledged", "T", "2026-11-30T09:10:00"),
    )
    assert brief(records) == [
        ("rejected", "unknown ticket 'NOPE': no ticket.opened seen for it"),
        ("T:response:outcome", "09:10:00", "met"),
    ]


def test_effects_are_publish_then_wake(policy: Policy) -> None:
    """Applying an event returns records to publish and at most one wake-up, carrying the new version."""
    decision = apply_event(None, event("opened", "T", "2026-11-30T09:00:00", priority="P2"), policy, us("2026-11-30T09:16:00"))
    kinds = [type(e) for e in decision.effects]
    assert kinds == [Publish, WakeAt]
    wake_effect = decision.effects[-1]
    assert isinstance(wake_effect, WakeAt)
    assert decision.state is not None
    assert wake_effect.version == decision.state.version


def _one_calendar_policy(zone: str, hours: str, response: str, days: str = "mon-fri") -> Policy:
    from monitor.core.policy import parse_policy

    return parse_policy(
        f"""
calendars:
  c: {{timezone: {zone}, hours: {{{days}: "{hours}"}}}}
targets:
  P1: {{calendar: c, response: {response}, resolution: 100h}}
warn_at: [0.5, 0.75, 0.9]
""",
        "closing.yaml",
    )


@pytest.mark.parametrize(
    ("zone", "hours", "days", "response", "opened", "acked", "status", "retracts"),
    [
        # Deadline at closing time (08:00); acknowledged an hour later while closed: breached.
        ("Asia/Kolkata", "02:00-08:00", "mon-fri", "1h30m", "2026-11-30T06:30:00+05:30", "2026-11-30T09:00:00+05:30",
         "breached", None),
        # The same, acknowledged exactly at the closing instant: met, nothing published to retract.
        ("Asia/Kolkata", "02:00-08:00", "mon-fri", "1h30m", "2026-11-30T06:30:00+05:30", "2026-11-30T08:00:00+05:30",
         "met", None),
        # Deadline at the start of lunch (12:00); acknowledged at 12:30, inside the break: breached.
        ("Europe/Berlin", "09:00-12:00,13:00-18:00", "mon-fri", "2h", "2026-11-30T10:00:00+01:00",
         "2026-11-30T12:30:00+01:00", "breached", None),
        # Sydney's spring-forward night: Sat 02:00-03:00 then Sun 01:00-02:00 (02:00 jumps to 03:00), so the
        # deadline is the closing instant 03:00+11:00; acknowledged at 04:00 while closed: breached.
        ("Australia/Sydney", "01:00-03:00", "mon-sun", "2h", "2026-10-03T02:00:00+10:00", "2026-10-04T04:00:00+11:00",
         "breached", None),
    ],
)
def test_a_clock_stopped_after_a_deadline_at_closing_time_is_breached(
    zone: str, hours: str, days: str, response: str, opened: str, acked: str, status: str, retracts: list[str] | None
) -> None:
    """Met means stopped at or before the deadline instant, even when no business time accrues after it."""
    policy = _one_calendar_policy(zone, hours, response, days)
    records = run(policy, event_json("opened", "T", opened, priority="P1"), event_json("acknowledged", "T", acked))
    outcome = next(r for r in records if r["id"] == "T:response:outcome")
    assert outcome["status"] == status
    assert outcome["used_seconds"] == outcome["target_seconds"]  # the case the used-time rule got wrong
    assert outcome.get("retracts") == retracts
    breach = [r for r in records if r["id"] == "T:response:breach"]
    assert len(breach) == (1 if status == "breached" else 0)
    if breach:
        assert breach[0]["at"] == outcome["deadline"]
        assert to_us(datetime.fromisoformat(breach[0]["at"])) < to_us(datetime.fromisoformat(acked))


def test_a_breach_is_retracted_only_by_a_stop_dated_at_or_before_its_deadline() -> None:
    """A late-arriving acknowledgement dated before the closing-time deadline retracts the breach; one after it does not."""
    policy = _one_calendar_policy("Asia/Kolkata", "02:00-08:00", "1h30m")
    records = run(
        policy,
        event_json("opened", "T", "2026-11-30T06:30:00+05:30", priority="P1"),
        event_json("opened", "U", "2026-11-30T06:30:00+05:30", priority="P1"),
        event_json("opened", "V", "2026-11-30T09:00:00+05:30", priority="P1"),  # event time passes 08:00
        event_json("acknowledged", "T", "2026-11-30T07:59:59+05:30"),  # arrives late, happened in time
        event_json("acknowledged", "U", "2026-11-30T08:30:00+05:30"),  # arrives late, happened too late
    )
    outcomes = {r["ticket_id"]: r for r in records if r["id"].endswith(":response:outcome")}
    assert outcomes["T"]["status"] == "met"
    assert outcomes["T"]["retracts"] == ["T:response:breach"]
    assert outcomes["U"]["status"] == "breached"
    assert "retracts" not in outcomes["U"]


def test_a_warning_due_at_closing_time_stays_true_after_a_later_stop() -> None:
    """A warning that fell due at closing time is not retracted by a stop after it, while closed."""
    policy = _one_calendar_policy("Europe/Berlin", "09:00-12:00,13:00-18:00", "4h")
    records = run(
        policy,
        event_json("opened", "T", "2026-11-30T10:00:00+01:00", priority="P1"),  # 0.5 of 4h at 12:00, lunch
        event_json("acknowledged", "T", "2026-11-30T12:30:00+01:00"),
    )
    assert brief(records) == [("T:response:warning:0.5", "12:00:00"), ("T:response:outcome", "12:30:00", "met")]
    assert "retracts" not in records[-1]
