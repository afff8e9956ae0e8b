"""Per-partition heaps of pending wake-ups, kept in memory by each worker.

The agent pushes a ticket's next due instant after every change; the timer
pops what is due and turns it into wake-up messages. Only the newest entry of
a ticket counts: older ones are dropped when popped. All heaps are cleared
when partitions are revoked and rebuilt from the table after recovery.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterable
from dataclasses import dataclass, field


@dataclass(slots=True)
class WakeHeaps:
    """Due instants by partition, newest version per ticket wins."""

    _heaps: dict[int, list[tuple[int, bytes, int]]] = field(default_factory=dict)
    _latest: dict[bytes, int] = field(default_factory=dict)

    def push(self, partition: int, ticket: bytes, due_us: int, version: int) -> None:
        """Plan a wake-up of ``ticket`` at ``due_us`` for state ``version``."""
        self._latest[ticket] = version
        heapq.heappush(self._heaps.setdefault(partition, []), (due_us, ticket, version))

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
