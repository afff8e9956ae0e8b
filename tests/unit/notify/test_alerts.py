"""The notifier's decisions: which alerts fire, which resolve, what is posted (no Kafka, no HTTP)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from monitor.notify.alerts import FiringSet, Ignored, Outbox, Post, alert_for, kept_after_rebuild, merge_key

BOARD = "http://board.example:8080"
T0 = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
NOW = T0 + timedelta(hours=1)


def record(kind: str, ticket: str = "T-1", metric: str = "response", at: datetime = T0, **fields: Any) -> dict[str, Any]:
    """One output record in the worker's shape."""
    body: dict[str, Any] = {"type": f"sla.{kind}", "id": f"{ticket}:{metric}:{kind}", "schema_version": 1,
                            "ticket_id": ticket, "metric": metric, "priority": "P1",
                            "deadline": (T0 + timedelta(minutes=15)).isoformat(), "at": at.isoformat()}
    if kind == "warning":
        body |= {"threshold": 0.75, "id": f"{ticket}:{metric}:warning:0.75"}
    if kind == "outcome":
        body |= {"status": "breached", "used_seconds": 1000.0, "target_seconds": 900.0}
    if kind == "escalation":
        body |= {"level": 1, "to": "team-lead", "id": f"{ticket}:{metric}:escalation:1"}
    return body | fields


def events(decision: Any) -> list[tuple[str, str, bool]]:
    """(alertname, change, resolved) of each post."""
    return [(dict(p.alert.labels)["alertname"], p.event, p.ends_at is not None) for p in decision.posts]


def test_labels_annotations_and_link_follow_the_contract() -> None:
    """A breach becomes SlaBreach/critical with the ticket's labels, the deadline, its level and the board link."""
    alert = alert_for(record("breach", "T 1/x", customer_id="acme", service_id="mail"), BOARD)
    assert dict(alert.labels) == {"alertname": "SlaBreach", "ticket_id": "T 1/x", "metric": "response",
                                  "priority": "P1", "customer": "acme", "service": "mail", "severity": "critical"}
    notes = dict(alert.annotations)
    assert notes["deadline"] == "2026-03-02T10:15:00+00:00"
    assert notes["threshold"] == "breach"
    assert "T 1/x" in notes["summary"]
    assert "acme" in notes["summary"]
    assert alert.generator_url == "http://board.example:8080/?ticket=T%201%2Fx"
    payload = alert.payload()
    assert payload["startsAt"] == "2026-03-02T10:00:00Z"
    assert "endsAt" not in payload


@pytest.mark.parametrize(("kind", "alertname", "severity", "threshold"), [
    ("warning", "SlaWarning", "warning", "warning:0.75"),  # a threshold of the target
    ("breach", "SlaBreach", "critical", "breach"),  # the target reached
    ("escalation", "SlaEscalation", "critical", "escalation:1"),  # past the target by an escalation's `after`
])
def test_each_kind_has_its_name_severity_and_level(kind: str, alertname: str, severity: str, threshold: str) -> None:
    """alertname, severity and the threshold annotation per record type; escalation_to only on escalations."""
    alert = alert_for(record(kind), BOARD)
    labels = dict(alert.labels)
    assert (labels["alertname"], labels["severity"], dict(alert.annotations)["threshold"]) == \
        (alertname, severity, threshold)
    assert ("escalation_to" in labels) == (kind == "escalation")
    assert "customer" not in labels  # absent fields give no label, not an empty one


@pytest.mark.parametrize(("body", "reason"), [
    ({"type": "sla.rating", "id": "T-1:rating", "ticket_id": "T-1", "score": 4}, "other_type"),  # outcomes topic
    ({"type": "sla.breach", "id": "shop:availability:2026-03:breach", "service_id": "shop",
      "metric": "availability"}, "service"),  # service-level record
    (record("breach", at=T0) | {"at": "yesterday"}, "malformed"),  # unreadable time
    (record("warning") | {"threshold": 2}, "malformed"),  # threshold out of range
    (record("escalation") | {"level": 0}, "malformed"),  # no level
    ({k: v for k, v in record("breach").items() if k != "priority"}, "malformed"),  # missing field
])
def test_records_that_are_not_ticket_alerts_are_ignored_with_a_reason(body: dict[str, Any], reason: str) -> None:
    """Ratings, service-level records and malformed ones change nothing and say why."""
    firing = FiringSet(BOARD)
    decision = firing.apply(body, 1, NOW)
    assert (decision.ignored, decision.posts, len(firing)) == (reason, [], 0)
    with pytest.raises(Ignored):
        alert_for(body, BOARD)


