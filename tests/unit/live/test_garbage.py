"""The worker's collector: each batch's survivors frozen, a full collection once they have doubled."""

from __future__ import annotations

import gc
import sys
import weakref
from collections.abc import Iterator

import pytest

from monitor.live import garbage
from monitor.live.garbage import Collector


@pytest.fixture(autouse=True)
def thawed() -> Iterator[None]:
    """Whatever a test froze goes back to the collector (the rest of the session collects as usual)."""
    gc.unfreeze()
    yield
    gc.unfreeze()
    gc.collect()


class Node:
    """One half of a reference cycle."""

    other: Node | None = None


def _cycles(count: int) -> list[weakref.ref[Node]]:
    """``count`` two-node cycles no one else refers to; a weak reference to one node of each."""
    refs = []
    for _ in range(count):
        a, b = Node(), Node()
        a.other, b.other = b, a
        refs.append(weakref.ref(a))
    return refs


def test_a_batch_s_survivors_are_out_of_the_collector_s_walks() -> None:
    """After a batch, what it left alive is frozen: no generation holds it, so no collection walks it."""
    collector = Collector()
    collector.rebase()
    kept = [[n] for n in range(1_000)]
    assert any(o is kept for o in gc.get_objects())  # tracked, in a generation
    frozen_before = gc.get_freeze_count()
    assert collector.after_batch() is None
    assert gc.get_freeze_count() >= frozen_before + len(kept)
    assert not any(o is kept for o in gc.get_objects())  # frozen: in no generation
    assert collector.full == 0


def test_cyclic_garbage_among_frozen_objects_is_found_once_they_have_doubled(monkeypatch: pytest.MonkeyPatch) -> None:
    """Cycles that became garbage after being frozen are collected by the full collection that runs once the
    allocated blocks have grown to twice what they were; until then none runs."""
    monkeypatch.setattr(garbage, "FLOOR", 1_000)
    monkeypatch.setattr(garbage, "CHECK_EVERY", 1)
    collector = Collector()
    collector.rebase()
    base = sys.getallocatedblocks()
    gc.disable()  # the cycles must reach the frozen objects before any young collection could find them
    try:
        cycles = _cycles(100)
        assert collector.after_batch() is None  # frozen with the rest of the batch
    finally:
        gc.enable()
    gc.collect()
    assert all(ref() is not None for ref in cycles)  # an ordinary collection does not walk frozen objects
    grown = [bytes(8) for _ in range(base * 4 // 10)]  # one memory block each
    assert collector.after_batch() is None  # 1.4 times: not yet
    assert collector.full == 0
    assert all(ref() is not None for ref in cycles)
    more = [bytes(8) for _ in range(base)]
    took = collector.after_batch()  # 2.4 times
    assert took is not None
    assert took >= 0
    assert collector.full == 1
    assert all(ref() is None for ref in cycles)  # found and freed
    assert collector.baseline is not None
    assert collector.baseline >= len(grown) + len(more)  # blocks: the living lists stay
    assert collector.after_batch() is None  # counted from the new baseline
