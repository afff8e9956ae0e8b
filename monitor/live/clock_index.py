"""Ticket-clock figures kept up to date as states are recorded, so a scrape costs nothing per open clock.

``ClockIndex`` holds, per (priority, metric, number of levels) and alert level, a ``DueCounter``:
the due instants of that level of every open clock, split at a frontier (the
last scrape's ``now``) into a count of instants already passed and a min-heap
of those still ahead. A scrape moves the frontier forward by popping what fell
due since the last one, so its cost follows the clocks that fell due, not the
clocks that are open. Removal is lazy and by value: copies of one instant in
one counter are interchangeable, so a per-instant count of removed copies is
enough, and a copy is dropped when it is popped or when the counter is
compacted (once removed copies outnumber live ones).

The figures equal ``metrics.clock_figures`` over the same clocks (a property
test pins it), given what the core guarantees of a clock's due instants: they
ascend with the level, and a level that cannot be reached (a paused clock) has
None, as every level after it. Hence a clock past its deadline is past every
warning, and "at risk at level k" is "level k passed" minus "breached". The
levels are the warnings, the breach, then the clock's escalations, whose
number may differ between clocks of one (priority, metric) (an override):
clocks are grouped by how many levels they have, so a ticket's entry stays a
flat tuple of exactly its instants.
"""

from __future__ import annotations

import heapq
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

from monitor.core.clock import METRICS, TicketState

ClockView = tuple[str, str, tuple[int | None, ...]]  # priority, metric, due instants of each level
COMPACT_AT = 1024  # removed copies tolerated beyond the live ones before a counter is compacted


def open_clocks(state: TicketState) -> tuple[ClockView, ...]:
    """The clocks of a ticket still counting (running or paused), with their schedules."""
    return tuple(
        (clock.priority, metric, clock.due)
        for metric in METRICS
        if not (clock := state.clock(metric)).stopped
    )


@dataclass(slots=True)
class DueCounter:
    """A multiset of instants that tells how many are at or before ``now`` and the first one after it."""

    frontier: int = -(1 << 62)
    passed: list[int] = field(default_factory=list)  # at or before the frontier (any order)
    ahead: list[int] = field(default_factory=list)  # after the frontier (a heap)
    passed_live: int = 0
    live: int = 0
    removed: dict[int, int] = field(default_factory=dict)  # instant -> copies removed but still stored
    removed_total: int = 0

    def add(self, at: int) -> None:
        """Count one more instant."""
        self.live += 1
        if at <= self.frontier:
            self.passed.append(at)
            self.passed_live += 1
        else:
            heapq.heappush(self.ahead, at)

    def remove(self, at: int) -> None:
        """Stop counting one copy of an instant counted before."""
        self.live -= 1
        if at <= self.frontier:
            self.passed_live -= 1
        self.removed[at] = self.removed.get(at, 0) + 1
        self.removed_total += 1
        if self.removed_total > self.live + COMPACT_AT:
            self._compact()

    def passed_by(self, now: int) -> int:
        """How many instants are at or before ``now``."""
        self._advance(now)
        return self.passed_live

    def first_after(self, now: int) -> int | None:
        """The earliest instant after ``now``, if any."""
        self._advance(now)
        ahead = self.ahead
        while ahead and self._drop(ahead[0]):
            heapq.heappop(ahead)
        return ahead[0] if ahead else None

    def _advance(self, now: int) -> None:
        if now < self.frontier:  # the clock went back (rare): split everything again
            self._compact(now)
            return
        self.frontier = now
        ahead, passed = self.ahead, self.passed
        while ahead and ahead[0] <= now:
            at = heapq.heappop(ahead)
            if not self._drop(at):
                passed.append(at)
                self.passed_live += 1

    def _drop(self, at: int) -> bool:
        """Consume one removed copy of ``at`` if there is one."""
        count = self.removed.get(at)
        if not count:
            return False
        if count == 1:
            del self.removed[at]
        else:
            self.removed[at] = count - 1
        self.removed_total -= 1
        return True

    def _compact(self, frontier: int | None = None) -> None:
        """Drop every removed copy and split the live instants at ``frontier`` (default: the current one)."""
        if frontier is not None:
            self.frontier = frontier
        kept = [at for at in (*self.passed, *self.ahead) if not self._drop(at)]
        self.passed = [at for at in kept if at <= self.frontier]
        self.ahead = [at for at in kept if at > self.frontier]
        heapq.heapify(self.ahead)
        self.passed_live = len(self.passed)
        self.removed.clear()
        self.removed_total = 0


