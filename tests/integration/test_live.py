"""Live monitoring on the real broker agrees with replay, on time."""

from __future__ import annotations

import time
from datetime import datetime
from pathlib import Path

import pytest

from monitor.core.records import SlaBreach, SlaOutcome, SlaRating, SlaWarning
from tests.integration.conftest import (
    Names,
    Producer,
    Worker,
    create_topics,
    new_worker,
    read_outputs,
    replay_records,
    run,
    ticket,
    wait_until,
)

pytestmark = pytest.mark.integration


def scenario(t0: float) -> list[tuple[float, dict]]:
    """Tickets covering the clock rules, at wall-clock offsets from t0 (seconds)."""
    at = lambda s: t0 + s  # noqa: E731
    return [
        # A: acknowledged and resolved in time.
        (0.0, ticket("opened", "A", at(0.0), priority="P1")),
        (3.0, ticket("acknowledged", "A", at(3.0))),
        (12.0, ticket("resolved", "A", at(12.0))),
        (13.0, ticket("rated", "A", at(13.0), score=4)),  # a customer rating: an sla.rating on the outcomes topic
        # B: never acknowledged: every warning, then both breaches.
        (0.5, ticket("opened", "B", at(0.5), priority="P1", customer_id="c1", service_id="mail")),
        # C: paused while waiting on the customer, acknowledged after the first warning.
        (1.0, ticket("opened", "C", at(1.0), priority="P2")),
        (2.0, ticket("paused", "C", at(2.0))),
        (6.0, ticket("resumed", "C", at(6.0))),
        (9.0, ticket("acknowledged", "C", at(9.0))),
        (21.0, ticket("resolved", "C", at(21.0))),  # its 50 % warning falls due at 20.0: never tie an event to a due instant
        # D: raised from P3 to P1 after P1's response deadline: breach at the change.
        (1.5, ticket("opened", "D", at(1.5), priority="P3")),
        (12.0, ticket("priority_changed", "D", at(12.0), priority="P1")),
        (22.0, ticket("resolved", "D", at(22.0))),
        # E: resolved, reopened, resolved again: two resolution outcomes.
        (2.0, ticket("opened", "E", at(2.0), priority="P1")),
        (4.0, ticket("acknowledged", "E", at(4.0))),
        (6.0, ticket("resolved", "E", at(6.0))),
        (8.0, ticket("reopened", "E", at(8.0))),
        (16.0, ticket("resolved", "E", at(16.0))),
    ]


def _key(record: dict) -> tuple:
    return (record["id"], record["type"], record["at"], record.get("deadline"), record.get("status"),
            record.get("score"))


@pytest.mark.parametrize("keyed", [True, False], ids=["keyed-by-ticket", "unkeyed-repartitioned"])
def test_live_equals_replay_and_is_on_time(tmp_path: Path, names: Names, workers: list[Worker], keyed: bool) -> None:
    """Events produced in real time yield replay's records; alerts within 1 s of due, warnings before the deadline."""
    run(create_topics(names, 4))
    worker = new_worker(workers, tmp_path, names, "a")
    worker.wait_ready()
    t0 = time.time() + 1.0
    producer = Producer(names)
    run(producer.send_all(scenario(t0), t0, keyed=keyed))
    end = t0 + 24.0
    wait_until(end + 1.5)
    outputs = [o for o in run(read_outputs(names)) if o.topic != names.dead_letter]
    live = {_key(o.record) for o in outputs}
    expected = {_key(r) for r in replay_records(producer.lines, end)}
    assert live == expected, f"missing {expected - live}\nextra {live - expected}\nlog:\n{worker.log_tail()}"
    assert len(outputs) == len(live)  # no id published twice
    assert {o.record["type"] for o in outputs} == {"sla.warning", "sla.breach", "sla.outcome", "sla.rating"}
    lateness = []
    models = {"sla.warning": SlaWarning, "sla.breach": SlaBreach, "sla.outcome": SlaOutcome, "sla.rating": SlaRating}
    for o in outputs:
        models[o.record["type"]].model_validate(o.record)
        assert o.headers["id"] == o.record["id"].encode()
        assert o.key == o.record["ticket_id"].encode()
        assert o.topic == {"sla.warning": names.warnings, "sla.breach": names.breaches, "sla.outcome": names.outcomes,
                           "sla.rating": names.outcomes}[o.record["type"]]
        if o.record["type"] in ("sla.warning", "sla.breach"):
            late = o.timestamp - datetime.fromisoformat(o.record["at"]).timestamp()
            lateness.append(late)
            assert late <= 1.0, f"{o.record['id']} published {late:.3f}s after due"
        if o.record["type"] == "sla.warning":
            assert o.timestamp < datetime.fromisoformat(o.record["deadline"]).timestamp()
    lateness.sort()
    print(f"\nalert lateness over {len(lateness)} alerts: p50 {lateness[len(lateness) // 2] * 1000:.0f} ms, "
          f"max {lateness[-1] * 1000:.0f} ms")
