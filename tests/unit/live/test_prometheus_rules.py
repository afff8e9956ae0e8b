"""The shipped Prometheus configuration, rules and Alertmanager route pass Prometheus's own checks and unit tests."""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import subprocess
import time
import urllib.request
from pathlib import Path
from typing import Any

import pytest
import yaml

REPO = Path(__file__).resolve().parents[3]
PROMETHEUS = REPO / "deploy" / "prometheus"
RULE_FILES = sorted((PROMETHEUS / "rules").glob("*.yml"))
TEST_FILES = sorted((PROMETHEUS / "tests").glob("*.yml"))
SCRIPT = REPO / "scripts" / "prometheus.sh"


def _tool(name: str) -> str:
    found = shutil.which(name)
    if found is None:
        pytest.fail(f"{name} is not installed: run `scripts/prometheus.sh install` (make setup does)")
    return found


def _run(*command: str, env: dict[str, str] | None = None) -> str:
    result = subprocess.run(command, cwd=PROMETHEUS, capture_output=True, text=True, check=False, env=env)
    output = result.stdout + result.stderr
    assert result.returncode == 0, f"{' '.join(command)} exited {result.returncode}:\n{output}"
    return output


def _rules() -> list[dict[str, Any]]:
    return [rule for path in RULE_FILES for group in yaml.safe_load(path.read_text())["groups"]
            for rule in group["rules"]]


@pytest.mark.parametrize("config", ["prometheus.yml", "local.yml"])
def test_prometheus_config_is_valid(config: str) -> None:
    """`promtool check config` accepts the stack's and the local config and the rule files they load."""
    _run(_tool("promtool"), "check", "config", config)


def test_local_config_scrapes_the_demo_worker_with_the_same_rules() -> None:
    """`scripts/prometheus.sh up` defaults to local.yml: the demo worker's port, the stack's rules."""
    local = yaml.safe_load((PROMETHEUS / "local.yml").read_text())
    stack = yaml.safe_load((PROMETHEUS / "prometheus.yml").read_text())
    job = next(j for j in local["scrape_configs"] if j["job_name"] == "sla-monitor")
    assert job["static_configs"][0]["targets"] == ["127.0.0.1:6066"]
    assert local["rule_files"] == stack["rule_files"]


def test_scrape_config_targets_the_compose_workers() -> None:
    """The sla-monitor job scrapes both compose workers' /metrics every 15 s and loads rules/*.yml."""
    config = yaml.safe_load((PROMETHEUS / "prometheus.yml").read_text())
    job = next(j for j in config["scrape_configs"] if j["job_name"] == "sla-monitor")
    assert job.get("scrape_interval", config["global"]["scrape_interval"]) == "15s"
    assert job.get("metrics_path", "/metrics") == "/metrics"
    assert job["static_configs"][0]["targets"] == ["worker-1:6066", "worker-2:6066"]
    assert config["rule_files"] == ["rules/*.yml"]
    assert config["alerting"]["alertmanagers"][0]["static_configs"][0]["targets"] == ["alertmanager:9093"]


def test_rule_files_are_valid() -> None:
    """`promtool check rules` accepts every rule file."""
    assert RULE_FILES
    _run(_tool("promtool"), "check", "rules", *map(str, RULE_FILES))


def test_rule_unit_tests_pass() -> None:
    """`promtool test rules` passes: every alert fires and stays quiet where it should, recordings give known values."""
    output = _run(_tool("promtool"), "test", "rules", *map(str, TEST_FILES))
    assert output.count("SUCCESS") == len(TEST_FILES), output


def test_every_alert_has_a_positive_and_a_negative_unit_test() -> None:
    """Each alert rule appears in the unit tests with at least one case where it fires and one where it does not."""
    alerts = {rule["alert"] for rule in _rules() if "alert" in rule}
    fired: set[str] = set()
    quiet: set[str] = set()
    for path in TEST_FILES:
        for case in yaml.safe_load(path.read_text())["tests"]:
            for check in case.get("alert_rule_test", []):
                (fired if check.get("exp_alerts") else quiet).add(check["alertname"])
    assert alerts - fired == set(), "alerts never shown firing"
    assert alerts - quiet == set(), "alerts never shown quiet"


def test_every_alert_has_a_severity_and_says_what_and_why() -> None:
    """Each alert is labelled severity page or ticket and has a summary and a description."""
    alerts = [rule for rule in _rules() if "alert" in rule]
    assert len(alerts) >= 10
    for rule in alerts:
        assert rule["labels"]["severity"] in {"page", "ticket"}, rule["alert"]
        assert rule["annotations"]["summary"].strip(), rule["alert"]
        assert rule["annotations"]["description"].strip(), rule["alert"]


def test_alertmanager_route_is_valid() -> None:
    """`amtool check-config` accepts the sample Alertmanager route."""
    _run(_tool("amtool"), "check-config", "alertmanager.yml")


@pytest.mark.parametrize(("labels", "receiver"), [
    (["severity=page", "alertname=SlaBreached"], "on-call"),
    (["severity=ticket", "alertname=ConsumerLagHigh"], "service-desk"),
    (["alertname=Unlabelled"], "service-desk"),  # the default route
])
def test_alertmanager_routes_pages_and_tickets_apart(labels: list[str], receiver: str) -> None:
    """Pages reach the paging receiver and tickets (and anything else) the service desk's."""
    _run(_tool("amtool"), "config", "routes", "test", "--config.file=alertmanager.yml",
         f"--verify.receivers={receiver}", *labels)


NOTIFY = ["ticket_id=T-1", "metric=response", "priority=P1", "customer=acme"]  # labels of `sla-monitor notify`


