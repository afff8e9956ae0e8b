"""`sla-monitor report` as a user runs it: sources, formats, files, and one-line refusals (exit 2)."""

from __future__ import annotations

import csv
import json
import subprocess
import sys
from pathlib import Path

import pytest

from monitor.cli.main import main
from monitor.cli.report_cli import _month
from monitor.cli.report_render import render_html, render_markdown
from monitor.core.policy import parse_policy
from monitor.core.report import Month, build_reports
from tests.unit.core.test_report import POLICY, breach, outcome, service_outcome

REPO = Path(__file__).resolve().parents[3]
EXAMPLE_POLICY = REPO / "deploy" / "policy.example.yaml"
EXAMPLE_EVENTS = REPO / "examples" / "events.jsonl"


@pytest.fixture
def records_file(tmp_path: Path) -> Path:
    """What `sla-monitor replay` prints for the bundled example, written to a file."""
    result = subprocess.run(
        [sys.executable, "-m", "monitor.cli", "replay", "--policy", str(EXAMPLE_POLICY), "--until",
         "2027-01-01T00:00:01+01:00", str(EXAMPLE_EVENTS)], cwd=REPO, capture_output=True, check=True)
    path = tmp_path / "records.jsonl"
    path.write_bytes(result.stdout)
    return path


def test_replay_piped_into_report_prints_one_json_report_per_customer() -> None:
    """`replay … | report --records -` works and prints one sla.report per contract customer, in policy order."""
    replay = subprocess.Popen([sys.executable, "-m", "monitor.cli", "replay", "--policy", str(EXAMPLE_POLICY),
                               "--until", "2027-01-01T00:00:01+01:00", str(EXAMPLE_EVENTS)], cwd=REPO,
                              stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    result = subprocess.run([sys.executable, "-m", "monitor.cli", "report", "--policy", str(EXAMPLE_POLICY),
                             "--month", "2026-12", "--records", "-"], cwd=REPO, stdin=replay.stdout,
                            capture_output=True, text=True, check=False)
    replay.wait(30)
    assert replay.stdout is not None
    replay.stdout.close()
    assert result.returncode == 0, result.stderr
    reports = [json.loads(line) for line in result.stdout.splitlines()]
    assert [r["id"] for r in reports] == ["acme:2026-12", "globex:2026-12"]
    acme = reports[0]
    assert acme["availability"][0]["status"] == "breached"  # mail's December outage
    assert acme["credits"]["items"][0]["reason"] == "availability of mail below 99.9 % in 2026-12"


def test_formats_write_files_per_customer(records_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """--out DIR gets customer-month files: .json, .md, .html, and two CSVs (breaches and KPIs)."""
    out = tmp_path / "out"
    for kind in ("json", "markdown", "html", "csv"):
        code = main(["report", "--policy", str(EXAMPLE_POLICY), "--month", "2026-11", "--customer", "acme",
                     "--records", str(records_file), "--format", kind, "--out", str(out)])
        assert code == 0
    assert sorted(p.name for p in out.iterdir()) == ["acme-2026-11-breaches.csv", "acme-2026-11-kpis.csv",
                                                     "acme-2026-11.html", "acme-2026-11.json", "acme-2026-11.md"]
    breaches = list(csv.DictReader((out / "acme-2026-11-breaches.csv").read_text().splitlines()))
    assert [(b["ticket_id"], b["metric"], b["priority"]) for b in breaches] == [("T-1002", "response", "P1")]
    kpis = list(csv.DictReader((out / "acme-2026-11-kpis.csv").read_text().splitlines()))
    assert [(k["name"], k["met"]) for k in kpis][:2] == [("response_compliance", "false"), ("resolution_compliance", "true")]
    assert kpis[3] == {"name": "csat", "target": "4.5", "achieved": "", "met": ""}
    assert "report: wrote" in capsys.readouterr().err


def test_markdown_and_html_show_the_figures_escaped() -> None:
    """Markdown and HTML carry KPIs, breaches, the credit lines with the cap, and escape what the policy says."""
    policy = parse_policy(POLICY.replace("name: ACME GmbH", "name: \"<b>ACME</b> | Co\""), "p.yaml")
    records = [breach(t, "resolution", f"2026-11-1{i}T10:00:00", priority="P1") for i, t in enumerate("ABC")]
    records += [_failing for m in ("2026-09", "2026-10", "2026-11")
                for _failing in [outcome(f"R{m}", "response", "breached", f"{m}-15T10:00:00")]]
    records.append(service_outcome("mail", "2026-11", "met", 0.9995, 1296.0))
    [built] = build_reports(policy, Month.parse("2026-11"), records, "acme")
    page = render_html(built, records_read=len(records))
    assert "&lt;b&gt;ACME&lt;/b&gt;" in page
    assert "<b>ACME</b>" not in page
    assert "cap 20 % of 12000.00 EUR = 2400.00 EUR" in page
    assert 'id="credits-total">2400.00 EUR' in page
    assert "Improvement plan due by 2026-12-15" in page
    assert "<svg" in page
    assert "http" not in page.replace('xmlns="http://www.w3.org/2000/svg"', "")  # nothing fetched
    text = render_markdown(built)
    assert "\\<b>ACME\\</b> \\| Co" not in text
    assert "<b>ACME</b> \\| Co" in text
    assert "| **total** | | **2400.00 EUR** |" in text
    assert "> **Improvement plan due by 2026-12-15**" in text


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--customer", "initech"], "unknown customer 'initech'"),
        (["--month", "2999-01"], "month 2999-01 is in the future"),
        (["--month", "2026-13"], "--month: not a month: '2026-13'"),
        (["--format", "html"], "--format html writes files: give --out DIR"),
    ],
)
def test_refusals_exit_2_with_one_line(records_file: Path, capsys: pytest.CaptureFixture[str], args: list[str],
                                       message: str) -> None:
    """Unknown customer, a future or malformed month, HTML without --out: exit 2, one line on stderr."""
    base = {"--policy": str(EXAMPLE_POLICY), "--month": "2026-11", "--records": str(records_file)}
    for flag, value in zip(args[::2], args[1::2], strict=True):
        base[flag] = value
    assert main(["report", *[x for pair in base.items() for x in pair]]) == 2
    err = capsys.readouterr().err
    assert message in err
    assert len(err.strip().splitlines()) == 1


