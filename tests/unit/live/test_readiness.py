"""Readiness means able to process and publish now, and says why not."""

from __future__ import annotations

import pytest

from monitor.live.readiness import Readiness, metadata_problem, readiness

OK = {"recovered": True, "rebalancing": False, "broker_error": None, "publish_error": None,
      "publish_waiting_s": None, "stall_s": 10.0}


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({}, Readiness(True, "ready")),  # everything fine
        ({"publish_waiting_s": 9.0}, Readiness(True, "ready")),  # a publish waiting, not for long
        ({"recovered": False}, Readiness(False, "recovering", "table recovery or a rebalance is running")),
        ({"rebalancing": True}, Readiness(False, "recovering", "table recovery or a rebalance is running")),
        ({"broker_error": "no answer within 5 s"},
         Readiness(False, "unavailable", "Kafka unreachable: no answer within 5 s")),
        ({"publish_error": "[Error 7] RequestTimedOutError"},
         Readiness(False, "unavailable", "publishing fails: [Error 7] RequestTimedOutError")),
        ({"publish_waiting_s": 12.4},
         Readiness(False, "unavailable", "a batch's publish has waited 12 s for the broker's acknowledgement")),
        ({"broker_error": "down", "recovered": False},  # the broker is the more useful reason
         Readiness(False, "unavailable", "Kafka unreachable: down")),
    ],
)
def test_readiness_table(change: dict[str, object], expected: Readiness) -> None:
    """Each condition alone decides readiness, status and reason as the table says."""
    assert readiness(**{**OK, **change}) == expected  # type: ignore[arg-type]


def test_body_carries_the_reason_only_when_not_ready() -> None:
    """The /health/ready body is {"status": "ready"} or the status with its reason."""
    assert Readiness(True, "ready").body() == {"status": "ready"}
    assert Readiness(False, "unavailable", "x").body() == {"status": "unavailable", "reason": "x"}


def test_metadata_problems_are_named() -> None:
    """A topic error or a partition without a leader is a reason; a healthy answer is none."""
    healthy = [(0, "a", False, [(0, 0, 1, [1], [1], [])]), (0, "b", [(0, 0, 1, [1], [1])])]
    assert metadata_problem(healthy) is None
    assert metadata_problem([(3, "gone", False, [])]) == "topic gone: UnknownTopicOrPartitionError"
    assert metadata_problem([(0, "a", False, [(5, 2, -1, [1], [], [])])]) == "topic a partition 2 has no leader"
