"""Per-partition heaps of pending wake-ups, kept in memory by each worker, and the wake-up messages.

The agent pushes a ticket's next due instant after every change; the timer
looks for partitions whose heap has something due and sends one *tick* to
that partition of the wake-up topic; the agent, handling the tick inside the
stream, pops what is due and wakes each clock. Only the newest entry of a
ticket counts: older ones are dropped when popped. All heaps are cleared when
partitions are revoked and rebuilt from the table after recovery.

Two message kinds are read on the wake-up topic: the tick (key empty, body
``{"tick_us": ...}``), which the timer writes, and the per-owner wake-up
(key and body naming one ticket or service), which older workers wrote and
which is still honoured (same checks as before), so that wake-ups in flight
across an upgrade are not lost.
"""

from __future__ import annotations

import heapq
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Literal


@dataclass(frozen=True, slots=True)
class WakeUp:
    """A wake-up message as the timer writes it: whose, for which state version, planned for when."""

    owner: Literal["ticket", "service"]
    version: int
    due_us: int


@dataclass(frozen=True, slots=True)
class Tick:
    """A tick: fire what is due on the partition it was read from (by the handling worker's clock)."""

    tick_us: int  # when the timer sent it (informational: the worker's own clock decides what is due)


TICK_KEY = b""


def tick_body(now_us: int) -> bytes:
    """The body of a tick the timer sends at ``now_us``."""
    return json.dumps({"tick_us": now_us}).encode()


def parse_wakeup(raw: bytes | None, key: bytes | None) -> WakeUp | Tick | str:
    """The tick or wake-up in a message of the wake-up topic, or why it is not one the worker wrote.

    A tick has an empty key and a JSON object body with an integer ``tick_us`` only.
    A wake-up's body must be a JSON object with an integer ``version`` and ``due_us``
    and exactly one of ``ticket_id`` / ``service_id``, equal to the message key.
    """
    try:
        body = json.loads(raw or b"")
    except ValueError:
        return "not JSON"
    if not isinstance(body, dict):
        return "not a JSON object"
    if "tick_us" in body:
        tick_us = body["tick_us"]
        if set(body) != {"tick_us"} or not isinstance(tick_us, int) or isinstance(tick_us, bool):
            return "a tick is {\"tick_us\": integer} and nothing else"
        if key:
            return "a tick has an empty key"
        return Tick(tick_us)
    owners = [kind for kind in ("ticket", "service") if f"{kind}_id" in body]
    if len(owners) != 1:
        return "needs exactly one of ticket_id and service_id"
    owner: Literal["ticket", "service"] = "ticket" if owners[0] == "ticket" else "service"
    version, due_us = body.get("version"), body.get("due_us")
    if not all(isinstance(v, int) and not isinstance(v, bool) for v in (version, due_us)):
        return "version and due_us must be integers"
    if key is None or body[f"{owner}_id"] != key.decode(errors="replace"):
        return f"{owner}_id differs from the message key"
    return WakeUp(owner, int(version), int(due_us))  # type: ignore[arg-type]


@dataclass(slots=True)
class WakeHeaps:
    """Due instants by partition, newest version per ticket wins."""

    _heaps: dict[int, list[tuple[int, bytes, int]]] = field(default_factory=dict)
    _latest: dict[bytes, int] = field(default_factory=dict)

    def push(self, partition: int, ticket: bytes, due_us: int, version: int) -> None:
        """Plan a wake-up of ``ticket`` at ``due_us`` for state ``version``."""
        self._latest[ticket] = version
        heapq.heappush(self._heaps.setdefault(partition, []), (due_us, ticket, version))

    def is_planned(self, ticket: bytes, version: int) -> bool:
        """True when a wake-up of ``ticket`` for state ``version`` is still pending."""
        return self._latest.get(ticket) == version

    def forget(self, ticket: bytes) -> None:
        """Drop every pending wake-up of a ticket (nothing more can fall due)."""
        self._latest.pop(ticket, None)

    def is_due(self, partition: int, now_us: int) -> bool:
        """True when a current (not superseded) entry of ``partition`` is due by ``now_us``."""
        heap = self._heaps.get(partition)
        if not heap:
            return False
        while heap and self._latest.get(heap[0][1]) != heap[0][2]:
            heapq.heappop(heap)  # superseded or forgotten: garbage
        return bool(heap) and heap[0][0] <= now_us

    def pop_due(self, now_us: int, partitions: Iterable[int],
                most: int | None = None) -> list[tuple[int, bytes, int, int]]:
        """Remove and return ``(partition, ticket, version, due_us)`` due by ``now_us``, the earliest of all the
        partitions first (at most ``most`` of them; the rest stay planned): a storm on one partition cannot hold
        back what falls due on the others."""
        due: list[tuple[int, bytes, int, int]] = []
        fronts = [(heap[0][0], p) for p in partitions if (heap := self._heaps.get(p)) and heap[0][0] <= now_us]
        heapq.heapify(fronts)
        while fronts and (most is None or len(due) < most):
            _, partition = heapq.heappop(fronts)
            heap = self._heaps[partition]
            due_us, ticket, version = heapq.heappop(heap)
            if self._latest.get(ticket) == version:
                del self._latest[ticket]
                due.append((partition, ticket, version, due_us))
            if heap and heap[0][0] <= now_us:
                heapq.heappush(fronts, (heap[0][0], partition))
        return due

    def clear(self) -> None:
        """Forget everything."""
        self._heaps.clear()
        self._latest.clear()

    def __len__(self) -> int:
        return len(self._latest)
