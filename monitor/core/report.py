"""The monthly contract report: figures of a month from the records the engine published.

Pure: records come in as dicts (what ``sla-monitor replay`` prints or the
output topics carry), in one pass, and ``ReportBuilder.reports`` returns one
``CustomerReport`` per contract customer. Nothing here reads files, Kafka or
the wall clock; "is this month in the future" is judged against a ``now``
passed in (``check_request``).

Memory is bounded by what the figures need: per ticket of a contract
customer, a bitmask of the outcome and rating ids seen (deduplication, since
topics deliver at least once) and, for tickets first resolved, the month and
customer (first-contact resolution); per customer and month, counters; and
for the reported month only, its breaches and daily counters.
"""

from __future__ import annotations

import calendar
import math
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction
from typing import Any
from zoneinfo import ZoneInfo

from monitor.core.budget import month_start
from monitor.core.contracts import CENT, Contract, ReportRules
from monitor.core.errors import UsageError
from monitor.core.instants import format_us, from_us, to_us
from monitor.core.policy import Policy

SCHEMA_VERSION = 1
METRICS = ("response", "resolution")


class RecordError(ValueError):
    """A record cannot be used for the report; ``reason`` says why in one line."""

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(reason)


@dataclass(frozen=True, order=True)
class Month:
    """A calendar month, ``YYYY-MM``."""

    year: int
    month: int

    @classmethod
    def parse(cls, text: str) -> Month:
        """Read ``YYYY-MM``; raise ValueError otherwise."""
        if len(text) != 7 or text[4] != "-" or not (text[:4].isdigit() and text[5:].isdigit()):
            raise ValueError(f"not a month: {text!r} (write YYYY-MM, e.g. 2026-11)")
        month = cls(int(text[:4]), int(text[5:]))
        if not 1 <= month.month <= 12 or month.year < 1:
            raise ValueError(f"not a month: {text!r} (write YYYY-MM, e.g. 2026-11)")
        return month

    @classmethod
    def of_key(cls, key: int) -> Month:
        """The month of a ``key`` (see ``key``)."""
        return cls(key // 12, key % 12 + 1)

    @property
    def key(self) -> int:
        """Months since year 0: consecutive months have consecutive keys."""
        return self.year * 12 + self.month - 1

    @property
    def label(self) -> str:
        """``YYYY-MM``."""
        return f"{self.year:04d}-{self.month:02d}"

    def shifted(self, months: int) -> Month:
        """The month ``months`` later (earlier when negative)."""
        return Month.of_key(self.key + months)

    @property
    def last_day(self) -> date:
        """The month's last date."""
        return date(self.year, self.month, calendar.monthrange(self.year, self.month)[1])

    def bounds_us(self, zone: ZoneInfo) -> tuple[int, int]:
        """First instant of the month in ``zone`` and of the next one."""
        following = self.shifted(1)
        return month_start(zone, self.year, self.month), month_start(zone, following.year, following.month)


def month_of_us(zone: ZoneInfo, at_us: int) -> Month:
    """The month of an instant in ``zone`` (its local date's month, as ``sla_period_outcomes``)."""
    local = from_us(at_us, zone)
    return Month(local.year, local.month)


def check_request(policy: Policy, month: Month, customer: str | None, now_us: int) -> None:
    """Refuse a report that cannot be made: no contracts, unknown customer, a month not begun yet."""
    if not policy.contracts:
        raise UsageError(f"{policy.source}: no contracts in the policy: add a contracts section (see README, "
                         "\"Monthly contract report\")")
    if customer is not None and customer not in policy.contracts:
        known = ", ".join(policy.contracts)
        raise UsageError(f"unknown customer {customer!r}: {policy.source} has contracts for {known}")
    current = month_of_us(policy.report_zone, now_us)
    if month > current:
        raise UsageError(f"month {month.label} is in the future (it is {current.label} in "
                         f"{policy.report_zone.key}): give --month {current.label} or earlier")


@dataclass(frozen=True, slots=True)
class DayFigures:
    """One day of the reported month, for the chart."""

    day: date
    breaches: int
    met: int
    breached: int


@dataclass(frozen=True)
class CustomerReport:
    """One customer's report: the ``sla.report`` record, plus daily figures for the HTML chart."""

    record: dict[str, Any]
    daily: tuple[DayFigures, ...]
    contract: Contract
    rules: ReportRules


@dataclass(slots=True)
class _Tally:
    """What the KPIs of one customer and month need."""

    outcomes: Counter[tuple[str, str, str]] = field(default_factory=Counter)  # (priority, metric, status)
    rating_sum: int = 0
    ratings: int = 0


@dataclass(frozen=True, slots=True)
class _Breach:
    customer: int
    id: str
    ticket_id: str
    metric: str
    priority: str
    deadline: str
    at: str
    at_us: int
    service_id: str | None


class ReportBuilder:
    """Folds records, in one pass, into the figures of ``month`` for the contract customers."""

    def __init__(self, policy: Policy, month: Month, customers: Iterable[str] | None = None) -> None:
        self.policy = policy
        self.month = month
        self.zone = policy.report_zone
        self.customers = tuple(customers if customers is not None else policy.contracts)
        self._index = {c: i for i, c in enumerate(self.customers)}
        self._services = {s for c in self.customers for s in policy.contracts[c].services}
        self._start_us, self._end_us = month.bounds_us(self.zone)
        self._seen: dict[str, int] = {}  # ticket -> bits: 1 response outcome, 2 rating, 4 << n resolution outcome n
        self._first: dict[str, int] = {}  # ticket -> month key * customers + customer, of its first resolution
        self._reopened: set[str] = set()  # tickets with a resolution outcome after the first
        self._tallies: dict[tuple[int, int], _Tally] = {}
        self._breaches: dict[str, _Breach] = {}
        self._retracted: set[str] = set()
        self._daily: Counter[tuple[int, int, str]] = Counter()  # (customer, day, status) -> outcomes
        self._service_outcomes: dict[tuple[str, str], Mapping[str, Any]] = {}
        self._cached: tuple[int, int, int] = (0, 0, 0)  # (start, end, key) of the last month looked up
        self.records = 0

    # -- reading -----------------------------------------------------------------------

    def add(self, record: Any) -> None:
        """Take one published record; raise RecordError when it cannot be a record."""
        if not isinstance(record, dict):
            raise RecordError("not a JSON object")
        self.records += 1
        kind = record.get("type")
        if kind not in ("sla.outcome", "sla.breach", "sla.rating"):
            if not isinstance(kind, str):
                raise RecordError("no 'type' field: not a record sla-monitor publishes")
            return  # warnings, dead letters, reports: not figures of the report
        try:
            if "ticket_id" in record:
                self._ticket_record(kind, record)
            elif kind == "sla.outcome" and record.get("metric") == "availability":
                self._service_outcome(record)
        except (KeyError, TypeError, ValueError) as error:
            raise RecordError(f"{kind} record {record.get('id')!r} is unusable: {_why(error)}") from None

    def _ticket_record(self, kind: str, record: dict[str, Any]) -> None:
        customer = self._index.get(record.get("customer_id"))  # type: ignore[arg-type]
        if customer is None:
            return
        ticket: str = record["ticket_id"]
        record_id: str = record["id"]
        at_us = _instant(record["at"])
        month_key = self._month_key(at_us)
        if kind == "sla.breach":
            if self._start_us <= at_us < self._end_us and record_id not in self._breaches:
                metric = record["metric"]
                if metric not in METRICS:
                    raise ValueError(f"unknown metric {metric!r}")
                self._breaches[record_id] = _Breach(
                    customer, record_id, ticket, metric, str(record["priority"]), str(record["deadline"]),
                    record["at"], at_us, record.get("service_id"))
            return
        if kind == "sla.rating":
            score = record["score"]
            if isinstance(score, bool) or not isinstance(score, int) or not 1 <= score <= 5:
                raise ValueError(f"score {score!r} is not a whole number from 1 to 5")
            if not self._mark(ticket, 2):
                tally = self._tally(customer, month_key)
                tally.rating_sum += score
                tally.ratings += 1
            return
        metric, status = record["metric"], record["status"]
        if status not in ("met", "breached"):
            raise ValueError(f"unknown status {status!r}")
        if metric == "response":
            bit = 1
        elif metric == "resolution":
            round_ = _resolution_round(ticket, record_id)
            bit = 4 << round_
            if round_ == 1:
                self._first.setdefault(ticket, month_key * len(self.customers) + customer)
            elif round_ > 1:
                self._reopened.add(ticket)
        else:
            raise ValueError(f"unknown metric {metric!r}")
        for retracted in record.get("retracts") or ():
            if retracted.endswith(":breach"):  # warnings retracted do not matter here
                self._retracted.add(retracted)
        if self._mark(ticket, bit):
            return  # the same outcome delivered twice
        self._tally(customer, month_key).outcomes[(str(record["priority"]), metric, status)] += 1
        if self._start_us <= at_us < self._end_us:
            day = from_us(at_us, self.zone).day
            self._daily[(customer, day, status)] += 1

    def _service_outcome(self, record: dict[str, Any]) -> None:
        service = record["service_id"]
        if service not in self._services:
            return
        period = str(record["period"])
        Month.parse(period)
        if record["status"] not in ("met", "breached"):
            raise ValueError(f"unknown status {record['status']!r}")
        self._service_outcomes.setdefault((service, period), record)

    def _mark(self, ticket: str, bit: int) -> bool:
        """Record that ``bit`` was seen for ``ticket``; tell whether it had been already."""
        seen = self._seen.get(ticket, 0)
        self._seen[ticket] = seen | bit
        return bool(seen & bit)

    def _tally(self, customer: int, month_key: int) -> _Tally:
        tally = self._tallies.get((customer, month_key))
        if tally is None:
            tally = self._tallies[(customer, month_key)] = _Tally()
        return tally

    def _month_key(self, at_us: int) -> int:
        start, end, key = self._cached
        if start <= at_us < end:
            return key
        month = month_of_us(self.zone, at_us)
        start, end = month.bounds_us(self.zone)
        if not start <= at_us < end:  # outside its date's bounds (a zone's odd midnight): not cached
            return month.key
        self._cached = (start, end, month.key)
        return month.key

    # -- figures -----------------------------------------------------------------------

    def reports(self) -> list[CustomerReport]:
        """One report per customer, in policy order."""
        fcr: Counter[tuple[int, int, bool]] = Counter()  # (customer, month key, reopened) -> tickets
        n = len(self.customers)
        for ticket, code in self._first.items():
            fcr[(code % n, code // n, ticket in self._reopened)] += 1
        return [self._report(i, fcr) for i in range(n)]

    def _report(self, customer: int, fcr: Counter[tuple[int, int, bool]]) -> CustomerReport:
        contract = self.policy.contracts[self.customers[customer]]
        month = self.month
        tally = self._tallies.get((customer, month.key), _Tally())
        clocks = [
            {"priority": priority, "metric": metric, "met": (met := tally.outcomes[(priority, metric, "met")]),
             "breached": (breached := tally.outcomes[(priority, metric, "breached")]),
             "compliance": _ratio(_share(met, met + breached))}
            for priority in self._priorities(tally) for metric in METRICS
        ]
        figures, kpis = self._kpis(contract, customer, month, fcr)
        failing = any(row["met"] is False for row in kpis)
        streak = 0
        if failing:
            earliest = min((key for _, key in self._tallies), default=month.key)
            earliest = min(earliest, *(Month.parse(p).key for _, p in self._service_outcomes), month.key)
            key = month.key
            while key >= earliest and any(
                    row["met"] is False for row in self._kpis(contract, customer, Month.of_key(key), fcr)[1]):
                streak += 1
                key -= 1
        rules = self.policy.report
        breaches = sorted(
            (b for b in self._breaches.values() if b.customer == customer and b.id not in self._retracted),
            key=lambda b: (b.at_us, b.id))
        availability = [self._availability(service, month) for service in contract.services]
        start_us, end_us = self._start_us, self._end_us
        following = month.shifted(1)
        record: dict[str, Any] = {
            "type": "sla.report",
            "id": f"{contract.customer_id}:{month.label}",
            "schema_version": SCHEMA_VERSION,
            "customer_id": contract.customer_id,
            "name": contract.name,
            "period": month.label,
            "period_start": format_us(start_us, self.zone),
            "period_end": format_us(end_us, self.zone),
            "due_by": date(following.year, following.month, rules.due_day).isoformat(),
            "clocks": clocks,
            "kpis": kpis,
            "figures": figures,
            "breaches": [_breach_item(b) for b in breaches],
            "availability": availability,
            "credits": _credits(contract, breaches, availability, month),
            "failing": failing,
            "consecutive_failing_months": streak,
            "improvement_plan_due": (month.last_day + timedelta(days=rules.improvement_days)).isoformat()
            if streak >= rules.improvement_after else None,
        }
        return CustomerReport(record, self._days(customer, breaches), contract, rules)

    def _priorities(self, tally: _Tally) -> list[str]:
        extra = sorted({p for p, _, _ in tally.outcomes} - set(self.policy.priorities))
        return [*self.policy.priorities, *extra]

    def _kpis(self, contract: Contract, customer: int, month: Month,
              fcr: Counter[tuple[int, int, bool]]) -> tuple[dict[str, Any], list[dict[str, Any]]]:
        tally = self._tallies.get((customer, month.key), _Tally())
        shares: dict[str, Fraction | None] = {}
        for metric in METRICS:
            met = sum(v for (_, m, s), v in tally.outcomes.items() if m == metric and s == "met")
            total = sum(v for (_, m, _), v in tally.outcomes.items() if m == metric)
            shares[f"{metric}_compliance"] = _share(met, total)
        once, again = fcr[(customer, month.key, False)], fcr[(customer, month.key, True)]
        shares["first_contact_resolution"] = _share(once, once + again)
        csat = Fraction(tally.rating_sum, tally.ratings) if tally.ratings else None
        statuses = [self._service_outcomes.get((s, month.label), {}).get("status") for s in contract.services]
        available = False if "breached" in statuses else (True if statuses and None not in statuses else None)
        figures = {
            "response_compliance": _percent(shares["response_compliance"]),
            "resolution_compliance": _percent(shares["resolution_compliance"]),
            "first_contact_resolution": _percent(shares["first_contact_resolution"]),
            "first_resolutions": once + again,
            "csat": _floor4(csat),
            "ratings": tally.ratings,
        }
        rows = []
        for name, target in contract.kpis.items():
            if name == "availability":
                rows.append({"name": name, "target": True, "achieved": available, "met": available})
                continue
            assert isinstance(target, Decimal)
            share = shares.get(name)
            value = csat if name == "csat" else (None if share is None else share * 100)
            reached = None if value is None else value >= Fraction(target)
            rows.append({"name": name, "target": float(target), "achieved": _floor4(value), "met": reached})
        return figures, rows

    def _availability(self, service: str, month: Month) -> dict[str, Any]:
        target = self.policy.services[service].availability
        outcome = self._service_outcomes.get((service, month.label))
        item: dict[str, Any] = {"service_id": service, "target": float(target), "availability": None,
                                "downtime_seconds": None, "status": None}
        if outcome is not None:
            item["availability"] = _floor4(Fraction(Decimal(repr(float(outcome["availability"])))) * 100)
            item["downtime_seconds"] = float(outcome["downtime_seconds"])
            item["status"] = outcome["status"]
            if outcome.get("maintenance"):
                item["maintenance"] = list(outcome["maintenance"])
        return item

    def _days(self, customer: int, breaches: list[_Breach]) -> tuple[DayFigures, ...]:
        per_day = Counter(from_us(b.at_us, self.zone).day for b in breaches)
        month = self.month
        return tuple(
            DayFigures(date(month.year, month.month, day), per_day[day], self._daily[(customer, day, "met")],
                       self._daily[(customer, day, "breached")])
            for day in range(1, month.last_day.day + 1)
        )


def build_reports(policy: Policy, month: Month, records: Iterable[Any],
                  customer: str | None = None) -> list[CustomerReport]:
    """The reports of ``month`` from ``records`` (all contract customers, or one)."""
    builder = ReportBuilder(policy, month, None if customer is None else [customer])
    for record in records:
        builder.add(record)
    return builder.reports()


# -- helpers ------------------------------------------------------------------------------


def _credits(contract: Contract, breaches: list[_Breach], availability: list[dict[str, Any]],
             month: Month) -> dict[str, Any]:
    fee = contract.monthly_fee
    items: list[tuple[str, Decimal, Decimal]] = []
    for breach in breaches:
        rate = contract.per_breach.get(breach.priority)
        if rate is not None:
            items.append((f"{breach.priority} {breach.metric} breach of {breach.ticket_id} ({breach.id})",
                          rate, fee * rate / 100))
    if contract.availability_credit is not None:
        for service in availability:
            if service["status"] == "breached":
                items.append((f"availability of {service['service_id']} below {service['target']:g} % in "
                              f"{month.label}", contract.availability_credit, fee * contract.availability_credit / 100))
    uncapped = sum((amount for _, _, amount in items), Decimal(0))
    cap = contract.cap_amount
    total = uncapped if cap is None else min(uncapped, cap)
    return {
        "currency": contract.currency,
        "monthly_fee": _money(fee),
        "items": [{"reason": reason, "rate": _rate(rate), "amount": _money(amount)} for reason, rate, amount in items],
        "uncapped": _money(uncapped),
        "cap": None if cap is None else _money(cap),
        "total": _money(total),
    }


def _breach_item(breach: _Breach) -> dict[str, Any]:
    item: dict[str, Any] = {"id": breach.id, "ticket_id": breach.ticket_id, "metric": breach.metric,
                            "priority": breach.priority, "deadline": breach.deadline, "at": breach.at}
    if breach.service_id is not None:
        item["service_id"] = breach.service_id
    return item


def _resolution_round(ticket: str, record_id: str) -> int:
    """1 for ``T:resolution:outcome``, n for ``...:outcome:n``; 0 for an id of another shape."""
    base = f"{ticket}:resolution:outcome"
    if record_id == base:
        return 1
    suffix = record_id.removeprefix(base + ":")
    return int(suffix) if suffix != record_id and suffix.isdigit() and int(suffix) > 1 else 0


def _instant(text: Any) -> int:
    if not isinstance(text, str):
        raise TypeError(f"'at' is {text!r}, not an RFC 3339 time")
    at = datetime.fromisoformat(text)
    if at.tzinfo is None:
        raise ValueError(f"'at' {text!r} has no offset")
    return to_us(at)


def _why(error: Exception) -> str:
    if isinstance(error, KeyError):
        return f"no {error.args[0]!r} field"
    return str(error)


def _share(part: int, whole: int) -> Fraction | None:
    return Fraction(part, whole) if whole else None


def _ratio(share: Fraction | None) -> float | None:
    return None if share is None else float(share)


def _percent(share: Fraction | None) -> float | None:
    return None if share is None else _floor4(share * 100)


def _floor4(value: Fraction | None) -> float | None:
    # Rounded down, so that a figure shown as reaching its target does reach it.
    return None if value is None else math.floor(value * 10_000) / 10_000


def _money(amount: Decimal) -> str:
    return str(amount.quantize(CENT, rounding=ROUND_HALF_UP))


def _rate(rate: Decimal) -> str:
    return format(rate.normalize(), "f")
