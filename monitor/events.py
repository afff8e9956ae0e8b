"""Input events: ticket lifecycle messages as pydantic models.

One JSON object per line in files, one per Kafka message. ``parse_event``
turns raw bytes into a typed event or raises ``EventRejected`` with a reason a
person can act on.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, TypeAdapter, ValidationError

from monitor.errors import EventRejected

NonEmpty = Annotated[str, Field(min_length=1)]


class _Event(BaseModel):
    model_config = ConfigDict(extra="allow", frozen=True)

    event_id: NonEmpty = Field(description="Unique id of this event; repeats are skipped.")
    ticket_id: NonEmpty = Field(description="The ticket this event belongs to.")
    occurred_at: AwareDatetime = Field(
        description="When it happened (event time), RFC 3339 with an offset."
    )


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
KNOWN_TYPES = tuple(t.model_fields["type"].annotation.__args__[0] for t in EVENT_TYPES)  # type: ignore[union-attr]

_adapter: TypeAdapter[Any] = TypeAdapter(TicketEvent)


def parse_event(raw: bytes | str) -> TicketEvent:
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
            parts.append(f"{loc}: {e['msg']}")
    return "; ".join(parts)
