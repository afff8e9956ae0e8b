"""`sla-monitor notify` against a real Alertmanager (the shipped routes, webhooks served by the test) and the
real broker: records are produced straight to the output topics, plus one run with a real worker."""

from __future__ import annotations

import json
import os
import subprocess
import time
import urllib.request
from datetime import datetime
from pathlib import Path
from typing import Any

from aiokafka import AIOKafkaProducer

from monitor.notify.alerts import alert_for
from tests.integration.alertmanager import (
    Alertmanager,
    NotifyProcess,
    Webhook,
    alertmanager,
    notifiers,
    webhook,
)
from tests.integration.conftest import (
    BOOTSTRAP,
    REPO,
    Names,
    Producer,
    create_topics,
    free_port,
    iso,
    new_worker,
    run,
    ticket,
)

__all__ = ["alertmanager", "notifiers", "webhook"]  # fixtures


def _clock(kind: str, ticket_id: str, metric: str = "response", **fields: Any) -> dict[str, Any]:
    now = time.time()
    base: dict[str, Any] = {"type": f"sla.{kind}", "schema_version": 1, "ticket_id": ticket_id, "metric": metric,
                            "priority": "P1", "customer_id": "acme", "service_id": "mail",
                            "deadline": iso(now + 60), "at": iso(now)}
    if kind == "warning":
        base |= {"id": f"{ticket_id}:{metric}:warning:0.75", "threshold": 0.75}
    elif kind == "breach":
        base |= {"id": f"{ticket_id}:{metric}:breach"}
    elif kind == "outcome":
        base |= {"id": f"{ticket_id}:{metric}:outcome", "status": "breached", "used_seconds": 70.0,
                 "target_seconds": 60.0}
    return base | fields


def _escalation(ticket_id: str, level: int, to: str) -> dict[str, Any]:
    base = _clock("breach", ticket_id)
    return base | {"type": "sla.escalation", "id": f"{ticket_id}:response:escalation:{level}", "level": level,
                   "to": to}


def _produce(names: Names, records: list[dict[str, Any]]) -> None:
    topic = {"sla.warning": names.warnings, "sla.breach": names.breaches, "sla.escalation": names.breaches,
             "sla.outcome": names.outcomes}

    async def send() -> None:
        producer = AIOKafkaProducer(bootstrap_servers=BOOTSTRAP, acks="all")
        await producer.start()
        try:
            for record in records:
                await producer.send_and_wait(topic[record["type"]], json.dumps(record).encode(),
                                             key=record["ticket_id"].encode())
        finally:
            await producer.stop()

    run(send())


def _start(names: Names, manager: Alertmanager, started: list[NotifyProcess], tmp_path: Path,
           **env: str) -> NotifyProcess:
    notifier = NotifyProcess(names, manager.url, tmp_path / f"notify-{len(started)}.log", env=env)
    started.append(notifier.start())
    notifier.wait_ready()
    return notifier


def _active(manager: Alertmanager) -> dict[tuple[str, str], dict[str, Any]]:
    """(alertname, ticket_id) -> alert, of Alertmanager's unresolved alerts."""
    return {(a["labels"]["alertname"], a["labels"]["ticket_id"]): a for a in manager.alerts()
            if "ticket_id" in a["labels"]}


def _wait(condition: Any, timeout: float = 20.0, what: str = "") -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.1)
    raise AssertionError(f"timed out: {what}")


def _is(name: str, ticket_id: str, status: str) -> Any:
    return lambda a: (a["labels"]["alertname"] == name and a["labels"]["ticket_id"] == ticket_id
                      and a["status"] == status)


