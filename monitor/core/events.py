"""Input events: ticket lifecycle and service probe messages as pydantic models.

One JSON object per line in files, one per Kafka message. ``parse_event``
turns raw bytes into a typed event or raises ``EventRejected`` with a reason a
person can act on.

Limits (``monitor.core.limits``), each refused with a reason naming it: an event is
at most ``MAX_EVENT_BYTES`` (64 KiB) of JSON; ids and names (``event_id``,
``ticket_id``, ``customer_id``, ``service_id``, ``probe_id``, ``priority``)
are 1 to ``MAX_ID_LENGTH`` (256) characters; instants (``occurred_at``,
``starts_at``, ``ends_at``) are RFC 3339 texts with an offset (never a JSON
number or a number in a string) between 1970-01-01 and 9960-12-31 UTC;
``latency_ms`` is a finite number from 0 to one day. Unknown extra fields pass
through, inside the size limit.
"""

from __future__ import annotations

import math
import re
from datetime import datetime
from typing import Annotated, Any, Literal, Union

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StrictBool,
    TypeAdapter,
    ValidationError,
    model_validator,
)

from monitor.core.errors import EventRejected
from monitor.core.limits import (
    EARLIEST,
    LATEST,
    MAX_COMMENT_LENGTH,
    MAX_EVENT_BYTES,
    MAX_ID_LENGTH,
    MAX_LATENCY_MS,
    RANGE_TEXT,
)

NonEmpty = Annotated[str, Field(min_length=1, max_length=MAX_ID_LENGTH)]
Name = Annotated[str, Field(max_length=MAX_ID_LENGTH)]

_RFC3339_START = re.compile(r"\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}")


def _instant_text(value: object) -> object:
    # pydantic's lax mode reads a JSON number, or a number in a string, as seconds since the epoch.
    if not isinstance(value, str):
        raise ValueError(f"must be an RFC 3339 text with an offset (e.g. 2026-11-30T09:00:00+08:00), not {value!r}")
    if not _RFC3339_START.match(value):
        raise ValueError(f"{value!r} is not an RFC 3339 date and time (write e.g. 2026-11-30T09:00:00+08:00)")
    return value


_FIRST_INNER_YEAR, _LAST_INNER_YEAR = EARLIEST.year + 1, LATEST.year - 1


def _in_range(value: datetime) -> datetime:
    # A local year strictly between the limits' is inside them whatever the offset (offsets are under
    # a day): one attribute read for nearly every event instead of two aware comparisons.
    if _FIRST_INNER_YEAR <= value.year <= _LAST_INNER_YEAR:
        return value
    # Aware subtraction works on the offsets; converting to UTC could overflow near year 1 or 9999.
    if not EARLIEST <= value <= LATEST:
        raise ValueError(f"{value.isoformat()} is outside the supported range {RANGE_TEXT}")
    return value


Instant = Annotated[AwareDatetime, BeforeValidator(_instant_text), AfterValidator(_in_range)]


def _latency_number(value: object) -> object:
    # Before conversion: pydantic would call NaN "not >= 0", read a 400-digit integer as a float,
    # and take true or "12" for numbers.
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"must be a JSON number of milliseconds, not {value!r}")
    if isinstance(value, float) and math.isnan(value):
        raise ValueError("NaN is not a number of milliseconds")
    if isinstance(value, float) and math.isinf(value):
        raise ValueError(f"not a finite number (Infinity, or too large for a float); the limit is {MAX_LATENCY_MS} ms")
    if isinstance(value, int) and abs(value) > MAX_LATENCY_MS:
        shown = str(value) if abs(value) < 10**20 else f"a {len(str(abs(value)))}-digit number"
        raise ValueError(f"{shown} is outside 0..{MAX_LATENCY_MS} ms (one day)")
    return value


def _latency_range(value: float) -> float:
    if not 0 <= value <= MAX_LATENCY_MS:
        raise ValueError(f"{value} is outside 0..{MAX_LATENCY_MS} ms (one day)")
    return value


