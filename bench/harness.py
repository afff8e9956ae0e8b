"""What the live benchmarks share: topics, producing, a worker process, its figures, reading alerts back.

Everything talks to the local broker (SLA_KAFKA_BOOTSTRAP, default 127.0.0.1:9092)
and starts workers as `python -m monitor.cli worker` processes, as a user would.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.request
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.structs import TopicPartition

REPO = Path(__file__).resolve().parents[1]
BOOTSTRAP = os.environ.get("SLA_KAFKA_BOOTSTRAP", "127.0.0.1:9092")
# The first worker's web port (more use the next ones): set it apart when benchmarks run side by side.
BENCH_PORT = int(os.environ.get("SLA_BENCH_PORT", "6090"))


def iso(at: float) -> str:
    """RFC 3339 UTC text of a Unix time."""
    return datetime.fromtimestamp(at, UTC).isoformat()


def parse_at(text: str) -> float:
    """Unix time of an RFC 3339 text."""
    return datetime.fromisoformat(text).timestamp()


async def create(topics: Sequence[str], partitions: int) -> None:
    """Create topics with ``partitions`` partitions."""
    admin = AIOKafkaAdminClient(bootstrap_servers=BOOTSTRAP)
    await admin.start()
    try:
        await admin.create_topics([NewTopic(t, partitions, 1) for t in topics])
    finally:
        await admin.close()


async def produce(topic: str, lines: Sequence[tuple[bytes | None, bytes]]) -> float:
    """Send keyed messages as fast as the producer batches them; return the seconds it took (acks=all)."""
    producer = AIOKafkaProducer(bootstrap_servers=BOOTSTRAP, acks="all", linger_ms=20, max_batch_size=256 * 1024)
    await producer.start()
    began = time.perf_counter()
    try:
        for key, value in lines:
            await producer.send(topic, value, key=key)
        await producer.flush()
    finally:
        await producer.stop()
    return time.perf_counter() - began


async def read_all(topics: Sequence[str], idle_s: float = 2.0) -> list[tuple[float, dict]]:
    """(broker timestamp, record) of every message on ``topics``, read until ``idle_s`` pass without one."""
    admin = AIOKafkaAdminClient(bootstrap_servers=BOOTSTRAP)
    await admin.start()
    try:
        described = await admin.describe_topics(list(topics))
    finally:
        await admin.close()
    tps = [TopicPartition(t["topic"], p["partition"]) for t in described for p in t["partitions"]]
    consumer = AIOKafkaConsumer(bootstrap_servers=BOOTSTRAP, enable_auto_commit=False)
    await consumer.start()
    out: list[tuple[float, dict]] = []
    try:
        consumer.assign(tps)
        await consumer.seek_to_beginning(*tps)
        while True:
            batch = await consumer.getmany(timeout_ms=int(idle_s * 1000), max_records=5000)
            if not batch:
                return out
            for messages in batch.values():
                out.extend((m.timestamp / 1000, json.loads(m.value)) for m in messages)
    finally:
        await consumer.stop()


def percentile(values: Sequence[float], q: float) -> float:
    """The q-quantile of sorted ``values`` (nan when empty)."""
    if not values:
        return float("nan")
    return values[min(len(values) - 1, int(q * len(values)))]


def processed(port: int) -> int:
    """Input messages a worker on ``port`` handled so far (events accepted or dead-lettered); -1 if it won't say."""
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/stats", timeout=5) as response:
            counts = json.loads(response.read())["counts"]
    except OSError:
        return -1
    return sum(v for k, v in counts.items() if k.startswith(("event.", "dead_letter.")))


def rss_mib(pid: int, peak: bool = False) -> float:
    """Resident (or peak resident) memory of a process, MiB."""
    field_name = "VmHWM:" if peak else "VmRSS:"
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field_name):
            return int(line.split()[1]) / 1024
    return float("nan")


