"""The ``sla.clock`` record: where one open ticket's clocks stand, for the compacted ``sla.clocks`` topic.

A pure function of a ``TicketState``, the policy and the event-time instant of
the change, so replay (``--clocks``) and the worker build the same dict for the
same state. A ticket that is no longer open (resolved) has no record: the
worker publishes a tombstone (a null value keyed by ticket id) and replay
prints ``tombstone(...)`` instead.

Levels are the engine's (see ``monitor.core.clock``): 0 is ``none``, ``1..W``
the warning at ``warn_at[k-1]`` (``warning:0.75``, named as warning ids name
their threshold), ``W+1`` the ``breach`` and ``W+1+n`` ``escalation:<n>``.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import tzinfo
from fractions import Fraction
from typing import Any

from monitor.core.calendar import BusinessCalendar
from monitor.core.clock import SCHEMA_VERSION, ClockState, TicketState, used_until
from monitor.core.instants import format_us
from monitor.core.policy import Policy

CLOCK_TYPE = "sla.clock"
TEXTS_KEPT = 4_096  # instants whose text a record reuses (emptied when full)

# (instant, zone) -> its text. Tickets that opened together (a weekend's, counting from Monday 09:00) share
# their instants: a storm of their alerts rewrites thousands of records with the same deadlines.
_texts: dict[tuple[int, tzinfo], str] = {}


def _text(us: int, zone: tzinfo) -> str:
    """``format_us(us, zone)``, remembered for the last few thousand instants."""
    key = (us, zone)
    text = _texts.get(key)
    if text is None:
        if len(_texts) >= TEXTS_KEPT:
            _texts.clear()
        text = _texts[key] = format_us(us, zone)
    return text


def clock_id(ticket_id: str) -> str:
    """The record id (and compaction key's twin) of a ticket's clock record."""
    return f"{ticket_id}:clock"


def level_name(level: int, warn_at: Sequence[Fraction | float]) -> str:
    """The name of an alert level: ``none``, ``warning:<fraction>``, ``breach`` or ``escalation:<n>``."""
    warnings = len(warn_at)
    if level <= 0:
        return "none"
    if level <= warnings:
        return f"warning:{float(warn_at[level - 1])}"
    if level == warnings + 1:
        return "breach"
    return f"escalation:{level - warnings - 1}"


def is_open(state: TicketState) -> bool:
    """Tell whether the ticket belongs on the clocks topic (it is not resolved)."""
    return not state.resolved


def changed_at(state: TicketState, at_us: int | None) -> int:
    """Event time of a change: the later of ``at_us`` (an event's ``occurred_at``; None for a wake-up) and the
    latest instant an alert of the ticket went out at; never before the ticket opened.

    So several changes folded into one (the worker's batch) give the instant the last of them gives alone.
    """
    latest = state.opened_at if at_us is None else max(at_us, state.opened_at)
    for clock in (state.response, state.resolution):
        if clock.published:
            latest = max(latest, *(at for _, at in clock.published))
    return latest


def clock_record(state: TicketState, policy: Policy, at_us: int) -> dict[str, Any]:
    """The ``sla.clock`` record of an open ticket as it stands at ``at_us`` (event time of the change)."""
    response, resolution = state.response, state.resolution
    targets_for = policy.targets_for
    resolution_targets = targets_for(resolution.priority, state.customer_id, state.service_id, state.in_hours)
    response_targets = resolution_targets if response.priority == resolution.priority else targets_for(
        response.priority, state.customer_id, state.service_id, state.in_hours)
    zone = resolution_targets.calendar.timezone
    record: dict[str, Any] = {"type": CLOCK_TYPE, "id": clock_id(state.ticket_id), "schema_version": SCHEMA_VERSION,
                              "ticket_id": state.ticket_id, "priority": state.priority}
    if state.customer_id is not None:
        record["customer_id"] = state.customer_id
    if state.service_id is not None:
        record["service_id"] = state.service_id
    record["opened_at"] = _text(state.opened_at, zone)
    record["updated_at"] = _text(at_us, zone)
    record["clocks"] = {  # METRICS, in order
        "response": _clock_view(response, response_targets.calendar, response_targets.response_us, policy, at_us),
        "resolution": _clock_view(resolution, resolution_targets.calendar, resolution_targets.resolution_us, policy,
                                  at_us),
    }
    return record


def tombstone(ticket_id: str, at_us: int) -> dict[str, Any]:
    """How replay shows that the live topic gets a null value for this ticket (it was resolved)."""
    return {"type": CLOCK_TYPE, "id": clock_id(ticket_id), "ticket_id": ticket_id, "tombstone": True,
            "updated_at": format_us(at_us)}


def _clock_view(clock: ClockState, calendar: BusinessCalendar, target: int, policy: Policy, at_us: int
                ) -> dict[str, Any]:
    breach = len(policy.warn_at)  # index of the breach among the levels (escalations, if any, follow it)
    zone = calendar.timezone
    next_text = None
    if clock.stopped:
        used = clock.used
        stopped_at = clock.stopped_at if clock.stopped_at is not None else at_us
        reached = clock.reached
        deadline = reached[breach] if len(reached) > breach else calendar.add(stopped_at, max(0, target - used))
        status = "stopped"
    else:
        used = used_until(clock, calendar, at_us)
        due = clock.due
        # Paused short of the target: the deadline as if it ran on from the change (as alerts show it).
        scheduled = due[breach] if len(due) > breach else None
        deadline = scheduled if scheduled is not None else calendar.add(at_us, max(0, target - used))
        level = clock.level
        if clock.running:
            status = "running"
            if level < len(due) and (next_due := due[level]) is not None:
                next_text = _text(next_due, zone)
        else:
            status = "paused"
    return {
        "state": status,
        "deadline": _text(deadline, zone),
        "used_seconds": used / 1_000_000,
        "target_seconds": target / 1_000_000,
        "level": level_name(clock.level, policy.warn_floats()),
        "next_due": next_text,
    }
