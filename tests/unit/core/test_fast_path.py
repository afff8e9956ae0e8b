"""Replay's driver on the engine's fast path prints what the public functions decide.

``apply_event`` and ``wake`` return ``Decision`` objects (``Publish`` and ``WakeAt`` effects) for the
worker, explain and tests; they wrap ``apply_into``/``wake_into``, which append records to a list
and leave the wake-up to ``next_wake``, and which replay calls directly. The driver as it was
before (``apply_event``/``wake`` and their effects, one heap entry per ``WakeAt``) must print the
same records in the same order over varied input, and the wrappers must carry the fast path's
state, records and wake-up. (What the engine decides is pinned by ``test_replay_golden``.)
"""

from __future__ import annotations

import heapq
import json
import re
from typing import Any

import pytest

from monitor.core.clock import (
    Publish,
    TicketState,
    WakeAt,
    apply_event,
    apply_into,
    next_wake,
    wake,
    wake_into,
)
from monitor.core.errors import EventRejected
from monitor.core.events import TicketEvent, TicketPaused, parse_event
from monitor.core.instants import to_us
from monitor.core.policy import Policy, parse_policy
from monitor.core.replay import Rejection, Replay, replay_lines
from tests.unit.core.varied_events import ESCALATIONS_YAML, GOLDEN_POLICY_YAML, varied_lines


class PublicDriver(Replay):
    """The replay driver as it was before the fast path: ``apply_event``/``wake`` and their effects."""

    def _feed_ticket(self, line: int, event: TicketEvent, at: int, records: list[dict[str, Any]]) -> Rejection | None:
        now = at if self.clock_us is None else max(self.clock_us, at)
        state = self.tickets.get(event.ticket_id)
        try:
            decision = apply_event(state, event, self.policy, now)
        except EventRejected as error:
            return Rejection(line, error.reason, event.event_id, event.ticket_id)
        if self._heap and self._heap[0][0] < at:
            self.advance(at, inclusive=False, into=records)
            current = self.tickets.get(event.ticket_id)
            if current is not state and current is not None:
                decision = apply_event(current, event, self.policy, now)
        elif self.clock_us is None or at > self.clock_us:
            self.clock_us = at
        self._take(decision.state, decision.effects, records)
        return None

    def _take(self, state: TicketState | None, effects: list[Any], records: list[dict[str, Any]]) -> None:
        assert state is not None
        self.tickets[state.ticket_id] = state
        assert all(isinstance(e, Publish) for e in effects[:-1])
        for effect in effects:
            if isinstance(effect, Publish):
                records.append(effect.record)
            else:
                assert isinstance(effect, WakeAt)
                assert effect.version == state.version
                self._seq += 1
                heapq.heappush(self._heap, (effect.at_us, self._seq, effect.ticket_id, effect.version, False))

    def advance(
        self, until_us: int, *, inclusive: bool = True, into: list[dict[str, Any]] | None = None
    ) -> list[dict[str, Any]]:
        records: list[dict[str, Any]] = [] if into is None else into
        heap = self._heap
        while heap and (heap[0][0] <= until_us if inclusive else heap[0][0] < until_us):
            due, _, key, version, is_service = heapq.heappop(heap)
            if is_service:
                service = self.services.get(key)
                if service is not None and service.version == version:
                    from monitor.core.budget import wake_service

                    self._carry_out(wake_service(service, self.policy, due), records)
                continue
            state = self.tickets.get(key)
            if state is None or state.version != version:
                continue
            decision = wake(state, self.policy, due)
            self._take(decision.state, decision.effects, records)
        if self.clock_us is None or until_us > self.clock_us:
            self.clock_us = until_us
        return records


def _render(items: list[dict[str, Any] | Rejection]) -> list[str]:
    return [("E " + json.dumps(i.as_dict())) if isinstance(i, Rejection) else json.dumps(i) for i in items]


