"""The sla-monitor command line: replay and policy check as a user runs them."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from monitor.cli.main import main
from tests.conftest import POLICY_YAML, event_json

REPO = Path(__file__).resolve().parents[3]
EXAMPLE_POLICY = REPO / "deploy" / "policy.example.yaml"
EXAMPLE_EVENTS = REPO / "examples" / "events.jsonl"


@pytest.fixture
def policy_file(tmp_path: Path) -> Path:
    """The README-shaped policy written to a file."""
    path = tmp_path / "policy.yaml"
    path.write_text(POLICY_YAML)
    return path


def test_replay_prints_records_and_rejections(policy_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """replay prints one JSON record per line on stdout and each rejected line on stderr with its number."""
    events = tmp_path / "events.jsonl"
    events.write_text(
        "\n".join([
            event_json("opened", "T", "2026-11-30T09:00:00", priority="P2"),
            "garbage",
            event_json("acknowledged", "T", "2026-11-30T09:20:00"),
        ]) + "\n"
    )
    assert main(["replay", "--policy", str(policy_file), str(events)]) == 0
    out, err = capsys.readouterr()
    records = [json.loads(line) for line in out.splitlines()]
    assert [r["id"] for r in records] == ["T:response:warning:0.5", "T:response:outcome"]
    assert [json.loads(line) for line in err.splitlines()] == [
        {"line": 2, "reason": "not valid JSON: expected value at line 1 column 1"}
    ]
    assert "\r" not in err  # no progress bar when stderr is not a terminal


def test_replay_until_publishes_what_is_due_by_then(policy_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """--until advances the clock after the last event and publishes everything due at or before it."""
    events = tmp_path / "events.jsonl"
    events.write_text(event_json("opened", "T", "2026-11-30T09:00:00", priority="P2") + "\n")
    assert main(["replay", "--policy", str(policy_file), "--until", "2026-11-30T09:30:00+08:00", str(events)]) == 0
    ids = [json.loads(line)["id"] for line in capsys.readouterr().out.splitlines()]
    assert ids[-1] == "T:response:breach"  # due exactly at --until: included
    assert main(["replay", "--policy", str(policy_file), str(events)]) == 0
    assert capsys.readouterr().out == ""  # default: the last event's time, nothing due yet


def test_replay_bad_policy_exits_2_without_traceback(tmp_path: Path) -> None:
    """An invalid policy makes replay exit 2 with the file, path and problem on stderr."""
    bad = tmp_path / "bad.yaml"
    bad.write_text(POLICY_YAML.replace("timezone: UTC", "timezone: Nowhere/City"))
    done = subprocess.run(
        [sys.executable, "-m", "monitor.cli", "replay", "--policy", str(bad), str(EXAMPLE_EVENTS)],
        capture_output=True, text=True, check=False, cwd=REPO,
    )
    assert done.returncode == 2
    assert f"{bad}: calendars.always.timezone: unknown time zone 'Nowhere/City'" in done.stderr
    assert "Traceback" not in done.stderr
    assert done.stdout == ""


def test_replay_missing_events_file_exits_2(policy_file: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A missing events file is a usage error (exit 2), not a traceback."""
    assert main(["replay", "--policy", str(policy_file), "/nonexistent/events.jsonl"]) == 2
    assert "cannot read events file" in capsys.readouterr().err


def test_replay_reads_stdin(policy_file: Path) -> None:
    """'-' reads events from standard input."""
    line = event_json("opened", "T", "2026-11-30T09:00:00", priority="P2")
    done = subprocess.run(
        [sys.executable, "-m", "monitor.cli", "replay", "--policy", str(policy_file), "--until", "2026-11-30T09:16:00+08:00", "-"],
        input=line + "\n", capture_output=True, text=True, check=True, cwd=REPO,
    )
    assert [json.loads(x)["id"] for x in done.stdout.splitlines()] == ["T:response:warning:0.5"]


def test_example_replay_is_deterministic_and_complete() -> None:
    """Replaying the bundled example twice gives the same records, and shows all three record types."""
    command = [sys.executable, "-m", "monitor.cli", "replay", "--policy", str(EXAMPLE_POLICY), str(EXAMPLE_EVENTS)]
    first = subprocess.run(command, capture_output=True, text=True, check=True, cwd=REPO)
    second = subprocess.run(command, capture_output=True, text=True, check=True, cwd=REPO)
    assert first.stdout == second.stdout
    records = [json.loads(line) for line in first.stdout.splitlines()]
    assert {r["type"] for r in records} == {"sla.warning", "sla.breach", "sla.outcome"}
    assert {r["type"] for r in records if r.get("metric") == "availability"} == {"sla.warning", "sla.breach", "sla.outcome"}
    assert len(first.stderr.splitlines()) == 3  # the example's duplicate, unknown ticket and truncated line


def test_policy_check_summarises(capsys: pytest.CaptureFixture[str]) -> None:
    """policy check prints calendars with their next opening, targets and overrides, and exits 0."""
    assert main(["policy", "check", str(EXAMPLE_POLICY), "--at", "2026-11-28T12:00:00+01:00"]) == 0
    out = capsys.readouterr().out
    assert "business  Europe/Berlin  mon-fri 09:00-18:00; 14 holidays  (next opening 2026-11-30T09:00:00+01:00)" in out
    assert "P1: calendar always, respond 15m, resolve 2h; out of hours: respond 30m, resolve 4h" in out
    assert "1. customer_id=acme -> P1: respond 10m" in out
    assert "mail: 99.9 % in Europe/Berlin; 2026-11 allows 2592 s of downtime" in out


def test_policy_check_refuses_invalid(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """policy check exits 2 and names what is wrong."""
    bad = tmp_path / "p.yaml"
    bad.write_text(POLICY_YAML.replace("warn_at: [0.5, 0.75, 0.9]", "warn_at: [1.5]"))
    assert main(["policy", "check", str(bad)]) == 2
    assert f"{bad}: warn_at.0: 1.5 is outside (0, 1)" in capsys.readouterr().err


@pytest.mark.parametrize(("argv", "env", "message"), [
    (["notify", "--alertmanager", "localhost:9093"], {}, "SLA_ALERTMANAGER_URL"),  # no scheme
    (["notify"], {"SLA_NOTIFY_REPOST_S": "200"}, "must be at most half of alertmanager_resolve_timeout_s"),
    (["notify"], {"SLA_NOTIFY_BOARD_URL": "board"}, "SLA_NOTIFY_BOARD_URL"),
])
def test_notify_refuses_unusable_settings_with_exit_2(argv: list[str], env: dict[str, str], message: str,
                                                        monkeypatch: pytest.MonkeyPatch,
                                                        capsys: pytest.CaptureFixture[str]) -> None:
    """A bad Alertmanager or board URL, or re-posts too rare for the resolve timeout: one line, exit 2, nothing started."""
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("sla-monitor: invalid settings: ")
    assert message in err
    assert "Traceback" not in err
