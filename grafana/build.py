"""The Grafana dashboards of sla-monitor, as code.

    python grafana/build.py          write grafana/dashboards/*.json
    python grafana/build.py --check  exit 1 if the committed JSON differs from what this builds

Plain dictionaries in Grafana's dashboard JSON model (schemaVersion 39), no
dependencies. Panels query the recording rules of deploy/prometheus/rules/
wherever one exists, so the numbers a wall shows are the numbers alerts use.
``panel_queries`` lists every panel query with the template variables filled
in, for the integration test that runs them against a real Prometheus.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
OUT = HERE / "dashboards"
DATASOURCE = {"type": "prometheus", "uid": "sla-prometheus"}
SCHEMA_VERSION = 39

# Compliance colours for a service desk: below 90 % red, below 95 % amber.
COMPLIANCE_STEPS = [{"color": "red", "value": None}, {"color": "orange", "value": 0.9}, {"color": "green", "value": 0.95}]
BUDGET_STEPS = [{"color": "red", "value": None}, {"color": "orange", "value": 0.25}, {"color": "green", "value": 0.5}]
AVAILABILITY_STEPS = [{"color": "red", "value": None}, {"color": "orange", "value": 0.99}, {"color": "green", "value": 0.999}]
COUNT_STEPS = [{"color": "green", "value": None}, {"color": "orange", "value": 1}]
ALARM_STEPS = [{"color": "green", "value": None}, {"color": "red", "value": 1}]

Panel = dict[str, Any]


def target(expr: str, legend: str = "", *, instant: bool = False, ref: str = "A", table: bool = False) -> dict[str, Any]:
    """One Prometheus query of a panel."""
    out: dict[str, Any] = {"datasource": DATASOURCE, "expr": expr, "refId": ref, "legendFormat": legend or "__auto"}
    if instant:
        out["instant"] = True
        out["range"] = False
    if table:
        out["format"] = "table"
    return out


def stat(title: str, targets: list[dict[str, Any]], *, unit: str, steps: list[dict[str, Any]], decimals: int | None = None,
         text_mode: str = "value_and_name", description: str = "", mappings: list[dict[str, Any]] | None = None) -> Panel:
    """A big number coloured by thresholds, readable across a room."""
    defaults: dict[str, Any] = {"unit": unit, "color": {"mode": "thresholds"},
                                "thresholds": {"mode": "absolute", "steps": steps}, "mappings": mappings or []}
    if decimals is not None:
        defaults["decimals"] = decimals
    return {
        "type": "stat", "title": title, "description": description, "datasource": DATASOURCE, "targets": targets,
        "fieldConfig": {"defaults": defaults, "overrides": []},
        "options": {"reduceOptions": {"calcs": ["lastNotNull"], "fields": "", "values": False},
                    "colorMode": "background", "graphMode": "none", "textMode": text_mode,
                    "justifyMode": "center", "orientation": "auto", "wideLayout": True,
                    "showPercentChange": False},
    }


def timeseries(title: str, targets: list[dict[str, Any]], *, unit: str = "short", description: str = "",
               threshold_lines: list[float] | None = None, bars: bool = False, stack: bool = False) -> Panel:
    """A trend over the dashboard's time range."""
    custom: dict[str, Any] = {"drawStyle": "bars" if bars else "line", "lineWidth": 2, "fillOpacity": 20 if bars else 10,
                              "showPoints": "never", "spanNulls": True,
                              "stacking": {"mode": "normal" if stack else "none", "group": "A"}}
    steps: list[dict[str, Any]] = [{"color": "green", "value": None}]
    if threshold_lines:
        custom["thresholdsStyle"] = {"mode": "line"}
        colours = ["red", "orange", "yellow", "blue"]
        steps += [{"color": colours[i % len(colours)], "value": v} for i, v in enumerate(sorted(threshold_lines, reverse=True))]
        steps = [steps[0], *sorted(steps[1:], key=lambda s: s["value"])]
    return {
        "type": "timeseries", "title": title, "description": description, "datasource": DATASOURCE, "targets": targets,
        "fieldConfig": {"defaults": {"unit": unit, "custom": custom, "color": {"mode": "palette-classic"},
                                     "thresholds": {"mode": "absolute", "steps": steps}}, "overrides": []},
        "options": {"legend": {"displayMode": "table", "placement": "right", "calcs": ["lastNotNull", "max"],
                               "showLegend": True},
                    "tooltip": {"mode": "multi", "sort": "desc"}},
    }


