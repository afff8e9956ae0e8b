"""The monthly contract report's figures, each against a hand-computed expectation."""

from __future__ import annotations

import json
import re
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from monitor.core.errors import UsageError
from monitor.core.instants import to_us
from monitor.core.policy import Policy, parse_policy
from monitor.core.report import Month, RecordError, build_reports, check_request

SCHEMAS = Path(__file__).resolve().parents[3] / "schemas"

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
    name: ACME GmbH
    monthly_fee: 12000.00
    currency: EUR
    services: [mail, crm]
    kpis: {response_compliance: 95, resolution_compliance: 90, first_contact_resolution: 85, csat: 4.5,
           availability: true}
    credits: {per_breach: {P1: 10, P2: 7.5, P3: 5}, availability: 10, cap: 20}
  globex:
    monthly_fee: 100.10
    currency: USD
    kpis: {response_compliance: 50}
    credits: {per_breach: {P1: 5}}
report: {due_day: 5, improvement_after: 3, improvement_days: 15}
"""


@pytest.fixture
def policy() -> Policy:
    """Berlin report zone, two contracts (acme with every KPI and a cap, globex with an odd fee and no cap)."""
    return parse_policy(POLICY, "report-policy.yaml")


def ticket_record(kind: str, ticket: str, metric: str, at: str, *, priority: str = "P2", customer: str = "acme",
                  **extra: Any) -> dict[str, Any]:
    """A ticket record as the engine publishes it (``at`` local Berlin winter time unless it has an offset)."""
    at = at if at.endswith(("Z", "+01:00", "+02:00")) else at + "+01:00"
    return {"type": f"sla.{kind}", "id": f"{ticket}:{metric}:{kind}", "schema_version": 1, "ticket_id": ticket,
            "metric": metric, "priority": priority, "deadline": at, "at": at, "customer_id": customer, **extra}


def outcome(ticket: str, metric: str, status: str, at: str, *, round_: int = 1, **extra: Any) -> dict[str, Any]:
    """An sla.outcome; ``round_`` > 1 is a reopened ticket's later resolution outcome."""
    record = ticket_record("outcome", ticket, metric, at, status=status, used_seconds=1.0, target_seconds=2.0, **extra)
    if round_ > 1:
        record["id"] += f":{round_}"
    return record


def breach(ticket: str, metric: str, at: str, **extra: Any) -> dict[str, Any]:
    """An sla.breach."""
    return ticket_record("breach", ticket, metric, at, **extra)


def rating(ticket: str, score: int, at: str, customer: str = "acme") -> dict[str, Any]:
    """An sla.rating."""
    return {"type": "sla.rating", "id": f"{ticket}:rating", "schema_version": 1, "ticket_id": ticket,
            "customer_id": customer, "score": score, "at": at + "+01:00"}


def service_outcome(service: str, period: str, status: str, availability: float, downtime: float) -> dict[str, Any]:
    """A service's month outcome; its ``at`` is the period's end (so in the following month)."""
    return {"type": "sla.outcome", "id": f"{service}:availability:{period}:outcome", "schema_version": 1,
            "service_id": service, "metric": "availability", "period": period, "at": "2027-01-01T00:00:00+01:00",
            "target": 0.999, "budget_seconds": 2678.4, "downtime_seconds": downtime, "status": status,
            "availability": availability, "period_start": f"{period}-01T00:00:00+01:00",
            "period_end": "2027-01-01T00:00:00+01:00"}


def report(policy: Policy, month: str, records: list[dict[str, Any]], customer: str = "acme") -> dict[str, Any]:
    """The record of one customer's report."""
    [built] = build_reports(policy, Month.parse(month), records, customer)
    return built.record


def kpi(record: dict[str, Any], name: str) -> tuple[Any, Any]:
    """(achieved, met) of one KPI row."""
    [row] = [r for r in record["kpis"] if r["name"] == name]
    return row["achieved"], row["met"]


def clock(record: dict[str, Any], priority: str, metric: str) -> tuple[int, int, float | None]:
    """(met, breached, compliance) of one clocks row."""
    [row] = [r for r in record["clocks"] if (r["priority"], r["metric"]) == (priority, metric)]
    return row["met"], row["breached"], row["compliance"]


