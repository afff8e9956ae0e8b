"""Prometheus metrics of a worker: process counters plus figures read from state.

Counters and the lateness histogram are ordinary prometheus-client metrics in
the worker's own registry. Everything derived from SLA state (open clocks,
at-risk clocks, month-to-date outcomes, service budgets) comes from a custom
collector that asks the worker for a ``Snapshot`` at scrape time, for the
partitions this worker owns, so every figure adds up across workers (see
docs/metrics.md). Ticket-clock figures come from ``clock_index.ClockIndex``,
kept up to date as states are recorded (a scrape does not walk the open
clocks); service figures are computed from the states with the functions below.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from prometheus_client import CollectorRegistry
from prometheus_client import Counter as PromCounter
from prometheus_client import Histogram as PromHistogram
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from monitor.core.budget import ServiceState, budget_of, in_maintenance, period_label, view
from monitor.core.clock import METRICS
from monitor.core.instants import US_PER_SECOND, to_us
from monitor.core.policy import Policy
from monitor.live.clock_index import ClockFigures, ClockView
from monitor.live.worker_state import month_of

LATENESS_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)


@dataclass
class Snapshot:
    """What the worker knows for its partitions, as of ``now_us``."""

    now_us: int
    clocks: ClockFigures  # as of now_us (``ClockIndex.figures``)
    period_counts: Mapping[str, Counter[str]]  # period -> "priority|metric|outcome" -> clocks
    services: Iterable[ServiceState]
    ready: bool
    assigned_partitions: int
    pending_wakeups: int
    lag: Mapping[str, int] = field(default_factory=dict)


def clock_figures(clocks: Iterable[tuple[ClockView, ...]], policy: Policy, now_us: int) -> ClockFigures:
    """Count open, at-risk (cumulative per threshold), breached and escalated (cumulative per level) clocks;
    find the next deadlines.

    A scan of every clock: the reference ``ClockIndex.figures`` is tested against. A clock's due instants are
    its warnings, its deadline, then its escalations.
    """
    figures = ClockFigures()
    thresholds = [str(float(f)) for f in policy.warn_at]
    warnings = len(thresholds)
    for views in clocks:
        for priority, metric, due in views:
            key = (priority, metric)
            figures.open[key] += 1
            if len(due) <= warnings:
                continue
            deadline = due[warnings]
            if deadline is not None and deadline <= now_us:
                figures.breached[key] += 1
                for level, at in enumerate(due[warnings + 1 :], start=1):
                    if at is not None and at <= now_us:
                        figures.escalated[(priority, metric, str(level))] += 1
                continue
            for threshold, at in zip(thresholds, due[:warnings], strict=False):
                if at is not None and at <= now_us:
                    figures.at_risk[(priority, metric, threshold)] += 1
            if deadline is not None and (key not in figures.next_deadline or deadline < figures.next_deadline[key]):
                figures.next_deadline[key] = deadline
    return figures


@dataclass(frozen=True)
class ServiceFigures:
    """One service's gauges as of a snapshot."""

    service: str
    period: str
    objective: float
    period_seconds: float
    elapsed_seconds: float
    budget_seconds: float
    used_seconds: float
    downtime_total_seconds: float
    condition: str
    in_maintenance: bool
    last_probe_seconds: float | None


def service_figures(states: Iterable[ServiceState], policy: Policy, now_us: int) -> list[ServiceFigures]:
    """Budget figures of each service the policy still knows, accounted up to ``now_us``."""
    out = []
    for stored in states:
        target = policy.services.get(stored.service_id)
        if target is None:
            continue
        state = view(stored, policy, now_us)
        period_us, budget = budget_of(state, policy)
        last = state.last_probe
        out.append(ServiceFigures(
            service=state.service_id,
            period=period_label(target.timezone, state.period_start),
            objective=float(target.objective),
            period_seconds=period_us / US_PER_SECOND,
            elapsed_seconds=max(0, min(now_us, state.period_start + period_us) - state.period_start) / US_PER_SECOND,
            budget_seconds=budget / US_PER_SECOND,
            used_seconds=state.used / US_PER_SECOND,
            downtime_total_seconds=state.total / US_PER_SECOND,
            condition=state.condition,
            in_maintenance=in_maintenance(state, policy, now_us),
            last_probe_seconds=last / US_PER_SECOND if last is not None else None,
        ))
    return out