def table(title: str, targets: list[dict[str, Any]], *, unit: str, description: str = "") -> Panel:
    """Rows of label values with a number, sorted ascending (soonest first)."""
    return {
        "type": "table", "title": title, "description": description, "datasource": DATASOURCE, "targets": targets,
        "fieldConfig": {"defaults": {"unit": unit, "custom": {"align": "auto", "cellOptions": {"type": "color-text"}},
                                     "thresholds": {"mode": "absolute", "steps": [
                                         {"color": "red", "value": None}, {"color": "orange", "value": 300},
                                         {"color": "green", "value": 1800}]}},
                        "overrides": []},
        "options": {"showHeader": True, "sortBy": [{"displayName": "Value", "desc": False}], "cellHeight": "sm",
                    "footer": {"show": False, "reducer": ["sum"], "fields": ""}},
        "transformations": [{"id": "organize", "options": {"excludeByName": {"Time": True}, "renameByName": {
            "Value": "seconds left"}}}],
    }


def variable(name: str, label: str, query: str) -> dict[str, Any]:
    """A multi-value query variable with All."""
    return {
        "name": name, "label": label, "type": "query", "datasource": DATASOURCE,
        "definition": query, "query": {"query": query, "refId": f"{name}-values", "qryType": 1},
        "multi": True, "includeAll": True, "allValue": ".*",
        "current": {"selected": True, "text": ["All"], "value": ["$__all"]},
        "refresh": 2, "sort": 1, "hide": 0, "options": [], "regex": "", "skipUrlSync": False,
    }


def layout(rows: list[list[tuple[Panel, int, int]]]) -> list[Panel]:
    """Place panels left to right, row by row; (panel, width, height) with a 24-column grid."""
    panels, y, next_id = [], 0, 1
    for row in rows:
        x, height = 0, 0
        for panel, width, h in row:
            panels.append({"id": next_id, "gridPos": {"h": h, "w": width, "x": x, "y": y}, **panel})
            next_id += 1
            x += width
            height = max(height, h)
        assert x <= 24, f"row wider than the grid: {[p['title'] for p, _, _ in row]}"
        y += height
    return panels


def dashboard(uid: str, title: str, description: str, panels: list[Panel], *, refresh: str, tags: list[str],
              time_from: str, kiosk: bool = False) -> dict[str, Any]:
    """A whole dashboard with the two template variables."""
    return {
        # "style" is the board's theme for Grafanas that still read it; newer ones follow the
        # user's theme (dark by default) or `&theme=dark` in the URL.
        "uid": uid, "title": title, "description": description, "tags": tags, "editable": not kiosk, "style": "dark",
        "refresh": refresh, "schemaVersion": SCHEMA_VERSION, "version": 1, "timezone": "browser",
        "graphTooltip": 1, "fiscalYearStartMonth": 0, "liveNow": False, "weekStart": "",
        "time": {"from": time_from, "to": "now"},
        "timepicker": {"refresh_intervals": ["15s", "30s", "1m", "5m"], "hidden": kiosk},
        "templating": {"list": [
            variable("priority", "Priority", "label_values(sla_open_clocks, priority)"),
            variable("service", "Service", "label_values(sla_service_objective_ratio, service)"),
        ]},
        "annotations": {"list": []}, "links": [], "panels": panels,
    }


# -- the two boards ------------------------------------------------------------------------

P = 'priority=~"$priority"'
S = 'service=~"$service"'