def test_breach_reaches_the_webhook_and_its_outcome_resolves_it(
        names: Names, alertmanager: Alertmanager, webhook: Webhook, notifiers: list[NotifyProcess],
        tmp_path: Path) -> None:
    """A warning reaches the service desk, its breach supersedes it and pages on-call, the outcome resolves it."""
    run(create_topics(names, 2))
    notifier = _start(names, alertmanager, notifiers, tmp_path)
    warning = _clock("warning", "T-1")
    _produce(names, [warning])
    got = webhook.wait_for(_is("SlaWarning", "T-1", "firing"), receiver="service-desk")
    assert got["labels"] == {"alertname": "SlaWarning", "ticket_id": "T-1", "metric": "response", "priority": "P1",
                             "customer": "acme", "service": "mail", "severity": "warning"}
    assert got["annotations"]["deadline"] == warning["deadline"]
    assert got["annotations"]["threshold"] == "warning:0.75"
    assert "75%" in got["annotations"]["summary"]
    assert got["generatorURL"] == "http://127.0.0.1:8080/?ticket=T-1"
    assert datetime.fromisoformat(got["startsAt"]) == datetime.fromisoformat(warning["at"])

    _produce(names, [_clock("breach", "T-1")])
    got = webhook.wait_for(_is("SlaBreach", "T-1", "firing"), receiver="on-call")
    assert got["labels"]["severity"] == "critical"
    _wait(lambda: set(_active(alertmanager)) == {("SlaBreach", "T-1")}, what="the warning superseded")

    _produce(names, [_clock("outcome", "T-1")])
    webhook.wait_for(_is("SlaBreach", "T-1", "resolved"), receiver="on-call")
    _wait(lambda: not _active(alertmanager), what="nothing firing after the outcome")
    assert notifier.metric("sla_notify_firing_alerts") == 0
    assert notifier.metric("sla_notify_posts_total") >= 3
    assert notifier.metric("sla_notify_backlog_alerts") == 0


def test_escalations_route_by_whom_they_are_for(
        names: Names, alertmanager: Alertmanager, webhook: Webhook, notifiers: list[NotifyProcess],
        tmp_path: Path) -> None:
    """sla.escalation records on the breach topic fire SlaEscalation with escalation_to, routed to that person."""
    run(create_topics(names, 2))
    _start(names, alertmanager, notifiers, tmp_path)
    _produce(names, [_clock("breach", "T-2"), _escalation("T-2", 1, "team-lead"), _escalation("T-2", 2, "duty-manager")])
    lead = webhook.wait_for(_is("SlaEscalation", "T-2", "firing"), receiver="team-lead")
    assert lead["labels"]["escalation_to"] == "team-lead"
    assert lead["annotations"]["threshold"] == "escalation:1"
    manager = webhook.wait_for(_is("SlaEscalation", "T-2", "firing"), receiver="duty-manager")
    assert manager["labels"]["escalation_to"] == "duty-manager"
    _produce(names, [_clock("outcome", "T-2")])
    for receiver in ("team-lead", "duty-manager", "on-call"):
        webhook.wait_for(lambda a: a["status"] == "resolved" and a["labels"]["ticket_id"] == "T-2",
                         receiver=receiver)


def test_the_shipped_inhibition_rule_mutes_a_warning_while_its_clocks_breach_fires(
        alertmanager: Alertmanager, webhook: Webhook) -> None:
    """With the notifier's own labels, a firing breach inhibits its clock's warning (same ticket and metric),
    not another clock's."""
    board = "http://127.0.0.1:8080"
    alerts = [alert_for(_clock("warning", "T-3"), board), alert_for(_clock("breach", "T-3"), board),
              alert_for(_clock("warning", "T-3", metric="resolution"), board),
              alert_for(_clock("warning", "T-4"), board)]
    alertmanager.post([a.payload() for a in alerts])

    def current() -> dict[tuple[str, str, str], dict[str, Any]]:
        return {(a["labels"]["alertname"], a["labels"]["ticket_id"], a["labels"]["metric"]): a
                for a in alertmanager.alerts()}

    # The inhibitor learns of the breach asynchronously: wait for it (not for a fixed time).
    _wait(lambda: current().get(("SlaWarning", "T-3", "response"), {}).get("status", {}).get("state")
          == "suppressed", what="the warning muted")
    by_key = current()
    assert len(by_key) == 4
    breach = by_key[("SlaBreach", "T-3", "response")]
    muted = by_key[("SlaWarning", "T-3", "response")]
    assert muted["status"]["state"] == "suppressed"
    assert muted["status"]["inhibitedBy"] == [breach["fingerprint"]]
    for key in (("SlaWarning", "T-3", "resolution"), ("SlaWarning", "T-4", "response")):
        assert by_key[key]["status"]["state"] == "active"
        assert by_key[key]["status"]["inhibitedBy"] == []
    webhook.wait_for(_is("SlaWarning", "T-4", "firing"), receiver="service-desk")
    webhook.wait_for(lambda a: a["labels"]["ticket_id"] == "T-3" and a["labels"]["metric"] == "resolution",
                     receiver="service-desk")
    time.sleep(2)  # two group intervals: the muted warning would have gone out by now
    assert not [a for a in webhook.alerts() if a["labels"]["alertname"] == "SlaWarning"
                and a["labels"]["ticket_id"] == "T-3" and a["labels"]["metric"] == "response"]


