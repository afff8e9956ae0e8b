"""Output records: what sla-monitor publishes, as pydantic models.

The core builds records as plain dicts (fast); these models document the
contract, generate the JSON Schemas in ``schemas/`` and let tests check that
every record the core builds conforms.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from monitor.core.limits import MAX_ESCALATION_TO_LENGTH, MAX_ESCALATIONS

Metric = Literal["response", "resolution"]


class _Record(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(description="Stable id: ticket:metric:kind[:threshold]; consumers deduplicate by it.")
    schema_version: Literal[1] = Field(description="Version of this record schema.")
    ticket_id: str
    metric: Metric
    priority: str = Field(description="Priority whose targets the clock measures against.")
    deadline: AwareDatetime = Field(description="The clock's deadline as it stands when published.")
    at: AwareDatetime = Field(
        description="Event time of publication: when the alert fell due (or the event that made it due), "
        "or when the clock stopped."
    )
    customer_id: str | None = None
    service_id: str | None = None


class SlaWarning(_Record):
    """A clock used up a warning fraction of its target; the deadline is near."""

    type: Literal["sla.warning"]
    threshold: float = Field(gt=0, lt=1, description="Fraction of the target used up (warn_at).")


class SlaBreach(_Record):
    """A clock reached its target while still running: the SLA is breached."""

    type: Literal["sla.breach"]


class SlaEscalation(_Record):
    """A breached clock is still open a policy's escalation ``after`` past its target: escalate to ``to``."""

    type: Literal["sla.escalation"]
    id: str = Field(description="Stable id: ticket:metric:escalation:level; consumers deduplicate by it.")
    level: int = Field(ge=1, le=MAX_ESCALATIONS, description="Escalation number, 1 for the first after the breach; "
                       "the id ends in it.")
    to: str = Field(min_length=1, max_length=MAX_ESCALATION_TO_LENGTH,
                    description="Who the policy escalates this level to (its escalations[].to).")


class SlaOutcome(_Record):
    """A clock stopped: was the target met?"""

    type: Literal["sla.outcome"]
    status: Literal["met", "breached"]
    used_seconds: float = Field(ge=0, description="Business time used when the clock stopped.")
    target_seconds: float = Field(gt=0, description="The target it was measured against.")
    retracts: list[str] | None = Field(
        default=None,
        description="Ids of alerts published earlier that the final event times prove wrong "
        "(e.g. an acknowledgement that arrived late but happened before the deadline: its breach and "
        "escalations; or before an escalation fell due: that escalation).",
    )


class _ServiceRecord(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(description="Stable id: service:availability:period:kind[:threshold]; consumers deduplicate by it.")
    schema_version: Literal[1] = Field(description="Version of this record schema.")
    service_id: str
    metric: Literal["availability"]
    period: str = Field(pattern=r"^\d{4}-\d{2}$", description="The calendar month in the service's time zone.")
    at: AwareDatetime = Field(description="When the alert fell due, or the end of the period for an outcome.")
    target: float = Field(gt=0, lt=1, description="Availability target as a ratio, e.g. 0.999.")
    budget_seconds: float = Field(ge=0, description="Error budget of the period: (1 - target) x its length.")
    downtime_seconds: float = Field(
        ge=0, description="Downtime counted in the period (at the alert's instant, or in the whole period)."
    )


class ServiceWarning(_ServiceRecord):
    """A service used up a warning fraction of its period's error budget."""

    type: Literal["sla.warning"]
    threshold: float = Field(gt=0, lt=1, description="Fraction of the error budget used up (warn_at).")


class ServiceBreach(_ServiceRecord):
    """A service exhausted its period's error budget: the availability target is breached."""

    type: Literal["sla.breach"]


class MaintenanceNote(BaseModel):
    """A maintenance window of the period and whether it excluded downtime."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    event_id: str
    starts_at: AwareDatetime
    ends_at: AwareDatetime
    announced_at: AwareDatetime
    excluded: bool = Field(description="False when announced with less than maintenance.min_notice.")
    reason: str | None = None


class ServiceOutcome(_ServiceRecord):
    """A period ended: was the availability target met?"""

    type: Literal["sla.outcome"]
    status: Literal["met", "breached"]
    availability: float = Field(ge=0, le=1, description="1 - downtime / period length.")
    period_start: AwareDatetime
    period_end: AwareDatetime
    maintenance: list[MaintenanceNote] | None = None
    retracts: list[str] | None = Field(
        default=None, description="Ids of alerts the period's final figure proves wrong (downtime exactly the budget)."
    )


class DeadLetterSource(BaseModel):
    """Where a dead letter was read from."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    topic: str
    partition: int = Field(ge=0)
    offset: int = Field(ge=0)


class SlaDeadLetter(BaseModel):
    """Input the worker could not use (or a record it could not publish), kept with the reason, bounded in size."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    type: Literal["sla.dead_letter"]
    id: str = Field(
        description="topic:partition:offset of the original message; for a record the worker could not publish, "
        "followed by ':' and that record's id."
    )
    schema_version: Literal[1]
    kind: Literal["malformed", "rejected", "duplicate", "internal"] = Field(
        description="malformed: not an event; rejected: refused by the SLA engine; duplicate: event_id already "
        "applied; internal: a bug in sla-monitor (please report), or a record it made that the broker refused "
        "for good (too large, invalid topic): the original is then that record."
    )
    reason: str = Field(max_length=1000, description="What is wrong, in one line (at most 1000 characters).")
    source: DeadLetterSource
    original_b64: str = Field(
        description="The original message bytes, base64: whole up to 256 KiB (262144 bytes), else their first "
        "256 KiB (original_truncated)."
    )
    original_size: int = Field(ge=0, description="Length of the whole original in bytes.")
    original_sha256: str = Field(pattern=r"^[0-9a-f]{64}$", description="SHA-256 of the whole original, hex.")
    original_truncated: bool = Field(description="True when original_b64 holds only the first 256 KiB.")
    at: AwareDatetime = Field(description="When the worker refused it (wall clock).")
    event_id: str | None = None
    ticket_id: str | None = None
    service_id: str | None = None


class SlaRating(BaseModel):
    """A customer rated a resolved ticket (published on the outcomes topic)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    type: Literal["sla.rating"]
    id: str = Field(description="ticket:rating; a ticket is rated at most once.")
    schema_version: Literal[1] = Field(description="Version of this record schema.")
    ticket_id: str
    score: int = Field(ge=1, le=5, description="The customer's satisfaction, 1 (worst) to 5 (best).")
    at: AwareDatetime = Field(description="When the customer rated (the rating event's occurred_at).")
    customer_id: str | None = None
    service_id: str | None = None


SlaRecord = Annotated[SlaWarning | SlaBreach | SlaEscalation | SlaOutcome, Field(discriminator="type")]
RECORD_TYPES = (SlaWarning, SlaBreach, SlaEscalation, SlaOutcome, SlaRating, SlaDeadLetter)
SERVICE_RECORD_TYPES = (ServiceWarning, ServiceBreach, ServiceOutcome)
