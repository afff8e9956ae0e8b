"""The ``sla.report`` record: one customer's contract month, as pydantic models.

``monitor.core.report`` builds it as a plain dict; this model documents the shape,
generates ``schemas/sla.report.schema.json`` and lets tests check that every
report conforms. Money is a decimal string with two decimals (``"2400.00"``);
shares are percentages (0-100) like the contract's targets.
"""

from __future__ import annotations

from datetime import date
from typing import Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from monitor.core.records import MaintenanceNote

Money = str
MONEY = r"^-?\d+\.\d{2}$"


class _Part(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ClockFigure(_Part):
    """Outcomes of one priority and metric stopped in the month."""

    priority: str
    metric: Literal["response", "resolution"]
    met: int = Field(ge=0)
    breached: int = Field(ge=0)
    compliance: float | None = Field(
        ge=0, le=1, description="met / (met + breached), a ratio 0-1; null without outcomes.")


class KpiRow(_Part):
    """One KPI of the contract: its target, what the month achieved, and whether that meets it."""

    name: Literal["response_compliance", "resolution_compliance", "first_contact_resolution", "csat", "availability"]
    target: float | bool = Field(description="Percent, mean rating (csat), or true (availability).")
    achieved: float | bool | None = Field(
        description="Percent or mean rating, rounded down to 4 decimals (met is decided exactly); for "
        "availability, whether every listed service met its target. Null without data.")
    met: bool | None = Field(description="Null without data; a month fails when any KPI has met == false.")


class Figures(_Part):
    """The month's KPI figures, whether or not the contract sets targets for them."""

    response_compliance: float | None = Field(ge=0, le=100)
    resolution_compliance: float | None = Field(ge=0, le=100)
    first_contact_resolution: float | None = Field(
        ge=0, le=100, description="Percent of first_resolutions with no later resolution outcome (not reopened).")
    first_resolutions: int = Field(ge=0, description="Tickets whose first resolution outcome is in the month.")
    csat: float | None = Field(ge=1, le=5, description="Mean score of the month's ratings.")
    ratings: int = Field(ge=0, description="Ratings given in the month.")


class ReportBreach(_Part):
    """A breach published in the month that no outcome retracts."""

    id: str
    ticket_id: str
    metric: Literal["response", "resolution"]
    priority: str
    deadline: AwareDatetime
    at: AwareDatetime
    service_id: str | None = None


class ServiceAvailability(_Part):
    """A contract service's availability in the month, from its month outcome."""

    service_id: str
    target: float = Field(gt=0, lt=100, description="Percent, e.g. 99.9.")
    availability: float | None = Field(ge=0, le=100, description="Percent achieved; null until the month's "
                                       "outcome is in the records (the month is not over).")
    downtime_seconds: float | None = Field(ge=0)
    status: Literal["met", "breached"] | None
    maintenance: list[MaintenanceNote] | None = Field(
        default=None, description="Maintenance windows of the month (excluded ones did not count as downtime).")


class CreditItem(_Part):
    """One line of the credit calculation."""

    reason: str
    rate: str = Field(pattern=r"^\d+(\.\d+)?$", description="Percent of the monthly fee, as a decimal string.")
    amount: Money = Field(pattern=MONEY, description="fee x rate / 100, rounded half-up for display.")


class Credits(_Part):
    """Service credits owed for the month."""

    currency: str = Field(pattern=r"^[A-Z]{3}$")
    monthly_fee: Money = Field(pattern=MONEY)
    items: list[CreditItem]
    uncapped: Money = Field(pattern=MONEY, description="Exact sum of the items, rounded half-up.")
    cap: Money | None = Field(pattern=MONEY, description="The cap as an amount (cap percent x fee); null without one.")
    total: Money = Field(pattern=MONEY, description="min(uncapped, cap), from exact amounts, rounded half-up.")


class SlaReport(BaseModel):
    """One contract customer's monthly service report (published on sla.reports, keyed by id)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    type: Literal["sla.report"]
    id: str = Field(description="customer:YYYY-MM.")
    schema_version: Literal[1]
    customer_id: str
    name: str
    period: str = Field(pattern=r"^\d{4}-\d{2}$", description="The calendar month in the policy's report zone.")
    period_start: AwareDatetime
    period_end: AwareDatetime = Field(description="The first instant of the next month.")
    due_by: date = Field(description="Day report.due_day of the next month.")
    clocks: list[ClockFigure]
    kpis: list[KpiRow]
    figures: Figures
    breaches: list[ReportBreach]
    availability: list[ServiceAvailability]
    credits: Credits
    failing: bool = Field(description="Some KPI has met == false.")
    consecutive_failing_months: int = Field(ge=0, description="Failing months in a row, ending with this one.")
    improvement_plan_due: date | None = Field(
        description="Last day of the month + report.improvement_days, when consecutive_failing_months >= "
        "report.improvement_after.")
