"""The integration suite's month guard: a live test never straddles the end of a UTC month."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from tests.integration.conftest import MONTH_GUARD_AFTER_S, MONTH_GUARD_BEFORE_S, month_guard_wait


def _t(text: str) -> float:
    return datetime.fromisoformat(text).replace(tzinfo=UTC).timestamp()


@pytest.mark.parametrize(
    ("now", "wait"),
    [
        # Mid-month: no wait.
        ("2026-12-15T12:00:00", 0.0),
        # A minute before a 31-day month ends: wait until just after it.
        ("2026-12-31T23:59:00", 60.0 + MONTH_GUARD_AFTER_S),
        # Just before February ends in a leap year (29 days).
        ("2028-02-29T23:58:30", 90.0 + MONTH_GUARD_AFTER_S),
        # Just after a month began: wait until events dated a few seconds back are in it too.
        ("2026-12-01T00:00:05", MONTH_GUARD_AFTER_S - 5.0),
        # Outside the guard on both sides.
        ("2026-11-30T23:57:00", 0.0),
        ("2026-12-01T00:00:30", 0.0),
    ],
)
def test_month_guard_waits_only_near_a_month_boundary(now: str, wait: float) -> None:
    """The wait is zero inside a month and reaches past the boundary near one, in any month length."""
    assert MONTH_GUARD_BEFORE_S < 180  # 23:57 is outside
    assert month_guard_wait(_t(now)) == pytest.approx(wait)
