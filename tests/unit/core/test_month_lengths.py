"""Budget arithmetic in every month length: the figures the live Prometheus test relies on.

The live test runs in whatever month the suite runs in; these rows run the same
scenario (shop, 99.9999 %, down for 2.05 s) in a 28-, 29-, 30- and 31-day
month, so a date dependence shows here, in the fast suite, first.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta

import pytest

from monitor.core.policy import load_policy
from monitor.core.replay import Rejection, replay_lines
from tests.integration.conftest import SECONDS_POLICY
from tests.integration.test_prometheus import DOWN_UNTIL, shop_expectations


def _probe(probe_id: str, at: datetime, ok: bool) -> str:
    return json.dumps({"type": "probe.result", "event_id": f"{probe_id}-{at.isoformat()}", "service_id": "shop",
                       "probe_id": probe_id, "occurred_at": at.isoformat(), "ok": ok})


@pytest.mark.parametrize(
    ("month", "days", "budget"),
    [
        ("2027-02", 28, 2.4192),  # 28 x 86,400 s x 0.000001
        ("2028-02", 29, 2.5056),  # a leap February
        ("2026-11", 30, 2.592),
        ("2026-12", 31, 2.6784),
    ],
)
def test_the_live_scenarios_outage_crosses_the_same_warnings_in_every_month_length(
    month: str, days: int, budget: float
) -> None:
    """2.05 s of downtime: the 0.5 and 0.75 warnings, never 0.9 or the breach, whatever the month's length."""
    t0 = datetime.fromisoformat(f"{month}-10T12:00:00+00:00")
    lines = [_probe(p, t0, True) for p in "ab"]
    lines += [_probe(p, t0 + timedelta(seconds=1), False) for p in "ab"]
    lines += [_probe(p, t0 + timedelta(seconds=DOWN_UNTIL), True) for p in "ab"]
    records = [r for r in replay_lines(load_policy(SECONDS_POLICY), lines) if not isinstance(r, Rejection)]
    assert [(r["type"], r.get("threshold")) for r in records] == [("sla.warning", 0.5), ("sla.warning", 0.75)]
    assert all(r["budget_seconds"] == pytest.approx(budget, abs=1e-12) for r in records)
    assert all(r["period"] == month for r in records)
    assert (days * 86_400) * 1e-6 == pytest.approx(budget)
    # The live test's own expectation helper agrees for this month.
    down, live_budget, crossed = shop_expectations(t0.timestamp())
    assert (round(down, 6), live_budget, crossed) == (2.05, pytest.approx(budget, abs=1e-12), 2)
