"""Only wake-up messages shaped as the worker writes them are taken as wake-ups."""

from __future__ import annotations

import pytest

from monitor.live.wakeups import Tick, WakeHeaps, WakeUp, parse_wakeup, tick_body


@pytest.mark.parametrize(
    ("raw", "key", "expected"),
    [
        (b'{"ticket_id": "T-1", "version": 3, "due_us": 10}', b"T-1", WakeUp("ticket", 3, 10)),  # the timer's own
        (b'{"service_id": "crm", "version": 1, "due_us": 5}', b"crm", WakeUp("service", 1, 5)),  # a service's
        (b"not json", b"T-1", "not JSON"),
        (None, b"T-1", "not JSON"),  # empty message
        (b"[1, 2]", b"T-1", "not a JSON object"),
        (b'{"version": 1, "due_us": 5}', b"T-1", "needs exactly one of ticket_id and service_id"),
        (b'{"ticket_id": "T-1", "service_id": "crm", "version": 1, "due_us": 5}', b"T-1",
         "needs exactly one of ticket_id and service_id"),
        (b'{"ticket_id": "T-1", "due_us": 5}', b"T-1", "version and due_us must be integers"),
        (b'{"ticket_id": "T-1", "version": "1", "due_us": 5}', b"T-1", "version and due_us must be integers"),
        (b'{"ticket_id": "T-1", "version": true, "due_us": 5}', b"T-1", "version and due_us must be integers"),
        (b'{"ticket_id": "T-1", "version": 1, "due_us": 5.5}', b"T-1", "version and due_us must be integers"),
        (b'{"ticket_id": "T-2", "version": 1, "due_us": 5}', b"T-1", "ticket_id differs from the message key"),
        (b'{"service_id": "crm", "version": 1, "due_us": 5}', None, "service_id differs from the message key"),
        (tick_body(7), b"", Tick(7)),  # the timer's tick
        (b'{"tick_us": 7}', None, Tick(7)),  # a tick whose empty key came back as none
        (b'{"tick_us": 7}', b"T-1", "a tick has an empty key"),  # keyed: not the timer's
        (b'{"tick_us": "7"}', b"", 'a tick is {"tick_us": integer} and nothing else'),
        (b'{"tick_us": true}', b"", 'a tick is {"tick_us": integer} and nothing else'),
        (b'{"tick_us": 7, "ticket_id": "T-1"}', b"", 'a tick is {"tick_us": integer} and nothing else'),
    ],
)
def test_parse_wakeup_table(raw: bytes | None, key: bytes | None, expected: WakeUp | Tick | str) -> None:
    """Each body parses to the wake-up it carries, or to the reason it is not one (never an exception)."""
    assert parse_wakeup(raw, key) == expected


def test_is_planned_tells_a_pending_wakeup_from_a_popped_one() -> None:
    """A pushed wake-up is planned until popped, so an early one can be re-planned exactly once."""
    heaps = WakeHeaps()
    heaps.push(0, b"T-1", 100, 2)
    assert heaps.is_planned(b"T-1", 2)
    assert not heaps.is_planned(b"T-1", 1)
    assert heaps.pop_due(100, [0]) == [(0, b"T-1", 2, 100)]
    assert not heaps.is_planned(b"T-1", 2)


def test_is_due_skips_superseded_entries() -> None:
    """A partition whose only due entries are superseded (newer version planned later) has nothing due."""
    heaps = WakeHeaps()
    heaps.push(0, b"T-1", 100, 1)
    heaps.push(0, b"T-1", 500, 2)  # the ticket changed: only version 2 counts
    assert not heaps.is_due(0, 200)
    assert heaps.is_due(0, 500)
    assert not heaps.is_due(1, 500)  # another partition
    heaps.forget(b"T-1")
    assert not heaps.is_due(0, 500)


def test_pop_due_takes_the_earliest_of_all_partitions_first_and_stops_at_most() -> None:
    """Shared out by due instant, not partition by partition: a storm on one partition cannot starve the others."""
    heaps = WakeHeaps()
    for n, (partition, due) in enumerate([(0, 10), (0, 20), (0, 30), (1, 15), (1, 25), (2, 5), (2, 999)]):
        heaps.push(partition, f"T-{n}".encode(), due, 1)
    heaps.push(1, b"T-3", 40, 2)  # T-3 changed: its entry at 15 is superseded
    assert [(p, due) for p, _, _, due in heaps.pop_due(100, [0, 1, 2], 4)] == [(2, 5), (0, 10), (0, 20), (1, 25)]
    assert [(p, due) for p, _, _, due in heaps.pop_due(100, [0, 1, 2], 10)] == [(0, 30), (1, 40)]
    assert heaps.pop_due(100, [0, 1, 2], 10) == []  # 999 is not due
    assert heaps.is_due(2, 999)
