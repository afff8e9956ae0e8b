"""The sla.clock record of a ticket: fields as the issue specifies, at each kind of change, in replay."""

from __future__ import annotations

import json
from fractions import Fraction
from pathlib import Path
from typing import Any

import pytest

from monitor.core.clock_record import SlaClock
from monitor.core.clock_view import level_name
from monitor.core.policy import Policy, load_policy
from monitor.core.replay import Rejection, replay_lines
from tests.conftest import event_json
from tests.unit.core.test_clock import us

REPO = Path(__file__).resolve().parents[3]


def clocks(policy: Policy, *lines: str, until: str | None = None) -> list[dict[str, Any]]:
    """The sla.clock records (and tombstones) replay --clocks prints, in order."""
    items = replay_lines(policy, list(lines), us(until) if until else None, clocks=True)
    return [r for r in items if not isinstance(r, Rejection) and r["type"] == "sla.clock"]


def test_an_opened_ticket_gets_its_record_with_both_clocks_running(policy: Policy) -> None:
    """Opening a P2 ticket on Monday 09:00 publishes its record: both clocks running, nothing used, next levels."""
    [record] = clocks(policy, event_json("opened", "T", "2026-11-30T09:00:00", priority="P2", customer_id="acme",
                                         service_id="mail"))
    assert record == {
        "type": "sla.clock", "id": "T:clock", "schema_version": 1, "ticket_id": "T", "priority": "P2",
        "customer_id": "acme", "service_id": "mail",
        "opened_at": "2026-11-30T09:00:00+08:00", "updated_at": "2026-11-30T09:00:00+08:00",
        "clocks": {
            "response": {"state": "running", "deadline": "2026-11-30T09:30:00+08:00", "used_seconds": 0.0,
                         "target_seconds": 1800.0, "level": "none", "next_due": "2026-11-30T09:15:00+08:00"},
            # 8 business hours from 09:00 across lunch (12:00-13:00): 18:00; 50 % (4 h) at 14:00.
            "resolution": {"state": "running", "deadline": "2026-11-30T18:00:00+08:00", "used_seconds": 0.0,
                           "target_seconds": 28800.0, "level": "none", "next_due": "2026-11-30T14:00:00+08:00"},
        },
    }
    SlaClock.model_validate(record)


def test_each_alert_rewrites_the_record_with_its_level_and_the_next_due_instant(policy: Policy) -> None:
    """Every warning and the breach change the record: level named as the alert ids, used time, next level due."""
    records = clocks(policy, event_json("opened", "T", "2026-11-30T09:00:00", priority="P2"),
                     until="2026-11-30T09:31:00")
    response = [(r["updated_at"][11:19], r["clocks"]["response"]["level"], r["clocks"]["response"]["used_seconds"],
                 r["clocks"]["response"]["next_due"]) for r in records]
    assert response == [
        ("09:00:00", "none", 0.0, "2026-11-30T09:15:00+08:00"),
        ("09:15:00", "warning:0.5", 900.0, "2026-11-30T09:22:30+08:00"),
        ("09:22:30", "warning:0.75", 1350.0, "2026-11-30T09:27:00+08:00"),
        ("09:27:00", "warning:0.9", 1620.0, "2026-11-30T09:30:00+08:00"),
        ("09:30:00", "breach", 1800.0, None),  # the last level: nothing more falls due
    ]


def test_a_paused_clock_shows_paused_with_no_next_due_and_the_deadline_were_it_resumed(policy: Policy) -> None:
    """Paused at 10:00 after one business hour: resolution paused, no next alert, deadline 7 h on from 10:00."""
    *_, paused = clocks(policy, event_json("opened", "T", "2026-11-30T09:00:00", priority="P2"),
                        event_json("acknowledged", "T", "2026-11-30T09:05:00"),
                        event_json("paused", "T", "2026-11-30T10:00:00"))
    assert paused["updated_at"] == "2026-11-30T10:00:00+08:00"
    assert paused["clocks"]["resolution"] == {
        "state": "paused", "deadline": "2026-11-30T18:00:00+08:00", "used_seconds": 3600.0,
        "target_seconds": 28800.0, "level": "none", "next_due": None}
    # Acknowledged at 09:05: stopped, its deadline as it stood, nothing more due.
    assert paused["clocks"]["response"] == {
        "state": "stopped", "deadline": "2026-11-30T09:30:00+08:00", "used_seconds": 300.0,
        "target_seconds": 1800.0, "level": "none", "next_due": None}
    SlaClock.model_validate(paused)


