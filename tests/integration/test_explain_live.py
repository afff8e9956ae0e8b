"""`sla-monitor explain` without --events reads the ticket's messages from the input topic."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

import pytest

from tests.integration.conftest import REPO, SECONDS_POLICY, Names, Producer, create_topics, run, ticket


def test_explain_reads_a_tickets_keyed_and_unkeyed_messages_from_the_topic(names: Names) -> None:
    """The timeline of a ticket sent partly keyed, partly unkeyed, with other tickets around it, from the topic."""
    run(create_topics(names, 2))
    t0 = time.time() - 60
    producer = Producer(names)
    run(producer.send_all([(0.0, ticket("opened", "X", t0, priority="P1")),
                           (0.0, ticket("opened", "Y", t0 + 1, priority="P2"))], 0.0))
    run(producer.send_all([(0.0, ticket("acknowledged", "X", t0 + 4)),
                           (0.0, ticket("resolved", "X", t0 + 30))], 0.0, keyed=False))
    env = {**os.environ, **names.env()}
    result = subprocess.run([sys.executable, "-m", "monitor.cli", "explain", "--policy", str(SECONDS_POLICY),
                             "--json", "X"], capture_output=True, text=True, cwd=REPO, env=env, timeout=60, check=False)
    assert result.returncode == 0, result.stderr
    timeline = json.loads(result.stdout)
    assert [e["type"] for e in timeline["events"]] == ["ticket.opened", "ticket.acknowledged", "ticket.resolved"]
    outcomes = {r["id"]: r for r in timeline["records"] if r["type"] == "sla.outcome"}
    assert outcomes["X:response:outcome"]["status"] == "met"  # 4 s of 10 s
    assert outcomes["X:resolution:outcome"]["status"] == "breached"  # 30 s of 20 s
    used = {c["metric"]: c["used_seconds"] for c in timeline["clocks"]}
    assert used == {"response": pytest.approx(4.0, abs=1e-5), "resolution": pytest.approx(30.0, abs=1e-5)}
