"""Customer contracts and the monthly report rules of a policy.

The ``contracts`` and ``report`` sections of the policy file (see README,
"Monthly contract report"): per customer a monthly fee, the services whose
availability counts, monthly KPI targets and service-credit rates. Amounts
and percentages are ``Decimal`` parsed from the text the user wrote, never
binary floats. ``compile_contracts`` checks what the field types cannot
(services and priorities that exist) and returns the compiled contracts.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

from monitor.core.errors import Problem

KPI_NAMES = ("response_compliance", "resolution_compliance", "first_contact_resolution", "csat", "availability")
CENT = Decimal("0.01")


def _decimal(value: Any, example: str) -> Decimal:
    # YAML reads 12000.00 as a binary float; its shortest repr is the decimal the user wrote.
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise ValueError(f"invalid number {value!r}: write e.g. {example}")
    try:
        number = Decimal(repr(value) if isinstance(value, float) else str(value).strip())
    except InvalidOperation:
        raise ValueError(f"invalid number {value!r}: write e.g. {example}") from None
    if not number.is_finite():
        raise ValueError(f"{value} is not a number: write e.g. {example}")
    return number


def _share(value: Any) -> Decimal:
    percent = _decimal(value, "7.5")
    if not 0 <= percent <= 100:
        raise ValueError(f"{value} is outside 0-100: write a percentage, e.g. 7.5")
    return percent


def _fee(value: Any) -> Decimal:
    fee = _decimal(value, "12000.00")
    if fee < 0:
        raise ValueError(f"{value} is negative: a monthly fee is 0 or more")
    if fee != fee.quantize(CENT):
        raise ValueError(f"{value} has more than 2 decimals: write the fee in currency units, e.g. 12000.00")
    return fee.quantize(CENT)


def _rating(value: Any) -> Decimal:
    score = _decimal(value, "4.5")
    if not 1 <= score <= 5:
        raise ValueError(f"{value} is outside 1-5: a rating target is a mean score between 1 and 5")
    return score


Share = Annotated[Decimal, BeforeValidator(_share)]
Fee = Annotated[Decimal, BeforeValidator(_fee)]
Rating = Annotated[Decimal, BeforeValidator(_rating)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class KpisDoc(_Strict):
    response_compliance: Share | None = None
    resolution_compliance: Share | None = None
    first_contact_resolution: Share | None = None
    csat: Rating | None = None
    availability: Literal[True] | None = None


class CreditsDoc(_Strict):
    per_breach: dict[str, Share] = Field(default_factory=dict)
    availability: Share | None = None
    cap: Share | None = None


class ContractDoc(_Strict):
    name: str | None = None
    monthly_fee: Fee
    currency: str = Field(pattern=r"^[A-Z]{3}$")
    services: list[str] = Field(default_factory=list)
    kpis: KpisDoc = Field(default_factory=KpisDoc)
    credits: CreditsDoc = Field(default_factory=CreditsDoc)


class ReportDoc(_Strict):
    due_day: int = Field(5, ge=1, le=28)
    improvement_after: int = Field(3, ge=1)
    improvement_days: int = Field(15, ge=0)


@dataclass(frozen=True)
class Contract:
    """One customer's contract: fee, services, KPI targets and credit rates (percent of the fee)."""

    customer_id: str
    name: str
    monthly_fee: Decimal
    currency: str
    services: tuple[str, ...]
    kpis: Mapping[str, Decimal | bool]  # KPI name -> target (percent, mean score, or True), in KPI_NAMES order
    per_breach: Mapping[str, Decimal]
    availability_credit: Decimal | None
    cap: Decimal | None

    @property
    def cap_amount(self) -> Decimal | None:
        """The most a month's credits may reach, exact (None without a cap)."""
        return None if self.cap is None else self.monthly_fee * self.cap / 100


@dataclass(frozen=True)
class ReportRules:
    """When reports and improvement plans are due."""

    due_day: int = 5
    improvement_after: int = 3
    improvement_days: int = 15


def compile_contracts(
    contracts: Mapping[str, ContractDoc], services: Mapping[str, object], priorities: Mapping[str, object],
    problems: list[Problem],
) -> dict[str, Contract]:
    """Check references to services and priorities; return the contracts by customer id."""
    out: dict[str, Contract] = {}
    for customer, doc in contracts.items():
        path = f"contracts.{customer}"
        for i, service in enumerate(doc.services):
            if service not in services:
                known = ", ".join(sorted(services)) or "none: add a services section"
                problems.append(Problem(f"{path}.services.{i}", f"unknown service {service!r} (defined: {known})"))
            elif service in doc.services[:i]:
                problems.append(Problem(f"{path}.services.{i}", f"service {service!r} is listed twice"))
        for priority in doc.credits.per_breach:
            if priority not in priorities:
                known = ", ".join(priorities)
                problems.append(Problem(f"{path}.credits.per_breach.{priority}",
                                        f"unknown priority {priority!r} (targets define: {known})"))
        if doc.kpis.availability and not doc.services:
            problems.append(Problem(f"{path}.kpis.availability", "no services listed: name them in services"))
        kpis: dict[str, Decimal | bool] = {
            name: value for name in KPI_NAMES if (value := getattr(doc.kpis, name)) is not None
        }
        out[customer] = Contract(
            customer_id=customer,
            name=doc.name or customer,
            monthly_fee=doc.monthly_fee,
            currency=doc.currency,
            services=tuple(doc.services),
            kpis=kpis,
            per_breach=dict(doc.credits.per_breach),
            availability_credit=doc.credits.availability,
            cap=doc.credits.cap,
        )
    return out


def compile_report(doc: ReportDoc) -> ReportRules:
    """The report rules of a policy."""
    return ReportRules(doc.due_day, doc.improvement_after, doc.improvement_days)
