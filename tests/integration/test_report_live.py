"""`sla-monitor report` against the real broker: it reads the output topics to their end and publishes reports."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType
from aiokafka.structs import TopicPartition

from monitor.live.kafka import ensure_topics
from monitor.live.settings import Settings
from tests.integration.conftest import BOOTSTRAP, REPO, Names, create_topics, partition_counts, run
from tests.unit.core.test_report import POLICY, breach, outcome, rating, service_outcome

RECORDS: list[dict[str, Any]] = [
    outcome("A", "response", "met", "2026-11-02T10:00:00"),
    outcome("B", "response", "breached", "2026-11-02T11:00:00"),
    breach("B", "response", "2026-11-02T10:30:00", priority="P1"),
    breach("C", "resolution", "2026-11-03T10:30:00", priority="P3"),
    outcome("C", "resolution", "met", "2026-11-03T10:40:00", priority="P3", retracts=["C:resolution:breach"]),
    rating("A", 5, "2026-11-04T09:00:00"),
    service_outcome("mail", "2026-11", "met", 0.9995, 1296.0),
]


async def _publish(names: Names) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=BOOTSTRAP, acks="all")
    await producer.start()
    try:
        for record in RECORDS:
            topic = {"sla.breach": names.breaches}.get(record["type"], names.outcomes)
            key = (record.get("ticket_id") or record["service_id"]).encode()
            await producer.send_and_wait(topic, json.dumps(record).encode(), key=key)
        await producer.send_and_wait(names.warnings, b"not json at all")
    finally:
        await producer.stop()


async def _reports(topic: str) -> list[tuple[bytes | None, dict[str, Any]]]:
    [count] = (await partition_counts([topic])).values()
    assert count == 1  # created by the report command, not auto-created by a metadata request
    consumer = AIOKafkaConsumer(bootstrap_servers=BOOTSTRAP, enable_auto_commit=False, auto_offset_reset="earliest")
    await consumer.start()
    try:
        partition = TopicPartition(topic, 0)
        consumer.assign([partition])
        await consumer.seek_to_beginning(partition)
        out: list[tuple[bytes | None, dict[str, Any]]] = []
        for _ in range(10):
            batch = await consumer.getmany(partition, timeout_ms=1000)
            out += [(m.key, json.loads(m.value or b"")) for m in batch.get(partition, [])]
            if out and not batch:
                break
        return out
    finally:
        await consumer.stop()


def _run(names: Names, policy: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, **names.env(), "SLA_TOPIC_REPORTS": f"{names.outcomes}.reports"}
    return subprocess.run([sys.executable, "-m", "monitor.cli", "report", "--policy", str(policy), "--month",
                           "2026-11", *args], cwd=REPO, env=env, capture_output=True, text=True, timeout=60, check=False)


def test_report_reads_the_output_topics_and_publishes_to_the_reports_topic(names: Names, tmp_path: Path) -> None:
    """Records on the warning/breach/outcome topics give the same report as the file; --publish keys it by id."""
    policy = tmp_path / "policy.yaml"
    policy.write_text(POLICY)
    run(create_topics(names, 2))
    run(_publish(names))
    result = _run(names, policy, "--customer", "acme")
    assert result.returncode == 2  # the garbage on the warnings topic names where it is
    assert f"topic {names.warnings} partition" in result.stderr
    assert "not valid JSON" in result.stderr

    names.warnings = names.dead_letter  # an empty topic instead: everything else stays
    result = _run(names, policy, "--customer", "acme", "--publish")
    assert result.returncode == 0, result.stderr
    assert f"report: read {len(RECORDS)} records from" in result.stderr
    [live] = [json.loads(line) for line in result.stdout.splitlines()]
    records = tmp_path / "records.jsonl"
    records.write_text("".join(json.dumps(r) + "\n" for r in RECORDS))
    from_file = _run(names, policy, "--customer", "acme", "--records", str(records))
    assert json.loads(from_file.stdout) == live
    assert [b["id"] for b in live["breaches"]] == ["B:response:breach"]  # C's is retracted
    assert live["credits"]["total"] == "1200.00"
    assert f"report: published 1 reports to {names.outcomes}.reports" in result.stderr, result.stderr
    published = run(_reports(f"{names.outcomes}.reports"))
    assert published == [(b"acme:2026-11", live)]


def test_output_topics_are_created_with_long_retention(names: Names) -> None:
    """The worker's topic set-up gives warnings, breaches, outcomes and reports 400 days of retention by default."""
    settings = Settings(kafka_bootstrap=BOOTSTRAP, app_id=names.app_id, topic_events=names.events,
                        topic_probes=names.probes, topic_warnings=names.warnings, topic_breaches=names.breaches,
                        topic_outcomes=names.outcomes, topic_dead_letter=names.dead_letter,
                        topic_reports=f"{names.outcomes}.reports")

    async def retention() -> dict[str, str]:
        await ensure_topics(settings)
        admin = AIOKafkaAdminClient(bootstrap_servers=BOOTSTRAP)
        await admin.start()
        try:
            topics = [names.warnings, names.breaches, names.outcomes, f"{names.outcomes}.reports", names.events]
            responses = await admin.describe_configs(
                [ConfigResource(ConfigResourceType.TOPIC, t, configs={"retention.ms": None}) for t in topics])
            found = {}
            for response in responses:
                for resource in response.resources:
                    for entry in resource[4]:
                        if entry[0] == "retention.ms":
                            found[resource[3]] = entry[1]
            return found
        finally:
            await admin.close()

    found = run(retention())
    days_400 = str(400 * 86_400_000)
    assert found[names.outcomes] == found[names.breaches] == found[names.warnings] == days_400
    assert found[f"{names.outcomes}.reports"] == days_400
    assert found[names.events] != days_400  # input topics keep the broker's default
