"""Metric figures computed from state: clocks, month-to-date outcomes, service budgets, exposition."""

from __future__ import annotations

import shutil
import subprocess
from collections import Counter
from datetime import datetime

import pytest
from prometheus_client import generate_latest
from prometheus_client.parser import text_string_to_metric_families

from monitor.core.budget import apply_service_event
from monitor.core.clock import apply_event
from monitor.core.events import parse_event
from monitor.core.instants import to_us
from monitor.core.policy import Policy, parse_policy
from monitor.live.clock_index import ClockFigures
from monitor.live.metrics import Metrics, Snapshot, clock_figures, service_figures
from monitor.live.worker_state import open_clocks
from tests.conftest import event
from tests.unit.core.test_budget import POLICY, probe


def _us(text: str) -> int:
    return to_us(datetime.fromisoformat(text))


def test_clock_figures_count_open_at_risk_breached_and_next_deadline(policy: Policy) -> None:
    """Three P1 tickets at 09:12: one at 0.75 of its 15 min response, one breached, one fresh."""
    a = apply_event(None, event("opened", "A", "2026-11-30T09:00:00+00:00", priority="P1"), policy, 0).state
    b = apply_event(None, event("opened", "B", "2026-11-30T08:50:00+00:00", priority="P1"), policy, 0).state
    c = apply_event(None, event("opened", "C", "2026-11-30T09:11:00+00:00", priority="P1"), policy, 0).state
    c = apply_event(c, event("acknowledged", "C", "2026-11-30T09:11:30+00:00"), policy, 0).state
    assert a
    assert b
    assert c
    figures = clock_figures([open_clocks(a), open_clocks(b), open_clocks(c)], policy, _us("2026-11-30T09:12:00+00:00"))
    assert figures.open[("P1", "response")] == 2  # C's response clock stopped
    assert figures.open[("P1", "resolution")] == 3
    assert figures.breached[("P1", "response")] == 1  # B: 22 min > 15 min
    # A used 12 of 15 min (0.8): past 0.5 and 0.75, not 0.9 - cumulative counts.
    assert (figures.at_risk[("P1", "response", "0.5")], figures.at_risk[("P1", "response", "0.75")],
            figures.at_risk[("P1", "response", "0.9")]) == (1, 1, 0)
    assert figures.next_deadline[("P1", "response")] == _us("2026-11-30T09:15:00+00:00")
    assert figures.next_deadline[("P1", "resolution")] == _us("2026-11-30T10:50:00+00:00")


def test_service_figures_account_up_to_the_scrape() -> None:
    """A service down since 10:00 shows 300 s used at 10:05, its budget, state and last probe."""
    policy = parse_policy(POLICY)
    state = apply_service_event(None, parse_event(probe("mail", "a", "2026-11-10T10:00:00", ok=False)), policy).state  # type: ignore[arg-type]
    [f] = service_figures([state], policy, _us("2026-11-10T10:05:00+08:00"))
    assert (f.service, f.period, f.condition) == ("mail", "2026-11", "down")
    assert (f.used_seconds, f.downtime_total_seconds, f.budget_seconds) == (300.0, 300.0, 2592.0)
    assert f.period_seconds == 2_592_000.0
    assert f.elapsed_seconds == 9 * 86400 + 10 * 3600 + 300
    assert f.last_probe_seconds == _us("2026-11-10T10:00:00+08:00") / 1e6
    assert f.objective == 0.999


def _exposition(policy: Policy, snapshot: Snapshot) -> str:
    metrics = Metrics(policy, lambda: snapshot)
    metrics.published({"type": "sla.breach", "metric": "response", "at": "2026-11-30T09:15:00+00:00"},
                      _us("2026-11-30T09:15:00.250000+00:00"))
    metrics.published({"type": "sla.outcome", "metric": "response", "priority": "P1", "status": "met",
                       "at": "2026-11-30T09:15:00+00:00"}, 0)
    metrics.inputs.labels("ticket.opened", "accepted").inc()
    metrics.dead_letters.labels("malformed").inc()
    return generate_latest(metrics.registry).decode()


def test_exposition_names_and_values(policy: Policy) -> None:
    """The registry exposes the contract's names with the month-to-date counts of the current month only."""
    snapshot = Snapshot(now_us=_us("2026-11-30T12:00:00+08:00"), clocks=ClockFigures(), services=[], ready=True,
                        assigned_partitions=4, pending_wakeups=0, lag={"tickets.events": 3},
                        period_counts={"2026-11": Counter({"P1|response|met": 5, "P1|response|breached": 1}),
                                       "2026-10": Counter({"P1|response|met": 99})})
    text = _exposition(policy, snapshot)
    samples = {(s.name, tuple(sorted(s.labels.items()))): s.value
               for family in text_string_to_metric_families(text) for s in family.samples}
    outcome = lambda o: ("sla_period_outcomes", (("metric", "response"), ("outcome", o), ("period", "2026-11"),  # noqa: E731
                                                 ("priority", "P1")))
    assert samples[outcome("met")] == 5
    assert samples[outcome("breached")] == 1
    assert not any(k[0] == "sla_period_outcomes" and ("period", "2026-10") in k[1] for k in samples)
    assert samples[("sla_breaches_published_total", (("metric", "response"),))] == 1
    assert samples[("sla_alert_lateness_seconds_bucket", (("le", "0.25"), ("type", "breach")))] == 1
    assert samples[("sla_alert_lateness_seconds_bucket", (("le", "0.1"), ("type", "breach")))] == 0
    assert samples[("sla_consumer_lag_messages", (("topic", "tickets.events"),))] == 3
    assert samples[("sla_worker_ready", ())] == 1
    assert samples[("sla_dead_letters_total", (("reason", "malformed"),))] == 1


def test_exposition_passes_promtool_check_metrics(policy: Policy) -> None:
    """`promtool check metrics` finds nothing to object to in the exposition (names, units, help)."""
    state = apply_service_event(None, parse_event(probe("web", "a", "2026-11-10T10:00:00", ok=False)),
                                parse_policy(POLICY)).state  # type: ignore[arg-type]
    snapshot = Snapshot(now_us=_us("2026-11-30T12:00:00+08:00"), clocks=ClockFigures(), services=[state], ready=True,
                        assigned_partitions=4, pending_wakeups=0, period_counts={})
    text = _exposition(parse_policy(POLICY), snapshot)
    promtool = shutil.which("promtool")
    if promtool is None:
        pytest.fail("promtool is not installed: run `scripts/prometheus.sh install` (make setup does)")
    result = subprocess.run([promtool, "check", "metrics"], input=text.encode(), capture_output=True, check=False)
    assert result.returncode == 0, (result.stdout + result.stderr).decode()