@pytest.mark.parametrize(
    ("at", "month"),
    [
        ("2026-11-30T23:59:59+01:00", "2026-11"),  # last second of November in Berlin
        ("2026-12-01T00:00:00+01:00", "2026-12"),  # first instant of December in Berlin
        ("2026-11-30T22:59:59Z", "2026-11"),  # the same last second written in UTC
        ("2026-11-30T23:00:00Z", "2026-12"),  # still November in UTC, already December in Berlin
        ("2026-10-31T23:59:59+01:00", "2026-10"),  # after the October DST change (CET again)
    ],
)
def test_a_record_belongs_to_the_month_of_its_at_in_the_report_zone(policy: Policy, at: str, month: str) -> None:
    """The month of a record is the month of its `at` in the report zone, to the second."""
    records = [outcome("T-1", "response", "met", at)]
    for label in ("2026-10", "2026-11", "2026-12"):
        assert clock(report(policy, label, records), "P2", "response")[0] == (1 if label == month else 0), label


def test_clocks_count_every_outcome_per_priority_and_metric(policy: Policy) -> None:
    """met/breached per priority and metric count every outcome in the month, a reopened ticket's second included."""
    records = [
        outcome("A", "response", "met", "2026-11-02T10:00:00", priority="P1"),
        outcome("B", "response", "breached", "2026-11-02T11:00:00", priority="P1"),
        outcome("C", "response", "met", "2026-11-02T12:00:00", priority="P1"),
        outcome("A", "resolution", "met", "2026-11-03T10:00:00", priority="P1"),
        outcome("A", "resolution", "breached", "2026-11-05T10:00:00", priority="P1", round_=2),  # reopened
        outcome("A", "resolution", "breached", "2026-11-05T10:00:00", priority="P1", round_=2),  # delivered twice
        outcome("D", "resolution", "met", "2026-10-31T10:00:00", priority="P3"),  # October: not counted
        outcome("E", "resolution", "met", "2026-11-09T10:00:00", priority="P3", customer="globex"),  # another customer
    ]
    record = report(policy, "2026-11", records)
    assert clock(record, "P1", "response") == (2, 1, 2 / 3)  # compliance is met / (met + breached)
    assert clock(record, "P1", "resolution") == (1, 1, 0.5)
    assert clock(record, "P3", "resolution") == (0, 0, None)
    assert kpi(record, "response_compliance") == (66.6666, False)
    assert kpi(record, "resolution_compliance") == (50.0, False)


def test_a_retracted_breach_is_neither_listed_nor_credited(policy: Policy) -> None:
    """A breach an outcome retracts (even one read later, in the next month) drops out of the list and the credits."""
    records = [
        breach("A", "response", "2026-11-10T09:15:00", priority="P1"),
        breach("B", "response", "2026-11-11T09:15:00", priority="P2", service_id="mail"),
        breach("C", "resolution", "2026-11-30T23:59:59", priority="P3"),
        breach("D", "resolution", "2026-12-01T00:00:00", priority="P3"),  # December: not in November's list
        outcome("A", "response", "met", "2026-11-10T09:20:00", priority="P1", retracts=["A:response:breach"]),
        outcome("C", "resolution", "met", "2026-12-02T09:00:00", priority="P3", retracts=["C:resolution:breach"]),
    ]
    record = report(policy, "2026-11", records)
    assert [b["id"] for b in record["breaches"]] == ["B:response:breach"]
    assert record["breaches"][0] == {"id": "B:response:breach", "ticket_id": "B", "metric": "response",
                                     "priority": "P2", "deadline": "2026-11-11T09:15:00+01:00",
                                     "at": "2026-11-11T09:15:00+01:00", "service_id": "mail"}
    credits = record["credits"]
    assert [(i["rate"], i["amount"]) for i in credits["items"]] == [("7.5", "900.00")]  # 7.5 % of 12000
    assert (credits["uncapped"], credits["cap"], credits["total"]) == ("900.00", "2400.00", "900.00")


def test_credits_never_exceed_the_cap(policy: Policy) -> None:
    """Three P1 breaches (3 x 10 %) and a breached service (10 %) are 4800.00 uncapped, 2400.00 (20 %) in total."""
    records = [breach(t, "resolution", f"2026-11-1{i}T10:00:00", priority="P1") for i, t in enumerate("ABC")]
    records.append(service_outcome("mail", "2026-11", "breached", 0.998, 5356.8))
    credits = report(policy, "2026-11", records)["credits"]
    assert [i["amount"] for i in credits["items"]] == ["1200.00", "1200.00", "1200.00", "1200.00"]
    assert credits["items"][-1] == {"reason": "availability of mail below 99.9 % in 2026-11", "rate": "10",
                                    "amount": "1200.00"}
    assert (credits["uncapped"], credits["cap"], credits["total"]) == ("4800.00", "2400.00", "2400.00")


