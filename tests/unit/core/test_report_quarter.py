"""End to end: replay a generated quarter for two customers, report each month, compare with a plain count."""

from __future__ import annotations

import json
import random
from collections import Counter
from datetime import datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from monitor.core.instants import to_us
from monitor.core.policy import Policy, parse_policy
from monitor.core.replay import Rejection, replay_lines
from monitor.core.report import Month, build_reports

BERLIN = ZoneInfo("Europe/Berlin")
MONTHS = ("2026-10", "2026-11", "2026-12")
TARGETS = {"P1": (15, 120), "P2": (30, 480), "P3": (120, 1440)}  # minutes: response, resolution
POLICY = """
calendars:
  office: {timezone: Europe/Berlin, hours: always}
targets:
  P1: {calendar: office, response: 15m, resolution: 2h}
  P2: {calendar: office, response: 30m, resolution: 8h}
  P3: {calendar: office, response: 2h, resolution: 24h}
services:
  mail: {availability: 99.9, timezone: Europe/Berlin}
  crm: {availability: 99.0, timezone: Europe/Berlin}
contracts:
  acme:
    monthly_fee: 12000.00
    currency: EUR
    services: [mail, crm]
    kpis: {response_compliance: 85, resolution_compliance: 80, first_contact_resolution: 85, csat: 4, availability: true}
    credits: {per_breach: {P1: 10, P2: 7.5, P3: 5}, availability: 10, cap: 20}
  globex:
    monthly_fee: 999.99
    currency: EUR
    services: [crm]
    kpis: {response_compliance: 80, resolution_compliance: 75}
    credits: {per_breach: {P1: 1.5, P2: 0.7, P3: 0.3}, cap: 100}
report: {improvement_after: 2}
"""


def _generate(seed: int) -> tuple[list[str], list[dict[str, Any]]]:
    """Events of three months (tickets of acme, globex and a customer without contract, their ratings, probes) in
    arrival order; no records of the engine's own (the second item stays empty)."""
    rng = random.Random(seed)
    events: list[tuple[datetime, dict[str, Any]]] = []
    ratings: list[dict[str, Any]] = []

    def add(at: datetime, body: dict[str, Any], arrives: datetime | None = None) -> None:
        body.setdefault("event_id", f"e{len(events)}")
        events.append((arrives or at, {**body, "occurred_at": at.isoformat()}))

    start = datetime(2026, 10, 1, tzinfo=BERLIN)
    number = 0
    for day in range(92):
        for customer in ("acme", "globex", "initech"):
            for _ in range(rng.randint(0, 3)):
                number += 1
                ticket = f"T-{number}"
                priority = rng.choice(("P1", "P2", "P3"))
                response, resolution = TARGETS[priority]
                opened = start + timedelta(days=day, minutes=rng.randint(0, 1439))
                add(opened, {"type": "ticket.opened", "ticket_id": ticket, "priority": priority,
                             "customer_id": customer, "service_id": rng.choice(("mail", "crm"))})
                acked = opened + timedelta(minutes=rng.randint(1, int(response * 1.4)))
                # Some acknowledgements made in time arrive after the deadline: the breach is retracted.
                late = opened + timedelta(minutes=response + 5) if rng.random() < 0.1 else None
                add(acked, {"type": "ticket.acknowledged", "ticket_id": ticket}, late)
                resolved = acked + timedelta(minutes=rng.randint(1, int(resolution * 1.3)))
                add(resolved, {"type": "ticket.resolved", "ticket_id": ticket})
                if rng.random() < 0.15:  # reopened and resolved again
                    reopened = resolved + timedelta(minutes=rng.randint(5, 600))
                    add(reopened, {"type": "ticket.reopened", "ticket_id": ticket})
                    resolved = reopened + timedelta(minutes=rng.randint(5, 300))
                    add(resolved, {"type": "ticket.resolved", "ticket_id": ticket})
                if rng.random() < 0.4:  # the customer rates it: the engine republishes it as sla.rating
                    rated = resolved + timedelta(hours=rng.randint(1, 48))
                    add(rated, {"type": "ticket.rated", "ticket_id": ticket, "score": rng.randint(1, 5)})
    for service in ("mail", "crm"):
        add(start, {"type": "probe.result", "service_id": service, "probe_id": "fra", "ok": True})
        for month, minutes in zip(MONTHS, (30, 60, 10) if service == "mail" else (5, 500, 0), strict=True):
            down = datetime.fromisoformat(f"{month}-12T03:00:00").replace(tzinfo=BERLIN)
            if minutes:
                add(down, {"type": "probe.result", "service_id": service, "probe_id": "fra", "ok": False})
                add(down + timedelta(minutes=minutes),
                    {"type": "probe.result", "service_id": service, "probe_id": "fra", "ok": True})
    events.sort(key=lambda item: item[0])
    return [json.dumps(body) for _, body in events], ratings


