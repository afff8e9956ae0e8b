"""Service availability live on the real broker: an outage in real time fires its budget alerts on time."""

from __future__ import annotations

import base64
import json
import time
from datetime import datetime
from pathlib import Path

import pytest

from monitor.core.records import ServiceBreach, ServiceWarning
from tests.integration.conftest import (
    Names,
    Producer,
    Worker,
    create_topics,
    iso,
    new_worker,
    probe,
    read_outputs,
    replay_records,
    run,
    wait_until,
)

pytestmark = pytest.mark.integration


def test_outage_fires_budget_warnings_and_breach_within_a_second(
    tmp_path: Path, names: Names, workers: list[Worker]
) -> None:
    """Two locations failing for 6 s with a ~2.6 s budget: every warning and the breach, each within 1 s of due."""
    run(create_topics(names, 4))
    worker = new_worker(workers, tmp_path, names, "a")
    worker.wait_ready()
    t0 = time.time() + 1.0
    late_window = {"type": "maintenance.scheduled", "event_id": "mw-1", "service_id": "shop",
                   "occurred_at": iso(t0 + 0.2), "starts_at": iso(t0 + 1.0), "ends_at": iso(t0 + 3.0)}
    items = [
        (0.0, probe("shop", "a", t0, ok=True)),
        (0.0, probe("shop", "b", t0, ok=True)),
        (0.2, late_window),  # two seconds' notice: accepted, excludes nothing
        (0.5, probe("shop", "a", t0 + 0.5, ok=False)),  # one of two: not down
        (1.0, probe("shop", "b", t0 + 1.0, ok=False)),  # both: down from here
        (1.2, probe("crm", "a", t0 + 1.2, ok=False)),  # a 1 % budget: no alert within the test
        (2.0, probe("shop", "b", t0 + 2.0, ok=None)),  # no `ok`: a dead letter, the outage goes on
        (7.0, probe("shop", "a", t0 + 7.0, ok=True)),
        (7.0, probe("shop", "b", t0 + 7.0, ok=True)),
    ]
    producer = Producer(names)
    run(producer.send_all(items, t0, keyed=False))
    end = t0 + 8.0
    wait_until(end + 1.5)
    outputs = run(read_outputs(names))
    alerts = [o for o in outputs if o.topic in (names.warnings, names.breaches)]
    expected = [r for r in replay_records(producer.lines, end) if r["type"] != "sla.outcome"]
    assert sorted(o.record["id"] for o in alerts) == sorted(r["id"] for r in expected), worker.log_tail()
    assert {(o.record["id"], o.record["at"]) for o in alerts} == {(r["id"], r["at"]) for r in expected}
    period = alerts[0].record["period"]
    assert sorted(o.record["id"] for o in alerts) == sorted(
        [f"shop:availability:{period}:warning:{t}" for t in (0.5, 0.75, 0.9)] + [f"shop:availability:{period}:breach"]
    )
    for o in alerts:
        model = ServiceBreach if o.record["type"] == "sla.breach" else ServiceWarning
        model.model_validate(o.record)
        assert o.key == b"shop"
        assert o.headers["id"] == o.record["id"].encode()
        due = datetime.fromisoformat(o.record["at"]).timestamp()
        assert due >= t0 + 1.0 + 1.0  # budget drains from the second failure, never during the late window
        late = o.timestamp - due
        assert -0.05 <= late <= 1.0, f"{o.record['id']} published {late:.3f}s after due"
    letters = [o.record for o in outputs if o.topic == names.dead_letter]
    assert [(d["kind"], d["reason"]) for d in letters] == [("malformed", "missing field 'ok'")]
    assert json.loads(base64.b64decode(letters[0]["original_b64"]))["probe_id"] == "b"
    assert letters[0]["source"]["topic"] == names.probes
    stats = worker.stats()["counts"]
    assert stats["event.probe.result"] == 7
    assert stats["event.maintenance.scheduled"] == 1


def test_budget_alerts_due_while_the_worker_is_dead_come_after_restart(
    tmp_path: Path, names: Names, workers: list[Worker]
) -> None:
    """kill -9 while a service is down: after a restart the breach goes out at its exact instant, nothing is lost.

    As for tickets, alerts that fell due while nobody watched may be folded into the most severe one.
    """
    run(create_topics(names, 4))
    first = new_worker(workers, tmp_path, names, "a", instance_id="svc-a")
    first.wait_ready()
    t0 = time.time() + 1.0
    producer = Producer(names)
    run(producer.send_all([(0.0, probe("shop", "a", t0, ok=True)), (1.0, probe("shop", "a", t0 + 1.0, ok=False))], t0))
    wait_until(t0 + 1.6)  # the 0.5 warning (t0 + 2.3) is not due yet
    first.kill()
    killed_at = time.time()
    wait_until(t0 + 6.0)  # every level falls due while nobody watches
    first.start()  # same instance id, folder and address
    first.wait_ready()
    run(producer.send_all([(8.0, probe("shop", "a", t0 + 8.0, ok=True))], t0))
    end = t0 + 9.0
    wait_until(end + 1.5)
    outputs = [o for o in run(read_outputs(names)) if o.topic in (names.warnings, names.breaches)]
    alerts = [o.record for o in outputs]
    expected = {r["id"]: r for r in replay_records(producer.lines, end) if r["type"] != "sla.outcome"}
    assert len(expected) == 4
    breach = f"shop:availability:{alerts[0]['period']}:breach" if alerts else "none"
    published = {r["id"]: r["at"] for r in alerts}
    assert published.get(breach) == expected[breach]["at"], (alerts, list(expected.values()))
    for record_id, at in published.items():
        assert at == expected[record_id]["at"]
    for record_id in expected.keys() - published.keys():  # folded: only if due while the worker was dead
        assert datetime.fromisoformat(expected[record_id]["at"]).timestamp() >= killed_at - 0.5
    severity = list(expected).index  # replay's order: 0.5, 0.75, 0.9, breach
    for later in outputs:  # never a less severe alert after a more severe one (two topics: compare broker times)
        for earlier in outputs:
            if severity(earlier.record["id"]) > severity(later.record["id"]):
                assert earlier.timestamp >= later.timestamp, (earlier.record["id"], later.record["id"])
    assert len(alerts) - len(published) <= 1  # a crash between publish and record may repeat one