def test_a_resumed_clock_runs_again_with_its_used_time_kept(policy: Policy) -> None:
    """Resumed on Tuesday 09:00 after a pause from Monday 10:00: used 1 h, deadline 7 business hours later."""
    *_, resumed = clocks(policy, event_json("opened", "T", "2026-11-30T09:00:00", priority="P2"),
                         event_json("acknowledged", "T", "2026-11-30T09:05:00"),
                         event_json("paused", "T", "2026-11-30T10:00:00"),
                         event_json("resumed", "T", "2026-12-01T09:00:00"))
    assert resumed["clocks"]["resolution"]["state"] == "running"
    assert resumed["clocks"]["resolution"]["used_seconds"] == 3600.0
    assert resumed["clocks"]["resolution"]["deadline"] == "2026-12-01T17:00:00+08:00"
    assert resumed["clocks"]["resolution"]["next_due"] == "2026-12-01T12:00:00+08:00"  # 50 %: 4 h used


def test_a_resolved_ticket_is_a_tombstone_and_a_reopened_one_comes_back(policy: Policy) -> None:
    """Resolution removes the ticket from the topic (replay prints a tombstone); reopening publishes it again."""
    records = clocks(policy, event_json("opened", "T", "2026-11-30T09:00:00", priority="P2"),
                     event_json("resolved", "T", "2026-11-30T09:10:00"),
                     event_json("reopened", "T", "2026-11-30T09:20:00"))
    assert records[1] == {"type": "sla.clock", "id": "T:clock", "ticket_id": "T", "tombstone": True,
                          "updated_at": "2026-11-30T01:10:00Z"}
    assert records[2]["clocks"]["resolution"]["state"] == "running"
    assert records[2]["clocks"]["response"]["state"] == "stopped"


def test_a_priority_change_shows_the_new_priority_and_targets(policy: Policy) -> None:
    """Raised from P3 to P2: the record carries P2, its targets and the deadlines re-measured from the opening."""
    *_, changed = clocks(policy, event_json("opened", "T", "2026-11-30T09:00:00", priority="P3"),
                         event_json("priority_changed", "T", "2026-11-30T09:10:00", priority="P2"))
    assert changed["priority"] == "P2"
    assert changed["updated_at"] == "2026-11-30T09:10:00+08:00"
    assert changed["clocks"]["response"]["target_seconds"] == 1800.0
    assert changed["clocks"]["response"]["deadline"] == "2026-11-30T09:30:00+08:00"
    assert changed["clocks"]["response"]["used_seconds"] == 600.0


@pytest.mark.parametrize(("level", "name"), [
    (0, "none"),
    (1, "warning:0.5"),
    (2, "warning:0.75"),
    (3, "warning:0.9"),
    (4, "breach"),
    (5, "escalation:1"),  # the engine numbers escalation n as W+1+n
    (6, "escalation:2"),
])
def test_levels_are_named_by_severity(level: int, name: str) -> None:
    """Level numbers map to names as the engine numbers them, escalations included."""
    assert level_name(level, (Fraction(1, 2), Fraction(3, 4), Fraction(9, 10))) == name


def test_every_clock_record_of_the_example_file_conforms_to_its_schema() -> None:
    """replay --clocks over examples/events.jsonl: each record validates against SlaClock; tombstones are marked."""
    policy = load_policy(REPO / "deploy" / "policy.example.yaml")
    lines = (REPO / "examples" / "events.jsonl").read_text().splitlines()
    items = [r for r in replay_lines(policy, lines, clocks=True) if not isinstance(r, Rejection)]
    records = [r for r in items if r["type"] == "sla.clock"]
    assert records, "the example file opens tickets"
    for record in records:
        if record.get("tombstone"):
            assert set(record) == {"type", "id", "ticket_id", "tombstone", "updated_at"}
        else:
            SlaClock.model_validate(record)
    # Without --clocks the output is what it always was.
    assert [r for r in items if r["type"] != "sla.clock"] == [
        r for r in replay_lines(policy, lines) if not isinstance(r, Rejection)]
    assert json.dumps(records)  # JSON-ready


def test_an_escalated_clock_shows_its_escalation_level_and_keeps_the_breach_deadline() -> None:
    """With escalations 10 and 20 minutes past the target, the record names escalation:1 then escalation:2; the
    deadline stays the breach instant and next_due is the next escalation until the last."""
    from monitor.core.policy import parse_policy
    from tests.conftest import POLICY_YAML

    policy = parse_policy(POLICY_YAML + "escalations:\n  default: [{after: 10m, to: team-lead}, {after: 20m, to: "
                          "duty-manager}]\n", "escalations.yaml")
    records = clocks(policy, event_json("opened", "T", "2026-11-30T09:00:00", priority="P2"),
                     until="2026-11-30T09:55:00")
    response = [(r["updated_at"][11:19], r["clocks"]["response"]["level"], r["clocks"]["response"]["deadline"],
                 r["clocks"]["response"]["next_due"]) for r in records][-3:]
    assert response == [
        ("09:30:00", "breach", "2026-11-30T09:30:00+08:00", "2026-11-30T09:40:00+08:00"),
        ("09:40:00", "escalation:1", "2026-11-30T09:30:00+08:00", "2026-11-30T09:50:00+08:00"),
        ("09:50:00", "escalation:2", "2026-11-30T09:30:00+08:00", None),
    ]
    for record in records:
        SlaClock.model_validate(record)