def wall() -> dict[str, Any]:
    """The service-center wall screen: big numbers, colours, nothing to click."""
    rows = [
        [
            (stat("Response compliance, month to date", [
                target(f'sla:compliance:ratio_mtd{{metric="response", {P}}}', "{{priority}}", instant=True)],
                unit="percentunit", steps=COMPLIANCE_STEPS, decimals=1,
                description="Response clocks met / stopped this month, per priority. Rule sla:compliance:ratio_mtd."), 12, 7),
            (stat("Resolution compliance, month to date", [
                target(f'sla:compliance:ratio_mtd{{metric="resolution", {P}}}', "{{priority}}", instant=True)],
                unit="percentunit", steps=COMPLIANCE_STEPS, decimals=1,
                description="Resolution clocks met / stopped this month, per priority."), 12, 7),
        ],
        [
            (stat("Open", [target(f"sum by (priority) (sla:open_clocks:sum{{{P}}})", "{{priority}}", instant=True)],
                  unit="none", steps=[{"color": "blue", "value": None}],
                  description="Clocks running or paused, per priority (a ticket has two)."), 8, 6),
            (stat("At risk", [target(
                f"sum by (priority) (max by (priority, metric) (sla:at_risk_clocks:sum{{{P}}}))", "{{priority}}",
                instant=True)], unit="none", steps=COUNT_STEPS,
                description="Open clocks past their first warning and not yet breached."), 8, 6),
            (stat("Breached, still open", [target(
                f"sum by (priority) (sla:breached_open_clocks:sum{{{P}}})", "{{priority}}", instant=True)],
                unit="none", steps=ALARM_STEPS, description="Open clocks already past their target."), 8, 6),
        ],
        [
            (stat("Availability, month to date", [target(
                f"sla:service_availability:ratio_mtd{{{S}}}", "{{service}}", instant=True)],
                unit="percentunit", steps=AVAILABILITY_STEPS, decimals=3,
                description="1 - downtime / time gone by this month. Rule sla:service_availability:ratio_mtd."), 9, 6),
            (stat("Error budget left", [target(
                f"sla:service_error_budget_remaining:ratio{{{S}}}", "{{service}}", instant=True)],
                unit="percentunit", steps=BUDGET_STEPS, decimals=0,
                description="Share of the month's error budget not yet used."), 9, 6),
            (stat("Down now", [target(f'sum by (service) (sla_service_state{{state="down", {S}}})', "{{service}}",
                                      instant=True)],
                  unit="none", steps=ALARM_STEPS, text_mode="value_and_name",
                  mappings=[{"type": "value", "options": {"0": {"text": "UP", "index": 0},
                                                          "1": {"text": "DOWN", "index": 1}}}],
                  description="Most probe locations failing."), 6, 6),
        ],
    ]
    return dashboard("sla-wall", "SLA wall board",
                     "Service-center wall screen: month-to-date compliance, open / at-risk / breached clocks, "
                     "availability and error budget. Open with ?kiosk.",
                     layout(rows), refresh="15s", tags=["sla-monitor", "wall"], time_from="now-1h", kiosk=True)