@pytest.mark.parametrize(
    ("breaches", "items", "uncapped"),
    [
        (1, ["5.01"], "5.01"),  # 5 % of 100.10 = 5.005: half-up to 5.01
        (2, ["5.01", "5.01"], "10.01"),  # 10.010 exact: the sum is rounded, not the rounded items summed (10.02)
        (3, ["5.01"] * 3, "15.02"),  # 15.015 -> 15.02
    ],
)
def test_amounts_are_exact_and_rounded_half_up_at_the_end(policy: Policy, breaches: int, items: list[str],
                                                          uncapped: str) -> None:
    """Credits are computed in exact decimals and rounded half-up to cents only at the end; no cap leaves total = uncapped."""
    records = [breach(f"T{i}", "response", f"2026-11-0{i + 1}T10:00:00", priority="P1", customer="globex")
               for i in range(breaches)]
    records.append(breach("X", "response", "2026-11-20T10:00:00", priority="P2", customer="globex"))  # no P2 rate
    credits = report(policy, "2026-11", records, "globex")["credits"]
    assert [i["amount"] for i in credits["items"]] == items
    assert (credits["currency"], credits["monthly_fee"], credits["uncapped"], credits["cap"], credits["total"]) == (
        "USD", "100.10", uncapped, None, uncapped)


def test_first_contact_resolution_and_a_reopened_ticket(policy: Policy) -> None:
    """FCR counts tickets first resolved in the month; one reopened later (its :outcome:2 in the next month) fails it."""
    records = [
        outcome("A", "resolution", "met", "2026-11-10T10:00:00"),
        outcome("B", "resolution", "met", "2026-11-11T10:00:00"),
        outcome("C", "resolution", "met", "2026-11-12T10:00:00"),
        outcome("D", "resolution", "met", "2026-11-13T10:00:00"),
        outcome("A", "resolution", "breached", "2026-12-02T10:00:00", round_=2),  # A reopened, resolved again
        outcome("E", "resolution", "met", "2026-10-31T10:00:00"),  # first resolved in October
        outcome("E", "resolution", "met", "2026-11-14T10:00:00", round_=2),  # ... its second is not a first
    ]
    november = report(policy, "2026-11", records)
    assert (november["figures"]["first_resolutions"], november["figures"]["first_contact_resolution"]) == (4, 75.0)
    assert kpi(november, "first_contact_resolution") == (75.0, False)  # 3 of 4 < 85 %
    assert clock(november, "P2", "resolution") == (5, 0, 1.0)  # E's second outcome counts as a clock
    october = report(policy, "2026-10", records)
    assert kpi(october, "first_contact_resolution") == (0.0, False)  # E: first resolved in October, reopened
    december = report(policy, "2026-12", records)
    assert december["figures"]["first_resolutions"] == 0
    assert kpi(december, "first_contact_resolution") == (None, None)
    assert clock(december, "P2", "resolution") == (0, 1, 0.0)  # A's :outcome:2


def test_csat_is_the_mean_rating_of_the_month_with_its_count(policy: Policy) -> None:
    """Ratings 5, 4, 4 in November give 4.3333 (below 4.5); a duplicate and December's rating do not count."""
    records = [rating("A", 5, "2026-11-01T00:00:00"), rating("B", 4, "2026-11-15T12:00:00"),
               rating("C", 4, "2026-11-30T23:59:59"), rating("C", 4, "2026-11-30T23:59:59"),
               rating("D", 1, "2026-12-01T00:00:00")]
    record = report(policy, "2026-11", records)
    assert (record["figures"]["csat"], record["figures"]["ratings"]) == (4.3333, 3)
    assert kpi(record, "csat") == (4.3333, False)
    assert kpi(report(policy, "2026-12", records), "csat") == (1.0, False)


