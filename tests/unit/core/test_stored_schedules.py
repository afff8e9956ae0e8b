"""A stored schedule is kept on load only where it is what the policy would compute again.

Format 4 rows carry each clock's alert schedule; ``clock.rescheduled`` keeps it when the
policy gives the clock the calendar and levels its figures were measured with
(``schedule_stands``) and computes it again otherwise. Over the states of varied input
(daylight-saving changes, holidays, pauses, priority changes, reopenings, escalations),
loading a row must give the very state that computing every schedule again gives: under
the policy the rows were written with, and under policies that moved targets, warning
thresholds, hours and holidays.
"""

from __future__ import annotations

import pytest

from monitor.core.clock import METRICS, rescheduled, schedule_stands
from monitor.core.codec import decode_state, encode_state
from monitor.core.policy import parse_policy
from tests.unit.core.varied_events import ESCALATIONS_YAML, GOLDEN_POLICY_YAML, format3, varied_states

CHANGED_POLICIES = {
    "same": lambda text: text,
    "targets": lambda text: text.replace("P2: {calendar: office, response: 45m, resolution: 8h}",
                                         "P2: {calendar: office, response: 40m, resolution: 9h}"),
    "thresholds": lambda text: text.replace("warn_at: [0.25, 0.5, 0.9]", "warn_at: [0.5, 0.75]"),
    "hours": lambda text: text.replace('mon-fri: "09:00-18:00"', 'mon-fri: "08:00-17:00"'),
    "holidays": lambda text: text.replace('holidays: ["2027-03-15", "2027-11-11", "2027-11-25"]',
                                          'holidays: ["2027-03-15", "2027-11-11", "2027-11-25", "2027-11-26"]'),
}


@pytest.mark.parametrize("escalating", [False, True])
@pytest.mark.parametrize("change", sorted(CHANGED_POLICIES))
def test_a_loaded_state_equals_one_whose_schedules_are_computed_again(change: str, escalating: bool) -> None:
    """Rows written under the golden policy, loaded under it or a changed one: the state is the recomputed one."""
    text = GOLDEN_POLICY_YAML + (ESCALATIONS_YAML if escalating else "")
    written_with, read_with = parse_policy(text), parse_policy(CHANGED_POLICIES[change](text))
    states = varied_states(written_with)
    kept = computed = 0
    for state in states:
        raw = encode_state(state)
        loaded = rescheduled(decode_state(raw), read_with)
        assert loaded == rescheduled(decode_state(format3(raw)), read_with), state.ticket_id
        for metric in METRICS:
            clock = decode_state(raw).clock(metric)
            if not clock.stopped:
                stands = schedule_stands(state, read_with, metric, clock)
                kept += stands
                computed += not stands
    assert len(states) > 500
    if change == "same":
        assert (kept > 500, computed) == (True, 0)  # every running clock keeps its schedule
    elif change == "thresholds":
        assert (kept, computed > 500) == (0, True)  # every clock's levels moved
    else:
        assert min(kept, computed) > 100  # the clocks the change touches are computed again, the others kept
    print(f"\n{change}: {len(states)} states, {kept} schedules kept, {computed} computed again")
