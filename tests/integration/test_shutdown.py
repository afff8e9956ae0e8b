"""Stopping a worker cannot hang, even with the broker gone.

Without a guard, a worker told to stop while Kafka is unreachable and alerts are
due waits forever ("Wait for streams...": the alerts' publish retries), and mode
ignores a second signal. With it: a clean stop when the broker is there; after
`shutdown_timeout_s` an exit without the clean steps (as kill -9, which loses
nothing); at a second signal an exit at once.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

from tests.integration.conftest import Names, Producer, Worker, broker_down, new_worker, run, ticket

TIMEOUT_S = float(os.environ.get("SLA_TEST_SHUTDOWN_TIMEOUT_S", "4"))  # a huge value shows the hang it guards


def _exit_after(worker: Worker, *signals: signal.Signals, gap: float = 0.5, limit: float = 30.0) -> tuple[int, float]:
    """Send the signals ``gap`` seconds apart; return the exit status and seconds from the first signal."""
    assert worker.process is not None
    started = time.monotonic()
    for i, signum in enumerate(signals):
        if i:
            time.sleep(gap)
        worker.process.send_signal(signum)
    try:
        status = worker.process.wait(limit)
    except subprocess.TimeoutExpired:
        raise AssertionError(f"worker still running {limit}s after the signal; log:\n{worker.log_tail()}") from None
    return status, time.monotonic() - started


def test_stop_is_clean_with_the_broker_and_bounded_without(
    tmp_path: Path, names: Names, workers: list[Worker], private_broker: tuple[str, dict[str, str]],
) -> None:
    bootstrap, broker_env = private_broker
    env = {"SLA_KAFKA_BOOTSTRAP": bootstrap, "SLA_SHUTDOWN_TIMEOUT_S": str(TIMEOUT_S)}
    clean, patient, impatient = (new_worker(workers, tmp_path, names, name, env=env)
                                 for name in ("clean", "patient", "impatient"))
    for worker in (clean, patient, impatient):
        worker.wait_ready(120)

    status, took = _exit_after(clean, signal.SIGTERM)
    assert status == 0, clean.log_tail()
    assert "clean stop took too long" not in clean.log_tail(400)
    assert took < TIMEOUT_S

    # Tickets whose first warning (P3 response 40 s: 20 s) falls due 10 s from now,
    # after the broker has gone: each worker then has alerts it cannot publish.
    due = time.time() + 10
    opened = [(0.0, ticket("opened", f"T{i}", due - 20, priority="P3")) for i in range(40)]
    run(Producer(names, bootstrap).send_all(opened, time.time()))
    deadline = time.monotonic() + 20
    while not all(w.stats()["pending_wakeups"] for w in (patient, impatient)):
        assert time.monotonic() < deadline, "the workers did not take the tickets"
        time.sleep(0.2)
    broker_down(broker_env)
    assert time.time() < due, "the broker stopped after the alerts fell due: the test proves nothing"
    time.sleep(due - time.time() + 2)

    outage = time.monotonic()
    status, took = _exit_after(patient, signal.SIGTERM)
    assert status == 1
    assert "clean stop took too long: exiting without it (is Kafka reachable? is a publish being retried?)" in patient.log_tail(400)
    assert TIMEOUT_S <= took < TIMEOUT_S + 5

    status, took = _exit_after(impatient, signal.SIGINT, signal.SIGINT)
    assert status == 1
    assert "second stop signal: exiting without a clean stop" in impatient.log_tail(400)
    assert took < TIMEOUT_S

    # aiokafka logs each failed retry (~80 lines a second); the log keeps one of
    # each kind per 10 s window, and says how many it held back.
    seconds = time.monotonic() - outage + 4
    errors = [line for line in patient.log_tail(100_000).splitlines() if "[ERROR]" in line]
    kinds = {line.split("[ERROR]", 1)[1].split(":", 1)[0] for line in errors}
    assert len(errors) <= len(kinds) * (seconds / 10 + 2), f"{len(errors)} error lines in {seconds:.0f} s: {kinds}"
    assert "--- Logging error ---" not in patient.log_tail(100_000)
