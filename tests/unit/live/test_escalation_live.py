"""Escalations in the worker: routed to the breaches topic, folded like the other levels, counted in the metrics."""

from __future__ import annotations

import json
import shutil
import subprocess
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from prometheus_client import generate_latest
from prometheus_client.parser import text_string_to_metric_families

from monitor.core.clock import apply_event
from monitor.core.policy import Policy, parse_policy
from monitor.core.replay import replay_lines
from monitor.live.clock_index import ClockIndex, ClockView, open_clocks
from monitor.live.metrics import Metrics, Snapshot, clock_figures
from monitor.live.processor import Processor, Routes
from monitor.live.settings import Settings
from tests.conftest import event, event_json
from tests.unit.core.test_escalation import BASE_YAML, ESCALATIONS, OVERRIDES
from tests.unit.live.test_clock_index import _nonzero
from tests.unit.live.test_processor import ROUTES, Live, _records, _recover, _us

POLICY = parse_policy(BASE_YAML + ESCALATIONS + OVERRIDES, "esc.yaml")
OUTPUTS = Settings().output_topics
ESC_ROUTES = Routes(ROUTES.events, ROUTES.probes, ROUTES.repartition, ROUTES.wakeups, ROUTES.dead_letter,
                    OUTPUTS, ROUTES.partitions)
OPENED = "2026-11-30T10:00:00+08:00"  # P1 response: breach 10:15, escalations 10:30 and 11:15
RESPONSE = ["T-1:response:breach", "T-1:response:escalation:1", "T-1:response:escalation:2"]


def _live(policy: Policy = POLICY, now: str = OPENED) -> Live:
    live = Live(policy, now)
    live.processor = Processor(policy, ESC_ROUTES, lambda: live.now, live.store, live.sink)
    return live


def test_escalations_go_to_the_breaches_topic() -> None:
    """The worker's routes send sla.escalation where sla.breach goes, keyed by ticket, id in the header."""
    assert OUTPUTS["sla.escalation"] == Settings().topic_breaches == OUTPUTS["sla.breach"]
    live = _live()
    _recover(live, set(range(ROUTES.partitions)))
    live.run(live.ticket("opened", "T-1", OPENED, priority="P1"))
    live.now = _us("2026-11-30T10:30:00+08:00")
    outbox = live.run(*live.wakeups())
    sends = [s for s in outbox.sends if s.record and s.record["metric"] == "response"]
    assert [(s.topic, s.record["id"]) for s in sends if s.record][-2:] == [
        ("sla.breaches", "T-1:response:breach"), ("sla.breaches", "T-1:response:escalation:1")]
    assert sends[-1].key == b"T-1"
    assert sends[-1].headers == [("id", b"T-1:response:escalation:1")]
    assert live.processor.state.counts["sla.escalation"] == 1


def test_a_busy_worker_publishes_each_escalation_a_recovered_one_folds() -> None:
    """Late ticks on a worker that watched all along give breach and both escalations at their own instants;
    a worker recovered at 11:20 publishes only escalation 2 for the response clock."""
    busy = _live()
    _recover(busy, set(range(ROUTES.partitions)))
    busy.run(busy.ticket("opened", "T-1", OPENED, priority="P1"))
    busy.now = _us("2026-11-30T11:20:00+08:00")
    records = [r for r in _records(busy.run(*busy.wakeups())) if r["metric"] == "response"]
    assert [r["id"] for r in records][-3:] == RESPONSE
    assert [r["at"] for r in records][-2:] == ["2026-11-30T02:30:00Z", "2026-11-30T03:15:00Z"]

    restarted = _live()
    restarted.run(restarted.ticket("opened", "T-1", OPENED, priority="P1"))
    restarted.now = _us("2026-11-30T11:20:00+08:00")
    _recover(restarted, set(range(ROUTES.partitions)))
    records = [r for r in _records(restarted.run(*restarted.wakeups())) if r["metric"] == "response"]
    assert [r["id"] for r in records] == ["T-1:response:escalation:2"]


def test_live_wakes_publish_what_replay_publishes() -> None:
    """Ticks at every second of an hour publish exactly replay's records for the same events (ids and instants)."""
    lines = [event_json("opened", "T-1", OPENED, priority="P1"),
             event_json("opened", "T-2", OPENED, priority="P2", service_id="mail")]
    until = _us("2026-11-30T11:30:00+08:00")
    replayed = [r for r in replay_lines(POLICY, lines, until) if isinstance(r, dict)]
    live = _live()
    _recover(live, set(range(ROUTES.partitions)))
    live.run(*(live.message(ROUTES.events, line, json.loads(line)["ticket_id"]) for line in lines))
    published: list[dict[str, Any]] = []
    while live.now < until:
        live.now += 1_000_000
        published += _records(live.run(*live.wakeups()))
    assert sorted((r["id"], r["at"]) for r in published) == sorted((r["id"], r["at"]) for r in replayed)
    assert {r["type"] for r in published} >= {"sla.escalation"}


