"""Escalations as people read them: `tail` lines, `policy check` and `explain`."""

from __future__ import annotations

import subprocess
import sys
from datetime import datetime
from pathlib import Path

import pytest

from monitor.cli.main import main
from monitor.cli.tail import render
from monitor.core.explain import explain, render_text
from monitor.core.instants import to_us
from monitor.core.policy import parse_policy
from tests.conftest import event_json
from tests.unit.core.test_escalation import BASE_YAML, ESCALATIONS, OVERRIDES

TEXT = BASE_YAML + ESCALATIONS + OVERRIDES


def test_tail_renders_an_escalation_with_its_level_and_recipient() -> None:
    """An escalation line shows its level, the ticket, metric, priority, deadline and who it goes to."""
    record = {"type": "sla.escalation", "id": "T-1:response:escalation:2", "ticket_id": "T-1", "metric": "response",
              "priority": "P1", "at": "2026-11-30T10:15:00+08:00", "deadline": "2026-11-30T09:15:00+08:00",
              "level": 2, "to": "duty-manager"}
    assert render(record, colour=False) == "10:15:00  ESCAL 2   T-1 response P1  deadline 09:15:00  to duty-manager"
    assert render(record, colour=True).startswith("\x1b[1;31m")


def test_policy_check_lists_escalations_per_priority_and_in_overrides(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """policy check shows each priority's escalations (marking those from default) and the overrides' own."""
    path = tmp_path / "esc.yaml"
    path.write_text(TEXT, encoding="utf-8")
    assert main(["policy", "check", str(path), "--at", "2026-11-30T08:00:00+08:00"]) == 0
    out = capsys.readouterr().out
    assert "escalations (business time past the target, in the clock's calendar):" in out
    assert "  P1: 1. after 15m to team-lead, 2. after 1h to duty-manager" in out
    assert "  P2: 1. after 30m to team-lead (default)" in out
    assert "1. customer_id=acme -> P1: respond 10m; escalations P1: 1. after 5m to acme-duty" in out
    assert "2. customer_id=globex -> escalations default: none" in out


def test_policy_check_refuses_a_bad_escalation_with_its_path(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """policy check exits 2 naming the file and the escalation that is wrong."""
    path = tmp_path / "bad.yaml"
    path.write_text(BASE_YAML + "escalations: {P1: [{after: 1h, to: a}, {after: 1h, to: b}]}\n", encoding="utf-8")
    assert main(["policy", "check", str(path)]) == 2
    assert f"{path}: escalations.P1.1.after: 1h is not later than the level before it (1h)" in capsys.readouterr().err


def test_explain_shows_each_escalation_level_and_its_due_instant() -> None:
    """The audit timeline lists the escalation levels after the deadline with their due instants and records."""
    policy = parse_policy(TEXT, "esc.yaml")
    lines = [event_json("opened", "T", "2026-11-30T10:00:00", priority="P1")]
    timeline = explain(policy, lines, "T", to_us(datetime.fromisoformat("2026-11-30T12:00:00+08:00")))
    response = next(c for c in timeline.clocks if c.metric == "response")
    labels = [label for label, _ in response.levels]
    assert labels[-3:] == ["breach (deadline)", "escalation 1 to team-lead", "escalation 2 to duty-manager"]
    due = dict(response.levels)
    escalation = next(r for r in response.records if r["id"] == "T:response:escalation:2")
    assert due["escalation 2 to duty-manager"] == to_us(datetime.fromisoformat(escalation["at"]))
    text = render_text(timeline, policy)
    assert "escalation 2 to duty-manager" in text
    assert "sla.escalation  T:response:escalation:2" in text


REPO = Path(__file__).resolve().parents[3]
GOLDEN = Path(__file__).resolve().parent / "golden"


@pytest.mark.parametrize("extra", ["", "\nescalations: {}\n"])
def test_demo_replay_of_the_bundled_example_is_byte_identical_without_escalations(extra: str, tmp_path: Path) -> None:
    """`make demo-replay` (policy check, then replay of examples/events.jsonl) prints exactly what it printed
    before escalations existed, with no escalations section or an empty one (golden files from that release)."""
    policy = "deploy/policy.example.yaml"
    if extra:
        copy = tmp_path / "policy.example.yaml"
        copy.write_text((REPO / policy).read_text(encoding="utf-8") + extra, encoding="utf-8")
        policy = str(copy)
    check = subprocess.run([sys.executable, "-m", "monitor.cli", "policy", "check", policy,
                            "--at", "2026-11-30T08:00:00+01:00"], capture_output=True, text=True, check=True, cwd=REPO)
    expected_check = (GOLDEN / "example-policy-check.txt").read_text(encoding="utf-8")
    assert check.stdout == expected_check.replace("deploy/policy.example.yaml", policy, 1)
    replay = subprocess.run([sys.executable, "-m", "monitor.cli", "replay", "--policy", policy,
                             "--until", "2026-12-03T00:00:00+01:00", "examples/events.jsonl"],
                            capture_output=True, text=True, check=True, cwd=REPO)
    assert replay.stdout == (GOLDEN / "example-replay.jsonl").read_text(encoding="utf-8")
    assert replay.stderr == (GOLDEN / "example-replay.stderr").read_text(encoding="utf-8")
