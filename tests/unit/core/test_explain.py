"""`sla-monitor explain`: one ticket's audit timeline agrees with what replay publishes."""

from __future__ import annotations

import json
import random
import subprocess
import sys
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from monitor.core.explain import as_dict, closed_stretches, explain, render_text
from monitor.core.instants import US_PER_SECOND, to_us
from monitor.core.policy import Policy, load_policy
from monitor.core.replay import Rejection, replay_lines
from tests.conftest import event_json

REPO = Path(__file__).resolve().parents[3]
EXAMPLE = load_policy(REPO / "deploy" / "policy.example.yaml")  # Berlin mon-fri 09:00-18:00, Christmas closed


def _us(text: str) -> int:
    return to_us(datetime.fromisoformat(text))


def test_closed_stretches_name_the_rule_of_each_day() -> None:
    """A P3 clock from Wednesday 23 December into the new year skips Christmas, a weekend and New Year's Eve."""
    calendar = EXAMPLE.calendars["business"]
    skips, more = closed_stretches(calendar, _us("2026-12-23T17:00:00+01:00"), _us("2026-12-28T10:00:00+01:00"))
    assert more == 0
    assert [(s.start, s.end) for s in skips] == [(_us("2026-12-23T18:00:00+01:00"), _us("2026-12-28T09:00:00+01:00"))]
    assert skips[0].rule == (
        "wed 2026-12-23: outside hours 09:00-18:00; thu 2026-12-24: holiday; fri 2026-12-25: holiday; "
        "sat 2026-12-26: holiday; sun 2026-12-27: no hours on sun; mon 2026-12-28: outside hours 09:00-18:00"
    )