def test_a_month_without_tickets_has_null_kpis_and_does_not_fail(policy: Policy) -> None:
    """No records of the month: every KPI achieved and met are null, the month does not fail, nothing is owed."""
    record = report(policy, "2026-11", [outcome("A", "response", "breached", "2026-10-15T10:00:00")])
    assert [(r["name"], r["achieved"], r["met"]) for r in record["kpis"]] == [
        ("response_compliance", None, None), ("resolution_compliance", None, None),
        ("first_contact_resolution", None, None), ("csat", None, None), ("availability", None, None)]
    assert (record["failing"], record["consecutive_failing_months"], record["improvement_plan_due"]) == (False, 0, None)
    assert (record["breaches"], record["credits"]["total"]) == ([], "0.00")


def _failing(month: str) -> dict[str, Any]:
    """One breached response outcome in ``month`` (0 % < 95 %: the month fails)."""
    return outcome(f"T-{month}", "response", "breached", f"{month}-15T10:00:00")


def _passing(month: str) -> dict[str, Any]:
    """One met response outcome in ``month`` (100 %: the month passes)."""
    return outcome(f"T-{month}", "response", "met", f"{month}-15T10:00:00")


@pytest.mark.parametrize(
    ("records", "month", "streak", "plan_due"),
    [
        # Two failing months: not yet an improvement plan.
        ([_passing("2026-08"), _failing("2026-09"), _failing("2026-10")], "2026-10", 2, None),
        # The third failing month in a row obliges a plan, due 15 days after 30 November.
        ([_passing("2026-08"), _failing("2026-09"), _failing("2026-10"), _failing("2026-11")], "2026-11", 3,
         "2026-12-15"),
        # A fourth: still due, 15 days after 31 December.
        ([_failing("2026-09"), _failing("2026-10"), _failing("2026-11"), _failing("2026-12")], "2026-12", 4,
         "2027-01-15"),
        # A passing October resets the count.
        ([_failing("2026-09"), _passing("2026-10"), _failing("2026-11"), _failing("2026-12")], "2026-12", 2, None),
        # A month without data (October) is not failing: it also breaks the run.
        ([_failing("2026-08"), _failing("2026-09"), _failing("2026-11"), _failing("2026-12")], "2026-12", 2, None),
        # A passing month reports 0 whatever came before.
        ([_failing("2026-09"), _failing("2026-10"), _failing("2026-11"), _passing("2026-12")], "2026-12", 0, None),
    ],
)
def test_consecutive_failing_months_and_the_improvement_plan(policy: Policy, records: list[dict[str, Any]],
                                                             month: str, streak: int, plan_due: str | None) -> None:
    """Failing months in a row ending with the reported one; at 3 or more, a plan due 15 days after its last day."""
    record = report(policy, month, records)
    assert (record["consecutive_failing_months"], record["improvement_plan_due"]) == (streak, plan_due)
    assert record["failing"] is (streak > 0)


def test_availability_comes_from_the_service_month_outcome_and_is_null_until_then(policy: Policy) -> None:
    """A service's figures come from its outcome whose period is the month; before it exists they are null."""
    records = [service_outcome("mail", "2026-11", "met", 0.99925, 2008.8),
               service_outcome("crm", "2026-11", "breached", 0.98, 51840.0)]
    november = report(policy, "2026-11", records)
    assert november["availability"] == [
        {"service_id": "mail", "target": 99.9, "availability": 99.925, "downtime_seconds": 2008.8, "status": "met"},
        {"service_id": "crm", "target": 99.0, "availability": 98.0, "downtime_seconds": 51840.0, "status": "breached"},
    ]
    assert kpi(november, "availability") == (False, False)
    assert [i["reason"] for i in november["credits"]["items"]] == ["availability of crm below 99 % in 2026-11"]
    december = report(policy, "2026-12", [*records, service_outcome("mail", "2026-12", "met", 1.0, 0.0)])
    assert december["availability"][1] == {"service_id": "crm", "target": 99.0, "availability": None,
                                           "downtime_seconds": None, "status": None}
    assert kpi(december, "availability") == (None, None)  # crm's December is not over
    assert december["credits"]["items"] == []


def test_report_header_dates_and_id(policy: Policy) -> None:
    """id customer:YYYY-MM, the month's bounds in the report zone, due on the 5th of the next month."""
    record = report(policy, "2026-12", [])
    assert (record["id"], record["name"], record["period"]) == ("acme:2026-12", "ACME GmbH", "2026-12")
    assert (record["period_start"], record["period_end"]) == ("2026-12-01T00:00:00+01:00", "2027-01-01T00:00:00+01:00")
    assert record["due_by"] == "2027-01-05"
    assert [r["name"] for r in report(policy, "2026-12", [], "globex")["kpis"]] == ["response_compliance"]