def _public_replay(policy: Policy, lines: list[str]) -> list[dict[str, Any] | Rejection]:
    driver = PublicDriver(policy)
    out: list[dict[str, Any] | Rejection] = []
    number = 0
    for number, raw in enumerate(lines, start=1):
        if not raw or raw.isspace():
            continue  # as replay_lines
        records, rejection = driver.feed(number, raw)
        out.extend(records)
        if rejection is not None:
            out.append(rejection)
    assert driver.clock_us is not None
    out.extend(driver.advance(driver.clock_us))
    return out


@pytest.mark.parametrize("escalating", [False, True])
def test_replay_prints_what_the_public_functions_decide(escalating: bool) -> None:
    """Over varied input (every event type, DST, holidays, late and bad lines), the fast path and the
    public ``apply_event``/``wake`` with their effects give the same output, record for record."""
    policy = parse_policy(GOLDEN_POLICY_YAML + (ESCALATIONS_YAML if escalating else ""), "golden.yaml")
    lines = varied_lines(400, 29)
    fast = _render(list(replay_lines(policy, lines)))
    public = _render(_public_replay(policy, lines))
    assert len(fast) > 2000
    assert fast == public


def test_apply_into_returns_the_decisions_state_and_appends_its_records() -> None:
    """Event by event, ``apply_into``/``wake_into`` return the state ``apply_event``/``wake`` decide, append
    their records in order, and ``next_wake`` of the state is the decision's ``WakeAt``."""
    policy = parse_policy(GOLDEN_POLICY_YAML + ESCALATIONS_YAML, "golden.yaml")
    states: dict[str, TicketState] = {}
    checked = woken = 0
    for raw in varied_lines(150, 31):
        try:
            event = parse_event(raw)
        except EventRejected:
            continue
        ticket_id = getattr(event, "ticket_id", None)
        if ticket_id is None:
            continue
        state = states.get(ticket_id)
        at = to_us(event.occurred_at)
        out: list[dict[str, Any]] = []
        reason = None
        try:
            decision = apply_event(state, event, policy, at)  # type: ignore[arg-type]
        except EventRejected as error:
            reason = error.reason
        if reason is not None:  # refused alike (what it appended before is discarded)
            with pytest.raises(EventRejected, match=re.escape(reason)):
                apply_into(state, event, policy, at, out)  # type: ignore[arg-type]
            continue
        new = apply_into(state, event, policy, at, out)  # type: ignore[arg-type]
        assert new == decision.state
        assert out == decision.records
        wakes = [e for e in decision.effects if isinstance(e, WakeAt)]
        due = next_wake(new, policy)
        assert [(w.at_us, w.version) for w in wakes] == ([] if due is None else [(due, new.version)])
        states[ticket_id] = new
        checked += 1
        if due is not None:  # wake it where it falls due, both ways
            woken_out: list[dict[str, Any]] = []
            public = wake(new, policy, due)
            assert wake_into(new, policy, due, woken_out) == public.state
            assert woken_out == public.records
            woken += bool(woken_out)
    assert checked > 500
    assert woken > 100


def test_an_event_of_a_subclass_takes_its_base_class_transition() -> None:
    """Transitions are looked up by the event's class; a subclass of an event type still gets its own."""

    class LabelledPause(TicketPaused):
        pass

    policy = parse_policy(GOLDEN_POLICY_YAML, "golden.yaml")
    opened = parse_event(json.dumps({"type": "ticket.opened", "event_id": "o", "ticket_id": "T",
                                     "occurred_at": "2027-03-16T10:00:00-04:00", "priority": "P3"}))
    state = apply_into(None, opened, policy, to_us(opened.occurred_at), [])  # type: ignore[arg-type]
    pause = LabelledPause(type="ticket.paused", event_id="p", ticket_id="T", occurred_at="2027-03-16T11:00:00-04:00")
    plain = TicketPaused(type="ticket.paused", event_id="p", ticket_id="T", occurred_at="2027-03-16T11:00:00-04:00")
    now = to_us(pause.occurred_at)
    assert apply_into(state, pause, policy, now, []).paused
    assert apply_into(state, pause, policy, now, []) == apply_into(state, plain, policy, now, [])