@dataclass
class ClockFigures:
    """Ticket-clock gauges as of one instant (see docs/metrics.md)."""

    open: Counter[tuple[str, str]] = field(default_factory=Counter)
    at_risk: Counter[tuple[str, str, str]] = field(default_factory=Counter)
    breached: Counter[tuple[str, str]] = field(default_factory=Counter)
    next_deadline: dict[tuple[str, str], int] = field(default_factory=dict)
    escalated: Counter[tuple[str, str, str]] = field(default_factory=Counter)  # (priority, metric, level) passed


class ClockIndex:
    """Open clocks of the owned partitions by (priority, metric) and level, kept in step with each recorded state.

    Per ticket it keeps only what it added (one flat tuple sharing the instants'
    int objects with the counters), to take it away again when the ticket changes.
    """

    def __init__(self, thresholds: Sequence[str] = ()) -> None:
        self.thresholds = tuple(thresholds)  # the policy's warn_at as metric labels
        self._width = len(self.thresholds) + 1  # warnings, then the breach (escalations follow, per kind)
        self._kinds: list[tuple[str, str, int]] = []  # index -> (priority, metric, levels)
        self._kind_of: dict[tuple[str, str, int], int] = {}
        self._open: list[int] = []
        self._levels: list[list[DueCounter]] = []
        self._tickets: dict[bytes, tuple[int | None, ...]] = {}  # key -> (kind, due per level, kind, ...)

    def __len__(self) -> int:
        return len(self._tickets)

    def __iter__(self) -> Iterator[bytes]:
        return iter(self._tickets)

    def __contains__(self, key: object) -> bool:
        return key in self._tickets

    def use(self, thresholds: Sequence[str]) -> None:
        """Count levels for these warning thresholds (forgetting every clock if they differ)."""
        if tuple(thresholds) != self.thresholds:
            self.clear()
            self.thresholds = tuple(thresholds)
            self._width = len(self.thresholds) + 1

    def clear(self) -> None:
        """Forget every clock."""
        self._kinds.clear()
        self._kind_of.clear()
        self._open.clear()
        self._levels.clear()
        self._tickets.clear()

    def track(self, key: bytes, views: Sequence[ClockView]) -> None:
        """Make ``views`` the open clocks of ticket ``key`` (none: the ticket no longer counts)."""
        flat = self._flatten(views) if views else None
        old = self._tickets.get(key)
        if flat == old:  # same clocks, same schedules (an alert went out, a duplicate refused): nothing moves
            return
        if old is not None:
            del self._tickets[key]
            self._apply(old, -1)
        if flat is not None:
            self._apply(flat, 1)
            self._tickets[key] = flat

    def figures(self, now: int) -> ClockFigures:
        """Open, at-risk (cumulative per threshold), breached and escalated (cumulative per level) clocks, and
        the next deadlines, at ``now``."""
        out = ClockFigures()
        last = self._width - 1
        for kind, (priority, metric, _) in enumerate(self._kinds):
            counters = self._levels[kind]
            key = (priority, metric)
            out.open[key] += self._open[kind]
            breached = counters[last].passed_by(now)
            out.breached[key] += breached
            for threshold, counter in zip(self.thresholds, counters, strict=False):
                out.at_risk[(priority, metric, threshold)] += counter.passed_by(now) - breached
            for level, counter in enumerate(counters[last + 1 :], start=1):
                out.escalated[(priority, metric, str(level))] += counter.passed_by(now)
            deadline = counters[last].first_after(now)
            if deadline is not None and (key not in out.next_deadline or deadline < out.next_deadline[key]):
                out.next_deadline[key] = deadline
        return out

    def _flatten(self, views: Sequence[ClockView]) -> tuple[int | None, ...]:
        flat: list[int | None] = []
        for priority, metric, due in views:
            width = max(self._width, len(due))
            kind = self._kind_of.get((priority, metric, width))
            if kind is None:
                kind = self._kind_of[priority, metric, width] = len(self._kinds)
                self._kinds.append((priority, metric, width))
                self._open.append(0)
                self._levels.append([DueCounter() for _ in range(width)])
            flat += [kind, *due, *([None] * (width - len(due)))]
        return tuple(flat)

    def _apply(self, flat: tuple[int | None, ...], sign: int) -> None:
        start = 0
        while start < len(flat):
            kind = flat[start]
            assert kind is not None
            width = self._kinds[kind][2]
            self._open[kind] += sign
            for counter, at in zip(self._levels[kind], flat[start + 1 : start + 1 + width], strict=True):
                if at is not None:
                    if sign > 0:
                        counter.add(at)
                    else:
                        counter.remove(at)
            start += width + 1
