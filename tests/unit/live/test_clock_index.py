"""Ticket-clock figures kept incrementally equal the scan over every open clock, whatever the order of changes."""

from __future__ import annotations

import gc
import tracemalloc
from collections import Counter
from datetime import datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from monitor.core.clock import apply_event
from monitor.core.instants import to_us
from monitor.core.policy import Policy, parse_policy
from monitor.live.clock_index import (
    BUCKET_SHIFT,
    COMPACT_AT,
    ClockFigures,
    ClockIndex,
    ClockView,
    DueCounter,
    open_clocks,
)
from monitor.live.metrics import clock_figures
from tests.conftest import event

POLICY = parse_policy("""
calendars:
  always: {timezone: UTC, hours: always}
targets:
  P1: {calendar: always, response: 10s, resolution: 60s}
  P2: {calendar: always, response: 20s, resolution: 90s}
warn_at: [0.5, 0.75, 0.9]
""")
THRESHOLDS = [str(float(f)) for f in POLICY.warn_at]


def _nonzero(figures: ClockFigures) -> tuple[Counter[tuple[str, str]], Counter[tuple[str, str, str]],
                                                Counter[tuple[str, str]], dict[tuple[str, str], int]]:
    return +figures.open, +figures.at_risk, +figures.breached, figures.next_deadline


@st.composite
def schedules(draw: st.DrawFn) -> tuple[int | None, ...]:
    """Due instants as the core makes them: ascending with the level, None from the first level a paused clock
    cannot reach; sometimes none at all."""
    if draw(st.integers(0, 9)) == 0:
        return ()
    instants = sorted(draw(st.lists(st.integers(0, 60), min_size=4, max_size=4)))
    reachable = draw(st.integers(0, 4))
    return tuple(at if i < reachable else None for i, at in enumerate(instants))


views_of_a_ticket = st.lists(
    st.tuples(st.sampled_from(["P1", "P2"]), st.sampled_from(["response", "resolution"]), schedules()),
    max_size=2,
).map(lambda views: tuple(sorted({(p, m): (p, m, d) for p, m, d in views}.values())))
steps = st.lists(
    st.one_of(
        st.tuples(st.just("track"), st.integers(0, 7), views_of_a_ticket),
        st.tuples(st.just("now"), st.integers(-5, 70), st.just(())),
    ),
    max_size=60,
)


@pytest.mark.parametrize("shift", [2, BUCKET_SHIFT])  # buckets of 4 µs: instants move between heap and buckets
@settings(max_examples=300, deadline=None)
@given(script=steps)
def test_index_figures_equal_the_scan_over_the_same_clocks(shift: int,
                                                           script: list[tuple[str, int, tuple[ClockView, ...]]]) -> None:
    """Random tracks, untracks (no open clock) and scrape instants, forward and back: the figures are the scan's."""
    index = ClockIndex(THRESHOLDS, shift=shift)
    mirror: dict[bytes, tuple[ClockView, ...]] = {}
    for kind, number, views in script:
        if kind == "track":
            key = f"T{number}".encode()
            index.track(key, views)
            if views:
                mirror[key] = views
            else:
                mirror.pop(key, None)
        else:
            assert _nonzero(index.figures(number)) == _nonzero(clock_figures(mirror.values(), POLICY, number))
    assert set(index) == set(mirror)


