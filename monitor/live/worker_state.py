"""What one worker process knows beyond its tables: wake-up heaps, metric mirrors, counts, readiness.

All of it is derived from the partitions the worker owns: it is dropped when
partitions are revoked and rebuilt from the tables after recovery.
"""

from __future__ import annotations

from collections import Counter, OrderedDict
from dataclasses import dataclass, field

from monitor.core.budget import ServiceState
from monitor.core.clock import TicketState
from monitor.core.instants import format_us
from monitor.core.policy import Policy
from monitor.live.clock_index import ClockIndex, ClockView, open_clocks
from monitor.live.wakeups import WakeHeaps

__all__ = ["STATE_CACHE_TICKETS", "ClockView", "StateCache", "WorkerState", "month_of", "open_clocks"]

# Decoded ticket states kept between batches (least recently used dropped first): a ticket touched
# again soon (its next event, its wake-ups) is not decoded again. About 1.25 kB each (~125 MiB in all:
# bench/memory_bench.py); a decode costs ~18 us of a follow-up's ~90, its stored schedules kept where they
# stand (bench/README.md).
STATE_CACHE_TICKETS = 100_000


def month_of(policy: Policy, at_us: int) -> str:
    """``YYYY-MM`` of an instant in the policy's report zone (from ``format_us``'s memoised local text: a third of
    the time of a datetime and ``strftime``, once per outcome)."""
    return format_us(at_us, policy.report_zone)[:7]


class StateCache:
    """Ticket states as last recorded, decoded, by key: the ``limit`` most recently used."""

    __slots__ = ("_states", "limit")

    def __init__(self, limit: int = STATE_CACHE_TICKETS) -> None:
        self.limit = limit
        self._states: OrderedDict[bytes, TicketState] = OrderedDict()

    def get(self, key: bytes) -> TicketState | None:
        """The state recorded last for ``key``, if still kept."""
        state = self._states.get(key)
        if state is not None:
            self._states.move_to_end(key)
        return state

    def put(self, key: bytes, state: TicketState) -> None:
        """Keep the state just recorded for ``key``, dropping the least recently used beyond the limit."""
        states = self._states
        states[key] = state
        states.move_to_end(key)
        if len(states) > self.limit:
            states.popitem(last=False)

    def clear(self) -> None:
        """Forget every state."""
        self._states.clear()

    def __len__(self) -> int:
        return len(self._states)


@dataclass
class WorkerState:
    """What one worker process knows beyond the table: heaps, readiness, counts."""

    heaps: WakeHeaps = field(default_factory=WakeHeaps)
    service_heaps: WakeHeaps = field(default_factory=WakeHeaps)
    recovered: set[str] = field(default_factory=set)
    ready: bool = False
    counts: Counter[str] = field(default_factory=Counter)
    # Figures and mirrors of the owned partitions' table state, for metrics (rebuilt on recovery).
    clocks: ClockIndex = field(default_factory=ClockIndex)
    services: dict[bytes, ServiceState] = field(default_factory=dict)
    period_counts: dict[tuple[int, str], Counter[str]] = field(default_factory=dict)  # (partition, month)
    read_offsets: dict[tuple[str, int], int] = field(default_factory=dict)  # next offset to handle
    publish_error: str | None = None  # why the last try to publish failed, until a batch is acknowledged
    publishing_since: float | None = None  # monotonic start of the publish in progress
    broker_error: str | None = None  # why the last broker check failed
    warned: set[str] = field(default_factory=set)  # kinds of odd wake-ups already logged once
    generation: int = 0  # how many times the owned partitions were forgotten (a recovery in progress checks it)
    ticks_sent: dict[int, int] = field(default_factory=dict)  # partition -> when its unhandled tick was sent
    # partition -> when this worker recovered it; kept across rebalances that leave it here (see Processor.fold_before).
    recovered_at: dict[int, int] = field(default_factory=dict)
    decoded: StateCache = field(default_factory=StateCache)  # bounded: STATE_CACHE_TICKETS

    def clear(self) -> None:
        """Forget everything derived from the partitions owned until now (but when each was recovered)."""
        self.generation += 1
        self.ready = False
        self.recovered.clear()
        self.heaps.clear()
        self.service_heaps.clear()
        self.clocks.clear()
        self.services.clear()
        self.period_counts.clear()
        self.read_offsets.clear()
        self.ticks_sent.clear()
        self.decoded.clear()

    def track(self, key: bytes, state: TicketState | ServiceState) -> None:
        """Keep the metric mirrors in step with a state just recorded."""
        if isinstance(state, ServiceState):
            self.services[key] = state
        else:
            self.clocks.track(key, open_clocks(state))
            self.decoded.put(key, state)

    @property
    def pending_wakeups(self) -> int:
        """Wake-ups planned in memory, tickets and services."""
        return len(self.heaps) + len(self.service_heaps)

    def by_period(self) -> dict[str, Counter[str]]:
        """Month-to-date counts of the owned partitions, summed by month."""
        out: dict[str, Counter[str]] = {}
        for (_, period), counter in self.period_counts.items():
            out.setdefault(period, Counter()).update(counter)
        return out