def test_reports_validate_against_the_committed_schema(policy: Policy) -> None:
    """A report with breaches, credits, ratings and availability validates against schemas/sla.report.schema.json."""
    import jsonschema

    schema = json.loads((SCHEMAS / "sla.report.schema.json").read_text())
    validator = jsonschema.Draft202012Validator(schema, format_checker=jsonschema.FormatChecker())
    records = [breach("A", "response", "2026-11-10T09:15:00", priority="P1"), rating("A", 3, "2026-11-11T00:00:00"),
               outcome("A", "response", "breached", "2026-11-10T09:30:00"),
               service_outcome("mail", "2026-11", "breached", 0.998, 5356.8)]
    for built in build_reports(policy, Month.parse("2026-11"), records):
        validator.validate(built.record)


@pytest.mark.parametrize(
    ("record", "message"),
    [
        ([1, 2], "not a JSON object"),
        ({"id": "x"}, "no 'type' field"),
        ({**outcome("A", "response", "met", "2026-11-01T00:00:00"), "at": "yesterday"}, "unusable"),
        ({k: v for k, v in outcome("A", "response", "met", "2026-11-01T00:00:00").items() if k != "status"},
         "no 'status' field"),
        (rating("A", 7, "2026-11-01T00:00:00"), "score 7"),
    ],
)
def test_unusable_records_raise_record_error(policy: Policy, record: Any, message: str) -> None:
    """A line that is not a usable record raises RecordError with a one-line reason."""
    with pytest.raises(RecordError, match=message):
        build_reports(policy, Month.parse("2026-11"), [record])


def test_warnings_and_other_customers_are_ignored(policy: Policy) -> None:
    """Warnings, dead letters and tickets of customers without a contract change no figure."""
    records = [ticket_record("warning", "A", "response", "2026-11-01T10:00:00", threshold=0.5),
               {"type": "sla.dead_letter", "id": "t:0:1"},
               outcome("Z", "response", "breached", "2026-11-01T10:00:00", customer="initech"),
               outcome("Y", "response", "breached", "2026-11-01T10:00:00", customer=None)]
    assert report(policy, "2026-11", records) == report(policy, "2026-11", [])


def _now(text: str) -> int:
    return to_us(datetime.fromisoformat(text))


@pytest.mark.parametrize(
    ("month", "customer", "now", "message"),
    [
        ("2026-12", None, "2026-11-30T23:59:59+01:00", "month 2026-12 is in the future (it is 2026-11 in Europe/Berlin)"),
        ("2026-11", "initech", "2026-12-01T00:00:00+01:00", "unknown customer 'initech'"),
    ],
)
def test_requests_that_cannot_be_served_are_refused(policy: Policy, month: str, customer: str | None, now: str,
                                                    message: str) -> None:
    """A month not begun yet in the report zone, or a customer without a contract, is a usage error."""
    with pytest.raises(UsageError, match=re.escape(message)):
        check_request(policy, Month.parse(month), customer, _now(now))
    check_request(policy, Month.parse("2026-11"), None, _now("2026-11-01T00:00:00+01:00"))  # the current month is fine


def test_a_policy_without_contracts_is_refused() -> None:
    """Without contracts there is nothing to report: the error says to add them."""
    policy = parse_policy(POLICY.split("contracts:")[0], "plain.yaml")
    with pytest.raises(UsageError, match=r"plain\.yaml: no contracts in the policy"):
        check_request(policy, Month.parse("2026-11"), None, _now("2026-12-01T00:00:00+01:00"))


def test_month_parsing_and_arithmetic() -> None:
    """YYYY-MM only; shifting crosses years; last days follow leap years."""
    assert Month.parse("2026-12").shifted(1) == Month(2027, 1)
    assert Month.parse("2027-01").shifted(-13) == Month(2025, 12)
    assert Month.parse("2028-02").last_day.day == 29
    assert Month(2026, 3).bounds_us(ZoneInfo("Europe/Berlin"))[0] == _now("2026-03-01T00:00:00+01:00")
    for bad in ("2026-13", "2026-1", "26-11", "2026/11", "2026-00"):
        with pytest.raises(ValueError, match="not a month"):
            Month.parse(bad)