@st.composite
def schedules(draw: st.DrawFn) -> tuple[int | None, ...]:
    """Due instants as the core makes them, with 0-2 escalation levels after the breach."""
    if draw(st.integers(0, 9)) == 0:
        return ()
    levels = 4 + draw(st.integers(0, 2))
    instants = sorted(draw(st.lists(st.integers(0, 60), min_size=levels, max_size=levels)))
    reachable = draw(st.integers(0, levels))
    return tuple(at if i < reachable else None for i, at in enumerate(instants))


views_of_a_ticket = st.lists(
    st.tuples(st.sampled_from(["P1", "P2"]), st.sampled_from(["response", "resolution"]), schedules()),
    max_size=2,
).map(lambda views: tuple(sorted({(p, m): (p, m, d) for p, m, d in views}.values())))


@settings(max_examples=300, deadline=None)
@given(st.lists(st.one_of(st.tuples(st.just("track"), st.integers(0, 7), views_of_a_ticket),
                          st.tuples(st.just("now"), st.integers(-5, 70), st.just(()))), max_size=60))
def test_index_figures_with_escalations_equal_the_scan(script: list[tuple[str, int, tuple[ClockView, ...]]]) -> None:
    """Clocks of one priority and metric with different numbers of escalations: the index's figures, escalated
    counts included, are the scan's."""
    index = ClockIndex([str(float(f)) for f in POLICY.warn_at])
    mirror: dict[bytes, tuple[ClockView, ...]] = {}
    for kind, number, views in script:
        if kind == "track":
            key = f"T{number}".encode()
            index.track(key, views)
            if views:
                mirror[key] = views
            else:
                mirror.pop(key, None)
        else:
            ours, scan = index.figures(number), clock_figures(mirror.values(), POLICY, number)
            assert _nonzero(ours) == _nonzero(scan)
            assert +ours.escalated == +scan.escalated
    assert set(index) == set(mirror)


def test_escalated_clocks_and_published_escalations_in_the_exposition() -> None:
    """At 11:20, one P1 ticket is past both response escalations and one P2 past its one: the gauge counts them
    cumulatively per level (zeros exported), the published counter and lateness count an escalation."""
    index = ClockIndex([str(float(f)) for f in POLICY.warn_at])
    for tid, priority in (("A", "P1"), ("B", "P2")):
        state = apply_event(None, event("opened", tid, OPENED, priority=priority), POLICY, 0).state
        assert state is not None
        index.track(tid.encode(), open_clocks(state))
    now = _us("2026-11-30T11:20:00+08:00")
    snapshot = Snapshot(now_us=now, clocks=index.figures(now), period_counts={}, services=[], ready=True,
                        assigned_partitions=4, pending_wakeups=0)
    metrics = Metrics(POLICY, lambda: snapshot)
    metrics.published({"type": "sla.escalation", "metric": "response", "level": 2, "at": "2026-11-30T03:15:00Z"},
                      _us("2026-11-30T03:15:00.300000+00:00"))
    text = generate_latest(metrics.registry).decode()
    samples = {(s.name, tuple(sorted(s.labels.items()))): s.value
               for family in text_string_to_metric_families(text) for s in family.samples}

    def escalated(priority: str, metric: str, level: int) -> float:
        return samples[("sla_escalated_open_clocks", (("level", str(level)), ("metric", metric), ("priority", priority)))]

    assert (escalated("P1", "response", 1), escalated("P1", "response", 2)) == (1, 1)
    assert (escalated("P2", "response", 1), escalated("P2", "response", 2)) == (1, 0)  # 10:30, +30 min: 11:00
    assert escalated("P3", "resolution", 2) == 0
    assert samples[("sla_breached_open_clocks", (("metric", "response"), ("priority", "P1")))] == 1
    assert samples[("sla_escalations_published_total", (("level", "2"), ("metric", "response")))] == 1
    assert samples[("sla_escalations_published_total", (("level", "1"), ("metric", "resolution")))] == 0
    assert samples[("sla_alert_lateness_seconds_bucket", (("le", "0.5"), ("type", "escalation")))] == 1
    promtool = shutil.which("promtool")
    if promtool is None:
        pytest.fail("promtool is not installed: run `scripts/prometheus.sh install` (make setup does)")
    result = subprocess.run([promtool, "check", "metrics"], input=text.encode(), capture_output=True, check=False)
    assert result.returncode == 0, (result.stdout + result.stderr).decode()


def test_a_policy_without_escalations_exports_no_escalation_series(policy: Policy) -> None:
    """Without escalations the gauge family is empty and no published or lateness series exist for them."""
    metrics = Metrics(policy, lambda: Snapshot(now_us=0, clocks=index_figures(policy), period_counts={}, services=[],
                                               ready=True, assigned_partitions=0, pending_wakeups=0))
    text = generate_latest(metrics.registry).decode()
    assert "sla_escalated_open_clocks{" not in text
    assert "sla_escalations_published_total{" not in text
    assert 'type="escalation"' not in text


def index_figures(policy: Policy) -> Any:
    """Empty clock figures for a policy."""
    return ClockIndex([str(float(f)) for f in policy.warn_at]).figures(0)

