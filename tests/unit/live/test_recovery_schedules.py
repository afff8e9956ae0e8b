"""A restarted worker watches its tickets from the schedules stored in their rows, as if it decoded them.

``Processor.recover_ticket_rows`` reads a format 4 row's schedules without decoding the state
where they still stand under the policy (``codec.recovered``, ``clock.plan_stands``), and
decodes and reschedules the rest. Whatever the path, the wake-ups planned, the clock index (the
metrics) and what the worker publishes next must be the same as for the rows read the slow way
(format 3: every state decoded and every schedule computed again), under the policy the rows were
written with and under a changed one.
"""

from __future__ import annotations

import dataclasses

import pytest

from monitor.core.clock import TicketState
from monitor.core.codec import encode_state
from monitor.core.policy import parse_policy
from monitor.live.processor import TICKETS, MemoryStore, Message, Processor
from monitor.live.wakeups import TICK_KEY, tick_body
from tests.unit.core.test_stored_schedules import CHANGED_POLICIES
from tests.unit.core.varied_events import ESCALATIONS_YAML, GOLDEN_POLICY_YAML, format3, varied_states
from tests.unit.live.test_processor import PARTITIONS, ROUTES, Sink

DAY_US = 86_400_000_000
ESCALATING = dataclasses.replace(ROUTES, outputs={**ROUTES.outputs, "sla.escalation": ROUTES.outputs["sla.breach"]})


def _recovered(policy_text: str, rows: list[tuple[bytes, bytes]], now: list[int]) -> Processor:
    store = MemoryStore()
    store.rows[TICKETS].update(rows)
    processor = Processor(parse_policy(policy_text), ESCALATING, lambda: now[0], store, Sink(), wakes_per_tick=100_000)
    processor.recover_tickets(rows, set(range(PARTITIONS)))
    return processor


def _planned(processor: Processor) -> list[tuple[int, int, bytes, int]]:
    """Every wake-up planned: (partition, due instant, ticket, version)."""
    heaps = processor.state.heaps._heaps  # the plan itself, not only what a tick fires of it
    return sorted((partition, *entry) for partition, heap in heaps.items() for entry in heap)


def _ticks(processor: Processor, now: int) -> list[str]:
    """The ids of what a tick of every partition publishes at ``now``."""
    ticks = [Message(ESCALATING.wakeups, p, n, TICK_KEY, tick_body(now)) for n, p in enumerate(range(PARTITIONS))]
    outbox = processor.handle(ticks)
    return [send.record["id"] for send in outbox.sends if send.record]


@pytest.mark.parametrize("change", ["same", "targets", "hours"])
def test_recovery_from_stored_schedules_plans_and_mirrors_what_decoding_does(change: str) -> None:
    """Rows of varied tickets recovered from their schedules and the slow way: the same index figures and the
    same alerts as the wake-ups fall due, every six hours until none is left."""
    text = GOLDEN_POLICY_YAML + ESCALATIONS_YAML
    sampled: dict[str, list[TicketState]] = {}
    for state in varied_states(parse_policy(text)):
        sampled.setdefault(state.ticket_id, []).append(state)
    # Every other ticket as first sampled (both clocks often counting), the others half-way through.
    states = {ticket: seen[0 if n % 2 else len(seen) // 2] for n, (ticket, seen) in enumerate(sampled.items())}
    rows = [(ticket.encode(), encode_state(state)) for ticket, state in states.items()]
    read_with = CHANGED_POLICIES[change](text)
    start = min(s.opened_at for s in states.values())
    now = [start]
    quick = _recovered(read_with, rows, now)
    slow = _recovered(read_with, [(key, format3(raw)) for key, raw in rows], now)
    assert len(quick.state.clocks) == len(slow.state.clocks) > 100
    assert len(quick.state.decoded) < len(slow.state.decoded)  # the quick path left states undecoded
    assert _planned(quick) == _planned(slow)
    published = 0
    end = max(s.opened_at for s in states.values()) + 60 * DAY_US
    while now[0] < end:  # every six hours (levels due meanwhile fold, the same way for both)
        now[0] += DAY_US // 4
        assert quick.state.clocks.figures(now[0]) == slow.state.clocks.figures(now[0]), now[0]
        fired = _ticks(quick, now[0])
        assert fired == _ticks(slow, now[0]), now[0]
        published += len(fired)
    assert published > 40
    assert quick.state.pending_wakeups == slow.state.pending_wakeups == 0
