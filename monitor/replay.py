"""The replay driver: the core run over a file of events in event time.

Deterministic and broker-free: it keeps the tickets in a dict and pending
wake-ups in a heap, advances an event-time clock before each event (firing
everything due strictly before it), and at the end up to ``until``.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from monitor.clock import Decision, TicketState, WakeAt, apply_event, wake
from monitor.errors import EventRejected
from monitor.events import parse_event
from monitor.instants import to_us
from monitor.policy import Policy


@dataclass(frozen=True, slots=True)
class Rejection:
    """An input line the core refused, and why."""

    line: int
    reason: str
    event_id: str | None = None
    ticket_id: str | None = None

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready form, without empty fields."""
        out: dict[str, Any] = {"line": self.line, "reason": self.reason}
        if self.event_id is not None:
            out["event_id"] = self.event_id
        if self.ticket_id is not None:
            out["ticket_id"] = self.ticket_id
        return out


@dataclass
class Replay:
    """Event-time driver of the core over many tickets."""

    policy: Policy
    tickets: dict[str, TicketState] = field(default_factory=dict)
    clock_us: int | None = None
    _heap: list[tuple[int, int, str, int]] = field(default_factory=list)
    _seq: int = 0

    def feed(self, line: int, raw: bytes | str) -> tuple[list[dict[str, Any]], Rejection | None]:
        """Apply one raw event; return the records published and any rejection."""
        try:
            event = parse_event(raw.rstrip())
        except EventRejected as error:
            return [], Rejection(line, error.reason)
        at = to_us(event.occurred_at)
        now = at if self.clock_us is None else max(self.clock_us, at)
        state = self.tickets.get(event.ticket_id)
        try:
            # Decide first, so a rejected event (say, dated far ahead) moves no clock.
            decision = apply_event(state, event, self.policy, now)
        except EventRejected as error:
            return [], Rejection(line, error.reason, event.event_id, event.ticket_id)
        records = self.advance(at, inclusive=False)
        current = self.tickets.get(event.ticket_id)
        if current is not state and current is not None:
            decision = apply_event(current, event, self.policy, now)
        records.extend(self._carry_out(decision))
        return records, None

    def advance(self, until_us: int, *, inclusive: bool = True) -> list[dict[str, Any]]:
        """Fire every wake-up due before ``until_us`` (or at it, if inclusive)."""
        records: list[dict[str, Any]] = []
        heap = self._heap
        while heap and (heap[0][0] <= until_us if inclusive else heap[0][0] < until_us):
            due, _, ticket_id, version = heapq.heappop(heap)
            state = self.tickets.get(ticket_id)
            if state is None or state.version != version:
                continue  # stale: the ticket changed since this wake-up was planned
            records.extend(self._carry_out(wake(state, self.policy, due)))
        if self.clock_us is None or until_us > self.clock_us:
            self.clock_us = until_us
        return records

    def _carry_out(self, decision: Decision) -> list[dict[str, Any]]:
        records = []
        state = decision.state
        if state is not None:
            self.tickets[state.ticket_id] = state
        for effect in decision.effects:
            if isinstance(effect, WakeAt):
                self._seq += 1
                heapq.heappush(self._heap, (effect.at_us, self._seq, effect.ticket_id, effect.version))
            else:
                records.append(effect.record)
        return records


def replay_lines(
    policy: Policy, lines: Iterable[bytes | str], until_us: int | None = None
) -> Iterator[dict[str, Any] | Rejection]:
    """Replay raw JSON lines; yield published records and rejections in order."""
    driver = Replay(policy)
    for number, raw in enumerate(lines, start=1):
        if not raw.strip():
            continue
        records, rejection = driver.feed(number, raw)
        yield from records
        if rejection is not None:
            yield rejection
    if until_us is None:
        until_us = driver.clock_us
    if until_us is not None:
        yield from driver.advance(until_us)
