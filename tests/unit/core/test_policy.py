"""Policy loading: the documented shape loads, every kind of mistake is refused clearly."""

from __future__ import annotations

from pathlib import Path

import pytest

from monitor.core.errors import PolicyError
from monitor.core.policy import load_policy, parse_policy
from tests.conftest import POLICY_YAML

REPO = Path(__file__).resolve().parents[3]


def test_example_policy_loads() -> None:
    """The bundled example policy is valid and encodes the template's three priorities."""
    policy = load_policy(REPO / "deploy" / "policy.example.yaml")
    assert policy.priorities == ("P1", "P2", "P3")
    p1_out_of_hours = policy.targets_for("P1", None, None, in_hours=False)
    assert (p1_out_of_hours.response_us, p1_out_of_hours.resolution_us) == (1800 * 10**6, 4 * 3600 * 10**6)
    assert [float(f) for f in policy.warn_at] == [0.5, 0.75, 0.9]


def test_override_merges_field_by_field() -> None:
    """An override replaces the fields it names and keeps the rest."""
    policy = parse_policy(POLICY_YAML)
    acme = policy.targets_for("P1", "acme", None, in_hours=True)
    other = policy.targets_for("P1", "globex", None, in_hours=True)
    assert acme.response_us == 600 * 10**6
    assert acme.resolution_us == other.resolution_us == 7200 * 10**6


def test_resolved_targets_are_cached_for_at_most_max_cached_targets_pairs() -> None:
    """Every customer/service pair seen adds a cache entry; past the bound the least recently used goes, and
    a pair looked up again resolves the same."""
    from monitor.core.limits import MAX_CACHED_TARGETS

    policy = parse_policy(POLICY_YAML)
    acme = policy.targets_for("P1", "acme", None, in_hours=True)
    for n in range(MAX_CACHED_TARGETS + 500):
        policy.targets_for("P1", f"customer-{n}", f"service-{n}", in_hours=True)
        if n % 1000 == 0:
            policy.targets_for("P1", "acme", None, in_hours=True)  # used now and then: kept
    cache = policy._cache
    assert len(cache) == MAX_CACHED_TARGETS
    assert ("P1", "acme", None, True) in cache
    assert ("P1", "customer-0", "service-0", True) not in cache
    assert policy.targets_for("P1", "customer-0", "service-0", in_hours=True) == policy.targets_for(
        "P1", "globex", None, in_hours=True)
    assert policy.targets_for("P1", "acme", None, in_hours=True) == acme


def _with(old: str, new: str) -> str:
    assert old in POLICY_YAML
    return POLICY_YAML.replace(old, new, 1)


@pytest.mark.parametrize(
    ("text", "path", "message"),
    [
        # Unknown calendar referenced by a priority.
        (_with("P2: {calendar: business", "P2: {calendar: office"), "targets.P2.calendar", "unknown calendar 'office'"),
        # Unknown calendar as service hours.
        (_with("service_hours: business", "service_hours: nope"), "service_hours", "unknown calendar 'nope'"),
        # Unknown time zone.
        (_with("timezone: Asia/Shanghai", "timezone: Mars/Olympus"), "calendars.business.timezone", "unknown time zone"),
        # Malformed interval.
        (_with('"09:00-12:00,13:00-18:00"', '"9am-5pm"'), "calendars.business.hours.mon-fri", "bad interval '9am-5pm'"),
        # Interval ending before it starts.
        (_with('"09:00-12:00,13:00-18:00"', '"18:00-09:00"'), "calendars.business.hours.mon-fri", "ends before it starts"),
        # Overlapping intervals.
        (_with('"09:00-12:00,13:00-18:00"', '"09:00-13:30,13:00-18:00"'), "calendars.business.hours.mon-fri", "intervals overlap"),
        # A day given twice.
        (_with('sat: "10:00-14:00"', 'fri: "10:00-14:00"'), "calendars.business.hours.fri", "fri is given more than once"),
        # Unknown day name.
        (_with('sat: "10:00-14:00"', 'saturday: "10:00-14:00"'), "calendars.business.hours.saturday", "unknown day"),
        # warn_at outside (0, 1).
        (_with("warn_at: [0.5, 0.75, 0.9]", "warn_at: [0.5, 1.2]"), "warn_at.1", "outside (0, 1)"),
        (_with("warn_at: [0.5, 0.75, 0.9]", "warn_at: [0, 0.5]"), "warn_at.0", "outside (0, 1)"),
        # A priority without targets.
        (_with("P3: {calendar: business, response: 2h, resolution: 24h}", "P3: {calendar: business}"), "targets.P3.response", "required"),
        (_with("P3: {calendar: business, response: 2h, resolution: 24h}", "P3:"), "targets.P3", "valid dictionary"),
        # A bad duration.
        (_with("response: 30m, resolution: 8h", "response: 30x, resolution: 8h"), "targets.P2.response", "invalid duration '30x'"),
        # A typo in a field name.
        (_with("resolution: 2h\n", "resolutoin: 2h\n"), "targets.P1.resolutoin", "unknown field"),
        # An override for a priority that has no defaults.
        (_with("targets: {P1: {response: 10m}}", "targets: {P7: {response: 10m}}"), "overrides.0.targets.P7", "no default targets"),
        # YAML that does not parse.
        (POLICY_YAML + "\n  bad: [unclosed\n", "line", "not valid YAML"),
    ],
)
def test_invalid_policies_are_refused_with_file_path_and_problem(text: str, path: str, message: str) -> None:
    """An invalid policy raises PolicyError naming the file, the path inside it and what is wrong."""
    with pytest.raises(PolicyError) as caught:
        parse_policy(text, "my-policy.yaml")
    rendered = str(caught.value)
    assert rendered.startswith("invalid policy\n")
    assert any(line.startswith(f"my-policy.yaml: {path}") and message in line for line in rendered.splitlines()), rendered


def test_missing_file_is_a_policy_error(tmp_path: Path) -> None:
    """A policy path that does not exist is reported, not raised as OSError."""
    with pytest.raises(PolicyError, match="cannot read file"):
        load_policy(tmp_path / "absent.yaml")


def test_intervals_are_half_open() -> None:
    """09:00:00 opens in hours, 18:00:00 is already out of hours."""
    from datetime import datetime

    from monitor.core.instants import to_us

    policy = parse_policy(POLICY_YAML)
    assert policy.in_hours(to_us(datetime.fromisoformat("2026-11-30T09:00:00+08:00")))
    assert not policy.in_hours(to_us(datetime.fromisoformat("2026-11-30T18:00:00+08:00")))
    assert policy.in_hours(to_us(datetime.fromisoformat("2026-11-30T17:59:59.999999+08:00")))
