"""Dead-letter records: input that could not be used, kept with its reason.

A dead letter is bounded whatever the input, so it can always be published
below Kafka's 1 MB default message limit: the original is kept whole up to
``MAX_ORIGINAL_BYTES`` (256 KiB) of raw bytes, else only its first
``MAX_ORIGINAL_BYTES`` with ``original_truncated: true``; ``original_size`` and
``original_sha256`` always describe the whole original. The reason and the ids
copied from the input are cut too, so the JSON of any dead letter stays below
``MAX_DEAD_LETTER_BYTES``.
"""

from __future__ import annotations

import base64
import hashlib
from typing import Any

from monitor.core.instants import format_us
from monitor.core.limits import MAX_ID_LENGTH

SCHEMA_VERSION = 1
MAX_ORIGINAL_BYTES = 256 * 1024  # raw bytes of the original kept (base64 makes them 4/3 as long)
MAX_REASON_CHARS = 1_000
MAX_ID_CHARS = MAX_ID_LENGTH  # ids copied from the input (longer ones are refused); the original holds them whole
MAX_DEAD_LETTER_BYTES = 400_000  # upper bound of a dead letter's UTF-8 JSON (topic names are <= 249 chars)


def cut(text: str, limit: int) -> str:
    """``text`` itself, or its first characters and an ellipsis when longer than ``limit``."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


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
    replaces: str | None = None,
) -> dict[str, Any]:
    """Build the record published to the dead-letter topic for one bad input message.

    ``kind`` is a bounded category for metrics: ``malformed`` (not an event at
    all), ``rejected`` (the core refused it), ``duplicate`` or ``internal``.
    ``replaces`` names a record the worker could not publish (``raw`` is then
    that record): the dead letter's id is the source's followed by it, so two
    records refused for one input message keep distinct ids.
    """
    source_id = f"{topic}:{partition}:{offset}"
    record: dict[str, Any] = {
        "type": "sla.dead_letter",
        "id": f"{source_id}:{cut(replaces, MAX_ID_CHARS)}" if replaces is not None else source_id,
        "schema_version": SCHEMA_VERSION,
        "kind": kind,
        "reason": cut(reason, MAX_REASON_CHARS),
        "source": {"topic": topic, "partition": partition, "offset": offset},
        "original_b64": base64.b64encode(raw[:MAX_ORIGINAL_BYTES]).decode("ascii"),
        "original_size": len(raw),
        "original_sha256": hashlib.sha256(raw).hexdigest(),
        "original_truncated": len(raw) > MAX_ORIGINAL_BYTES,
        "at": format_us(at_us),
    }
    if event_id is not None:
        record["event_id"] = cut(event_id, MAX_ID_CHARS)
    if ticket_id is not None:
        record["ticket_id"] = cut(ticket_id, MAX_ID_CHARS)
    if service_id is not None:
        record["service_id"] = cut(service_id, MAX_ID_CHARS)
    return record