@dataclass
class Names:
    """Fresh topic names and app id of one benchmark run."""

    tag: str = field(default_factory=lambda: uuid.uuid4().hex[:6])

    @property
    def env(self) -> dict[str, str]:
        t = self.tag
        return {"SLA_APP_ID": f"bench-{t}", "SLA_TOPIC_EVENTS": f"bench-{t}.events",
                "SLA_TOPIC_PROBES": f"bench-{t}.probes", "SLA_TOPIC_WARNINGS": f"bench-{t}.warnings",
                "SLA_TOPIC_BREACHES": f"bench-{t}.breaches", "SLA_TOPIC_OUTCOMES": f"bench-{t}.outcomes",
                "SLA_TOPIC_DEAD_LETTER": f"bench-{t}.dead", "SLA_TOPIC_CLOCKS": f"bench-{t}.clocks"}

    @property
    def events(self) -> str:
        return self.env["SLA_TOPIC_EVENTS"]

    @property
    def alerts(self) -> list[str]:
        return [self.env["SLA_TOPIC_WARNINGS"], self.env["SLA_TOPIC_BREACHES"]]


@dataclass
class WorkerProcess:
    """One `sla-monitor worker` of a benchmark, with its own data folder and port."""

    names: Names
    policy: Path
    data: Path
    port: int = BENCH_PORT
    instance_id: str = "bench-a"
    extra_env: dict[str, str] = field(default_factory=dict)
    process: subprocess.Popen[bytes] | None = None
    started: float = 0.0

    def start(self) -> WorkerProcess:
        env = {**os.environ, **self.names.env, "SLA_DATA_DIR": str(self.data), "SLA_WEB_PORT": str(self.port),
               "SLA_WEB_HOST": "127.0.0.1", "SLA_POLICY": str(self.policy), "SLA_LOG_FORMAT": "json",
               "SLA_LOG_LEVEL": "warning", "SLA_KAFKA_BOOTSTRAP": BOOTSTRAP, "SLA_INSTANCE_ID": self.instance_id,
               **self.extra_env}
        self.data.mkdir(parents=True, exist_ok=True)
        log = open(self.data.with_suffix(".log"), "ab")  # noqa: SIM115 - the child keeps its own descriptor
        self.started = time.monotonic()
        self.process = subprocess.Popen([sys.executable, "-m", "monitor.cli", "worker"], env=env, cwd=REPO,
                                        stdout=subprocess.DEVNULL, stderr=log)
        log.close()
        return self

    def get(self, path: str, timeout: float = 10.0) -> tuple[int, bytes]:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.port}{path}", timeout=timeout) as response:
                return int(response.status), response.read()
        except urllib.error.HTTPError as error:
            return int(error.code), b""
        except OSError:
            return 0, b""

    def wait_ready(self, timeout: float = 600.0) -> float:
        """Seconds from start until /health/ready answers 200."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.process is not None
            if self.process.poll() is not None:
                raise SystemExit(f"worker exited with {self.process.returncode}; see {self.data.with_suffix('.log')}")
            if self.get("/health/ready", 2.0)[0] == 200:
                return time.monotonic() - self.started
            time.sleep(0.1)
        raise SystemExit(f"worker not ready after {timeout} s")

    def processed(self) -> int:
        """Input messages handled so far (events accepted or dead-lettered)."""
        return processed(self.port)

    def wait_processed(self, count: int, timeout: float = 3600.0) -> float:
        """Seconds until ``count`` input messages were handled."""
        began = time.monotonic()
        while self.processed() < count:
            if time.monotonic() - began > timeout:
                raise SystemExit(f"only {self.processed()} of {count} handled after {timeout} s")
            time.sleep(0.5)
        return time.monotonic() - began

    def rss_mib(self, peak: bool = False) -> float:
        assert self.process is not None
        return rss_mib(self.process.pid, peak)

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(30)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(40)
            except subprocess.TimeoutExpired:
                self.kill()
