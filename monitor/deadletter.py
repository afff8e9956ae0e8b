"""Dead-letter records: input that could not be used, kept with its reason."""

from __future__ import annotations

import base64
from typing import Any

from monitor.instants import format_us

SCHEMA_VERSION = 1


def dead_letter(
    raw: bytes,
    reason: str,
    *,
    kind: str,
    topic: str,
    partition: int,
    offset: int,
    at_us: int,
    event_id: str | None = None,
    ticket_id: str | None = None,
    service_id: str | None = None,
) -> dict[str, Any]:
    """Build the record published to the dead-letter topic for one bad input message.

    ``kind`` is a bounded category for metrics: ``malformed`` (not an event at
    all), ``rejected`` (the core refused it) or ``duplicate``.
    """
    record: dict[str, Any] = {
        "type": "sla.dead_letter",
        "id": f"{topic}:{partition}:{offset}",
        "schema_version": SCHEMA_VERSION,
        "kind": kind,
        "reason": reason,
        "source": {"topic": topic, "partition": partition, "offset": offset},
        "original_b64": base64.b64encode(raw).decode("ascii"),
        "at": format_us(at_us),
    }
    if event_id is not None:
        record["event_id"] = event_id
    if ticket_id is not None:
        record["ticket_id"] = ticket_id
    if service_id is not None:
        record["service_id"] = service_id
    return record