def oncall() -> dict[str, Any]:
    """The on-call engineer's board: what is coming, what is burning, whether the machinery is healthy."""
    burn = [
        target(f"slo:current_burn_rate:ratio{{{S}}}", "{{service}} 5m", ref="A"),
        target(f"slo:sli_error:ratio_rate1h{{{S}}} / on (service) group_left () slo:error_budget:ratio",
               "{{service}} 1h", ref="B"),
        target(f"slo:sli_error:ratio_rate6h{{{S}}} / on (service) group_left () slo:error_budget:ratio",
               "{{service}} 6h", ref="C"),
        target(f"slo:sli_error:ratio_rate1d{{{S}}} / on (service) group_left () slo:error_budget:ratio",
               "{{service}} 1d", ref="D"),
        target(f"slo:sli_error:ratio_rate3d{{{S}}} / on (service) group_left () slo:error_budget:ratio",
               "{{service}} 3d", ref="E"),
    ]
    rows = [
        [
            (table("Next deadlines", [target(f"sla:next_deadline:min{{{P}}} - time()", "", instant=True,
                                               table=True)], unit="s",
                   description="Seconds until the earliest deadline of a running clock, per priority and metric."), 8, 9),
            (timeseries("At risk (past each warning threshold)", [target(
                f"sla:at_risk_clocks:sum{{{P}}}", "{{priority}} {{metric}} >= {{threshold}}")],
                description="Open, not breached clocks past each warn_at fraction (cumulative)."), 16, 9),
        ],
        [
            (timeseries("Breaches", [target("sum by (metric) (increase(sla_breaches_published_total[$__rate_interval]))",
                                             "{{metric}}")], bars=True, stack=True,
                        description="sla.breach records published per interval."), 6, 8),
            (timeseries("Alerts published per second", [target("sla:alerts_published:rate5m", "{{metric}}")],
                        unit="ops", description="Warnings and breaches, per metric. Rule sla:alerts_published:rate5m."),
             6, 8),
            (timeseries("Breached, still open", [target(f"sla:breached_open_clocks:sum{{{P}}}",
                                                        "{{priority}} {{metric}}")]), 6, 8),
            (timeseries("Escalated, still open", [target(f"sla:escalated_open_clocks:sum{{{P}}}",
                                                         "{{priority}} {{metric}} >= {{level}}")],
                        description="Open clocks past each escalation level of the policy (cumulative: a clock past "
                                    "level 2 counts at 1 and 2); each escalation goes to whom it is for."), 6, 8),
        ],
        [
            (timeseries("Error budget burn rate", burn, unit="x", threshold_lines=[14.4, 6, 3, 1],
                        description="Error ratio / budget ratio over 5m, 1h, 6h, 1d and 3d. Page when 1h and 5m "
                                    "exceed 14.4 or 6h and 30m exceed 6; ticket at 3 (1d, 2h) and 1 (3d, 6h)."), 12, 9),
            (timeseries("Error budget left", [target(f"sla:service_error_budget_remaining:seconds{{{S}}}",
                                                     "{{service}}")], unit="s",
                        description="Seconds of downtime the month still allows."), 6, 9),
            (timeseries("Seconds since last probe", [target(f"sla:service_last_probe_age:seconds{{{S}}}",
                                                            "{{service}}")], unit="s", threshold_lines=[300],
                        description="Over 300 s raises ProbesSilent."), 6, 9),
        ],
        [
            (timeseries("Dead letters per second", [target("sla:dead_letters:rate5m", "{{reason}}")], unit="ops",
                        description="Input refused, by kind: read the sla.dead-letter topic."), 6, 8),
            (timeseries("Consumer lag", [target("sla:consumer_lag:sum", "{{topic}}")], unit="none",
                        threshold_lines=[1000], description="Messages not yet handled, per input topic."), 6, 8),
            (timeseries("Alert lateness p99", [target("sla:alert_lateness_seconds:p99_5m", "{{type}}")], unit="s",
                        threshold_lines=[1], description="From due instant to broker acknowledgement."), 6, 8),
            (timeseries("Input events per second", [target("sla:input_events:rate5m", "{{type}} {{result}}")],
                        unit="ops"), 6, 8),
        ],
        [
            (stat("Workers up", [target('sum(up{job="sla-monitor"})', "up", instant=True)], unit="none",
                  steps=[{"color": "red", "value": None}, {"color": "green", "value": 1}]), 4, 5),
            (stat("Workers ready", [target("sla:workers_ready:sum", "ready", instant=True)], unit="none",
                  steps=[{"color": "red", "value": None}, {"color": "green", "value": 1}]), 4, 5),
            (timeseries("Worker readiness", [target("sla_worker_ready", "{{instance}}")], unit="none"), 8, 5),
            (timeseries("Pending wake-ups", [target("sla:pending_wakeups:sum", "wake-ups")], unit="none"), 8, 5),
        ],
    ]
    return dashboard("sla-oncall", "SLA on-call",
                     "Upcoming deadlines, at-risk trend, breaches, error-budget burn rates, dead letters, lag and "
                     "worker health.", layout(rows), refresh="30s", tags=["sla-monitor", "on-call"], time_from="now-6h")


BOARDS = {"sla-wall.json": wall, "sla-oncall.json": oncall}


def render(board: dict[str, Any]) -> str:
    """The JSON text committed for a dashboard."""
    return json.dumps(board, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def panel_queries(board: dict[str, Any]) -> list[tuple[str, str]]:
    """(panel title, PromQL) of every query, with template variables filled in as "All"."""
    builtins = {"$__rate_interval": "1m", "$__interval": "15s", "$__range": "1h"}
    out = []
    for panel in board["panels"]:
        for t in panel.get("targets", []):
            # A multi-value variable with All matches anything: =~"$service" or =~"${service:regex}".
            expr = re.sub(r'=~"\$\{?\w+(?::\w+)?\}?"', '=~".*"', t["expr"])
            for name, value in builtins.items():
                expr = expr.replace(name, value)
            out.append((panel["title"], expr))
    return out


def main(argv: list[str]) -> int:
    """Write (or with --check, compare) the dashboards."""
    check = "--check" in argv
    OUT.mkdir(exist_ok=True)
    stale = []
    for name, build in BOARDS.items():
        path, text = OUT / name, render(build())
        if check:
            if not path.exists() or path.read_text(encoding="utf-8") != text:
                stale.append(name)
        else:
            path.write_text(text, encoding="utf-8")
            print(path)
    if stale:
        print(f"stale dashboards (run python grafana/build.py): {', '.join(stale)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
