"""Service availability and error budgets: hand-computed scenarios.

November 2026 has 30 days (2,592,000 s): 99.9 % leaves exactly 2,592 s of
budget for ``mail`` (warnings at 1,296 s, 1,944 s and 2,332.8 s), 99 % leaves
25,920 s for ``crm``. Times are Asia/Shanghai (+08:00) unless written otherwise.
"""

from __future__ import annotations

import itertools
import json
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from monitor.core.budget import (
    ServiceState,
    apply_service_event,
    budget_us,
    month_start,
    period_of,
    view,
    wake_service,
)
from monitor.core.errors import EventRejected, PolicyError
from monitor.core.events import ProbeResult, parse_event
from monitor.core.instants import to_us
from monitor.core.policy import Policy, parse_policy
from monitor.core.records import ServiceBreach, ServiceOutcome, ServiceWarning
from monitor.core.replay import Rejection, replay_lines

POLICY = """
calendars:
  always: {timezone: UTC, hours: always}
targets:
  P1: {calendar: always, response: 15m, resolution: 2h}
warn_at: [0.5, 0.75, 0.9]
services:
  mail: {availability: 99.9, timezone: Asia/Shanghai}
  crm:  {availability: 99.0, timezone: Asia/Shanghai}
  web:  {availability: 99.9, timezone: Europe/Berlin}
maintenance:
  min_notice: 24h
"""

_ids = itertools.count(1)


@pytest.fixture
def policy() -> Policy:
    """The issue's policy shape, with a Berlin service for daylight saving."""
    return parse_policy(POLICY, "services.yaml")


def _at(text: str) -> str:
    return text if text.endswith(("Z", "+08:00", "+01:00", "+02:00")) else text + "+08:00"


def probe(service: str, location: str, at: str, ok: bool) -> str:
    """One probe.result line."""
    return json.dumps({"type": "probe.result", "event_id": f"p-{next(_ids)}", "service_id": service,
                       "probe_id": location, "occurred_at": _at(at), "ok": ok})


def maintenance(service: str, announced: str, starts: str, ends: str) -> str:
    """One maintenance.scheduled line."""
    return json.dumps({"type": "maintenance.scheduled", "event_id": f"m-{next(_ids)}", "service_id": service,
                       "occurred_at": _at(announced), "starts_at": _at(starts), "ends_at": _at(ends)})


def outage(service: str, start: str, end: str, locations: tuple[str, ...] = ("a", "b")) -> list[str]:
    """Every location fails at ``start`` and recovers at ``end``."""
    return [probe(service, loc, start, ok=False) for loc in locations] + [
        probe(service, loc, end, ok=True) for loc in locations
    ]


def run(policy: Policy, lines: list[str], until: str) -> list[dict[str, Any]]:
    """Replay lines up to ``until``; fail on any rejection; check every record's model."""
    out = list(replay_lines(policy, lines, to_us(datetime.fromisoformat(_at(until)))))
    rejected = [r for r in out if isinstance(r, Rejection)]
    assert not rejected, rejected
    records = [r for r in out if isinstance(r, dict)]
    models = {"sla.warning": ServiceWarning, "sla.breach": ServiceBreach, "sla.outcome": ServiceOutcome}
    for record in records:
        models[record["type"]].model_validate(record)
    return records


def alerts(records: list[dict[str, Any]]) -> list[tuple[str, str]]:
    """(kind[:threshold], at) of the alerts, in order."""
    return [(r["type"].removeprefix("sla.") + (f":{r['threshold']}" if "threshold" in r else ""), r["at"])
            for r in records if r["type"] != "sla.outcome"]


def outcome(records: list[dict[str, Any]], period: str = "2026-11") -> dict[str, Any]:
    """The outcome record of a period."""
    [found] = [r for r in records if r["type"] == "sla.outcome" and r["period"] == period]
    return found