def test_index_follows_real_tickets_through_acknowledgement_and_resolution(policy: Policy) -> None:
    """Tickets opened, acknowledged and resolved: at each step the index figures are the scan's over their clocks."""
    index = ClockIndex([str(float(f)) for f in policy.warn_at])
    states = {}
    start = "2026-11-30T09:00:00+00:00"
    for n, priority in enumerate(["P1", "P2", "P3", "P1"]):
        states[n] = apply_event(None, event("opened", f"T{n}", start, priority=priority), policy, 0).state
    states[1] = apply_event(states[1], event("acknowledged", "T1", "2026-11-30T09:05:00+00:00"), policy, 0).state
    states[2] = apply_event(states[2], event("resolved", "T2", "2026-11-30T09:06:00+00:00"), policy, 0).state
    for n, state in states.items():
        assert state
        index.track(f"T{n}".encode(), open_clocks(state))
    clocks = [open_clocks(s) for s in states.values() if s and open_clocks(s)]
    for minute in (0, 8, 12, 16, 200, 14):
        now = to_us(datetime.fromisoformat(start)) + minute * 60_000_000
        assert _nonzero(index.figures(now)) == _nonzero(clock_figures(clocks, policy, now))
    assert len(index) == 3  # T2 resolved: no open clock


def test_removed_instants_are_compacted_away() -> None:
    """A counter whose instants keep being replaced stays as small as its live instants plus a bounded slack."""
    counter = DueCounter()
    for at in range(10 * COMPACT_AT):
        counter.add(at + 1_000)
        counter.remove(at + 1_000)
    counter.add(5)
    assert len(counter) <= COMPACT_AT + 2
    assert (counter.passed_by(4), counter.passed_by(5), counter.first_after(4)) == (0, 1, 5)


counter_steps = st.lists(
    st.one_of(
        st.tuples(st.just("add"), st.integers(-20, 200)),
        st.tuples(st.just("remove"), st.integers(0, 50)),  # the n-th copy counted (modulo how many there are)
        st.tuples(st.just("now"), st.integers(-30, 220)),
    ),
    max_size=80,
)


@settings(max_examples=400, deadline=None)
@given(shift=st.integers(0, 6), slack=st.sampled_from([0, 1, 3, COMPACT_AT]), script=counter_steps)
def test_counter_answers_as_a_multiset_whatever_the_bucket_width(shift: int, slack: int,
                                                                 script: list[tuple[str, int]]) -> None:
    """Adds, removals of counted copies and questions at instants forward and back: the answers are a plain
    multiset's, whether the instants sit in the heap, in their bucket, or were counted as passed, and whenever
    the removed copies are compacted away."""
    counter, mirror = DueCounter(shift, slack), Counter[int]()
    for kind, number in script:
        if kind == "add":
            counter.add(number)
            mirror[number] += 1
        elif kind == "remove" and mirror.total():
            at = sorted(mirror.elements())[number % mirror.total()]
            counter.remove(at)
            mirror[at] -= 1
            assert len(counter) <= 2 * mirror.total() + slack + 1  # removed copies: at most the live ones + slack
        elif kind == "now":
            ahead = [at for at in mirror.elements() if at > number]
            assert counter.passed_by(number) == mirror.total() - len(ahead)
            assert counter.first_after(number) == (min(ahead) if ahead else None)


def test_far_instants_take_about_8_bytes_each() -> None:
    """20,000 tickets opened 20 a second, two clocks of four levels each falling due in the next day: the index
    stays near 8 bytes per instant plus the ticket's packed entry (a heap of Python ints and a tuple per ticket
    took ~525 bytes)."""
    hour = 3_600_000_000
    gc.collect()
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        index = ClockIndex(THRESHOLDS)
        for n in range(20_000):
            opened = 10 * hour + n * 50_000  # one every 50 ms from 10:00
            index.track(f"T{n}".encode(), (
                ("P1", "resolution", tuple(opened + hour * level for level in (12, 18, 21, 24))),
                ("P1", "response", tuple(opened + hour * level // 4 for level in (2, 3, 3, 4)))))
        assert index.figures(10 * hour).next_deadline[("P1", "response")] == 11 * hour  # the far ones are there
        gc.collect()
        per_ticket = (tracemalloc.get_traced_memory()[0] - before) / 20_000
    finally:
        tracemalloc.stop()
    assert per_ticket < 300, f"{per_ticket:.0f} bytes per ticket"  # the keys' own bytes objects included
