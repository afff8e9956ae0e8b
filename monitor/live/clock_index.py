"""Ticket-clock figures kept up to date as states are recorded, so a scrape costs nothing per open clock.

``ClockIndex`` holds, per (priority, metric, number of levels) and alert level, a ``DueCounter``:
the due instants of that level of every open clock, split at a frontier (the
last scrape's ``now``) into a count of instants already passed and those still
ahead: a min-heap of the near ones, the far ones in 8-byte arrays by bucket of
time (see ``DueCounter``). A scrape moves the frontier forward by popping what fell
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
flat run of exactly its instants (packed: 8 bytes each).

Memory (``bench/memory_bench.py``): about 8 bytes per stored instant plus the
per-ticket entry; the heap of near instants holds Python ints (~40 bytes each)
for the buckets the frontier reached (and, at the breach level, up to the one
holding the next deadline), and a far bucket costs ~200 bytes
besides its instants, so at most one per 16.8 s of the span of due instants
and per counter (and never more than its instants).
"""

from __future__ import annotations

import functools
import heapq
import struct
from array import array
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

from monitor.core.clock import METRICS, TicketState

ClockView = tuple[str, str, tuple[int | None, ...]]  # priority, metric, due instants of each level
COMPACT_AT = 1024  # removed copies tolerated beyond the live ones before a counter is compacted
BUCKET_SHIFT = 24  # instants ahead wait in buckets of 2**24 µs (~16.8 s) until the frontier comes near
NO_INSTANT = -(1 << 63)  # a level that cannot be reached (None), in a ticket's packed entry


def open_clocks(state: TicketState) -> tuple[ClockView, ...]:
    """The clocks of a ticket still counting (running or paused), with their schedules."""
    return tuple(
        (clock.priority, metric, clock.due)
        for metric in METRICS
        if not (clock := state.clock(metric)).stopped
    )


