"""The replay driver: the core run over a file of events in event time.

Deterministic and broker-free: it keeps tickets and services in dicts and
pending wake-ups in a heap, advances an event-time clock before each event
(firing everything due strictly before it), and at the end up to ``until``.
"""

from __future__ import annotations

import gc
import heapq
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, cast

from monitor.core.budget import Decision as ServiceDecision
from monitor.core.budget import ServiceState, apply_service_event, wake_service
from monitor.core.clock import Publish, TicketState, apply_into, next_wake, wake_into
from monitor.core.clock_view import changed_at, clock_record, is_open, tombstone
from monitor.core.errors import EventRejected
from monitor.core.events import SERVICE_EVENT_TYPES, ServiceEvent, TicketEvent, parse_event
from monitor.core.instants import to_us
from monitor.core.policy import Policy


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


# Per event class, whether it is a service's (one entry per class: a dict look-up instead of
# instance checks against pydantic classes for every line).
_IS_SERVICE: dict[type, bool] = {}


@dataclass
class Replay:
    """Event-time driver of the core over many tickets."""

    policy: Policy
    clocks: bool = False  # also yield each ticket's sla.clock record (or tombstone) after each change
    tickets: dict[str, TicketState] = field(default_factory=dict)
    services: dict[str, ServiceState] = field(default_factory=dict)
    clock_us: int | None = None
    _heap: list[tuple[int, int, str, int, bool]] = field(default_factory=list)
    _seq: int = 0

    def feed(self, line: int, raw: bytes | str) -> tuple[list[dict[str, Any]], Rejection | None]:
        """Apply one raw event; return the records published and any rejection.

        No line stops the replay: an unexpected error inside the core becomes a rejection
        (``internal error: ...``) after whatever the line had published already.
        """
        records: list[dict[str, Any]] = []
        try:
            return records, self._feed(line, raw, records)
        except Exception as error:  # one bad line must not cost the rest of the file
            return records, Rejection(line, f"internal error: {type(error).__name__}: {error}")

    def _feed(self, line: int, raw: bytes | str, records: list[dict[str, Any]]) -> Rejection | None:
        try:
            event = parse_event(raw.rstrip())
        except EventRejected as error:
            return Rejection(line, error.reason)
        at = to_us(event.occurred_at)
        cls = type(event)
        is_service = _IS_SERVICE.get(cls)
        if is_service is None:
            is_service = _IS_SERVICE[cls] = isinstance(event, SERVICE_EVENT_TYPES)
        if is_service:
            return self._feed_service(line, cast("ServiceEvent", event), at, records)
        return self._feed_ticket(line, cast("TicketEvent", event), at, records)

    def _feed_service(self, line: int, event: ServiceEvent, at: int, records: list[dict[str, Any]]) -> Rejection | None:
        service = self.services.get(event.service_id)
        try:
            service_decision = apply_service_event(service, event, self.policy)
        except EventRejected as error:
            return Rejection(line, error.reason, event.event_id)
        self.advance(at, inclusive=False, into=records)
        current_service = self.services.get(event.service_id)
        if current_service is not service:
            service_decision = apply_service_event(current_service, event, self.policy)
        self._carry_out(service_decision, records)
        return None

    def _feed_ticket(self, line: int, event: TicketEvent, at: int, records: list[dict[str, Any]]) -> Rejection | None:
        now = at if self.clock_us is None else max(self.clock_us, at)
        ticket_id = event.ticket_id
        tickets = self.tickets
        state = tickets.get(ticket_id)
        decided: list[dict[str, Any]] = []
        try:
            # Decide first, so a rejected event (say, dated far ahead) moves no clock.
            new = apply_into(state, event, self.policy, now, decided)
        except EventRejected as error:
            return Rejection(line, error.reason, event.event_id, ticket_id)
        heap = self._heap
        if heap and heap[0][0] < at:
            self.advance(at, inclusive=False, into=records)
            current = tickets.get(ticket_id)
            if current is not state and current is not None:
                decided = []
                new = apply_into(current, event, self.policy, now, decided)
        elif self.clock_us is None or at > self.clock_us:
            self.clock_us = at  # what ``advance`` does when nothing is due
        tickets[ticket_id] = new
        if decided:
            records += decided
        if self.clocks:
            records.append(self._clock(new, at))
        self._wake_at(new)
        return None

    def _clock(self, state: TicketState, at_us: int | None) -> dict[str, Any]:
        """The ticket's ``sla.clock`` record after a change (``at_us``: the event's time, None for a wake-up)."""
        at = changed_at(state, at_us)
        return clock_record(state, self.policy, at) if is_open(state) else tombstone(state.ticket_id, at)

    def _wake_at(self, state: TicketState) -> None:
        """Plan the ticket's next wake-up (if any) at its current version."""
        due = next_wake(state, self.policy)
        if due is not None:
            self._seq += 1
            heapq.heappush(self._heap, (due, self._seq, state.ticket_id, state.version, False))

    def advance(
        self, until_us: int, *, inclusive: bool = True, into: list[dict[str, Any]] | None = None
    ) -> list[dict[str, Any]]:
        """Fire every wake-up due before ``until_us`` (or at it, if inclusive); the records
        are appended to ``into`` (as they come, so none is lost to an error) and returned."""
        records: list[dict[str, Any]] = [] if into is None else into
        heap = self._heap
        while heap and (heap[0][0] <= until_us if inclusive else heap[0][0] < until_us):
            due, _, key, version, is_service = heapq.heappop(heap)
            if is_service:
                service = self.services.get(key)
                if service is not None and service.version == version:
                    self._carry_out(wake_service(service, self.policy, due), records)
                continue
            state = self.tickets.get(key)
            if state is None or state.version != version:
                continue  # stale: the ticket changed since this wake-up was planned
            woken: list[dict[str, Any]] = []
            new = wake_into(state, self.policy, due, woken)
            self.tickets[key] = new
            if woken:
                records += woken
                if self.clocks:
                    records.append(self._clock(new, None))
            self._wake_at(new)
        if self.clock_us is None or until_us > self.clock_us:
            self.clock_us = until_us
        return records

    def _carry_out(self, decision: ServiceDecision, records: list[dict[str, Any]]) -> None:
        """Keep a service decision's state, schedule its wake-ups and append its records to ``records``."""
        state = decision.state
        if state is not None:
            self.services[state.service_id] = state
        for effect in decision.effects:
            if isinstance(effect, Publish):
                records.append(effect.record)
            else:
                self._seq += 1
                heapq.heappush(self._heap, (effect.at_us, self._seq, effect.service_id, effect.version, True))


