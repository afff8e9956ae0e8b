"""The ``sla.clock`` record of the compacted ``sla.clocks`` topic, as a pydantic model (contract and schema).

``monitor.core.clock_view`` builds the record as a plain dict; this model
documents it, generates ``schemas/sla.clock.schema.json`` and lets tests check
that every record built conforms.
"""

from __future__ import annotations

from typing import Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

LEVEL_PATTERN = r"^(none|breach|warning:(0\.[0-9]+|[0-9.]+e-[0-9]+)|escalation:[1-9][0-9]*)$"


class ClockView(BaseModel):
    """Where one clock (response or resolution) of the ticket stands."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    state: Literal["running", "paused", "stopped"] = Field(
        description="running: business time counts (outside business hours it waits for them); paused: the "
        "ticket is paused (resolution only); stopped: acknowledged (response) or resolved."
    )
    deadline: AwareDatetime = Field(
        description="The deadline as it stands at updated_at: when a running clock breaches (or breached); for a "
        "paused one, the deadline were it resumed at updated_at; for a stopped one, as at its stop."
    )
    used_seconds: float = Field(ge=0, description="Business time used at updated_at (at the stop, if stopped).")
    target_seconds: float = Field(gt=0, description="The target the clock is measured against.")
    level: str = Field(
        pattern=LEVEL_PATTERN,
        description="The most severe alert published for this clock: none, warning:<threshold> (e.g. "
        "warning:0.75), breach, or escalation:<n>.",
    )
    next_due: AwareDatetime | None = Field(
        description="When the next alert of this clock falls due; null when none can (paused, stopped, or past "
        "its last level)."
    )


class ClockPair(BaseModel):
    """Both clocks of a ticket."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    response: ClockView
    resolution: ClockView


class SlaClock(BaseModel):
    """The current state of an open ticket's clocks, keyed by ticket id on a compacted topic.

    A resolved ticket gets a tombstone (a null value under its key), so the topic holds only open tickets.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    type: Literal["sla.clock"]
    id: str = Field(description="<ticket_id>:clock.")
    schema_version: Literal[1] = Field(description="Version of this record schema.")
    ticket_id: str
    priority: str = Field(description="The ticket's current priority.")
    customer_id: str | None = None
    service_id: str | None = None
    opened_at: AwareDatetime = Field(description="When the ticket was opened (its event time).")
    updated_at: AwareDatetime = Field(
        description="Event time of the change this record reflects: the event's occurred_at, or when the alert "
        "it published fell due."
    )
    clocks: ClockPair
