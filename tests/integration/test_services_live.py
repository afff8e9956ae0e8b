"""Service availability live on the real broker: an outage in real time fires its budget alerts on time."""

from __future__ import annotations

import base64
import json
import time
from datetime import datetime
from pathlib import Path

import pytest

from monitor.records import ServiceBreach, ServiceWarning
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