def test_a_notifier_restart_loses_no_alert_and_resolves_none_still_open(
        names: Names, alertmanager: Alertmanager, webhook: Webhook, notifiers: list[NotifyProcess],
        tmp_path: Path) -> None:
    """kill -9 and restart: the firing set comes back from the topics; an outcome missed meanwhile resolves."""
    run(create_topics(names, 3))
    first = _start(names, alertmanager, notifiers, tmp_path)
    _produce(names, [_clock("breach", "T-5"), _clock("warning", "T-6"), _clock("warning", "T-7"),
                     _clock("breach", "T-8"), _clock("outcome", "T-8")])
    _wait(lambda: set(_active(alertmanager)) == {("SlaBreach", "T-5"), ("SlaWarning", "T-6"),
                                                 ("SlaWarning", "T-7")}, what="three alerts firing")
    first.kill()
    _produce(names, [_clock("outcome", "T-7")])  # while no notifier runs
    seen = len(webhook.alerts())
    second = _start(names, alertmanager, notifiers, tmp_path)
    assert second.metric("sla_notify_firing_alerts") == 2
    webhook.wait_for(_is("SlaWarning", "T-7", "resolved"))
    _wait(lambda: set(_active(alertmanager)) == {("SlaBreach", "T-5"), ("SlaWarning", "T-6")},
          what="T-5 and T-6 still firing, T-7 resolved")
    time.sleep(3)  # three re-posts by the new notifier
    assert set(_active(alertmanager)) == {("SlaBreach", "T-5"), ("SlaWarning", "T-6")}
    after = webhook.alerts()[seen:]
    assert not [a for a in after if a["status"] == "resolved" and a["labels"]["ticket_id"] in ("T-5", "T-6")]
    assert not [a for a in after if a["labels"]["ticket_id"] == "T-8" and a["status"] == "firing"], \
        "a clock whose outcome came does not fire again"
    assert ("SlaBreach", "T-8") not in _active(alertmanager)


def test_alertmanager_down_builds_a_backlog_and_a_restart_loses_nothing(
        names: Names, alertmanager: Alertmanager, webhook: Webhook, notifiers: list[NotifyProcess],
        tmp_path: Path) -> None:
    """Alertmanager stopped: posts fail and wait (backlog, not ready); back (empty), it gets every firing alert."""
    run(create_topics(names, 2))
    notifier = _start(names, alertmanager, notifiers, tmp_path)
    _produce(names, [_clock("breach", "T-9"), _clock("breach", "T-10")])
    _wait(lambda: len(_active(alertmanager)) == 2, what="two breaches firing")
    alertmanager.stop()
    _produce(names, [_clock("outcome", "T-10"), _clock("warning", "T-11")])
    _wait(lambda: notifier.metric("sla_notify_backlog_alerts") == 2, what="two alerts waiting")
    assert notifier.metric('sla_notify_post_failures_total{reason="unreachable"}') >= 1
    assert notifier.metric("sla_notify_alertmanager_up") == 0
    assert notifier.get("/health/ready")[0] == 503
    alertmanager.start()  # same storage: silences and notification log; no alerts
    _wait(lambda: set(_active(alertmanager)) == {("SlaBreach", "T-9"), ("SlaWarning", "T-11")}, timeout=40,
          what="the firing alerts re-posted, the outcome delivered")
    _wait(lambda: notifier.metric("sla_notify_backlog_alerts") == 0 and notifier.get("/health/ready")[0] == 200,
          timeout=40, what="backlog drained, ready")
    log = notifier.log_path.read_text()
    assert log.count("Alertmanager unreachable") <= 2, "logged once per interval, not per retry"
    webhook.wait_for(_is("SlaWarning", "T-11", "firing"), receiver="service-desk")