def replay_lines(
    policy: Policy, lines: Iterable[bytes | str], until_us: int | None = None, *, clocks: bool = False
) -> Iterator[dict[str, Any] | Rejection]:
    """Replay raw JSON lines; yield published records and rejections in order (with ``clocks``, each
    ticket's ``sla.clock`` record, or tombstone, after the records of each change)."""
    driver = Replay(policy, clocks=clocks)
    feed = driver._feed
    number = 0
    for number, raw in enumerate(lines, start=1):
        if not raw or raw.isspace():  # blank (what strip() would empty, without a copy of each line)
            continue
        records: list[dict[str, Any]] = []
        try:
            rejection = feed(number, raw, records)
        except Exception as error:  # as in ``Replay.feed``
            rejection = Rejection(number, f"internal error: {type(error).__name__}: {error}")
        if records:
            yield from records
        if rejection is not None:
            yield rejection
    if until_us is None:
        until_us = driver.clock_us
    if until_us is not None:
        final: list[dict[str, Any]] = []
        try:
            driver.advance(until_us, into=final)
        except Exception as error:  # as in ``feed``: report it, keep what was published
            yield from final
            yield Rejection(number, f"internal error while advancing to the end: {type(error).__name__}: {error}")
            return
        yield from final


# Young collections every 200,000 allocations instead of 700, older ones almost never: a replay
# allocates millions of short-lived tuples and keeps a few large, acyclic dicts of states, which
# the default thresholds walk again and again (~20 % of the time). Cycles are still collected.
REPLAY_GC_THRESHOLDS = (200_000, 1_000, 1_000)


@contextmanager
def replay_gc() -> Iterator[None]:
    """Tune the garbage collector for a long replay (process-wide), and restore it afterwards.

    What exists before (the policy, modules) is frozen out of the collector's walks.
    """
    before = gc.get_threshold()
    gc.collect()
    gc.freeze()
    gc.set_threshold(*REPLAY_GC_THRESHOLDS)
    try:
        yield
    finally:
        gc.set_threshold(*before)
        gc.unfreeze()