def test_one_failing_location_of_two_is_not_down(policy: Policy) -> None:
    """With two locations, one failing is not a majority: no downtime, no alert."""
    lines = [probe("mail", "a", "2026-11-10T09:00:00", ok=True), probe("mail", "b", "2026-11-10T09:00:00", ok=True),
             probe("mail", "b", "2026-11-10T10:00:00", ok=False)]
    records = run(policy, lines, "2026-12-01T00:00:00")
    assert alerts(records) == []
    result = outcome(records)
    assert (result["status"], result["downtime_seconds"], result["availability"]) == ("met", 0.0, 1.0)
    assert result["at"] == "2026-12-01T00:00:00+08:00"
    assert result["budget_seconds"] == 2592.0


def test_both_locations_failing_is_down_and_fires_each_level_exactly(policy: Policy) -> None:
    """Down from the second failure; warnings at 1,296 / 1,944 / 2,332.8 s and the breach at 2,592 s."""
    lines = [probe("mail", "a", "2026-11-10T09:00:00", ok=True), probe("mail", "b", "2026-11-10T09:00:00", ok=True),
             probe("mail", "a", "2026-11-10T10:00:00", ok=False), probe("mail", "b", "2026-11-10T10:00:10", ok=False)]
    records = run(policy, lines, "2026-11-10T12:00:00")
    assert alerts(records) == [
        ("warning:0.5", "2026-11-10T10:21:46+08:00"),
        ("warning:0.75", "2026-11-10T10:32:34+08:00"),
        ("warning:0.9", "2026-11-10T10:39:02.800000+08:00"),
        ("breach", "2026-11-10T10:43:22+08:00"),
    ]
    breach = records[-1]
    assert breach["id"] == "mail:availability:2026-11:breach"
    assert (breach["period"], breach["metric"], breach["downtime_seconds"]) == ("2026-11", "availability", 2592.0)
    assert records[0]["id"] == "mail:availability:2026-11:warning:0.5"


def test_flapping_counts_only_the_down_spells(policy: Policy) -> None:
    """Down 10:00-10:05 and 10:10-10:20: 900 s of downtime, availability 1 - 900/2,592,000."""
    lines = [*outage("mail", "2026-11-10T10:00:00", "2026-11-10T10:05:00"),
             *outage("mail", "2026-11-10T10:10:00", "2026-11-10T10:20:00")]
    records = run(policy, lines, "2026-12-01T00:00:00")
    assert alerts(records) == []
    result = outcome(records)
    assert result["downtime_seconds"] == 900.0
    assert result["availability"] == 1 - 900 / 2_592_000
    assert result["status"] == "met"


def test_single_location_recovering_ends_downtime(policy: Policy) -> None:
    """Three locations: down while two fail, up again as soon as one of those recovers."""
    lines = [probe("mail", "a", "2026-11-10T10:00:00", ok=True), probe("mail", "b", "2026-11-10T10:00:00", ok=False),
             probe("mail", "c", "2026-11-10T10:01:00", ok=False), probe("mail", "b", "2026-11-10T10:03:30", ok=True)]
    records = run(policy, lines, "2026-12-01T00:00:00")
    assert outcome(records)["downtime_seconds"] == 150.0


def test_window_announced_in_time_excludes_its_downtime(policy: Policy) -> None:
    """Outage 01:00-05:00 with a window 02:00-04:00 announced a day ahead: 2 h counted."""
    lines = [maintenance("crm", "2026-11-09T02:00:00", "2026-11-10T02:00:00", "2026-11-10T04:00:00"),
             *outage("crm", "2026-11-10T01:00:00", "2026-11-10T05:00:00")]
    records = run(policy, lines, "2026-12-01T00:00:00")
    result = outcome(records)
    assert result["downtime_seconds"] == 7200.0
    assert result["maintenance"][0]["excluded"] is True
    assert alerts(records) == []


def test_window_announced_late_counts_and_says_so(policy: Policy) -> None:
    """The same window announced 2 h ahead excludes nothing: 4 h counted, 0.5 warning after 3.6 h."""
    lines = [maintenance("crm", "2026-11-10T00:00:00", "2026-11-10T02:00:00", "2026-11-10T04:00:00"),
             *outage("crm", "2026-11-10T01:00:00", "2026-11-10T05:00:00")]
    records = run(policy, lines, "2026-12-01T00:00:00")
    assert alerts(records) == [("warning:0.5", "2026-11-10T04:36:00+08:00")]
    result = outcome(records)
    assert result["downtime_seconds"] == 14400.0
    note = result["maintenance"][0]
    assert note["excluded"] is False
    assert "announced 7200 s before it starts" in note["reason"]
    assert "86400 s" in note["reason"]


