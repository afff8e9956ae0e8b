"""Prometheus metrics of `sla-monitor notify`, in a registry of its own (see docs/metrics.md)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge


class NotifyMetrics:
    """Counters and gauges of one notifier process."""

    def __init__(self, registry: CollectorRegistry, firing: Callable[[], dict[str, int]],
                 backlog: Callable[[], int]) -> None:
        self.registry = registry
        self.records = Counter("sla_notify_records_total", "Records read from the warning, breach and outcome "
                               "topics, by what they did.", ["result"], registry=registry)
        self.alerts = Counter("sla_notify_alerts_total", "Alert changes decided (firing, updated, resolved, "
                              "superseded, replaced, untracked).", ["event"], registry=registry)
        self.posts = Counter("sla_notify_posts_total", "POST /api/v2/alerts requests Alertmanager accepted.",
                             registry=registry)
        self.posted_alerts = Counter("sla_notify_posted_alerts_total", "Alerts in accepted posts (re-posts "
                                     "included).", registry=registry)
        self.failures = Counter("sla_notify_post_failures_total", "Posts that failed, by reason (unreachable: "
                                "retried; refused: an invalid alert, dropped).", ["reason"], registry=registry)
        self.untracked = Counter("sla_notify_untracked_alerts_total", "Alerts posted once but not kept, the "
                                 "firing set being full (SLA_NOTIFY_MAX_FIRING).", registry=registry)
        self.dropped = Counter("sla_notify_outbox_dropped_total", "Waiting posts dropped because the backlog "
                               "was full.", registry=registry)
        self.up = Gauge("sla_notify_alertmanager_up", "1 when the last post to Alertmanager succeeded.",
                        registry=registry)
        self.last_success = Gauge("sla_notify_last_post_success_timestamp_seconds", "Unix time of the last "
                                  "accepted post.", registry=registry)
        self.ready = Gauge("sla_notify_ready", "1 once the topics were read to their end at start-up.",
                           registry=registry)
        Gauge("sla_notify_backlog_alerts", "Alert changes waiting to be posted (grows while Alertmanager is "
              "unreachable).", registry=registry).set_function(lambda: float(backlog()))
        firing_gauge = Gauge("sla_notify_firing_alerts", "Alerts firing now (kept and re-posted), by alertname.",
                             ["alertname"], registry=registry)
        for name in ("SlaWarning", "SlaBreach", "SlaEscalation"):
            firing_gauge.labels(name).set_function(lambda name=name: float(firing().get(name, 0)))  # type: ignore[misc]
        self._records: dict[str, Any] = {}
        self._alerts: dict[str, Any] = {}

    def record(self, result: str) -> None:
        """Count one record read, by what it did."""
        child = self._records.get(result)
        if child is None:
            child = self._records[result] = self.records.labels(result)
        child.inc()

    def alert(self, event: str) -> None:
        """Count one alert change."""
        child = self._alerts.get(event)
        if child is None:
            child = self._alerts[event] = self.alerts.labels(event)
        child.inc()
