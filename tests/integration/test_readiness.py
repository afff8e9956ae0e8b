"""/health/ready follows the broker: 503 with a reason while Kafka is gone, 200 again by itself when it is back."""

from __future__ import annotations

import json
import time
from pathlib import Path

from tests.integration.conftest import Names, Worker, broker_down, broker_up, new_worker


def _ready(worker: Worker) -> tuple[int, dict[str, str], str]:
    status, body = worker.get("/health/ready")
    _, metrics = worker.get("/metrics")
    gauge = next((line for line in metrics.decode().splitlines() if line.startswith("sla_worker_ready ")), "")
    return status, json.loads(body or b"{}"), gauge


def test_ready_is_503_while_the_broker_is_stopped_and_recovers_by_itself(
    tmp_path: Path, names: Names, workers: list[Worker], private_broker: tuple[str, dict[str, str]],
) -> None:
    """Ready 200; broker stopped -> 503 "unavailable" with a reason within 15 s (gauge 0); started -> 200 again."""
    bootstrap, broker_env = private_broker
    worker = new_worker(workers, tmp_path, names, "a", env={"SLA_KAFKA_BOOTSTRAP": bootstrap})
    worker.wait_ready(120)
    assert _ready(worker)[0::2] == (200, "sla_worker_ready 1.0")

    broker_down(broker_env)
    stopped = time.monotonic()
    while (seen := _ready(worker))[0] != 503:
        assert time.monotonic() - stopped < 15, f"still {seen} {time.monotonic() - stopped:.0f} s after the stop"
        time.sleep(0.5)
    unready_after = time.monotonic() - stopped
    _, body, gauge = seen
    assert body["status"] == "unavailable"
    assert body["reason"].startswith("Kafka unreachable: "), body
    assert gauge == "sla_worker_ready 0.0"
    time.sleep(3)
    assert _ready(worker)[0] == 503, "readiness came back while the broker was still down"

    broker_up(broker_env)
    started = time.monotonic()
    while (seen := _ready(worker))[0] != 200:
        assert time.monotonic() - started < 60, f"still {seen} {time.monotonic() - started:.0f} s after the start"
        time.sleep(0.5)
    assert seen[1] == {"status": "ready"}
    assert seen[2] == "sla_worker_ready 1.0"
    print(f"\nreadiness: 503 {unready_after:.1f} s after the broker stopped, "
          f"200 again {time.monotonic() - started:.1f} s after it started")
