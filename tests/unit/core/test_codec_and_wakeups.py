"""Durable ticket state round-trips, and the worker's wake-up heaps keep only the newest plan."""

from __future__ import annotations

import json

import pytest

from monitor.core.clock import TicketState, apply_event, rescheduled
from monitor.core.codec import FORMAT, decode_state, encode_state
from monitor.core.policy import Policy
from monitor.live.wakeups import WakeHeaps
from tests.conftest import event
from tests.unit.core.state_format2 import encode_state_format2
from tests.unit.core.varied_events import format3


def test_state_round_trips_through_the_codec(policy: Policy) -> None:
    """A paused, acknowledged, re-prioritised ticket decodes (and reschedules) to the very state encoded."""
    s = apply_event(None, event("opened", "T", "2026-11-30T09:00:00", priority="P3", customer_id="acme"), policy, 0).state
    s = apply_event(s, event("acknowledged", "T", "2026-11-30T09:05:00"), policy, 0).state
    s = apply_event(s, event("paused", "T", "2026-11-30T10:00:00"), policy, 0).state
    s = apply_event(s, event("priority_changed", "T", "2026-11-30T10:30:00", priority="P2"), policy, 0).state
    assert s is not None
    assert rescheduled(decode_state(encode_state(s)), policy) == s


def _busy_ticket(policy: Policy) -> TicketState:
    s = apply_event(None, event("opened", "T", "2026-11-30T09:00:00", priority="P3", customer_id="acme",
                                service_id="mail"), policy, 0).state
    for kind, at in (("paused", "09:10"), ("resumed", "09:40"), ("acknowledged", "09:50"), ("paused", "11:00"),
                     ("resumed", "11:30"), ("resolved", "12:00"), ("rated", "12:05")):
        fields = {"score": 4} if kind == "rated" else {}
        s = apply_event(s, event(kind, "T", f"2026-11-30T{at}:00", **fields), policy, 0).state
    assert s is not None
    return s


def test_format_4_is_a_compact_array_and_formats_3_and_2_are_still_read(policy: Policy) -> None:
    """This release writes format 4 (a positional array with the schedules); format 3 and 2 rows decode to the
    same state once rescheduled."""
    s = _busy_ticket(policy)
    raw, older = encode_state(s), encode_state_format2(s)
    assert FORMAT == 4
    assert raw.startswith(b"[4,")
    assert json.loads(older)["f"] == 2
    fresh = apply_event(None, event("opened", "N", "2026-11-30T09:00:00", priority="P3"), policy, 0).state
    assert fresh is not None
    # An open ticket: ~210 bytes and its schedule (8 instants, ~130 bytes) where format 2 took ~290 without one.
    assert len(format3(encode_state(fresh))) < 0.8 * len(encode_state_format2(fresh))
    for row in (raw, format3(raw), older):
        assert rescheduled(decode_state(row), policy) == s
    assert decode_state(format3(encode_state(fresh))).response.due == ()  # format 3: computed again
    assert decode_state(encode_state(fresh)).response.due == fresh.response.due != ()
    assert (s.rated, s.resolved, s.paused) == (True, True, False)


@pytest.mark.parametrize("raw", [b"[5,\"T\"]", b"[]", b'{"f":9}', b'{"f":3}'])
def test_an_unknown_state_format_is_refused_by_name(raw: bytes) -> None:
    """A row of a format this release does not know is an error naming the format, not a wrong state."""
    with pytest.raises(ValueError, match="unknown ticket state format"):
        decode_state(raw)


def test_heaps_pop_only_due_and_newest_versions() -> None:
    """A superseded plan of a ticket is dropped; only owned partitions are popped; due order is kept."""
    heaps = WakeHeaps()
    heaps.push(0, b"a", 100, 1)
    heaps.push(0, b"a", 50, 2)  # the newer plan wins
    heaps.push(1, b"b", 70, 1)
    heaps.push(2, b"c", 10, 1)
    assert heaps.pop_due(80, partitions=[0, 1]) == [(0, b"a", 2, 50), (1, b"b", 1, 70)]
    assert heaps.pop_due(1000, partitions=[0, 1]) == []  # a's old plan (version 1) is stale
    assert heaps.pop_due(1000, partitions=[2]) == [(2, b"c", 1, 10)]


def test_heaps_forget_and_clear() -> None:
    """A forgotten ticket never fires, and clearing (on revocation) forgets every ticket."""
    heaps = WakeHeaps()
    heaps.push(0, b"a", 10, 1)
    heaps.push(1, b"b", 10, 1)
    heaps.forget(b"a")
    assert len(heaps) == 1
    heaps.clear()
    assert len(heaps) == 0
    assert heaps.pop_due(100, partitions=[0, 1]) == []


def test_service_state_round_trips_through_the_codec() -> None:
    """A service with locations, used budget, a published alert and a window decodes to the very state encoded."""
    from monitor.core.budget import apply_service_event
    from monitor.core.codec import decode_service, encode_service
    from monitor.core.events import parse_event
    from monitor.core.policy import parse_policy
    from tests.unit.core.test_budget import POLICY, maintenance, probe

    policy = parse_policy(POLICY)
    state = None
    for line in (maintenance("mail", "2026-11-01T00:00:00", "2026-11-10T10:10:00", "2026-11-10T10:40:00"),
                 probe("mail", "a", "2026-11-10T10:00:00", ok=False), probe("mail", "b", "2026-11-10T10:00:00", ok=False),
                 probe("mail", "b", "2026-11-10T11:30:00", ok=True)):
        state = apply_service_event(state, parse_event(line), policy).state  # type: ignore[arg-type]
    assert state is not None
    assert state.level > 0
    assert state.windows
    assert decode_service(encode_service(state)) == state
