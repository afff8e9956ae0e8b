"""Per-partition heaps of pending wake-ups, kept in memory by each worker.

The agent pushes a ticket's next due instant after every change; the timer
pops what is due and turns it into wake-up messages. Only the newest entry of
a ticket counts: older ones are dropped when popped. All heaps are cleared
when partitions are revoked and rebuilt from the table after recovery.
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


def parse_wakeup(raw: bytes | None, key: bytes | None) -> WakeUp | str:
    """The wake-up in a message of the wake-up topic, or why it is not one the worker wrote.

    The body must be a JSON object with an integer ``version`` and ``due_us`` and
    exactly one of ``ticket_id`` / ``service_id``, equal to the message key.
    """
    try:
        body = json.loads(raw or b"")
    except ValueError:
        return "not JSON"
    if not isinstance(body, dict):
        return "not a JSON object"
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

    def pop_due(self, now_us: int, partitions: Iterable[int]) -> list[tuple[int, bytes, int, int]]:
        """Remove and return ``(partition, ticket, version, due_us)`` due by ``now_us``."""
        due: list[tuple[int, bytes, int, int]] = []
        for partition in partitions:
            heap = self._heaps.get(partition)
            while heap and heap[0][0] <= now_us:
                due_us, ticket, version = heapq.heappop(heap)
                if self._latest.get(ticket) == version:
                    del self._latest[ticket]
                    due.append((partition, ticket, version, due_us))
        return due

    def clear(self) -> None:
        """Forget everything."""
        self._heaps.clear()
        self._latest.clear()

    def __len__(self) -> int:
        return len(self._latest)