def test_the_timeline_of_a_paused_and_reopened_ticket_adds_up(policy: Policy) -> None:
    """Spans, gaps and levels of a ticket that was paused, resolved and reopened, against its outcomes."""
    lines = [
        event_json("opened", "T", "2026-11-30T09:00:00", priority="P2"),  # Shanghai 09:00-12:00, 13:00-18:00
        event_json("opened", "U", "2026-11-30T09:05:00", priority="P3"),  # another ticket: ignored by explain
        event_json("paused", "T", "2026-11-30T10:00:00"),
        event_json("resumed", "T", "2026-11-30T11:00:00"),
        event_json("acknowledged", "T", "2026-11-30T11:10:00"),
        event_json("resolved", "T", "2026-11-30T14:00:00"),
        event_json("reopened", "T", "2026-11-30T15:00:00"),
        event_json("resolved", "T", "2026-11-30T16:00:00"),
    ]
    timeline = explain(policy, lines, "T")
    assert [e.line for e in timeline.events] == [1, 3, 4, 5, 6, 7, 8]
    resolution = next(c for c in timeline.clocks if c.metric == "resolution")
    # 09:00-10:00 (1 h), paused, 11:00-14:00 (2 h, lunch skipped), resolved, 15:00-16:00 (1 h).
    assert [(s.business_us // US_PER_SECOND, s.gap_after) for s in resolution.spans] == [
        (3600, "paused (waiting on the customer) until resumed"),
        (7200, "resolved, until reopened"),
        (3600, None),
    ]
    assert [s.rule for s in resolution.spans[1].skipped] == ["mon 2026-11-30: outside hours 09:00-12:00,13:00-18:00"]
    outcomes = [r for r in resolution.records if r["type"] == "sla.outcome"]
    assert outcomes[-1]["used_seconds"] == resolution.used_us / US_PER_SECOND == 4 * 3600
    expected = [r for r in replay_lines(policy, lines) if not isinstance(r, Rejection) and r.get("ticket_id") == "T"]
    assert timeline.records == expected
    text = render_text(timeline, policy)
    assert "not counted: paused (waiting on the customer) until resumed" in text
    assert "T:resolution:outcome:2  met: used 14400 s of 28800 s" in text


def _generated(seed: int, tickets: int) -> list[str]:
    """Random valid-looking lifecycles over Berlin business hours (with Christmas), in event order."""
    rng = random.Random(seed)
    start = datetime.fromisoformat("2026-12-18T08:00:00+01:00")
    events: list[tuple[datetime, str, str, dict[str, Any]]] = []
    for n in range(tickets):
        tid = f"G{n}"
        at = start + timedelta(minutes=rng.randrange(0, 9 * 24 * 60))
        events.append((at, "opened", tid, {"priority": rng.choice(["P1", "P2", "P3"]),
                                           "customer_id": rng.choice(["acme", "globex"])}))
        t = at
        if rng.random() < 0.9:
            t += timedelta(minutes=rng.randrange(1, 300))
            events.append((t, "acknowledged", tid, {}))
        if rng.random() < 0.3:
            t += timedelta(minutes=rng.randrange(1, 600))
            events.append((t, "paused", tid, {}))
            t += timedelta(minutes=rng.randrange(1, 900))
            events.append((t, "resumed", tid, {}))
        if rng.random() < 0.1:
            t += timedelta(minutes=rng.randrange(1, 60))
            events.append((t, "priority_changed", tid, {"priority": rng.choice(["P1", "P2", "P3"])}))
        if rng.random() < 0.85:
            t += timedelta(minutes=rng.randrange(1, 3000))
            events.append((t, "resolved", tid, {}))
            if rng.random() < 0.15:
                t += timedelta(minutes=rng.randrange(1, 600))
                events.append((t, "reopened", tid, {}))
                t += timedelta(minutes=rng.randrange(1, 1200))
                events.append((t, "resolved", tid, {}))
    events.sort(key=lambda e: e[0])
    return [event_json(kind, tid, at.isoformat(), **fields) for at, kind, tid, fields in events]


def test_explain_agrees_with_replay_for_many_generated_tickets() -> None:
    """For 150 generated tickets: explain's records are replay's, its spans add up to each outcome's used time,
    its deadline is the outcome's, and every alert fell due at the level instant explain computes."""
    lines = _generated(7, 150)
    until = _us("2027-01-15T00:00:00+01:00")
    replayed = [r for r in replay_lines(EXAMPLE, lines, until) if not isinstance(r, Rejection)]
    checked_outcomes = 0
    for n in range(150):
        tid = f"G{n}"
        timeline = explain(EXAMPLE, lines, tid, until)
        assert timeline.records == [r for r in replayed if r.get("ticket_id") == tid]
        changed = any(e.type == "ticket.priority_changed" for e in timeline.events)
        for clock in timeline.clocks:
            due = dict(clock.levels)
            outcomes = [r for r in clock.records if r["type"] == "sla.outcome"]
            if outcomes and clock.stopped_at is not None:
                last = outcomes[-1]
                assert last["used_seconds"] == clock.used_us / US_PER_SECOND, (tid, clock.metric)
                if due["breach (deadline)"] is not None:
                    assert _us(last["deadline"]) == due["breach (deadline)"], (tid, clock.metric)
                checked_outcomes += 1
            for record in clock.records:
                if record["type"] == "sla.outcome":
                    continue
                label = "breach (deadline)" if record["type"] == "sla.breach" else f"warning {record['threshold'] * 100:g} %"
                if changed:
                    continue  # published under the targets of an earlier priority; the levels show the last one's
                assert _us(record["at"]) == due[label], (tid, record)
    assert checked_outcomes > 150  # most tickets stop both clocks


def test_explain_command_prints_text_or_json_and_refuses_an_unknown_ticket(tmp_path: Path) -> None:
    """The CLI prints the timeline (or its JSON) and exits 2 with a one-line message for a ticket not in the file."""
    events = REPO / "examples" / "events.jsonl"
    policy = REPO / "deploy" / "policy.example.yaml"
    base = [sys.executable, "-m", "monitor.cli", "explain", "--policy", str(policy), "--events", str(events)]
    text = subprocess.run([*base, "T-1001"], capture_output=True, text=True, cwd=REPO, check=True).stdout
    assert text.startswith("ticket T-1001  priority P2  customer globex  service mail")
    data = json.loads(subprocess.run([*base, "--json", "T-1001"], capture_output=True, text=True, cwd=REPO,
                                     check=True).stdout)
    assert [c["metric"] for c in data["clocks"]] == ["response", "resolution"]
    assert data == as_dict(explain(load_policy(policy), events.read_bytes().splitlines(), "T-1001"),
                           load_policy(policy))
    missing = subprocess.run([*base, "NOPE"], capture_output=True, text=True, cwd=REPO, check=False)
    assert missing.returncode == 2
    assert missing.stderr.strip() == f"sla-monitor: no event of ticket 'NOPE' in {events}"


@pytest.mark.parametrize("ticket", ["T-1001", "T-1002", "T-1003"])
def test_every_example_ticket_explains_without_error(ticket: str) -> None:
    """The bundled example's tickets render, each clock's spans adding up to its last outcome."""
    lines = (REPO / "examples" / "events.jsonl").read_bytes().splitlines()
    timeline = explain(EXAMPLE, lines, ticket, _us("2026-12-03T00:00:00+01:00"))
    assert render_text(timeline, EXAMPLE)
    for clock in timeline.clocks:
        outcomes = [r for r in clock.records if r["type"] == "sla.outcome"]
        if outcomes and clock.stopped_at is not None:
            assert outcomes[-1]["used_seconds"] == clock.used_us / US_PER_SECOND
