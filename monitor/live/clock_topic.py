"""Publishing the ``sla.clock`` records of a batch to the compacted clocks topic (``SLA_TOPIC_CLOCKS``).

After a batch's alerts are acknowledged and its rows written, the agent hands
each ticket the batch changed (its newest state only: at most one record per
ticket per batch) to the producer, keyed by ticket id: the ticket's
``sla.clock`` record while it is open, a tombstone (null value) once it is
resolved. Like the table's changelog rows they are not awaited one by one:
Faust flushes the producer before it commits the batch's offsets, so a crash
before the flush re-reads the batch and publishes them again (at least once).
A record the producer cannot deliver is logged and counted; the ticket's
next change rewrites it.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

import structlog

from monitor.core.clock import TicketState
from monitor.core.clock_view import changed_at, clock_id, clock_record, is_open
from monitor.core.codec import compact_json
from monitor.core.policy import Policy
from monitor.live.kafka import Row
from monitor.live.processor import TICKETS, Outbox

log = structlog.get_logger("sla.worker")

# (topic, rows) -> (future of the broker's acknowledgement, the rows it covers) for each record batch sent;
# monitor.live.kafka.send_keyed over the worker's producer.
SendFn = Callable[[str, list[Row]], Awaitable[Sequence[tuple[Any, Sequence[Row]]]]]


def clock_messages(outbox: Outbox, policy: Policy) -> list[tuple[bytes, bytes | None, str]]:
    """(key, value, record id) of each ticket the batch changed: its record, or None (a tombstone)."""
    out: list[tuple[bytes, bytes | None, str]] = []
    for key, at_us in outbox.clock_changes.items():
        state = outbox.states.get((TICKETS, key))
        if not isinstance(state, TicketState):
            continue
        if not is_open(state):
            out.append((key, None, clock_id(state.ticket_id)))
            continue
        record = clock_record(state, policy, changed_at(state, at_us))
        out.append((key, compact_json(record), record["id"]))
    return out


class ClockPublisher:
    """Hands a batch's clock records to the producer; counts what it sent and what failed."""

    def __init__(self, topic: str, policy: Policy, send: SendFn) -> None:
        self.topic, self.policy, self._send = topic, policy, send
        self.sent = 0
        self.failed = 0

    async def publish(self, outbox: Outbox) -> int:
        """Send the batch's clock records (nothing when the topic is empty); return how many."""
        if not self.topic or not outbox.clock_changes:
            return 0
        messages = clock_messages(outbox, self.policy)
        rows: list[Row] = [(key, value, [("id", record_id.encode())]) for key, value, record_id in messages]
        try:
            pending = await self._send(self.topic, rows)
        except Exception as error:  # refused before sending: the next change rewrites them
            self._failed(rows, error)
        else:
            for future, covered in pending:
                if isinstance(future, asyncio.Future):
                    future.add_done_callback(functools.partial(self._settled, rows=covered))
        self.sent += len(messages)
        return len(messages)

    def _settled(self, done: asyncio.Future[Any], rows: Sequence[Row]) -> None:
        if not done.cancelled() and done.exception() is not None:
            self._failed(rows, done.exception())

    def _failed(self, rows: Sequence[Row], error: BaseException | None) -> None:
        self.failed += len(rows)
        first = dict(rows[0][2])["id"].decode() if rows else None
        log.error("clock records not published; each ticket's next change rewrites its record", count=len(rows),
                  first_id=first, topic=self.topic, error=f"{type(error).__name__}: {error}")