def test_outage_partly_overlapping_a_window(policy: Policy) -> None:
    """Window 02:00-04:00 (in time), outage 03:00-05:00: only 04:00-05:00 counts."""
    lines = [maintenance("crm", "2026-11-01T00:00:00", "2026-11-10T02:00:00", "2026-11-10T04:00:00"),
             *outage("crm", "2026-11-10T03:00:00", "2026-11-10T05:00:00")]
    assert outcome(run(policy, lines, "2026-12-01T00:00:00"))["downtime_seconds"] == 3600.0


def test_alerts_skip_over_a_window(policy: Policy) -> None:
    """Budget stops draining inside an excluded window: the 0.5 warning moves out by its length."""
    lines = [maintenance("mail", "2026-11-01T00:00:00", "2026-11-10T10:10:00", "2026-11-10T10:40:00"),
             *outage("mail", "2026-11-10T10:00:00", "2026-11-10T12:00:00")]
    records = run(policy, lines, "2026-11-10T13:00:00")
    # 600 s before the window, then 696 s after 10:40 -> 10:51:36.
    assert alerts(records)[0] == ("warning:0.5", "2026-11-10T10:51:36+08:00")


def test_month_boundary_in_the_services_zone(policy: Policy) -> None:
    """An outage across Shanghai midnight on 1 December is split 600 s / 600 s between the months."""
    lines = outage("mail", "2026-11-30T23:50:00", "2026-12-01T00:10:00")
    records = run(policy, lines, "2027-01-01T00:00:00")
    november, december = outcome(records, "2026-11"), outcome(records, "2026-12")
    assert november["at"] == "2026-12-01T00:00:00+08:00"
    assert (november["downtime_seconds"], december["downtime_seconds"]) == (600.0, 600.0)
    assert december["budget_seconds"] == 2678.4  # 31 days


@pytest.mark.parametrize(
    ("service", "month", "budget_seconds"),
    [
        ("mail", "2027-02", 2419.2),  # 28 days
        ("mail", "2026-11", 2592.0),  # 30 days
        ("mail", "2027-01", 2678.4),  # 31 days
        ("crm", "2026-11", 25920.0),  # 99 %
        ("web", "2026-10", 2682.0),  # Berlin October: 31 days and the hour given back
        ("web", "2026-03", 2674.8),  # Berlin March: 31 days less the hour lost
    ],
)
def test_budget_follows_the_months_length(policy: Policy, service: str, month: str, budget_seconds: float) -> None:
    """Budget is (1 - target) x the real length of the month in the service's zone, exactly."""
    zone = policy.services[service].timezone
    year, number = map(int, month.split("-"))
    start = month_start(zone, year, number)
    _, end = period_of(zone, start)
    assert budget_us(policy.services[service], end - start) == int(budget_seconds * 1_000_000)


def test_breach_is_exact_where_binary_floats_are_a_second_late(policy: Policy) -> None:
    """(1 - 0.999) x 2,592,000 is 2,592.0000000000023 in floats; the breach is at exactly +2,592 s."""
    assert (1 - 0.999) * 2_592_000 > 2592  # the float trap this guards against
    lines = [probe("mail", "a", "2026-11-10T10:00:00", ok=False)]
    records = run(policy, lines, "2026-11-10T11:00:00")
    assert alerts(records)[-1] == ("breach", "2026-11-10T10:43:12+08:00")


def test_downtime_exactly_equal_to_budget_is_met_and_retracts_the_breach(policy: Policy) -> None:
    """Availability equal to the target meets it (>=); the breach published at that instant is retracted."""
    lines = outage("mail", "2026-11-10T10:00:00", "2026-11-10T10:43:12", locations=("a",))
    records = run(policy, lines, "2026-12-01T00:00:00")
    assert alerts(records)[-1] == ("breach", "2026-11-10T10:43:12+08:00")
    result = outcome(records)
    assert (result["status"], result["downtime_seconds"]) == ("met", 2592.0)
    assert result["retracts"] == ["mail:availability:2026-11:breach"]