def _month(at: str) -> str:
    return datetime.fromisoformat(at).astimezone(BERLIN).strftime("%Y-%m")


def _expected(policy: Policy, records: list[dict[str, Any]], customer: str, month: str) -> dict[str, Any]:
    """The report's figures counted plainly from the whole list of records."""
    contract = policy.contracts[customer]
    mine = [r for r in records if r.get("customer_id") == customer]
    retracted = {i for r in records for i in r.get("retracts") or ()}

    def fails(label: str) -> bool:
        outcomes = [r for r in mine if r["type"] == "sla.outcome" and _month(r["at"]) == label]
        rows = []
        for metric, target in (("response", "response_compliance"), ("resolution", "resolution_compliance")):
            clocks = [r for r in outcomes if r["metric"] == metric]
            if clocks:
                rows.append(Fraction(sum(r["status"] == "met" for r in clocks) * 100, len(clocks))
                            >= contract.kpis[target])
        if "first_contact_resolution" in contract.kpis:
            firsts = {r["ticket_id"] for r in outcomes if r["id"] == f"{r['ticket_id']}:resolution:outcome"}
            again = {r["ticket_id"] for r in mine if r["id"].startswith(f"{r['ticket_id']}:resolution:outcome:")}
            if firsts:
                rows.append(Fraction(len(firsts - again) * 100, len(firsts)) >= contract.kpis["first_contact_resolution"])
        if "csat" in contract.kpis:
            scores = [r["score"] for r in mine if r["type"] == "sla.rating" and _month(r["at"]) == label]
            if scores:
                rows.append(Fraction(sum(scores), len(scores)) >= contract.kpis["csat"])
        if "availability" in contract.kpis:
            statuses = [r["status"] for r in records if r["type"] == "sla.outcome" and r.get("period") == label
                        and r["service_id"] in contract.services]
            if "breached" in statuses or len(statuses) == len(contract.services):
                rows.append("breached" not in statuses)
        return False in rows

    outcomes = Counter((r["priority"], r["metric"], r["status"]) for r in mine
                       if r["type"] == "sla.outcome" and _month(r["at"]) == month)
    breaches = sorted((r for r in mine if r["type"] == "sla.breach" and _month(r["at"]) == month
                       and r["id"] not in retracted), key=lambda r: (to_us(datetime.fromisoformat(r["at"])), r["id"]))
    amounts = [contract.monthly_fee * contract.per_breach[b["priority"]] / 100 for b in breaches]
    for r in records:
        if r["type"] == "sla.outcome" and r.get("period") == month and r["service_id"] in contract.services \
                and r["status"] == "breached" and contract.availability_credit is not None:
            amounts.append(contract.monthly_fee * contract.availability_credit / 100)
    total = min(sum(amounts, Decimal(0)), contract.monthly_fee * (contract.cap or 0) / 100)
    streak, label = 0, Month.parse(month)
    while fails(label.label):
        streak += 1
        label = label.shifted(-1)
    return {"clocks": outcomes, "breaches": [b["id"] for b in breaches],
            "total": str(total.quantize(Decimal("0.01"), ROUND_HALF_UP)), "failing": fails(month), "streak": streak}


@pytest.mark.parametrize("seed", [7, 2026])
def test_reports_of_a_replayed_quarter_match_a_plain_count(seed: int) -> None:
    """For each month and customer, clocks, breaches, credits, failing and the streak equal an independent count."""
    policy = parse_policy(POLICY, "quarter.yaml")
    lines, ratings = _generate(seed)
    until = to_us(datetime(2027, 1, 1, 0, 0, 1, tzinfo=BERLIN))
    items = list(replay_lines(policy, lines, until))
    assert not [i for i in items if isinstance(i, Rejection)]
    records = [i for i in items if not isinstance(i, Rejection)] + ratings
    assert sum(r["type"] == "sla.rating" for r in records) > 50  # ratings come from the engine now
    assert {r["period"] for r in records if r.get("metric") == "availability" and r["type"] == "sla.outcome"} == set(MONTHS)
    seen_failing = 0
    for month in MONTHS:
        for built in build_reports(policy, Month.parse(month), records):
            report = built.record
            expected = _expected(policy, records, report["customer_id"], month)
            counted = Counter({(c["priority"], c["metric"], s): c[s] for c in report["clocks"] for s in ("met", "breached")
                               if c[s]})
            assert counted == expected["clocks"], (month, report["customer_id"])
            assert [b["id"] for b in report["breaches"]] == expected["breaches"]
            assert report["credits"]["total"] == expected["total"]
            assert (report["failing"], report["consecutive_failing_months"]) == (expected["failing"], expected["streak"])
            seen_failing += report["failing"]
    assert seen_failing  # the generated quarter does exercise failing months
    assert any(r.get("retracts") for r in records)  # ... and retractions