class DueCounter:
    """A multiset of instants that tells how many are at or before ``now`` and the first one after it.

    Stored compactly: an instant is 8 bytes in an ``array('q')`` except near the frontier. Those at or before
    the frontier are only counted (``passed``, any order, kept for a compaction or a clock that goes back);
    those after it in the *near* buckets (up to ``horizon``, buckets of ``2**shift`` µs) are a heap of ints,
    popped as they fall due; the rest wait unsorted in one array per bucket (``far``) until the frontier or
    the search for the first instant ahead reaches their bucket, which then joins the heap whole. So a
    scrape's cost follows the instants that fell due (and the buckets it moves), not the instants stored.
    An instant's place depends only on its value, which keeps removal by value sound.
    """

    __slots__ = ("far", "far_buckets", "frontier", "horizon", "live", "near", "passed", "passed_live", "removed",
                 "removed_total", "shift", "slack")

    def __init__(self, shift: int = BUCKET_SHIFT, slack: int = COMPACT_AT) -> None:
        self.shift = shift
        self.slack = slack  # removed copies tolerated beyond the live ones before compacting
        self.frontier = -(1 << 62)
        self.horizon = self.frontier >> shift  # the last bucket whose instants are in ``near`` (or passed)
        self.passed = array("q")  # at or before the frontier (any order)
        self.near: list[int] = []  # after the frontier, bucket <= horizon (a heap)
        self.far: dict[int, array[int]] = {}  # bucket > horizon -> its instants (any order)
        self.far_buckets: list[int] = []  # the keys of ``far`` (a heap)
        self.passed_live = 0
        self.live = 0
        self.removed: dict[int, int] = {}  # instant -> copies removed but still stored
        self.removed_total = 0

    def __len__(self) -> int:
        """Copies stored, removed ones included (at most ``slack`` more of those than live ones)."""
        return len(self.passed) + len(self.near) + sum(len(chunk) for chunk in self.far.values())

    def add(self, at: int) -> None:
        """Count one more instant."""
        self.live += 1
        self._store(at)

    def _store(self, at: int) -> None:
        if at <= self.frontier:
            self.passed.append(at)
            self.passed_live += 1
        elif (bucket := at >> self.shift) <= self.horizon:
            heapq.heappush(self.near, at)
        elif (chunk := self.far.get(bucket)) is not None:
            chunk.append(at)
        else:
            self.far[bucket] = array("q", [at])
            heapq.heappush(self.far_buckets, bucket)

    def remove(self, at: int) -> None:
        """Stop counting one copy of an instant counted before."""
        self.live -= 1
        if at <= self.frontier:
            self.passed_live -= 1
        self.removed[at] = self.removed.get(at, 0) + 1
        self.removed_total += 1
        if self.removed_total > self.live + self.slack:
            self._compact()

    def passed_by(self, now: int) -> int:
        """How many instants are at or before ``now``."""
        self._advance(now)
        return self.passed_live

    def first_after(self, now: int) -> int | None:
        """The earliest instant after ``now``, if any."""
        self._advance(now)
        near = self.near
        while True:
            while near and self._drop(near[0]):
                heapq.heappop(near)
            if near:
                return near[0]
            if not self.far_buckets:
                return None
            self._bring_near(self.far_buckets[0])  # the next bucket with instants joins the heap

    def _advance(self, now: int) -> None:
        if now < self.frontier:  # the clock went back (rare): split everything again
            self._compact(now)
            return
        self.frontier = now
        if now >> self.shift > self.horizon:
            self._bring_near(now >> self.shift)
        near, passed = self.near, self.passed
        while near and near[0] <= now:
            at = heapq.heappop(near)
            if not self._drop(at):
                passed.append(at)
                self.passed_live += 1

    def _bring_near(self, bucket: int) -> None:
        """Move the far buckets up to ``bucket`` into the heap."""
        near, far, buckets = self.near, self.far, self.far_buckets
        moved = False
        while buckets and buckets[0] <= bucket:
            near.extend(far.pop(heapq.heappop(buckets)))
            moved = True
        if moved:
            heapq.heapify(near)
        self.horizon = bucket

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
        drop = self._drop
        if frontier is None or frontier == self.frontier:  # each instant stays where it is
            touched = {at >> self.shift for at in self.removed}
            self.passed = array("q", [at for at in self.passed if not drop(at)])
            self.passed_live = len(self.passed)
            self.near = [at for at in self.near if not drop(at)]
            heapq.heapify(self.near)
            for bucket in touched.intersection(self.far):  # the other buckets hold no removed copy
                kept = [at for at in self.far[bucket] if not drop(at)]
                if kept:
                    self.far[bucket] = array("q", kept)
                else:
                    del self.far[bucket]
            self.far_buckets = list(self.far)
            heapq.heapify(self.far_buckets)
        else:
            self.frontier = frontier
            stored = [self.passed, self.near, *self.far.values()]
            self.passed, self.near, self.far, self.far_buckets = array("q"), [], {}, []
            self.horizon = self.frontier >> self.shift
            self.passed_live = 0
            for chunk in stored:
                for at in chunk:
                    if not drop(at):
                        self._store(at)
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

    Per ticket it keeps only what it added, to take it away again when the ticket changes: one bytes object
    of 8-byte integers (kind, due instant of each level with ``NO_INSTANT`` for None, kind, ...).
    """

    def __init__(self, thresholds: Sequence[str] = (), shift: int = BUCKET_SHIFT) -> None:
        self.thresholds = tuple(thresholds)  # the policy's warn_at as metric labels
        self.shift = shift  # the counters' bucket width (2**shift µs); tests make it small
        self._width = len(self.thresholds) + 1  # warnings, then the breach (escalations follow, per kind)
        self._kinds: list[tuple[str, str, int]] = []  # index -> (priority, metric, levels)
        self._kind_of: dict[tuple[str, str, int], int] = {}
        self._open: list[int] = []
        self._levels: list[list[DueCounter]] = []
        self._tickets: dict[bytes, bytes] = {}  # key -> packed (kind, due per level, kind, ...)

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
        if old is not None and flat is not None and len(old) == len(flat) and self._move(old, flat):
            self._tickets[key] = flat
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

    def _flatten(self, views: Sequence[ClockView]) -> bytes:
        flat: list[int | None] = []
        for priority, metric, due in views:
            width = max(self._width, len(due))
            kind = self._kind_of.get((priority, metric, width))
            if kind is None:
                kind = self._kind_of[priority, metric, width] = len(self._kinds)
                self._kinds.append((priority, metric, width))
                self._open.append(0)
                self._levels.append([DueCounter(self.shift) for _ in range(width)])
            flat += [kind, *due]
            if len(due) < width:
                flat += [None] * (width - len(due))
        packer = _packer(len(flat))
        try:
            return packer.pack(*flat)
        except struct.error:  # a level that cannot be reached (None)
            return packer.pack(*[NO_INSTANT if at is None else at for at in flat])

    def _move(self, old: bytes, new: bytes) -> bool:
        """Step only the instants that differ between two entries with the same clocks (kinds in the same
        places): a pause, an acknowledgement or a priority change moves one clock's levels, not the others'.
        False, and nothing moved, when the clocks differ."""
        packer = _packer(len(new) >> 3)
        before, after = packer.unpack(old), packer.unpack(new)
        kinds, start, end = self._kinds, 0, len(after)
        while start < end:
            if before[start] != after[start]:
                return False
            start += kinds[after[start]][2] + 1
        levels, add, remove = self._levels, DueCounter.add, DueCounter.remove
        start = 0
        while start < end:
            counters = levels[after[start]]
            for level in range(len(counters)):
                was, now = before[start + 1 + level], after[start + 1 + level]
                if was != now:
                    if was != NO_INSTANT:
                        remove(counters[level], was)
                    if now != NO_INSTANT:
                        add(counters[level], now)
            start += len(counters) + 1
        return True

    def _apply(self, packed: bytes, sign: int) -> None:
        flat = _packer(len(packed) >> 3).unpack(packed)
        step = DueCounter.add if sign > 0 else DueCounter.remove
        start = 0
        while start < len(flat):
            kind = flat[start]
            width = self._kinds[kind][2]
            self._open[kind] += sign
            for counter, at in zip(self._levels[kind], flat[start + 1 : start + 1 + width], strict=True):
                if at != NO_INSTANT:
                    step(counter, at)
            start += width + 1


@functools.lru_cache(maxsize=64)
def _packer(count: int) -> struct.Struct:
    """Packs ``count`` 8-byte integers (a ticket's entry: a few clocks of at most a dozen levels each)."""
    return struct.Struct(f"{count}q")