class StateCollector(Collector):
    """A custom collector computing state-derived figures from a fresh snapshot at each scrape."""

    def __init__(self, policy: Policy, snapshot: Callable[[], Snapshot]) -> None:
        self.policy = policy
        self.snapshot = snapshot

    def collect(self) -> Iterator[Metric]:
        """Yield every state-derived metric family."""
        snap = self.snapshot()
        yield from self._clocks(snap)
        yield from self._services(snap)
        yield from self._worker(snap)

    def _clocks(self, snap: Snapshot) -> Iterator[Metric]:
        figures = snap.clocks
        open_ = GaugeMetricFamily("sla_open_clocks", "Clocks not yet stopped (running or paused).",
                                  labels=["priority", "metric"])
        breached = GaugeMetricFamily("sla_breached_open_clocks", "Open clocks past their target.",
                                     labels=["priority", "metric"])
        at_risk = GaugeMetricFamily(
            "sla_at_risk_clocks", "Open clocks, not breached, that used at least `threshold` of their target.",
            labels=["priority", "metric", "threshold"])
        deadline = GaugeMetricFamily(
            "sla_next_deadline_timestamp_seconds", "Earliest deadline among running clocks not yet breached.",
            labels=["priority", "metric"])
        escalated = GaugeMetricFamily(
            "sla_escalated_open_clocks", "Open clocks past escalation `level` of the policy (cumulative: a clock "
            "past level 2 counts at levels 1 and 2).", labels=["priority", "metric", "level"])
        thresholds = [str(float(f)) for f in self.policy.warn_at]
        levels = [str(n) for n in range(1, self.policy.max_escalations + 1)]
        for priority in self.policy.priorities:
            for metric in METRICS:
                open_.add_metric([priority, metric], figures.open[(priority, metric)])
                breached.add_metric([priority, metric], figures.breached[(priority, metric)])
                for level in levels:
                    escalated.add_metric([priority, metric, level], figures.escalated[(priority, metric, level)])
                for threshold in thresholds:
                    at_risk.add_metric([priority, metric, threshold], figures.at_risk[(priority, metric, threshold)])
                if (priority, metric) in figures.next_deadline:
                    deadline.add_metric([priority, metric], figures.next_deadline[(priority, metric)] / US_PER_SECOND)
        outcomes = GaugeMetricFamily(
            "sla_period_outcomes", "Clocks stopped in the current month (report zone), met or breached.",
            labels=["priority", "metric", "outcome", "period"])
        period = month_of(self.policy, snap.now_us)
        counts = snap.period_counts.get(period, Counter())
        for priority in self.policy.priorities:
            for metric in METRICS:
                for outcome in ("met", "breached"):
                    outcomes.add_metric([priority, metric, outcome, period], counts[f"{priority}|{metric}|{outcome}"])
        yield from (open_, at_risk, breached, escalated, deadline, outcomes)

    def _services(self, snap: Snapshot) -> Iterator[Metric]:
        def gauge(name: str, text: str, *extra: str) -> GaugeMetricFamily:
            return GaugeMetricFamily(name, text, labels=["service", *extra])

        downtime = CounterMetricFamily("sla_service_downtime_seconds",
                                       "Downtime counted against the budget since the service was first seen.",
                                       labels=["service"])
        objective = gauge("sla_service_objective_ratio", "Availability target, e.g. 0.999.")
        length = gauge("sla_service_period_seconds", "Length of the current period.", "period")
        elapsed = gauge("sla_service_period_elapsed_seconds", "Seconds of the current period gone by.", "period")
        budget = gauge("sla_service_budget_seconds", "Error budget of the current period.", "period")
        used = gauge("sla_service_budget_used_seconds", "Downtime counted in the current period.", "period")
        condition = gauge("sla_service_state", "1 for the service's current state (up, down, unknown).", "state")
        maintenance = gauge("sla_service_in_maintenance", "1 inside a maintenance window announced in time.")
        last_probe = gauge("sla_service_last_probe_timestamp_seconds", "Event time of the newest probe result.")
        for f in service_figures(snap.services, self.policy, snap.now_us):
            downtime.add_metric([f.service], f.downtime_total_seconds)
            objective.add_metric([f.service], f.objective)
            length.add_metric([f.service, f.period], f.period_seconds)
            elapsed.add_metric([f.service, f.period], f.elapsed_seconds)
            budget.add_metric([f.service, f.period], f.budget_seconds)
            used.add_metric([f.service, f.period], f.used_seconds)
            for name in ("up", "down", "unknown"):
                condition.add_metric([f.service, name], 1.0 if f.condition == name else 0.0)
            maintenance.add_metric([f.service], 1.0 if f.in_maintenance else 0.0)
            if f.last_probe_seconds is not None:
                last_probe.add_metric([f.service], f.last_probe_seconds)
        yield from (downtime, objective, length, elapsed, budget, used, condition, maintenance, last_probe)

    def _worker(self, snap: Snapshot) -> Iterator[Metric]:
        yield GaugeMetricFamily("sla_worker_ready",
                                "1 when ready: recovered, not rebalancing, Kafka answering, publishes acknowledged.",
                                value=1.0 if snap.ready else 0.0)
        yield GaugeMetricFamily("sla_worker_assigned_partitions", "Partitions this worker owns.",
                                value=snap.assigned_partitions)
        yield GaugeMetricFamily("sla_pending_wakeups", "Wake-ups planned in memory.", value=snap.pending_wakeups)
        lag = GaugeMetricFamily("sla_consumer_lag_messages",
                                "Messages not yet consumed on the owned partitions of each input topic.",
                                labels=["topic"])
        for topic, messages in sorted(snap.lag.items()):
            lag.add_metric([topic], messages)
        yield lag