def test_one_microsecond_more_breaches(policy: Policy) -> None:
    """A microsecond of downtime past the budget makes the month breached, below target."""
    lines = outage("mail", "2026-11-10T10:00:00", "2026-11-10T10:43:12.000001", locations=("a",))
    result = outcome(run(policy, lines, "2026-12-01T00:00:00"))
    assert result["status"] == "breached"
    assert result["availability"] < 0.999
    assert "retracts" not in result


def test_budget_resets_each_period(policy: Policy) -> None:
    """A breach in November does not carry into December: December alerts start again at 0.5."""
    lines = [*outage("mail", "2026-11-10T10:00:00", "2026-11-10T11:00:00"),
             *outage("mail", "2026-12-02T10:00:00", "2026-12-02T10:30:00")]
    records = run(policy, lines, "2026-12-03T00:00:00")
    december = [a for a in records if a.get("period") == "2026-12" and a["type"] != "sla.outcome"]
    assert [a["id"] for a in december] == ["mail:availability:2026-12:warning:0.5"]
    assert december[0]["at"] == "2026-12-02T10:22:19.200000+08:00"  # 1,339.2 s of 2,678.4


def test_a_late_wake_publishes_only_the_most_severe(policy: Policy) -> None:
    """A wake-up long after several levels fell due (worker down) publishes only the breach, at its instant."""
    state: ServiceState | None = None
    decision = apply_service_event(state, parse_probe("mail", "a", "2026-11-10T10:00:00", ok=False), policy)
    late = to_us(datetime.fromisoformat("2026-11-10T11:00:00+08:00"))
    woken = wake_service(decision.state, policy, late)
    assert [(r["type"], r["at"]) for r in woken.records] == [("sla.breach", "2026-11-10T10:43:12+08:00")]
    again = wake_service(woken.state, policy, late + 1)
    assert again.records == []


def test_a_result_older_than_the_service_time_applies_at_it(policy: Policy) -> None:
    """Location b's first result, older than a's latest, takes effect at a's time: the past is not rewritten."""
    lines = [probe("mail", "a", "2026-11-10T10:00:10", ok=False), probe("mail", "b", "2026-11-10T10:00:05", ok=False),
             probe("mail", "a", "2026-11-10T10:10:10", ok=True), probe("mail", "b", "2026-11-10T10:10:10", ok=True)]
    # a alone (1 of 1) is down from 10:00:10; b joining keeps it down; a's recovery (1 of 2) ends it.
    assert outcome(run(policy, lines, "2026-12-01T00:00:00"))["downtime_seconds"] == 600.0


def test_stale_and_duplicate_results_are_rejected(policy: Policy) -> None:
    """A location's result at its latest instant is a duplicate; an older one is stale; both are refused."""
    lines = [probe("mail", "a", "2026-11-10T10:00:00", ok=True), probe("mail", "a", "2026-11-10T10:00:00", ok=False),
             probe("mail", "a", "2026-11-10T09:59:00", ok=False), probe("nope", "a", "2026-11-10T10:00:00", ok=False)]
    out = list(replay_lines(policy, lines))
    reasons = [r.reason for r in out if isinstance(r, Rejection)]
    assert len(reasons) == 3
    assert reasons[0].startswith("duplicate probe result")
    assert reasons[1].startswith("stale probe result")
    assert reasons[2] == "unknown service 'nope' (the policy's services: crm, mail, web)"


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        ({"service_id": "mail", "probe_id": "a", "occurred_at": "2026-11-10T10:00:00+08:00"}, "missing field 'ok'"),
        ({"service_id": "mail", "probe_id": "a", "occurred_at": "yesterday", "ok": True}, "occurred_at: "),
        ({"service_id": "mail", "probe_id": "a", "occurred_at": "2026-11-10T10:00:00", "ok": True}, "no offset"),
        ({"service_id": "mail", "probe_id": "a", "occurred_at": "2026-11-10T10:00:00Z", "ok": "yes"}, "ok: "),
        ({"probe_id": "a", "occurred_at": "2026-11-10T10:00:00Z", "ok": True}, "missing field 'service_id'"),
    ],
)
def test_bad_probe_events_are_refused_with_a_reason(body: dict[str, Any], reason: str) -> None:
    """Missing ok, a bad time, a time without offset, a string for ok or no service are refused."""
    with pytest.raises(EventRejected) as error:
        parse_event(json.dumps({"type": "probe.result", "event_id": "e1", **body}))
    assert reason in error.value.reason


