"""The month-to-date rows' month: the report zone's local month of an instant, at every month end and DST change."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from monitor.core.instants import from_us, to_us
from monitor.core.policy import Policy, parse_policy
from monitor.live.worker_state import month_of

ZONES = ["UTC", "Europe/Berlin", "America/New_York", "Asia/Kathmandu", "Australia/Lord_Howe", "Pacific/Chatham"]


def _policy(zone: str) -> Policy:
    return parse_policy(f"""
calendars:
  desk: {{timezone: {zone}, hours: always}}
targets:
  P1: {{calendar: desk, response: 10m, resolution: 1h}}
""")


POLICIES = {zone: _policy(zone) for zone in ZONES}
# Around local month ends (and the DST changes of late March / October / early April / November).
NEAR = [datetime(2026, month, 1, tzinfo=UTC) for month in range(1, 13)] + [datetime(2027, 1, 1, tzinfo=UTC)]


@given(zone=st.sampled_from(ZONES), base=st.sampled_from(NEAR), offset_s=st.integers(-16 * 3600, 16 * 3600),
       micro=st.integers(0, 999_999))
def test_month_is_the_report_zones_local_month(zone: str, base: datetime, offset_s: int, micro: int) -> None:
    """Within 16 h of each UTC month start (so every zone's local midnight is crossed), to the microsecond."""
    at_us = to_us(base) + offset_s * 1_000_000 + micro
    assert month_of(POLICIES[zone], at_us) == from_us(at_us, ZoneInfo(zone)).strftime("%Y-%m")


@pytest.mark.parametrize(("zone", "local", "month"), [
    ("Europe/Berlin", "2026-10-31T23:59:59.999999+01:00", "2026-10"),
    ("Europe/Berlin", "2026-11-01T00:00:00+01:00", "2026-11"),
    ("Asia/Kathmandu", "2026-11-30T23:59:59+05:45", "2026-11"),
    ("Asia/Kathmandu", "2026-12-01T00:00:00+05:45", "2026-12"),
])
def test_the_last_microsecond_of_a_month_and_the_first_of_the_next(zone: str, local: str, month: str) -> None:
    """A month's last instant is in it; the next month's first is not (a zone 5:45 ahead of UTC too)."""
    assert month_of(POLICIES[zone], to_us(datetime.fromisoformat(local))) == month
