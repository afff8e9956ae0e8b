"""The shipped Prometheus configuration, rules and Alertmanager route pass Prometheus's own checks and unit tests."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
PROMETHEUS = REPO / "deploy" / "prometheus"
RULE_FILES = sorted((PROMETHEUS / "rules").glob("*.yml"))
TEST_FILES = sorted((PROMETHEUS / "tests").glob("*.yml"))


def _tool(name: str) -> str:
    found = shutil.which(name)
    if found is None:
        pytest.fail(f"{name} is not installed: run `scripts/prometheus.sh install` (make setup does)")
    return found


def _run(*command: str) -> str:
    result = subprocess.run(command, cwd=PROMETHEUS, capture_output=True, text=True, check=False)
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    return output


def test_prometheus_config_is_valid() -> None:
    """`promtool check config` accepts prometheus.yml and the rule files it loads."""
    _run(_tool("promtool"), "check", "config", "prometheus.yml")


def test_rule_files_are_valid() -> None:
    """`promtool check rules` accepts every rule file."""
    assert RULE_FILES
    _run(_tool("promtool"), "check", "rules", *map(str, RULE_FILES))


def test_rule_unit_tests_pass() -> None:
    """`promtool test rules` passes: every alert fires and stays quiet where it should, recordings give known values."""
    output = _run(_tool("promtool"), "test", "rules", *map(str, TEST_FILES))
    assert output.count("SUCCESS") == len(TEST_FILES)


def test_every_alert_has_a_positive_and_a_negative_unit_test() -> None:
    """Each alert rule appears in the unit tests with at least one case where it fires and one where it does not."""
    alerts = {rule["alert"] for path in RULE_FILES for group in yaml.safe_load(path.read_text())["groups"]
              for rule in group["rules"] if "alert" in rule}
    fired: set[str] = set()
    quiet: set[str] = set()
    for path in TEST_FILES:
        for case in yaml.safe_load(path.read_text())["tests"]:
            for check in case.get("alert_rule_test", []):
                (fired if check.get("exp_alerts") else quiet).add(check["alertname"])
    assert alerts - fired == set(), "alerts never shown firing"
    assert alerts - quiet == set(), "alerts never shown quiet"


def test_alertmanager_route_is_valid() -> None:
    """`amtool check-config` accepts the sample Alertmanager route."""
    _run(_tool("amtool"), "check-config", "alertmanager.yml")


def test_rules_use_only_exported_metrics() -> None:
    """Every sla_* name in the rules is in docs/metrics.md (or recorded by a rule), so rules cannot drift from the worker."""
    documented = set(re.findall(r"`(sla_[a-z_]+)`", (REPO / "docs" / "metrics.md").read_text()))
    recorded = set()
    used = set()
    for path in RULE_FILES:
        for group in yaml.safe_load(path.read_text())["groups"]:
            for rule in group["rules"]:
                if "record" in rule:
                    recorded.add(rule["record"])
                used.update(re.findall(r"\b(sla_[a-z_]+?)(?:_bucket|_count|_sum)?\b", rule["expr"]))
    assert used
    assert used - documented - recorded == set()
