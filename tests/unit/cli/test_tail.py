"""`sla-monitor tail` renders records as one readable line each."""

from __future__ import annotations

from monitor.cli.tail import render


def test_render_warning_breach_outcome_and_dead_letter() -> None:
    """Each record type gets its label, the ticket, metric, priority and deadline (or the reason)."""
    base = {"ticket_id": "T-1", "metric": "response", "priority": "P1",
            "at": "2026-11-30T09:07:30+08:00", "deadline": "2026-11-30T09:15:00+08:00"}
    assert render({**base, "type": "sla.warning", "threshold": 0.5}, colour=False) == (
        "09:07:30  WARN 50%  T-1 response P1  deadline 09:15:00")
    assert render({**base, "type": "sla.breach"}, colour=False).startswith("09:07:30  BREACH")
    outcome = render({**base, "type": "sla.outcome", "status": "met", "retracts": ["T-1:response:breach"]}, colour=False)
    assert "MET" in outcome
    assert outcome.endswith("retracts T-1:response:breach")
    letter = render({"type": "sla.dead_letter", "source": {"topic": "t", "partition": 0, "offset": 3},
                     "reason": "not valid JSON"}, colour=False)
    assert "DEAD LETTER" in letter
    assert "not valid JSON" in letter
    assert render({**base, "type": "sla.breach"}, colour=True).startswith("\x1b[31m")


def test_render_service_records() -> None:
    """A service's alert shows the service, its period and the downtime against the budget."""
    record = {"type": "sla.breach", "service_id": "mail", "metric": "availability", "period": "2026-12",
              "at": "2026-12-01T09:44:38.400000+01:00", "budget_seconds": 2678.4, "downtime_seconds": 2678.4}
    assert render(record, colour=False) == "09:44:38  BREACH    mail availability 2026-12  downtime 2678.4s of 2678.4s"