def test_the_breach_supersedes_the_warning_and_the_outcome_resolves_the_breach() -> None:
    """warning fires; breach resolves it and fires; the outcome resolves the breach with endsAt = its time."""
    firing = FiringSet(BOARD)
    assert events(firing.apply(record("warning"), 1, NOW)) == [("SlaWarning", "firing", False)]
    breach = firing.apply(record("breach", at=T0 + timedelta(minutes=15)), 2, NOW)
    assert events(breach) == [("SlaWarning", "superseded", True), ("SlaBreach", "firing", False)]
    assert breach.posts[0].payload()["endsAt"] == "2026-03-02T10:15:00Z"
    assert firing.counts() == {"SlaWarning": 0, "SlaBreach": 1, "SlaEscalation": 0}
    outcome = firing.apply(record("outcome", at=T0 + timedelta(minutes=20)), 3, NOW)
    assert events(outcome) == [("SlaBreach", "resolved", True)]
    assert outcome.posts[0].payload()["endsAt"] == "2026-03-02T10:20:00Z"
    assert len(firing) == 0


def test_a_later_warning_threshold_updates_the_one_warning_alert() -> None:
    """Thresholds of one clock share one alert (no threshold label): 0.9 updates it, nothing resolves."""
    firing = FiringSet(BOARD)
    firing.apply(record("warning"), 1, NOW)
    later = firing.apply(record("warning", threshold=0.9, id="T-1:response:warning:0.9"), 2, NOW)
    assert events(later) == [("SlaWarning", "updated", False)]
    assert dict(later.posts[0].alert.annotations)["threshold"] == "warning:0.9"
    assert len(firing) == 1


def test_a_warning_after_its_breach_does_not_fire() -> None:
    """Read late from its topic, a warning of a clock whose breach fires is superseded at once."""
    firing = FiringSet(BOARD)
    firing.apply(record("breach"), 2, NOW)
    assert firing.apply(record("warning"), 1, NOW).ignored == "superseded"
    assert firing.counts()["SlaWarning"] == 0


def test_an_alert_read_after_its_outcome_does_not_fire_but_one_after_a_reopening_does() -> None:
    """Outcome first (topics read in parallel): the older breach is dropped; a breach published later fires."""
    firing = FiringSet(BOARD)
    assert firing.apply(record("outcome"), 5, NOW).ignored == "nothing_firing"
    assert firing.apply(record("breach"), 4, NOW).ignored == "after_outcome"
    assert firing.apply(record("breach"), 5, NOW).ignored == "after_outcome"  # same millisecond: outcome last
    assert events(firing.apply(record("breach", metric="response"), 9, NOW)) == [("SlaBreach", "firing", False)]


def test_an_outcome_resolves_only_its_own_clock() -> None:
    """The response outcome leaves the resolution clock's and other tickets' alerts firing."""
    firing = FiringSet(BOARD)
    firing.apply(record("breach"), 1, NOW)
    firing.apply(record("warning", metric="resolution"), 1, NOW)
    firing.apply(record("breach", ticket="T-2"), 1, NOW)
    assert events(firing.apply(record("outcome"), 2, NOW)) == [("SlaBreach", "resolved", True)]
    assert sorted((dict(a.labels)["ticket_id"], dict(a.labels)["metric"]) for a in firing.firing()) == \
        [("T-1", "resolution"), ("T-2", "response")]


def test_escalations_fire_beside_the_breach_and_resolve_with_it() -> None:
    """Escalation 1 and 2 (to different people) keep the breach firing; the outcome resolves all three."""
    firing = FiringSet(BOARD)
    firing.apply(record("breach"), 1, NOW)
    firing.apply(record("escalation"), 2, NOW)
    firing.apply(record("escalation", level=2, to="duty-manager", id="T-1:response:escalation:2"), 3, NOW)
    assert firing.counts() == {"SlaWarning": 0, "SlaBreach": 1, "SlaEscalation": 2}
    assert events(firing.apply(record("outcome"), 4, NOW)) == [
        ("SlaBreach", "resolved", True), ("SlaEscalation", "resolved", True), ("SlaEscalation", "resolved", True)]


