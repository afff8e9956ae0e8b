"""The committed Grafana dashboards are fresh, well-formed, and query only what exists."""

from __future__ import annotations

import importlib.util
import json
import re
from pathlib import Path
from types import ModuleType

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
GRAFANA = REPO / "grafana"
DATASOURCE_UID = "sla-prometheus"


def _build() -> ModuleType:
    spec = importlib.util.spec_from_file_location("grafana_build", GRAFANA / "build.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


BUILD = _build()
BOARDS = {name: json.loads((GRAFANA / "dashboards" / name).read_text()) for name in BUILD.BOARDS}


def _known_names() -> set[str]:
    names = set(re.findall(r"`(sla_[a-z_]+)`", (REPO / "docs" / "metrics.md").read_text())) | {"up"}
    for path in (REPO / "deploy" / "prometheus" / "rules").glob("*.yml"):
        for group in yaml.safe_load(path.read_text())["groups"]:
            names |= {rule["record"] for rule in group["rules"] if "record" in rule}
    return names


def test_committed_json_is_what_the_code_builds() -> None:
    """grafana/dashboards/*.json equal grafana/build.py's output (run `python grafana/build.py` after a change)."""
    for name, build in BUILD.BOARDS.items():
        assert (GRAFANA / "dashboards" / name).read_text() == BUILD.render(build()), f"{name} is stale"


@pytest.mark.parametrize("name", sorted(BOARDS))
def test_dashboard_shape(name: str) -> None:
    """Stable unique uid, refresh of 30 s or less, both template variables, panels inside the 24-column grid."""
    board = BOARDS[name]
    assert board["uid"] == name.removesuffix(".json")
    assert int(board["refresh"].removesuffix("s")) <= 30
    assert {v["name"] for v in board["templating"]["list"]} == {"priority", "service"}
    ids = [p["id"] for p in board["panels"]]
    assert len(ids) == len(set(ids))
    for panel in board["panels"]:
        grid = panel["gridPos"]
        assert grid["x"] + grid["w"] <= 24, panel["title"]


@pytest.mark.parametrize("name", sorted(BOARDS))
def test_every_panel_queries_the_fixed_datasource_and_known_series(name: str) -> None:
    """Each panel uses the provisioned datasource uid and has queries naming only exported metrics or recorded rules."""
    known = _known_names()
    for panel in BOARDS[name]["panels"]:
        assert panel["datasource"]["uid"] == DATASOURCE_UID, panel["title"]
        assert panel["targets"], panel["title"]
        for target in panel["targets"]:
            assert target["datasource"]["uid"] == DATASOURCE_UID
            assert target["expr"].strip(), panel["title"]
            names = set(re.findall(r"\b((?:sla|slo)[:_][a-z0-9_:]+|up)\b", target["expr"]))
            names = {re.sub(r"_(bucket|count|sum)$", "", n) if n.startswith("sla_") else n for n in names}
            assert names, f"{panel['title']}: no metric in {target['expr']!r}"
            assert names <= known, f"{panel['title']}: unknown {names - known}"


def test_wall_board_is_kiosk_friendly() -> None:
    """The wall board is stat panels with threshold colours only: nothing needs a mouse or a legend."""
    wall = BOARDS["sla-wall.json"]
    assert {p["type"] for p in wall["panels"]} == {"stat"}
    assert wall["editable"] is False
    for panel in wall["panels"]:
        steps = panel["fieldConfig"]["defaults"]["thresholds"]["steps"]
        assert steps[0]["value"] is None
        assert panel["options"]["colorMode"] == "background"
    compliance = [p for p in wall["panels"] if "compliance" in p["title"]]
    assert [s["color"] for s in compliance[0]["fieldConfig"]["defaults"]["thresholds"]["steps"]] == ["red", "orange", "green"]


def test_provisioning_points_at_the_dashboards_and_the_fixed_uid() -> None:
    """The datasource provisioning declares the uid the panels use; the provider reads the mounted dashboards folder."""
    datasource = yaml.safe_load((GRAFANA / "provisioning" / "datasources" / "prometheus.yml").read_text())
    assert [d["uid"] for d in datasource["datasources"]] == [DATASOURCE_UID]
    provider = yaml.safe_load((GRAFANA / "provisioning" / "dashboards" / "sla.yml").read_text())
    assert provider["providers"][0]["options"]["path"] == "/var/lib/grafana/dashboards"


def test_panel_queries_fill_in_template_variables() -> None:
    """The helper the integration test uses leaves no Grafana variable in a query."""
    queries = [q for board in BOARDS.values() for _, q in BUILD.panel_queries(board)]
    assert len(queries) >= 20
    assert not [q for q in queries if "$" in q]
