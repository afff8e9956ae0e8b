"""The simulator produces a realistic, valid stream the worker turns into alerts and outcomes."""

from __future__ import annotations

import os
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

from tests.integration.conftest import (
    BOOTSTRAP,
    REPO,
    Names,
    Worker,
    new_worker,
    read_outputs,
    run,
)

pytestmark = pytest.mark.integration
TINY_POLICY = Path(__file__).with_name("policy.tiny.yaml")


def test_simulated_stream_is_valid_and_monitored(tmp_path: Path, names: Names, workers: list[Worker]) -> None:
    """`sla-monitor simulate` sends valid lifecycles (no dead letters) covering every event type, and the worker publishes outcomes."""
    new_worker(workers, tmp_path, names, "a", policy=TINY_POLICY).wait_ready()
    env = {**os.environ, **names.env(), "SLA_POLICY": str(TINY_POLICY), "SLA_KAFKA_BOOTSTRAP": BOOTSTRAP}
    done = subprocess.run(
        [sys.executable, "-m", "monitor.cli", "simulate", "--rate", "10", "--duration", "4", "--seed", "3"],
        env=env, cwd=REPO, capture_output=True, text=True, timeout=120, check=True,
    )
    assert "events sent" in done.stderr
    outputs = run(read_outputs(names, idle=3.0))
    kinds = Counter(o.record["type"] for o in outputs)
    assert kinds["sla.dead_letter"] == 0, [o.record for o in outputs if o.topic == names.dead_letter]
    assert kinds["sla.outcome"] > 20
    assert kinds["sla.warning"] > 0
    assert kinds["sla.breach"] > 0  # some acknowledged late
    counts = workers[0].stats()["counts"]
    for kind in ("opened", "acknowledged", "resolved", "paused", "resumed"):
        assert counts.get(f"event.ticket.{kind}", 0) > 0, counts
