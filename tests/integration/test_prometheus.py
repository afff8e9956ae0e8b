"""A real Prometheus scrapes a real worker on the real broker: rules, dashboards and figures hold.

The scenario's truth is known in advance: which clocks are met, breached, at
risk or open at the query instant, and how much downtime the service had.
Prometheus (Debian's package) runs with the shipped rule files, scraping every
second; the test then asks its HTTP API for every recording rule and every
dashboard panel's query, and for the figures the wall board shows.
"""

from __future__ import annotations

import importlib.util
import json
import shutil
import subprocess
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.integration.conftest import (
    REPO,
    SECONDS_POLICY,
    Names,
    Producer,
    Worker,
    create_topics,
    free_port,
    iso,
    new_worker,
    probe,
    run,
    ticket,
    wait_until,
)

pytestmark = pytest.mark.integration
RULES = REPO / "deploy" / "prometheus" / "rules"
DASHBOARDS = REPO / "grafana" / "dashboards"


class Prometheus:
    """A local Prometheus process with the project's rules, scraping one target every second."""

    def __init__(self, folder: Path, target: str) -> None:
        binary = shutil.which("prometheus")
        if binary is None:
            pytest.fail("prometheus is not installed: run `scripts/prometheus.sh install` (make setup does)")
        self.port = free_port()
        config = {
            "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
            "rule_files": [str(p) for p in sorted(RULES.glob("*.yml"))],
            "scrape_configs": [{"job_name": "sla-monitor", "static_configs": [{"targets": [target]}]}],
        }
        (folder / "prometheus.yml").write_text(yaml.safe_dump(config))
        self.log = folder / "prometheus.log"
        with self.log.open("wb") as log:
            self.process = subprocess.Popen(
                [binary, f"--config.file={folder / 'prometheus.yml'}", f"--storage.tsdb.path={folder / 'data'}",
                 f"--web.listen-address=127.0.0.1:{self.port}"],
                stdout=log, stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/-/ready", timeout=1):
                    return
            except OSError:
                time.sleep(0.2)
        raise AssertionError(f"prometheus not ready:\n{self.log.read_text()[-3000:]}")

    def query(self, expr: str, at: float) -> list[dict[str, Any]]:
        """Instant query at Unix time ``at``; the result vector (or scalar as one sample)."""
        url = f"http://127.0.0.1:{self.port}/api/v1/query?" + urllib.parse.urlencode({"query": expr, "time": at})
        try:
            with urllib.request.urlopen(url, timeout=10) as response:
                body = json.loads(response.read())
        except urllib.error.HTTPError as error:
            raise AssertionError(f"query failed: {expr}\n{error.read().decode()}") from None
        data = body["data"]
        if data["resultType"] == "scalar":
            return [{"metric": {}, "value": data["result"]}]
        return list(data["result"])

    def value(self, expr: str, at: float) -> float:
        """The single value of a query that must return exactly one sample."""
        result = self.query(expr, at)
        assert len(result) == 1, f"{expr}: expected one sample, got {result}"
        return float(result[0]["value"][1])

    def stop(self) -> None:
        """Stop the process."""
        self.process.terminate()
        self.process.wait(20)


@pytest.fixture
def prometheus_for(tmp_path: Path) -> Iterator[Any]:
    """Start a Prometheus scraping a given worker; stopped afterwards."""
    started: list[Prometheus] = []

    def start(worker: Worker) -> Prometheus:
        instance = Prometheus(tmp_path, f"127.0.0.1:{worker.port}")
        started.append(instance)
        return instance

    yield start
    for instance in started:
        instance.stop()


def _dashboard_queries() -> list[tuple[str, str, str]]:
    spec = importlib.util.spec_from_file_location("grafana_build", REPO / "grafana" / "build.py")
    assert spec is not None
    assert spec.loader is not None
    build = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(build)
    out = []
    for path in sorted(DASHBOARDS.glob("*.json")):
        dashboard = json.loads(path.read_text())
        out.extend((path.name, title, expr) for title, expr in build.panel_queries(dashboard))
    return out


def _recording_rules() -> list[str]:
    names = []
    for path in sorted(RULES.glob("*.yml")):
        for group in yaml.safe_load(path.read_text())["groups"]:
            names.extend(rule["record"] for rule in group["rules"] if "record" in rule)
    return names


# 2.05 s of downtime crosses the 0.5 and 0.75 warnings of shop's 99.9999 % budget and not 0.9 in any month:
# 0.75 x 2.6784 s (31 days) = 2.0088 s < 2.05 s < 2.1773 s = 0.9 x 2.4192 s (28 days).
DOWN_UNTIL = 3.05


def shop_expectations(t0: float) -> tuple[float, float, int]:
    """Downtime, budget and warnings crossed for shop in the month the test runs in, from the policy itself."""
    from monitor.core.budget import budget_us, period_of, thresholds_us
    from monitor.core.instants import to_us
    from monitor.core.policy import load_policy

    policy = load_policy(SECONDS_POLICY)
    target = policy.services["shop"]
    start, end = period_of(target.timezone, to_us(datetime.fromisoformat(iso(t0))))
    budget = budget_us(target, end - start)
    down = to_us(datetime.fromisoformat(iso(t0 + DOWN_UNTIL))) - to_us(datetime.fromisoformat(iso(t0 + 1.0)))
    crossed = sum(1 for level in thresholds_us(budget, policy.warn_at)[:-1] if level <= down)
    return down / 1e6, budget / 1e6, crossed


def scenario(t0: float) -> list[tuple[float, dict[str, Any] | bytes]]:
    """Known truth at t0 + 17 s (policy.seconds.yaml: P1 10 s / 20 s, P2 14 s / 30 s; plus, in the test's copy,
    a P1 escalation 4 s past the target)."""
    at = lambda s: t0 + s  # noqa: E731
    return [
        # A (P1): acknowledged at 2 s, resolved at 5 s: response met, resolution met.
        (0.0, ticket("opened", "A", at(0.0), priority="P1")),
        (2.0, ticket("acknowledged", "A", at(2.0))),
        (5.0, ticket("resolved", "A", at(5.0))),
        # B (P1): never acknowledged: response breached at 10 s and open, escalated at 14 s; resolution at 17 of
        # 20 s (past 0.75).
        (0.0, ticket("opened", "B", at(0.0), priority="P1")),
        # C (P2): acknowledged at 11 of 14 s: response met; resolution at 17 of 30 s (past 0.5).
        (0.0, ticket("opened", "C", at(0.0), priority="P2")),
        (11.0, ticket("acknowledged", "C", at(11.0))),
        # D (P1): resolved at 12 s without acknowledgement: response breached (not escalated), resolution met.
        (0.0, ticket("opened", "D", at(0.0), priority="P1")),
        (12.0, ticket("resolved", "D", at(12.0))),
        # shop: both locations down from 1 s to 3.05 s: 2.05 s of its 2.42-2.68 s budget; crm up.
        (0.0, probe("shop", "a", at(0.0), ok=True)),
        (0.0, probe("shop", "b", at(0.0), ok=True)),
        (0.0, probe("crm", "a", at(0.0), ok=True)),
        (1.0, probe("shop", "a", at(1.0), ok=False)),
        (1.0, probe("shop", "b", at(1.0), ok=False)),
        (DOWN_UNTIL, probe("shop", "a", at(DOWN_UNTIL), ok=True)),
        (DOWN_UNTIL, probe("shop", "b", at(DOWN_UNTIL), ok=True)),
        (4.0, b"not json at all"),
        (15.0, probe("crm", "a", at(15.0), ok=True)),
        (15.0, probe("shop", "a", at(15.0), ok=True)),
    ]


def test_prometheus_sees_the_scenarios_truth_through_rules_and_dashboards(
    tmp_path: Path, names: Names, workers: list[Worker], prometheus_for: Any
) -> None:
    """Every recording rule and dashboard query returns data; compliance, at-risk and budget equal the truth."""
    run(create_topics(names, 4))
    policy = tmp_path / "policy.yaml"  # the seconds policy with an escalation, so its rule and panel have data
    policy.write_text(SECONDS_POLICY.read_text() + "escalations:\n  P1: [{after: 4s, to: team-lead}]\n")
    worker = new_worker(workers, tmp_path, names, "a", policy=policy)
    worker.wait_ready()
    prometheus = prometheus_for(worker)
    t0 = time.time() + 1.0
    run(Producer(names).send_all(scenario(t0), t0))
    when = t0 + 17.0
    wait_until(when + 2.5)  # a scrape and a rule evaluation after the instant asked about

    # Compliance month to date, by priority and metric (the wall board's big numbers).
    compliance = {
        (r["metric"]["priority"], r["metric"]["metric"]): float(r["value"][1])
        for r in prometheus.query("sla:compliance:ratio_mtd", when)
    }
    assert compliance == {("P1", "response"): 0.5, ("P1", "resolution"): 1.0, ("P2", "response"): 1.0}

    # Open, at-risk (cumulative) and breached clocks.
    assert prometheus.value('sum(sla_open_clocks{priority="P1"})', when) == 2  # B response + B resolution
    assert prometheus.value('sum(sla_open_clocks{priority="P2"})', when) == 1  # C resolution
    assert prometheus.value('sum(sla_breached_open_clocks{priority="P1", metric="response"})', when) == 1
    at_risk = {r["metric"]["threshold"]: float(r["value"][1])
               for r in prometheus.query("sum by (threshold) (sla_at_risk_clocks)", when)}
    assert at_risk == {"0.5": 2, "0.75": 1, "0.9": 0}
    assert prometheus.value('sla:escalated_open_clocks:sum{priority="P1", metric="response", level="1"}', when) == 1
    assert prometheus.value('sum(sla_escalations_published_total{metric="response"})', when) == 1  # not D's

    # The service: its downtime, this month's budget, and the two warnings it crossed.
    down, budget, crossed = shop_expectations(t0)
    assert crossed == 2  # 0.5 and 0.75, whatever the month's length
    assert prometheus.value('sla_service_budget_used_seconds{service="shop"}', when) == pytest.approx(down, abs=1e-9)
    assert prometheus.value('sla_service_budget_seconds{service="shop"}', when) == pytest.approx(budget, abs=1e-9)
    remaining = prometheus.value('sla:service_error_budget_remaining:ratio{service="shop"}', when)
    assert remaining == pytest.approx(1 - down / budget, rel=1e-9)
    assert prometheus.value('sla_service_state{service="shop", state="up"}', when) == 1
    assert prometheus.value('sla_service_budget_used_seconds{service="crm"}', when) == 0
    warned = prometheus.value('sum(sla_warnings_published_total{metric="availability"})', when)
    assert warned == crossed
    assert prometheus.value('sum(sla_dead_letters_total{reason="malformed"})', when) == 1

    # Every recording rule and every dashboard query has data at that instant.
    empty_rules = [name for name in _recording_rules() if not prometheus.query(name, when)]
    assert not empty_rules, f"recording rules without data: {empty_rules}"
    queries = _dashboard_queries()
    assert len(queries) >= 10
    empty_panels = [(board, title, expr) for board, title, expr in queries if not prometheus.query(expr, when)]
    assert not empty_panels, "dashboard queries without data:\n" + "\n".join(map(str, empty_panels))

    # The live exposition, with every kind of figure present, passes promtool's lint.
    with urllib.request.urlopen(f"http://127.0.0.1:{worker.port}/metrics", timeout=10) as response:
        exposition = response.read()
    assert b"sla_service_downtime_seconds_total" in exposition
    assert b"sla_alert_lateness_seconds_bucket" in exposition
    promtool = shutil.which("promtool")
    assert promtool, "promtool is not installed: run `scripts/prometheus.sh install` (make setup does)"
    lint = subprocess.run([promtool, "check", "metrics"], input=exposition, capture_output=True, check=False)
    assert lint.returncode == 0, (lint.stdout + lint.stderr).decode()
