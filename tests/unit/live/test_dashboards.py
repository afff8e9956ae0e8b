"""The committed Grafana dashboards are fresh, well-formed, and query only what exists."""

from __future__ import annotations

import importlib.util
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest
import yaml

REPO = Path(__file__).resolve().parents[3]
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
VARIABLE_SOURCES = {"priority": "sla_open_clocks", "service": "sla_service_objective_ratio"}


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


def test_check_flag_exits_non_zero_only_when_stale(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """`build.py --check` passes on the committed files and fails, naming the file, when one differs."""
    fresh = subprocess.run([sys.executable, str(GRAFANA / "build.py"), "--check"], capture_output=True, text=True,
                           check=False)
    assert fresh.returncode == 0, fresh.stderr
    for name in BUILD.BOARDS:
        shutil.copy(GRAFANA / "dashboards" / name, tmp_path / name)
    (tmp_path / "sla-wall.json").write_text("{}\n")
    monkeypatch.setattr(BUILD, "OUT", tmp_path)
    assert BUILD.main(["--check"]) == 1
    assert (tmp_path / "sla-wall.json").read_text() == "{}\n"  # --check writes nothing
    assert BUILD.main([]) == 0
    assert BUILD.main(["--check"]) == 0


def test_dashboard_files_are_well_formed_json_with_unique_stable_uids() -> None:
    """Exactly the two boards, each a JSON object whose uid is fixed and unique."""
    files = sorted(p.name for p in (GRAFANA / "dashboards").glob("*.json"))
    assert files == sorted(BUILD.BOARDS)
    uids = []
    for name in files:
        board = json.loads((GRAFANA / "dashboards" / name).read_text(encoding="utf-8"))
        assert isinstance(board, dict)
        uids.append(board["uid"])
    assert sorted(uids) == ["sla-oncall", "sla-wall"]


@pytest.mark.parametrize("name", sorted(BOARDS))
def test_dashboard_shape(name: str) -> None:
    """Stable unique uid, refresh of 30 s or less, both template variables, panels inside the 24-column grid."""
    board = BOARDS[name]
    assert board["uid"] == name.removesuffix(".json")
    assert int(board["refresh"].removesuffix("s")) <= 30
    variables = {v["name"]: v for v in board["templating"]["list"]}
    assert set(variables) == set(VARIABLE_SOURCES)
    for var_name, metric in VARIABLE_SOURCES.items():
        variable = variables[var_name]
        assert variable["type"] == "query"
        assert variable["multi"] is True
        assert variable["includeAll"] is True
        assert variable["datasource"] == {"type": "prometheus", "uid": DATASOURCE_UID}
        assert variable["query"]["query"] == f"label_values({metric}, {var_name})"
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
    assert wall["style"] == "dark"
    assert wall["timepicker"]["hidden"] is True
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
    filled = BUILD.panel_queries({"panels": [{"title": "t", "targets": [
        {"expr": 'sum(increase(x{service=~"${service:regex}", priority=~"$priority"}[$__range]))'}]}]})
    assert filled == [("t", 'sum(increase(x{service=~".*", priority=~".*"}[1h]))')]


def test_panel_queries_are_valid_promql(tmp_path: Path) -> None:
    """Every filled-in panel query parses as PromQL (`promtool check rules` on them as recording rules)."""
    promtool = shutil.which("promtool")
    if promtool is None:
        pytest.fail("promtool is not installed: run `scripts/prometheus.sh install` (make setup does)")
    rules = [{"record": f"panel:query_{i}:check", "expr": expr}
             for i, (_, expr) in enumerate(q for board in BOARDS.values() for q in BUILD.panel_queries(board))]
    path = tmp_path / "panels.yml"
    path.write_text(yaml.safe_dump({"groups": [{"name": "panels", "rules": rules}]}))
    result = subprocess.run([promtool, "check", "rules", str(path)], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
