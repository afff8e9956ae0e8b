"""`sla-monitor tail` (the demo's printer) reaches a pipe line by line, within a second of publication."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time

from aiokafka import AIOKafkaProducer

from tests.integration.conftest import BOOTSTRAP, REPO, Names, create_topics, run
from tests.unit.cli.test_streaming_output import buffered_env, read_line_within


async def _publish(topic: str, record: dict[str, object]) -> float:
    producer = AIOKafkaProducer(bootstrap_servers=BOOTSTRAP, acks="all")
    await producer.start()
    try:
        await producer.send_and_wait(topic, json.dumps(record).encode(), key=b"T-1")
        return time.monotonic()
    finally:
        await producer.stop()


def _following(stderr: object, seconds: float) -> bytes | None:
    """tail's line saying it follows the topics, skipping the client's warnings before it (a topic not in the
    metadata yet), if it comes within ``seconds``."""
    deadline = time.monotonic() + seconds
    while (left := deadline - time.monotonic()) > 0:
        line = read_line_within(stderr, left)
        if line is None or line.startswith(b"tail: following"):
            return line
    return None


def test_tail_to_a_pipe_prints_each_record_within_a_second(names: Names) -> None:
    """With stdout a pipe (as in `make demo | tee demo.log`), a published warning shows up in under a second."""
    run(create_topics(names, 2))
    env = {**buffered_env(), **names.env()}
    assert "PYTHONUNBUFFERED" not in env
    # Ctrl-C as at a terminal, whatever the test run inherited: a shell without job control starts its
    # background commands with SIGINT ignored, and children keep that.
    with subprocess.Popen([sys.executable, "-m", "monitor.cli", "tail"], stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, cwd=REPO, env=env,
                          preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL)) as process:
        assert process.stdout is not None
        assert process.stderr is not None
        try:
            ready = _following(process.stderr, 30.0)
            assert ready is not None, "tail never said it follows the topics"
            record = {"type": "sla.warning", "id": "T-1:response:warning:0.5", "schema_version": 1,
                      "ticket_id": "T-1", "metric": "response", "priority": "P1", "threshold": 0.5,
                      "at": "2026-11-30T09:07:30+08:00", "deadline": "2026-11-30T09:15:00+08:00"}
            published = run(_publish(names.warnings, record))
            line = read_line_within(process.stdout, 5.0)
            seen = time.monotonic()
        finally:
            process.send_signal(signal.SIGINT)
            try:
                process.wait(15)
            except subprocess.TimeoutExpired:
                process.kill()
                raise AssertionError("tail did not stop within 15 s of Ctrl-C") from None
    assert line is not None, "the record never reached the pipe"
    assert line.decode().rstrip("\n") == "09:07:30  WARN 50%  T-1 response P1  deadline 09:15:00"
    assert seen - published < 1.0, f"{seen - published:.2f} s from publication to the pipe"
