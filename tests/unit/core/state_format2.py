"""The previous release's ticket state writer (format 2), kept for tests of ``codec.decode_state``'s reader."""

from __future__ import annotations

import base64
import json
from typing import Any

from monitor.core.clock import ClockState, TicketState


def _clock(clock: ClockState) -> list[Any]:
    return [
        clock.priority,
        [t for span in clock.closed for t in span],
        clock.open_start,
        clock.stopped_at,
        clock.level,
        [list(p) for p in clock.published],
        clock.outcomes,
        clock.used,
        list(clock.reached),
        clock.measure,
        clock.measured,
    ]


def encode_state_format2(state: TicketState) -> bytes:
    """Serialise a ticket's state in format 2, as the previous release wrote it."""
    return json.dumps(
        {
            "f": 2,
            "t": state.ticket_id,
            "p": state.priority,
            "c": state.customer_id,
            "s": state.service_id,
            "o": state.opened_at,
            "h": state.in_hours,
            "r": _clock(state.response),
            "R": _clock(state.resolution),
            "P": state.paused,
            "D": state.resolved,
            "e": base64.b64encode(b"".join(state.seen.ordered())).decode("ascii"),
            "v": state.version,
            "n": state.events,
            "rt": state.rated,
        },
        separators=(",", ":"),
    ).encode()