def test_unreadable_records_name_the_line(tmp_path: Path) -> None:
    """A line that is not a record stops the report with exit 2, the file and line number, and no traceback."""
    records = tmp_path / "records.jsonl"
    records.write_text(json.dumps(outcome("A", "response", "met", "2026-11-01T10:00:00")) + "\n\n{not json\n")
    policy = tmp_path / "policy.yaml"
    policy.write_text(POLICY)
    result = subprocess.run([sys.executable, "-m", "monitor.cli", "report", "--policy", str(policy), "--month",
                             "2026-11", "--records", str(records)], cwd=REPO, capture_output=True, text=True, check=False)
    assert result.returncode == 2
    assert result.stderr.startswith(f"sla-monitor: {records} line 3: not valid JSON")
    assert "Traceback" not in result.stderr
    records.write_text(json.dumps({**outcome("A", "response", "met", "2026-11-01T10:00:00"), "status": "late"}) + "\n")
    result = subprocess.run([sys.executable, "-m", "monitor.cli", "report", "--policy", str(policy), "--month",
                             "2026-11", "--records", str(records)], cwd=REPO, capture_output=True, text=True, check=False)
    assert (result.returncode, result.stderr.strip()) == (
        2, f"sla-monitor: {records} line 1: sla.outcome record 'A:response:outcome' is unusable: unknown status 'late'")


def test_a_policy_without_contracts_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """No contracts section: exit 2 saying to add one."""
    policy = tmp_path / "plain.yaml"
    policy.write_text(POLICY.split("contracts:")[0])
    assert main(["report", "--policy", str(policy), "--month", "2026-11", "--records", "-"]) == 2
    assert "no contracts in the policy" in capsys.readouterr().err


def test_previous_month_is_judged_in_the_report_zone() -> None:
    """--month previous is the month before the current one in the report zone (Berlin is already in December)."""
    policy = parse_policy(POLICY)
    zone = policy.report_zone
    from datetime import datetime

    from monitor.core.instants import to_us
    now = to_us(datetime.fromisoformat("2026-11-30T23:30:00+00:00"))  # 00:30 on 1 December in Berlin
    assert _month("previous", zone, now) == Month(2026, 11)
    assert _month("2026-01", zone, now) == Month(2026, 1)
