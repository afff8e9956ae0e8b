"""Long targets and long closures: reachable ones work, impossible ones are refused at load.

The engine walks a calendar day by day. Only the search for the next opening is
bounded (MAX_CLOSED_DAYS); a target that no start could reach within the
supported horizon (HORIZON_DAYS of calendar time) is refused when the policy is
loaded, with its path and the longest target the calendar allows.
"""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest

from monitor.core.calendar import HORIZON_DAYS, MAX_CLOSED_DAYS, BusinessCalendar
from monitor.core.errors import PolicyError
from monitor.core.instants import US_PER_SECOND, to_us
from monitor.core.policy import parse_policy
from monitor.core.replay import Rejection, replay_lines
from tests.conftest import event_json

HOUR = 3600 * US_PER_SECOND
REPO = Path(__file__).resolve().parents[3]


def _policy(resolution: str, holidays: str = "[]", extra: str = "") -> str:
    return f"""
calendars:
  c1: {{timezone: Europe/Berlin, hours: {{mon-fri: "09:00-17:00"}}, holidays: {holidays}}}
targets:
  P1: {{calendar: c1, response: 1h, resolution: {resolution}}}
{extra}"""


def _refusal(text: str) -> list[str]:
    with pytest.raises(PolicyError) as caught:
        parse_policy(text, "p.yaml")
    return str(caught.value).splitlines()[1:]


def test_a_21500h_target_on_an_8h_weekday_calendar_is_reached_in_about_ten_years() -> None:
    """21500 h at 8 h a weekday is 537 weeks and 2.5 days: from Monday 09:00 to a Wednesday 13:00, no exhaustion."""
    policy = parse_policy(_policy("21500h"), "p.yaml")
    calendar = policy.calendars["c1"]
    start = datetime.fromisoformat("2026-11-30T09:00:00+01:00")  # a Monday
    due = calendar.add(to_us(start), 21_500 * HOUR)
    monday = start.date() + timedelta(weeks=537)
    expected = datetime.fromisoformat(f"{monday + timedelta(days=2)}T13:00:00").replace(tzinfo=calendar.timezone)
    assert due == to_us(expected)


def test_replay_of_a_long_target_publishes_its_outcome_instead_of_crashing() -> None:
    """replay over a 21500 h target runs through: the outcome carries the ten-year deadline."""
    policy = parse_policy(_policy("21500h"), "p.yaml")
    lines = [
        event_json("opened", "T", "2026-11-30T09:00:00+01:00", priority="P1"),
        event_json("resolved", "T", "2026-11-30T10:00:00+01:00"),
    ]
    records = [r for r in replay_lines(policy, lines) if not isinstance(r, Rejection)]
    outcome = next(r for r in records if r["id"] == "T:resolution:outcome")
    assert outcome["status"] == "met"
    assert outcome["deadline"].startswith("2037-")


def test_a_target_beyond_the_horizon_is_refused_with_its_path_and_the_limit() -> None:
    """50000 h of an 8 h weekday calendar needs ~24 years: refused at load, naming the field and the limit."""
    problems = _refusal(_policy("50000h"))
    assert len(problems) == 1
    assert problems[0].startswith("p.yaml: targets.P1.resolution: 50000h of calendar 'c1' cannot be guaranteed")
    assert f"{HORIZON_DAYS} days" in problems[0]
    # 1043 whole weeks of 40 h, less 2 h for each of 2 x (20 + 2) offset changes.
    assert "at least 41632h, so use a target of at most that" in problems[0]