def test_end_to_end_with_a_real_worker(
        names: Names, alertmanager: Alertmanager, webhook: Webhook, notifiers: list[NotifyProcess],
        workers: list[Any], tmp_path: Path) -> None:
    """A ticket left unacknowledged past its P1 response target pages on-call; its acknowledgement's outcome
    resolves the breach."""
    run(create_topics(names, 2))
    worker = new_worker(workers, tmp_path, names, "w")
    worker.wait_ready()
    _start(names, alertmanager, notifiers, tmp_path)
    t0 = time.time()
    run(Producer(names).send_all([(0, ticket("opened", "T-20", t0, priority="P1", customer_id="acme"))], t0))
    webhook.wait_for(_is("SlaWarning", "T-20", "firing"), timeout=20, receiver="service-desk")
    breach = webhook.wait_for(_is("SlaBreach", "T-20", "firing"), timeout=30, receiver="on-call")
    assert breach["labels"]["customer"] == "acme"
    assert "ticket=T-20" in breach["generatorURL"]
    now = time.time()
    run(Producer(names).send_all([(0, ticket("acknowledged", "T-20", now))], now))
    webhook.wait_for(_is("SlaBreach", "T-20", "resolved"), timeout=30, receiver="on-call")
    _wait(lambda: not [a for a in alertmanager.alerts()
                       if a["labels"].get("ticket_id") == "T-20" and a["labels"]["metric"] == "response"],
          what="the response clock's alerts resolved")


ESCALATIONS_POLICY = REPO / "tests" / "integration" / "policy.escalations.yaml"


def test_a_real_workers_escalations_reach_whom_they_are_for_and_end_with_the_outcome(
        names: Names, alertmanager: Alertmanager, webhook: Webhook, notifiers: list[NotifyProcess],
        workers: list[Any], tmp_path: Path) -> None:
    """The worker's own sla.escalation records (P1 response 4 s, escalations at 6 s and 8 s) page the team lead
    and the duty manager beside the breach; the acknowledgement's outcome resolves all three."""
    run(create_topics(names, 2))
    worker = new_worker(workers, tmp_path, names, "w", policy=ESCALATIONS_POLICY)
    worker.wait_ready()
    _start(names, alertmanager, notifiers, tmp_path)
    t0 = time.time()
    run(Producer(names).send_all([(0, ticket("opened", "T-30", t0, priority="P1", customer_id="acme"))], t0))
    webhook.wait_for(_is("SlaBreach", "T-30", "firing"), timeout=20, receiver="on-call")
    lead = webhook.wait_for(_is("SlaEscalation", "T-30", "firing"), timeout=20, receiver="team-lead")
    assert lead["annotations"]["threshold"] == "escalation:1"
    manager = webhook.wait_for(_is("SlaEscalation", "T-30", "firing"), timeout=20, receiver="duty-manager")
    assert manager["annotations"]["threshold"] == "escalation:2"
    firing = [a["labels"] for a in alertmanager.alerts() if a["labels"].get("ticket_id") == "T-30"
              and a["labels"]["metric"] == "response"]
    assert sorted((f["alertname"], f.get("escalation_to", "")) for f in firing) == [
        ("SlaBreach", ""), ("SlaEscalation", "duty-manager"), ("SlaEscalation", "team-lead")]
    now = time.time()
    run(Producer(names).send_all([(0, ticket("acknowledged", "T-30", now))], now))
    for receiver in ("on-call", "team-lead", "duty-manager"):
        webhook.wait_for(lambda a: a["status"] == "resolved" and a["labels"]["ticket_id"] == "T-30"
                         and a["labels"]["metric"] == "response", timeout=30, receiver=receiver)


def test_script_starts_and_stops_a_local_alertmanager_with_the_demo_routes(tmp_path: Path) -> None:
    """`scripts/alertmanager.sh up` serves deploy/alertmanager/demo.yml on the given port without clustering;
    `down` stops it and `status` then says so."""
    script = str(REPO / "scripts" / "alertmanager.sh")
    port = free_port()
    env = {**os.environ, "ALERTMANAGER_HOME_DIR": str(tmp_path / "am"), "ALERTMANAGER_PORT": str(port)}
    env.pop("ALERTMANAGER_CONFIG", None)
    try:
        subprocess.run([script, "up"], env=env, check=True, capture_output=True, timeout=60)
        assert subprocess.run([script, "up"], env=env, capture_output=True, text=True, timeout=60).stdout \
            .startswith("alertmanager: already running")
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/v2/status", timeout=5) as reply:
            status = json.loads(reply.read())
        assert status["cluster"]["status"] == "disabled"
        assert "SlaBreach" in status["config"]["original"]
        assert (tmp_path / "am" / "data").is_dir()
    finally:
        subprocess.run([script, "down"], env=env, check=False, capture_output=True, timeout=60)
    after = subprocess.run([script, "status"], env=env, capture_output=True, text=True, check=False, timeout=30)
    assert after.returncode == 1, after.stdout + after.stderr
