"""Ticket and clock states: the quick ``_replace`` behaves as NamedTuple's own."""

from __future__ import annotations

import pytest

from monitor.core.clock import ClockState, TicketState
from monitor.core.history import Spans


def _state() -> TicketState:
    clock = ClockState(priority="P2", closed=Spans(), open_start=5)
    return TicketState("T", "P2", None, None, 5, True, clock, clock)


def test_replace_sets_the_named_fields_only() -> None:
    """A replaced state equals one built field by field, and the original is unchanged."""
    state = _state()
    new = state._replace(version=3, paused=True)
    assert type(new) is TicketState
    assert new == TicketState(*[3 if f == "version" else True if f == "paused" else v
                                for f, v in zip(TicketState._fields, state, strict=True)])
    assert state.version == 0
    assert not state.paused
    clock = state.response._replace(level=2, due=(1, 2))
    assert type(clock) is ClockState
    assert (clock.level, clock.due, clock.open_start) == (2, (1, 2), 5)
    assert state._replace() == state


def test_replace_refuses_unknown_fields() -> None:
    """An unknown field name is a ValueError, as with NamedTuple's own _replace."""
    with pytest.raises(ValueError, match="nonsense"):
        _state()._replace(nonsense=1)
    with pytest.raises(ValueError, match="nonsense"):
        _state().response._replace(level=1, nonsense=1)