@pytest.mark.parametrize(
    ("extra", "path"),
    [
        # An out-of-hours target of the priority.
        ("service_hours: c1\n", None),
        # An override's own duration.
        ("overrides:\n  - match: {customer_id: acme}\n    targets: {P1: {resolution: 60000h}}\n",
         "overrides.0.targets.P1.resolution"),
        # An override that only moves the target to a thinner calendar.
        ("overrides:\n  - match: {customer_id: acme}\n    targets: {P1: {calendar: thin}}\n",
         "overrides.0.targets.P1.calendar"),
    ],
)
def test_every_place_a_target_comes_from_is_checked(extra: str, path: str | None) -> None:
    """Overrides and calendar changes are checked like the defaults, each under its own path."""
    text = _policy("1000h", extra=extra).replace(
        "targets:", 'thin_calendar_placeholder\ntargets:'
    ).replace("thin_calendar_placeholder\n", "")
    text = text.replace("calendars:\n", 'calendars:\n  thin: {timezone: UTC, hours: {mon: "09:00-09:30"}}\n')
    if path is None:
        parse_policy(text, "p.yaml")  # 1000 h fits in twenty years of c1
        return
    problems = _refusal(text)
    assert [p.split(": ")[1] for p in problems] == [path]


def test_holidays_closing_a_calendar_for_over_ten_years_are_refused_naming_it() -> None:
    """A holiday list that closes the calendar for more than MAX_CLOSED_DAYS days is refused at load."""
    first = date(2027, 1, 4)  # a Monday
    days = [str(first + timedelta(days=i)) for i in range(MAX_CLOSED_DAYS + 10)]
    problems = _refusal(_policy("8h", holidays=json.dumps(days)))
    assert len(problems) == 1
    assert problems[0].startswith("p.yaml: calendars.c1.holidays: closed for ")
    assert f"closed for {MAX_CLOSED_DAYS + 12} days in a row from 2027-01-02" in problems[0]  # with the weekend before


def test_a_long_closure_inside_the_limit_is_walked_through() -> None:
    """Eight years of holidays are allowed; a ticket opened before them is due after them."""
    first = date(2027, 1, 4)  # a Monday
    days = [first + timedelta(days=i) for i in range(8 * 365)]
    policy = parse_policy(_policy("8h", holidays=json.dumps([str(d) for d in days])), "p.yaml")
    calendar: BusinessCalendar = policy.calendars["c1"]
    start = to_us(datetime.fromisoformat("2027-01-01T16:00:00+01:00"))  # Friday, one hour before closing
    reopen = days[-1] + timedelta(days=1)
    while reopen.weekday() >= 5:
        reopen += timedelta(days=1)
    expected = datetime.fromisoformat(f"{reopen}T16:00:00").replace(tzinfo=calendar.timezone)
    assert calendar.add(start, 8 * HOUR) == to_us(expected)
    assert calendar.next_opening(start + HOUR) == to_us(expected.replace(hour=9))


@pytest.mark.parametrize("value", [".nan", ".inf", "-.inf"])
def test_warn_at_not_a_number_is_refused_not_a_traceback(value: str) -> None:
    """warn_at entries that are NaN or infinite are policy errors naming the entry."""
    problems = _refusal(_policy("8h", extra=f"warn_at: [0.5, {value}]\n"))
    assert problems == [f"p.yaml: warn_at.1: {float(value.replace('.', '', 1) if 'nan' not in value else 'nan')} "
                        "is not a number between 0 and 1: use e.g. 0.75 for 75 %"]


@pytest.mark.parametrize("command", ["replay", "check"])
def test_the_command_line_refuses_such_policies_with_exit_2_and_no_traceback(tmp_path: Path, command: str) -> None:
    """policy check and replay print the policy error and exit 2 for a target beyond the horizon."""
    policy = tmp_path / "p.yaml"
    policy.write_text(_policy("50000h"))
    events = tmp_path / "e.jsonl"
    events.write_text(event_json("opened", "T", "2026-11-30T09:00:00+01:00", priority="P1") + "\n")
    args = ["replay", "--policy", str(policy), str(events)] if command == "replay" else ["policy", "check", str(policy)]
    result = subprocess.run([sys.executable, "-m", "monitor.cli", *args], capture_output=True, text=True, cwd=REPO,
                            check=False)
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert "targets.P1.resolution: 50000h" in result.stderr
