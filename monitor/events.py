"""Input events: ticket lifecycle and service probe messages as pydantic models.

One JSON object per line in files, one per Kafka message. ``parse_event``
turns raw bytes into a typed event or raises ``EventRejected`` with a reason a
person can act on.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal, Union

from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    TypeAdapter,
    ValidationError,
    model_validator,
)

from monitor.errors import EventRejected

NonEmpty = Annotated[str, Field(min_length=1)]


class _Base(BaseModel):
    model_config = ConfigDict(extra="allow", frozen=True)

    event_id: NonEmpty = Field(description="Unique id of this event; repeats are skipped.")
    occurred_at: AwareDatetime = Field(
        description="When it happened (event time), RFC 3339 with an offset."
    )


class _Event(_Base):
    ticket_id: NonEmpty = Field(description="The ticket this event belongs to.")


class TicketOpened(_Event):
    """A ticket was opened; both SLA clocks start."""

    type: Literal["ticket.opened"]
    priority: NonEmpty
    customer_id: str | None = None
    service_id: str | None = None


class TicketAcknowledged(_Event):
    """A person responded; the response clock stops."""

    type: Literal["ticket.acknowledged"]


class TicketResolved(_Event):
    """The ticket was resolved; every running clock stops."""

    type: Literal["ticket.resolved"]


class TicketReopened(_Event):
    """A resolved ticket was reopened; the resolution clock runs on."""

    type: Literal["ticket.reopened"]


class TicketPaused(_Event):
    """Waiting on the customer; the resolution clock pauses."""

    type: Literal["ticket.paused"]


class TicketResumed(_Event):
    """The wait is over; the resolution clock runs again."""

    type: Literal["ticket.resumed"]


class TicketPriorityChanged(_Event):
    """The priority changed; running clocks take the new targets retroactively."""

    type: Literal["ticket.priority_changed"]
    priority: NonEmpty


class ProbeResult(_Base):
    """One uptime check of a service from one probe location."""

    type: Literal["probe.result"]
    service_id: NonEmpty = Field(description="The monitored service (a key of the policy's services).")
    probe_id: NonEmpty = Field(description="The probe location; a service is down while most locations fail.")
    ok: StrictBool = Field(description="Whether the check succeeded.")
    latency_ms: float | None = Field(None, ge=0, description="Response time of the check, milliseconds.")


class MaintenanceScheduled(_Base):
    """A maintenance window was announced at ``occurred_at``."""

    type: Literal["maintenance.scheduled"]
    service_id: NonEmpty = Field(description="The service under maintenance.")
    starts_at: AwareDatetime = Field(description="Start of the window, RFC 3339 with an offset.")
    ends_at: AwareDatetime = Field(description="End of the window (exclusive), after starts_at.")

    @model_validator(mode="after")
    def _ends_after_start(self) -> MaintenanceScheduled:
        if self.ends_at <= self.starts_at:
            raise ValueError("ends_at must be after starts_at")
        return self


ServiceEvent = ProbeResult | MaintenanceScheduled
SERVICE_EVENT_TYPES = (ProbeResult, MaintenanceScheduled)

TicketEvent = Annotated[
    TicketOpened
    | TicketAcknowledged
    | TicketResolved
    | TicketReopened
    | TicketPaused
    | TicketResumed
    | TicketPriorityChanged,
    Field(discriminator="type"),
]
EVENT_TYPES = (
    TicketOpened,
    TicketAcknowledged,
    TicketResolved,
    TicketReopened,
    TicketPaused,
    TicketResumed,
    TicketPriorityChanged,
)
ALL_EVENT_TYPES = (*EVENT_TYPES, *SERVICE_EVENT_TYPES)
KNOWN_TYPES = tuple(t.model_fields["type"].annotation.__args__[0] for t in ALL_EVENT_TYPES)  # type: ignore[union-attr]

_adapter: TypeAdapter[Any] = TypeAdapter(
    Annotated[Union[ALL_EVENT_TYPES], Field(discriminator="type")]  # type: ignore[arg-type]  # noqa: UP007
)


def parse_event(raw: bytes | str) -> TicketEvent | ServiceEvent:
    """Decode and validate one JSON event; raise EventRejected with the reason."""
    try:
        return _adapter.validate_json(raw)  # type: ignore[no-any-return]
    except ValidationError as error:
        raise EventRejected(describe(error)) from None


def describe(error: ValidationError) -> str:
    """Say in one line what is wrong with an input document."""
    parts = []
    for e in error.errors(include_url=False):
        kind = e["type"]
        loc = ".".join(str(p) for p in e["loc"][1:] if p) or str(e["loc"][0] if e["loc"] else "")
        if kind == "json_invalid":
            return f"not valid JSON: {e['ctx'].get('error', 'malformed')}" if e.get("ctx") else "not valid JSON"
        if kind == "union_tag_not_found":
            return "missing field 'type'"
        if kind == "union_tag_invalid":
            tag = e["ctx"]["tag"]
            return f"unknown event type {tag!r} (known: {', '.join(KNOWN_TYPES)})"
        if not e["loc"] or kind in ("model_type", "model_attributes_type"):
            return "not a JSON object"
        if kind == "missing":
            parts.append(f"missing field {loc!r}")
        elif kind == "timezone_aware":
            parts.append(f"{loc}: timestamp has no offset (write e.g. 2026-11-30T09:00:00+08:00)")
        else:
            parts.append(f"{loc}: {str(e['msg']).removeprefix('Value error, ')}")
    return "; ".join(parts)
