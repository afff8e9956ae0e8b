"""A worker on the real broker escalates breached clocks on the breaches topic, as replay does, on time."""

from __future__ import annotations

import time
import urllib.request
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families

from monitor.core.instants import to_us
from monitor.core.policy import load_policy
from monitor.core.records import SlaBreach, SlaEscalation, SlaOutcome, SlaWarning
from monitor.core.replay import Rejection, replay_lines
from tests.integration.conftest import (
    Names,
    Producer,
    Worker,
    create_topics,
    new_worker,
    read_outputs,
    run,
    ticket,
    wait_until,
)

pytestmark = pytest.mark.integration
POLICY = Path(__file__).resolve().parent / "policy.escalations.yaml"


def _key(record: dict[str, Any]) -> tuple[Any, ...]:
    return (record["id"], record["type"], record["at"], record.get("deadline"), record.get("status"),
            record.get("level"), record.get("to"), tuple(record.get("retracts") or ()))


def _escalated(worker: Worker) -> dict[tuple[str, str], float]:
    """``sla_escalated_open_clocks`` (response clocks) and ``sla_escalations_published_total`` by level."""
    with urllib.request.urlopen(f"http://127.0.0.1:{worker.port}/metrics", timeout=5) as response:
        text = response.read().decode()
    return {(s.name, s.labels["level"]): s.value for family in text_string_to_metric_families(text)
            for s in family.samples
            if s.name in ("sla_escalated_open_clocks", "sla_escalations_published_total")
            and s.labels.get("metric") == "response"}


def test_the_worker_publishes_escalations_on_the_breaches_topic(tmp_path: Path, names: Names,
                                                               workers: list[Worker]) -> None:
    """P1 response clocks (4 s, escalations at +2 s and +4 s): one acknowledged between its two escalations, one
    after its breach only, one whose late acknowledgement (dated before the deadline) retracts breach and both
    escalations. Live records equal replay's, escalations go to the breaches topic within 1 s of due, and the
    metrics count escalated clocks and published escalations."""
    run(create_topics(names, 2))
    worker = new_worker(workers, tmp_path, names, "a", policy=POLICY)
    worker.wait_ready()
    t0 = time.time() + 1.0
    at = lambda s: t0 + s  # noqa: E731
    producer = Producer(names)
    first = [
        (0.0, ticket("opened", "A", at(0.0), priority="P1", customer_id="acme")),
        (0.2, ticket("opened", "B", at(0.2), priority="P1")),
        (0.4, ticket("opened", "C", at(0.4), priority="P1")),
        (5.0, ticket("acknowledged", "B", at(5.0))),  # after B's breach (4.2), before its escalation (6.2)
        (7.0, ticket("acknowledged", "A", at(7.0))),  # between A's escalations (6.0 and 8.0)
    ]
    run(producer.send_all(first, t0))
    wait_until(at(9.3))  # C escalated twice (6.4, 8.4); A and B stopped
    during = _escalated(worker)
    late = [
        # Replay's event time reaches 9.5 with A's resolution before it reads C's late acknowledgement, as live.
        (9.5, ticket("resolved", "A", at(9.5))),
        (9.7, ticket("acknowledged", "C", at(3.0))),  # read at 9.7, dated before C's deadline (4.4)
        (9.8, ticket("resolved", "B", at(9.8))),
        (9.9, ticket("resolved", "C", at(9.9))),  # resolution clocks end before their 50 % (10 s after opening)
    ]
    run(producer.send_all(late, t0))
    end = at(11.0)
    wait_until(end + 1.5)
    outputs = [o for o in run(read_outputs(names)) if o.topic != names.dead_letter]
    until = to_us(datetime.fromtimestamp(end, UTC))
    replayed = [r for r in replay_lines(load_policy(POLICY), producer.lines, until) if not isinstance(r, Rejection)]
    live = {_key(o.record) for o in outputs}
    expected = {_key(r) for r in replayed}
    assert live == expected, f"missing {expected - live}\nextra {live - expected}\nlog:\n{worker.log_tail()}"
    assert len(outputs) == len(live)  # no id published twice

    escalations = sorted((o for o in outputs if o.record["type"] == "sla.escalation"), key=lambda o: o.record["at"])
    assert [o.record["id"] for o in escalations] == ["A:response:escalation:1", "C:response:escalation:1",
                                                     "C:response:escalation:2"]
    models = {"sla.warning": SlaWarning, "sla.breach": SlaBreach, "sla.escalation": SlaEscalation,
              "sla.outcome": SlaOutcome}
    for o in outputs:
        models[o.record["type"]].model_validate(o.record)
    for o in escalations:
        assert (o.topic, o.key, o.headers["id"]) == (names.breaches, o.record["ticket_id"].encode(),
                                                     o.record["id"].encode())
        lateness = o.timestamp - datetime.fromisoformat(o.record["at"]).timestamp()
        assert lateness <= 1.0, f"{o.record['id']} published {lateness:.3f}s after due"
    assert escalations[0].record["customer_id"] == "acme"
    assert [o.record["to"] for o in escalations] == ["team-lead", "team-lead", "duty-manager"]
    outcomes = {o.record["ticket_id"]: o.record for o in outputs if o.record["id"].endswith(":response:outcome")}
    assert (outcomes["A"]["status"], outcomes["A"].get("retracts")) == ("breached", None)
    assert outcomes["C"]["status"] == "met"
    assert outcomes["C"]["retracts"][-3:] == ["C:response:breach", "C:response:escalation:1",
                                              "C:response:escalation:2"]

    # At 9.3 s only C's response clock was open and past both escalations; A's and C's went out by then.
    assert (during[("sla_escalated_open_clocks", "1")], during[("sla_escalated_open_clocks", "2")]) == (1, 1)
    assert (during[("sla_escalations_published_total", "1")], during[("sla_escalations_published_total", "2")]) == (2, 1)
    after = _escalated(worker)
    assert (after[("sla_escalated_open_clocks", "1")], after[("sla_escalated_open_clocks", "2")]) == (0, 0)