class Metrics:
    """The worker's registry: process counters, lateness, and the state collector."""

    def __init__(self, policy: Policy, snapshot: Callable[[], Snapshot]) -> None:
        self.registry = CollectorRegistry()  # no auto-describe: collecting needs a running worker
        self.policy = policy
        r = self.registry
        self.warnings = PromCounter("sla_warnings_published", "sla.warning records acknowledged by the broker.",
                                    ["metric", "threshold"], registry=r)
        self.breaches = PromCounter("sla_breaches_published", "sla.breach records acknowledged by the broker.",
                                    ["metric"], registry=r)
        self.escalations = PromCounter("sla_escalations_published", "sla.escalation records acknowledged by the "
                                       "broker, by escalation level.", ["metric", "level"], registry=r)
        self.ratings = PromCounter("sla_ratings_published", "sla.rating records (customer ratings) acknowledged "
                                   "by the broker, by score.", ["score"], registry=r)
        self.outcomes = PromCounter("sla_outcomes_published", "sla.outcome records acknowledged by the broker.",
                                    ["priority", "metric", "outcome"], registry=r)
        self.lateness = PromHistogram("sla_alert_lateness_seconds",
                                      "Seconds between an alert's due instant and its acknowledgement.",
                                      ["type"], buckets=LATENESS_BUCKETS, registry=r)
        self.inputs = PromCounter("sla_input_events", "Input messages by event type and result.",
                                  ["type", "result"], registry=r)
        self.dead_letters = PromCounter("sla_dead_letters", "Dead letters published, by kind.", ["reason"],
                                        registry=r)
        self.unpublishable = PromCounter("sla_unpublishable_records",
                                         "Records the broker refused for good whose dead letter was refused too "
                                         "(dropped, logged).", registry=r)
        r.register(StateCollector(policy, snapshot))
        # (id of a metric above, its label values) -> its child: ``labels()`` costs ~1.8 us, a look-up ~0.2 (counted
        # per event and per alert). Bounded: every label value comes from the policy or a fixed set.
        self._children: dict[tuple[int | str, ...], Any] = {}
        self._start_at_zero()

    def _start_at_zero(self) -> None:
        # Series that exist from the start make increase() and rate() exact from the first event.
        thresholds = [str(float(f)) for f in self.policy.warn_at]
        for metric in (*METRICS, "availability"):
            self.breaches.labels(metric)
            for threshold in thresholds:
                self.warnings.labels(metric, threshold)
        for metric in METRICS:
            for level in range(1, self.policy.max_escalations + 1):
                self.escalations.labels(metric, str(level))
        for outcome in ("met", "breached"):
            for priority in self.policy.priorities:
                for metric in METRICS:
                    self.outcomes.labels(priority, metric, outcome)
            if self.policy.services:
                self.outcomes.labels("", "availability", outcome)
        for reason in ("malformed", "rejected", "duplicate", "internal"):
            self.dead_letters.labels(reason)
        for kind in ("warning", "breach", *(("escalation",) if self.policy.max_escalations else ())):
            self.lateness.labels(kind)
        for score in range(1, 6):
            self.ratings.labels(str(score))

    def _labelled(self, metric: Any, *values: str) -> Any:
        """``metric.labels(*values)``, remembered."""
        key: tuple[int | str, ...] = (id(metric), *values)
        child = self._children.get(key)
        if child is None:
            child = self._children[key] = metric.labels(*values)
        return child

    def count_input(self, kind: str, result: str) -> None:
        """Count one input message of type ``kind`` by what became of it (accepted, rejected, ...)."""
        self._labelled(self.inputs, kind, result).inc()

    def count_dead_letter(self, kind: str) -> None:
        """Count one dead letter of ``kind`` (malformed, rejected, duplicate, internal)."""
        self._labelled(self.dead_letters, kind).inc()

    def count_unpublishable(self) -> None:
        """Count one record dropped because neither it nor its dead letter could be published."""
        self.unpublishable.inc()

    def published(self, record: dict[str, Any], now_us: int) -> None:
        """Count one record the broker acknowledged (and how late an alert was)."""
        kind, labelled = record["type"], self._labelled
        if kind == "sla.rating":
            labelled(self.ratings, str(record["score"])).inc()
            return
        metric = record["metric"]
        if kind == "sla.warning":
            labelled(self.warnings, metric, str(record["threshold"])).inc()
        elif kind == "sla.breach":
            labelled(self.breaches, metric).inc()
        elif kind == "sla.escalation":
            labelled(self.escalations, metric, str(record["level"])).inc()
        elif kind == "sla.outcome":
            labelled(self.outcomes, record.get("priority", ""), metric, record["status"]).inc()
            return
        due = _parse_us(record["at"])
        labelled(self.lateness, kind.removeprefix("sla.")).observe(max(0, now_us - due) / US_PER_SECOND)


def _parse_us(text: str) -> int:
    return to_us(datetime.fromisoformat(text).astimezone(UTC))