def test_a_priority_change_replaces_the_alert_with_its_new_labels() -> None:
    """Same slot, other labels: the old alert is resolved and the new one fires (no stale alert left)."""
    firing = FiringSet(BOARD)
    firing.apply(record("warning"), 1, NOW)
    changed = firing.apply(record("warning", priority="P2", threshold=0.9), 2, NOW)
    assert events(changed) == [("SlaWarning", "replaced", True), ("SlaWarning", "firing", False)]
    assert [dict(a.labels)["priority"] for a in firing.firing()] == ["P2"]


def test_ends_at_is_never_before_starts_at_nor_after_now() -> None:
    """A late acknowledgement's outcome (before the breach's time) still resolves; a future one resolves now."""
    firing = FiringSet(BOARD)
    firing.apply(record("breach", at=T0 + timedelta(minutes=15)), 1, NOW)
    early = firing.apply(record("outcome", at=T0 + timedelta(minutes=10)), 2, NOW)
    assert early.posts[0].payload()["endsAt"] == early.posts[0].payload()["startsAt"]
    firing.apply(record("breach", ticket="T-2"), 1, NOW)
    future = firing.apply(record("outcome", ticket="T-2", at=NOW + timedelta(days=1)), 2, NOW)
    assert future.posts[0].payload()["endsAt"] == "2026-03-02T11:00:00Z"


def test_the_firing_set_is_bounded() -> None:
    """Beyond max_firing an alert is posted once, untracked and counted; the tracked ones stay."""
    firing = FiringSet(BOARD, max_firing=2)
    for n in range(3):
        decision = firing.apply(record("breach", ticket=f"T-{n}"), n, NOW)
    assert events(decision) == [("SlaBreach", "untracked", False)]
    assert (len(firing), firing.untracked) == (2, 1)
    # an update of a tracked alert is not refused
    assert events(firing.apply(record("breach", ticket="T-0"), 5, NOW)) == [("SlaBreach", "updated", False)]


def test_remembered_outcomes_are_bounded() -> None:
    """Only the last `recent_outcomes` outcomes are remembered; the oldest is forgotten first."""
    firing = FiringSet(BOARD, recent_outcomes=2)
    for n in range(3):
        firing.apply(record("outcome", ticket=f"T-{n}"), 10, NOW)
    assert firing.apply(record("breach", ticket="T-0"), 1, NOW).ignored is None  # forgotten
    assert firing.apply(record("breach", ticket="T-2"), 1, NOW).ignored == "after_outcome"


def test_outbox_keeps_the_latest_post_per_alert_and_is_bounded() -> None:
    """A resolution replaces the waiting firing post of the same alert; beyond `most` the oldest go."""
    firing, outbox = FiringSet(BOARD), Outbox(most=2)
    outbox.add(firing.apply(record("breach"), 1, NOW).posts)
    outbox.add(firing.apply(record("outcome"), 2, NOW).posts)
    [waiting] = outbox.peek(10)
    assert waiting.ends_at is not None
    outbox.add(firing.apply(record("breach", ticket="T-2"), 3, NOW).posts)
    outbox.add(firing.apply(record("breach", ticket="T-3"), 3, NOW).posts)
    assert (len(outbox), outbox.dropped) == (2, 1)
    sent = outbox.peek(1)
    outbox.add(firing.apply(record("outcome", ticket="T-2"), 4, NOW).posts)  # replaced while in flight
    outbox.done(sent)
    assert len(outbox) == 2
    outbox.discard_firing()
    assert [p.event for p in outbox.peek(10)] == ["resolved"]


def test_after_a_rebuild_only_recent_resolutions_are_sent() -> None:
    """Re-reading the topics, a resolution older than resolve_timeout is not re-sent; firing ones wait for the
    whole set."""
    alert = alert_for(record("breach"), BOARD)
    now_ms = int(NOW.timestamp() * 1000)
    assert kept_after_rebuild(Post(alert, NOW, "resolved"), now_ms - 299_000, NOW, 300)
    assert not kept_after_rebuild(Post(alert, NOW, "resolved"), now_ms - 301_000, NOW, 300)
    assert not kept_after_rebuild(Post(alert), now_ms, NOW, 300)


def test_merge_order_puts_alerts_before_an_outcome_of_the_same_millisecond() -> None:
    """Publication order across topics: timestamp, then warning < breach < escalation < outcome."""
    keys = [merge_key(record(k), 7) for k in ("outcome", "escalation", "breach", "warning")]
    assert sorted(keys) == [(7, 0), (7, 1), (7, 2), (7, 3)]
    assert merge_key(record("outcome"), 6) < merge_key(record("warning"), 7)