@pytest.mark.parametrize(("labels", "receiver"), [
    (["alertname=SlaWarning", "severity=warning", *NOTIFY], "service-desk"),
    (["alertname=SlaBreach", "severity=critical", *NOTIFY], "on-call"),
    (["alertname=SlaEscalation", "severity=critical", "escalation_to=team-lead", *NOTIFY], "team-lead"),
    (["alertname=SlaEscalation", "severity=critical", "escalation_to=duty-manager", *NOTIFY], "duty-manager"),
    (["alertname=SlaEscalation", "severity=critical", "escalation_to=someone-else", *NOTIFY], "on-call"),
    (["alertname=SlaBreachImminent", "severity=page"], "on-call"),  # Prometheus's alert, not the notifier's
])
def test_alertmanager_routes_ticket_alerts_by_severity_and_escalation(labels: list[str], receiver: str) -> None:
    """The notifier's alerts are routed by severity, escalations by whom they are for."""
    _run(_tool("amtool"), "config", "routes", "test", "--config.file=alertmanager.yml",
         f"--verify.receivers={receiver}", *labels)


def _ticket_route() -> dict[str, Any]:
    config = yaml.safe_load((PROMETHEUS / "alertmanager.yml").read_text())
    [route] = [r for r in config["route"]["routes"] if "SlaBreach" in str(r.get("matchers"))]
    return dict(route)


def test_alertmanager_groups_ticket_alerts_by_customer_and_priority_and_breaches_inhibit_warnings() -> None:
    """One notification per customer and priority; a breach inhibits its own clock's warning (ticket, metric)."""
    config = yaml.safe_load((PROMETHEUS / "alertmanager.yml").read_text())
    assert _ticket_route()["group_by"] == ["customer", "priority"]
    assert {"source_matchers": ['alertname="SlaBreach"'], "target_matchers": ['alertname="SlaWarning"'],
            "equal": ["ticket_id", "metric"]} in config["inhibit_rules"]
    assert config["global"]["resolve_timeout"] == "5m"  # the notifier's default SLA_ALERTMANAGER_RESOLVE_TIMEOUT_S


def test_demo_alertmanager_config_is_the_example_without_destinations() -> None:
    """deploy/alertmanager/demo.yml (make demo) has the example's routes and inhibitions, receivers without
    delivery, and passes amtool."""
    example = yaml.safe_load((PROMETHEUS / "alertmanager.yml").read_text())
    demo_path = REPO / "deploy" / "alertmanager" / "demo.yml"
    demo = yaml.safe_load(demo_path.read_text())
    for key in ("global", "route", "inhibit_rules"):
        assert demo[key] == example[key], key
    assert demo["receivers"] == [{"name": r["name"]} for r in example["receivers"]]
    _run(_tool("amtool"), "check-config", str(demo_path))


def test_rules_use_only_exported_metrics() -> None:
    """Every sla_* name in the rules is in docs/metrics.md, so rules cannot drift from the worker's contract."""
    documented = set(re.findall(r"`(sla_[a-z_]+)`", (REPO / "docs" / "metrics.md").read_text()))
    used: set[str] = set()
    for rule in _rules():
        used.update(re.findall(r"\b(sla_[a-z_]+?)(?:_bucket|_count|_sum)?\b", rule["expr"]))
    assert used
    assert used - documented == set()


def test_rules_read_only_recorded_series() -> None:
    """Every sla:* / slo:* name an expression reads is recorded by some rule."""
    recorded = {rule["record"] for rule in _rules() if "record" in rule}
    read = {name for rule in _rules() for name in re.findall(r"\b(sl[ao]:[a-z0-9_:]+)", rule["expr"])}
    assert read
    assert read - recorded == set()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.mark.integration
def test_script_starts_and_stops_a_local_prometheus_with_the_rules(tmp_path: Path) -> None:
    """`scripts/prometheus.sh up` serves the shipped config on the given port (rules loaded, lifecycle API on); `down` stops it."""
    _tool("prometheus")
    port = _free_port()
    env = {**os.environ, "PROMETHEUS_HOME_DIR": str(tmp_path / "prom"), "PROMETHEUS_PORT": str(port)}
    env.pop("PROMETHEUS_CONFIG", None)
    try:
        _run(str(SCRIPT), "up", env=env)
        assert "ready" in _run(str(SCRIPT), "status", env=env)
        base = f"http://127.0.0.1:{port}"
        with urllib.request.urlopen(urllib.request.Request(f"{base}/-/reload", method="POST"), timeout=10) as reply:
            assert reply.status == 200
        with urllib.request.urlopen(f"{base}/api/v1/rules", timeout=10) as reply:
            groups = json.loads(reply.read())["data"]["groups"]
        assert {g["name"] for g in groups} >= {"sla-clocks", "sla-slo-availability", "sla-worker-alerts"}
        scraped: list[str] = []
        for _ in range(50):  # target discovery runs shortly after start-up
            with urllib.request.urlopen(f"{base}/api/v1/targets", timeout=10) as reply:
                scraped = [t["scrapeUrl"] for t in json.loads(reply.read())["data"]["activeTargets"]]
            if scraped:
                break
            time.sleep(0.2)
        assert scraped == ["http://127.0.0.1:6066/metrics"]
        assert (tmp_path / "prom" / "data").is_dir()
    finally:
        _run(str(SCRIPT), "down", env=env)
    status = subprocess.run([str(SCRIPT), "status"], env=env, capture_output=True, text=True, check=False)
    assert status.returncode == 1, status.stdout + status.stderr