Latency = Annotated[
    float,
    BeforeValidator(_latency_number),
    Field(allow_inf_nan=False, json_schema_extra={"minimum": 0, "maximum": MAX_LATENCY_MS}),
    AfterValidator(_latency_range),
]


class _Base(BaseModel):
    model_config = ConfigDict(extra="allow", frozen=True)

    event_id: NonEmpty = Field(description="Unique id of this event (1-256 characters); repeats are skipped.")
    occurred_at: Instant = Field(
        description="When it happened (event time), RFC 3339 with an offset, 1970-01-01..9960-12-31 UTC."
    )


class _Event(_Base):
    ticket_id: NonEmpty = Field(description="The ticket this event belongs to (1-256 characters).")


class TicketOpened(_Event):
    """A ticket was opened; both SLA clocks start."""

    type: Literal["ticket.opened"]
    priority: NonEmpty
    customer_id: Name | None = None
    service_id: Name | None = None


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
    latency_ms: Latency | None = Field(
        None, description="Response time of the check, milliseconds: finite, 0 to 86,400,000 (one day)."
    )


class MaintenanceScheduled(_Base):
    """A maintenance window was announced at ``occurred_at``."""

    type: Literal["maintenance.scheduled"]
    service_id: NonEmpty = Field(description="The service under maintenance.")
    starts_at: Instant = Field(description="Start of the window, RFC 3339 with an offset.")
    ends_at: Instant = Field(description="End of the window (exclusive), after starts_at.")

    @model_validator(mode="after")
    def _ends_after_start(self) -> MaintenanceScheduled:
        if self.ends_at <= self.starts_at:
            raise ValueError("ends_at must be after starts_at")
        return self


class TicketRated(_Event):
    """The customer rated the service of a resolved ticket (once per ticket)."""

    type: Literal["ticket.rated"]
    score: Annotated[int, Field(strict=True, ge=1, le=5)] = Field(description="Satisfaction, 1 (worst) to 5 (best).")
    comment: Annotated[str, Field(max_length=MAX_COMMENT_LENGTH)] | None = Field(
        None, description=f"The customer's words (at most {MAX_COMMENT_LENGTH} characters); not republished."
    )


ServiceEvent = ProbeResult | MaintenanceScheduled
SERVICE_EVENT_TYPES = (ProbeResult, MaintenanceScheduled)

TicketEvent = Annotated[
    TicketOpened
    | TicketAcknowledged
    | TicketResolved
    | TicketReopened
    | TicketPaused
    | TicketResumed
    | TicketPriorityChanged
    | TicketRated,
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
    TicketRated,
)
ALL_EVENT_TYPES = (*EVENT_TYPES, *SERVICE_EVENT_TYPES)
KNOWN_TYPES = tuple(t.model_fields["type"].annotation.__args__[0] for t in ALL_EVENT_TYPES)  # type: ignore[union-attr]

_adapter: TypeAdapter[Any] = TypeAdapter(
    Annotated[Union[ALL_EVENT_TYPES], Field(discriminator="type")]  # type: ignore[arg-type]  # noqa: UP007
)


# The compiled validator itself: TypeAdapter.validate_json only forwards to it (~10 % of a parse).
_validate_json = _adapter.validator.validate_json


def parse_event(raw: bytes | str) -> TicketEvent | ServiceEvent:
    """Decode and validate one JSON event; raise EventRejected with the reason."""
    size = len(raw) if isinstance(raw, bytes) else len(raw.encode("utf-8", "surrogatepass"))
    if size > MAX_EVENT_BYTES:
        raise EventRejected(f"event is {size} bytes; the limit is {MAX_EVENT_BYTES}")
    try:
        return _validate_json(raw)  # type: ignore[no-any-return]
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
        elif kind == "string_too_long":
            parts.append(f"{loc}: {len(e['input'])} characters; the limit is {e['ctx']['max_length']}")
        elif kind == "timezone_aware":
            parts.append(f"{loc}: timestamp has no offset (write e.g. 2026-11-30T09:00:00+08:00)")
        else:
            parts.append(f"{loc}: {str(e['msg']).removeprefix('Value error, ')}")
    return "; ".join(parts)
