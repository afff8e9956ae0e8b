"""The fault tests' order check (tests/integration/test_faults.py) judges publication order, not reading order."""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import replace
from datetime import UTC, datetime

import pytest

from tests.integration.conftest import Output, publication_order, replay_records, ticket
from tests.integration.test_faults import _check_against_replay

T0 = datetime(2026, 11, 30, 9, 0, tzinfo=UTC).timestamp()
END = T0 + 36.0  # a P2 ticket of the seconds policy: response 14 s, resolution 30 s
LINES = [json.dumps(ticket("opened", "F2", T0, priority="P2"))]
TOPICS = {"sla.warning": "t.warnings", "sla.breach": "t.breaches", "sla.outcome": "t.outcomes"}
BREACHES_FIRST = ["t.breaches", "t.warnings", "t.outcomes"]
WARNINGS_FIRST = ["t.warnings", "t.breaches", "t.outcomes"]
WARNING_09, BREACH = "F2:response:warning:0.9", "F2:response:breach"


def _published() -> dict[str, Output]:
    """By id, what a worker publishes for ``LINES``: each record replay expects, stamped (in ms) at its own
    instant, one partition per topic, in order."""
    offsets: Counter[str] = Counter()
    out = {}
    for record in replay_records(LINES, END):
        topic = TOPICS[record["type"]]
        stamp = round(datetime.fromisoformat(record["at"]).timestamp(), 3)
        out[record["id"]] = Output(topic, 0, offsets[topic], stamp, b"F2", {}, record)
        offsets[topic] += 1
    return out


def _read(published: dict[str, Output], topics: list[str]) -> list[Output]:
    """The records as a consumer may hand them over: topic after topic, each partition in offset order."""
    return sorted(published.values(), key=lambda o: (topics.index(o.topic), o.partition, o.offset))


def test_a_level_and_its_breach_sent_in_one_millisecond_are_in_order_whichever_topic_is_read_first() -> None:
    """A worker that stalled past both due instants sends them in one batch, stamped alike; read back either way round,
    they are in publication order."""
    published = _published()
    same_ms = published[BREACH].timestamp + 0.405  # published late, together
    for record_id in (WARNING_09, BREACH):
        published[record_id] = replace(published[record_id], timestamp=same_ms)
    for topics in (BREACHES_FIRST, WARNINGS_FIRST):
        assert _check_against_replay(_read(published, topics), LINES, END) == ([], [])


def test_a_breach_stamped_before_its_last_warning_still_fails() -> None:
    """A millisecond apart is an order: a warning stamped after its clock's breach still fails the check."""
    published = _published()
    published[WARNING_09] = replace(published[WARNING_09], timestamp=published[BREACH].timestamp + 0.001)
    with pytest.raises(AssertionError, match=r"F2:response: a lesser alert after a more severe one: \[1, 2, 4, 3\]"):
        _check_against_replay(_read(published, WARNINGS_FIRST), LINES, END)


def test_two_warnings_of_one_millisecond_keep_their_partition_order() -> None:
    """Within one partition the offsets tell the order: 0.9 written before 0.75 fails even in one millisecond."""
    published = _published()
    w075, w09 = published["F2:response:warning:0.75"], published[WARNING_09]
    published["F2:response:warning:0.75"] = replace(w075, timestamp=w09.timestamp, offset=w09.offset)
    published[WARNING_09] = replace(w09, offset=w075.offset)
    with pytest.raises(AssertionError, match=r"F2:response: a lesser alert after a more severe one: \[1, 3, 2, 4\]"):
        _check_against_replay(_read(published, WARNINGS_FIRST), LINES, END)


def test_publication_order_puts_an_outcome_after_the_breach_of_its_millisecond() -> None:
    """The notifier's merge rule: timestamp, then warning < breach < escalation < outcome."""
    breach = Output("t.breaches", 0, 5, 10.0, None, {}, {"type": "sla.breach", "id": "X:response:breach"})
    outcome = Output("t.outcomes", 0, 1, 10.0, None, {}, {"type": "sla.outcome", "id": "X:response:outcome"})
    warning = Output("t.warnings", 0, 9, 9.999, None, {}, {"type": "sla.warning", "id": "X:response:warning:0.9"})
    assert publication_order([outcome, breach, warning]) == [warning, breach, outcome]
