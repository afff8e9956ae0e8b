"""Customer ratings (`ticket.rated`): one per resolved ticket, republished as `sla.rating`."""

from __future__ import annotations

import json
from typing import Any

import pytest

from monitor.core.clock import apply_event
from monitor.core.codec import decode_state, encode_state
from monitor.core.errors import EventRejected
from monitor.core.events import parse_event
from monitor.core.policy import Policy
from monitor.core.records import SlaRating
from monitor.core.replay import Rejection, replay_lines
from tests.conftest import event, event_json
from tests.unit.core.state_format2 import encode_state_format2


def _run(policy: Policy, *lines: str) -> list[dict[str, Any]]:
    return [{"rejected": r.reason} if isinstance(r, Rejection) else r for r in replay_lines(policy, list(lines))]


def test_a_rating_after_resolution_is_published_as_an_sla_rating_record(policy: Policy) -> None:
    """The record carries the ticket, customer, service, score and the rating's own time in the calendar's zone."""
    records = _run(
        policy,
        event_json("opened", "T", "2026-11-30T09:00:00", priority="P2", customer_id="acme", service_id="mail"),
        event_json("resolved", "T", "2026-11-30T09:20:00"),
        event_json("rated", "T", "2026-11-30T11:00:00", score=4, comment="quick and friendly"),
    )
    assert records[-1] == {"type": "sla.rating", "id": "T:rating", "schema_version": 1, "ticket_id": "T",
                           "customer_id": "acme", "service_id": "mail", "score": 4,
                           "at": "2026-11-30T11:00:00+08:00"}
    SlaRating.model_validate(records[-1])


@pytest.mark.parametrize(
    ("lines", "reason"),
    [
        # Not resolved yet: nothing to rate.
        ([("rated", "2026-11-30T09:30:00", {"score": 5})], "has not been resolved yet, so it cannot be rated"),
        # A second rating, with another event id.
        ([("resolved", "2026-11-30T09:20:00", {}), ("rated", "2026-11-30T10:00:00", {"score": 5}),
          ("rated", "2026-11-30T10:05:00", {"score": 1})], "already rated"),
    ],
)
def test_ratings_are_refused_before_resolution_and_after_the_first(
    policy: Policy, lines: list[tuple[str, str, dict[str, Any]]], reason: str
) -> None:
    """Only a ticket resolved at least once can be rated, and only once."""
    records = _run(policy, event_json("opened", "T", "2026-11-30T09:00:00", priority="P2"),
                   *(event_json(kind, "T", at, **fields) for kind, at, fields in lines))
    assert records[-1] == {"rejected": f"ticket 'T' {reason}"}
    assert sum(1 for r in records if r.get("type") == "sla.rating") == len([x for x in lines if x[0] == "rated"]) - 1


def test_a_reopened_ticket_can_still_be_rated_once(policy: Policy) -> None:
    """Resolved once is enough: a ticket rated after it was reopened gets its one rating."""
    records = _run(
        policy,
        event_json("opened", "T", "2026-11-30T09:00:00", priority="P2"),
        event_json("resolved", "T", "2026-11-30T09:20:00"),
        event_json("reopened", "T", "2026-11-30T09:40:00"),
        event_json("rated", "T", "2026-11-30T09:50:00", score=2),
    )
    assert [r["id"] for r in records if r.get("type") == "sla.rating"] == ["T:rating"]


@pytest.mark.parametrize(
    ("fields", "reason"),
    [
        ({"score": 0}, "score: Input should be greater than or equal to 1"),
        ({"score": 6}, "score: Input should be less than or equal to 5"),
        ({"score": 4.5}, "score: Input should be a valid integer"),  # strict: no floats
        ({"score": "4"}, "score: Input should be a valid integer"),  # strict: no strings
        ({"score": True}, "score: Input should be a valid integer"),
        ({}, "missing field 'score'"),
        ({"score": 3, "comment": "x" * 4001}, "comment: 4001 characters; the limit is 4000"),
    ],
)
def test_bad_ratings_are_refused_with_the_field_and_the_rule(fields: dict[str, Any], reason: str) -> None:
    """Scores are integers 1-5 (no floats, strings or booleans); comments have a length limit."""
    with pytest.raises(EventRejected) as caught:
        parse_event(event_json("rated", "T", "2026-11-30T09:50:00", **fields))
    assert caught.value.reason == reason


def test_the_rated_flag_survives_the_state_codec(policy: Policy) -> None:
    """A worker restarted from its table still refuses a second rating."""
    state = apply_event(None, event("opened", "T", "2026-11-30T09:00:00", priority="P2"), policy, 0).state
    assert state is not None
    for kind, at, fields in (("resolved", "2026-11-30T09:20:00", {}), ("rated", "2026-11-30T10:00:00", {"score": 5})):
        state = apply_event(state, event(kind, "T", at, **fields), policy, 0).state
        assert state is not None
    restored = decode_state(encode_state(state))
    assert restored.rated
    with pytest.raises(EventRejected, match="already rated"):
        apply_event(restored, event("rated", "T", "2026-11-30T10:01:00", score=3), policy, 0)
    older = json.loads(encode_state_format2(state))
    del older["rt"]  # written before ratings existed
    assert not decode_state(json.dumps(older).encode()).rated