def test_maintenance_must_end_after_it_starts() -> None:
    """A window ending before it starts is refused, saying so."""
    with pytest.raises(EventRejected, match="ends_at must be after starts_at"):
        parse_event(maintenance("mail", "2026-11-01T00:00:00", "2026-11-10T04:00:00", "2026-11-10T02:00:00"))


def test_view_counts_downtime_up_to_now_without_changing_state(policy: Policy) -> None:
    """Metrics see downtime up to the scrape instant; the stored state is untouched."""
    decision = apply_service_event(None, parse_probe("mail", "a", "2026-11-10T10:00:00", ok=False), policy)
    now = to_us(datetime.fromisoformat("2026-11-10T10:01:00+08:00"))
    seen = view(decision.state, policy, now)
    assert (seen.used, seen.total, decision.state.used) == (60_000_000, 60_000_000, 0)


def test_month_start_in_a_zone_whose_midnight_is_skipped() -> None:
    """Asuncion skipped 00:00-01:00 on 1 October 2023: October began at 01:00 -03:00 (04:00 UTC)."""
    zone = ZoneInfo("America/Asuncion")
    start = month_start(zone, 2023, 10)
    assert start == to_us(datetime.fromisoformat("2023-10-01T04:00:00+00:00"))
    assert period_of(zone, start - 1)[1] == start  # the instant before still belongs to September
    assert month_start(ZoneInfo("Asia/Shanghai"), 2026, 12) == to_us(datetime.fromisoformat("2026-11-30T16:00:00Z"))


@pytest.mark.parametrize(
    ("availability", "problem"),
    [("100", "outside (0, 100)"), ("0", "outside (0, 100)"), ("'ninety'", "invalid percentage")],
)
def test_invalid_service_targets_are_refused(availability: str, problem: str) -> None:
    """An availability outside (0, 100) or not a number is refused with its path."""
    text = POLICY.replace("availability: 99.0", f"availability: {availability}")
    with pytest.raises(PolicyError) as error:
        parse_policy(text, "bad.yaml")
    assert str(error.value.problems[0]).startswith("services.crm.availability: ")
    assert problem in str(error.value)


def test_unknown_service_zone_is_refused() -> None:
    """A service time zone that does not exist is refused with its path."""
    with pytest.raises(PolicyError, match=r"services.web.timezone: unknown time zone 'Europe/Nowhere'"):
        parse_policy(POLICY.replace("Europe/Berlin", "Europe/Nowhere"), "bad.yaml")


def parse_probe(service: str, location: str, at: str, *, ok: bool) -> ProbeResult:
    """One parsed probe result."""
    event = parse_event(probe(service, location, at, ok))
    assert isinstance(event, ProbeResult)
    return event


def test_live_refuses_results_dated_far_ahead_of_its_clock(policy: Policy) -> None:
    """A result dated an hour ahead of the worker's clock is refused; five minutes ahead is accepted."""
    now = to_us(datetime.fromisoformat("2026-11-10T10:00:00+08:00"))
    with pytest.raises(EventRejected, match="more than 300 s ahead of the worker's clock"):
        apply_service_event(None, parse_probe("mail", "a", "2026-11-10T11:00:00", ok=False), policy, now)
    accepted = apply_service_event(None, parse_probe("mail", "a", "2026-11-10T10:05:00", ok=False), policy, now)
    assert accepted.state.down
