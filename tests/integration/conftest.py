"""Integration harness: the real local Kafka broker, worker processes, producers and collectors.

The broker is started by `make test` (scripts/kafka.sh up) on 127.0.0.1:9092.
Each test gets its own app id and topic names, so tests never share state.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import json
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType
from aiokafka.structs import TopicPartition

REPO = Path(__file__).resolve().parents[2]
BOOTSTRAP = os.environ.get("SLA_TEST_KAFKA", "127.0.0.1:9092")
SECONDS_POLICY = REPO / "tests" / "integration" / "policy.seconds.yaml"

pytestmark = pytest.mark.integration
_HERE = Path(__file__).resolve().parent


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Every test in this folder is an integration test, marked or not (`-m 'not integration'` skips it)."""
    for item in items:
        if _HERE in Path(str(item.path)).resolve().parents:
            item.add_marker(pytest.mark.integration)


def _broker_answers() -> bool:
    host, port = BOOTSTRAP.split(":")
    try:
        with socket.create_connection((host, int(port)), timeout=2):
            return True
    except OSError:
        return False


# Topics of a test (``Names.fresh``) and the ones Faust makes for its app id (changelogs, assignor).
TEST_TOPIC = re.compile(r"^(t[0-9a-f]{8}\.|slatest-[0-9a-f]{8}-)")
# Every session holds a shared lock on this file while it runs, whatever checkout it runs from: one that
# ends beside another must leave that one's topics alone (it deleted them mid-test, seen: "Topic ... not
# found in cluster metadata", then no output partitions to read).
SESSIONS_LOCK = Path(tempfile.gettempdir()) / f"sla-monitor-test-sessions-{BOOTSTRAP.replace(':', '-')}.lock"
_SESSION_TAGS: set[str] = set()  # the tags Names.fresh gave out in this process


class SessionLock:
    """A shared lock on a file, held while one test session uses the broker."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._file: Any = None

    def __enter__(self) -> SessionLock:
        self._file = open(self.path, "a")  # held open until __exit__
        fcntl.flock(self._file, fcntl.LOCK_SH)  # waits while a lone session deletes leftovers
        return self

    def alone(self) -> bool:
        """True when no other session holds the lock; it is then exclusive (new sessions wait) until ``__exit__``."""
        try:
            fcntl.flock(self._file, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        return True

    def __exit__(self, *exc: object) -> None:
        self._file.close()  # releases the lock


def session_topics(tags: Iterable[str]) -> re.Pattern[str]:
    """The topics of the tests whose ``Names.fresh`` tags are ``tags`` (none when there are none)."""
    alternatives = "|".join(sorted(re.escape(tag) for tag in tags)) or "(?!)"
    return re.compile(rf"^(t({alternatives})\.|slatest-({alternatives})-)")


async def end_of_session(lock: SessionLock, tags: Iterable[str], bootstrap: str = BOOTSTRAP) -> int:
    """Delete the session's topics, and those earlier, interrupted runs left if no other session runs; how many."""
    return await delete_test_topics(TEST_TOPIC if lock.alone() else session_topics(tags), bootstrap)


@contextlib.contextmanager
def shared_session() -> Iterator[None]:
    """Hold the sessions lock while a session runs; at its end delete the session's topics (and, when no other
    session runs, every test topic), so a broker that ran the suite does not start slowly afterwards
    (``make demo``) over thousands of test partitions. Integration and browser sessions hold it through the
    ``broker_sessions_lock`` fixture (``tests/conftest.py``)."""
    with SessionLock(SESSIONS_LOCK) as lock:
        yield
        if _broker_answers():
            with contextlib.suppress(Exception):
                asyncio.run(asyncio.wait_for(end_of_session(lock, _SESSION_TAGS), 60))


@pytest.fixture(scope="session", autouse=True)
def kafka_broker(broker_sessions_lock: None) -> str:
    """The local broker; integration tests fail (not skip) without it. The session holds the shared lock."""
    if not _broker_answers():
        pytest.fail(f"no Kafka broker on {BOOTSTRAP}: run `make test` (it starts one) or `make kafka-up`")
    return BOOTSTRAP


async def delete_test_topics(pattern: re.Pattern[str] = TEST_TOPIC, bootstrap: str = BOOTSTRAP) -> int:
    """Delete every topic whose name ``pattern`` matches (by default every test's, of any run); how many."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        doomed = [t for t in await admin.list_topics() if pattern.match(t)]
        for start in range(0, len(doomed), 200):
            await admin.delete_topics(doomed[start:start + 200], timeout_ms=30_000)
        return len(doomed)
    finally:
        await admin.close()


MONTH_GUARD_BEFORE_S = 150.0  # longer than any one live test
MONTH_GUARD_AFTER_S = 15.0  # tests date events up to this far in the past


def month_boundaries(at: float) -> tuple[float, float]:
    """Unix times of the first instants of the UTC month holding ``at`` and of the next one (the engine's own
    service period)."""
    from monitor.core.budget import period_of
    from monitor.core.instants import US_PER_SECOND

    start, following = period_of(ZoneInfo("UTC"), round(at * US_PER_SECOND))
    return start / US_PER_SECOND, following / US_PER_SECOND


def month_guard_wait(at: float) -> float:
    """Seconds to wait from ``at`` so that a live test's window lies inside one UTC month (0 mostly).

    The test policies keep time in UTC; services' budgets and month-to-date figures
    change at the month's end, so a test must not straddle it.
    """
    start, following = month_boundaries(at)
    if at < start + MONTH_GUARD_AFTER_S:
        return start + MONTH_GUARD_AFTER_S - at
    if at > following - MONTH_GUARD_BEFORE_S:
        return following + MONTH_GUARD_AFTER_S - at
    return 0.0


@pytest.fixture(autouse=True)
def one_month_only() -> None:
    """Start each live test well inside a UTC month (waits a few minutes at most, once a month)."""
    wait = month_guard_wait(time.time())
    if wait > 0:
        print(f"waiting {wait:.0f} s for the month boundary to pass")
        time.sleep(wait)


KAFKA_SH = REPO / "scripts" / "kafka.sh"


@contextlib.contextmanager
def own_broker(home: Path, extra_properties: str = "") -> Iterator[tuple[str, dict[str, str]]]:
    """A second broker of the test's own on free ports (so the test may stop it): bootstrap and kafka.sh env."""
    env = {**os.environ, "KAFKA_HOME_DIR": str(home), "KAFKA_PORT": str(free_port()),
           "KAFKA_CONTROLLER_PORT": str(free_port()), "KAFKA_EXTRA_PROPERTIES": extra_properties}
    subprocess.run([str(KAFKA_SH), "up"], env=env, check=True, capture_output=True, timeout=240)
    try:
        yield f"127.0.0.1:{env['KAFKA_PORT']}", env
    finally:
        subprocess.run([str(KAFKA_SH), "down"], env=env, check=False, capture_output=True, timeout=120)


def broker_down(env: dict[str, str]) -> None:
    """Stop a broker started by ``own_broker`` (its data is kept)."""
    subprocess.run([str(KAFKA_SH), "down"], env=env, check=True, capture_output=True, timeout=120)


def broker_up(env: dict[str, str]) -> None:
    """Start again a broker started by ``own_broker`` and stopped by ``broker_down``."""
    subprocess.run([str(KAFKA_SH), "up"], env=env, check=True, capture_output=True, timeout=240)


@pytest.fixture
def private_broker(tmp_path: Path) -> Iterator[tuple[str, dict[str, str]]]:
    """A second broker of our own on free ports, so the test may stop it."""
    with own_broker(tmp_path / "kafka") as broker:
        yield broker


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Names:
    """Unique app id and topic names of one test."""

    app_id: str
    events: str
    warnings: str
    breaches: str
    outcomes: str
    dead_letter: str
    probes: str
    clocks: str = ""  # the compacted clock-record topic (sla-monitor board reads it)

    @classmethod
    def fresh(cls) -> Names:
        tag = uuid.uuid4().hex[:8]
        _SESSION_TAGS.add(tag)
        return cls(f"slatest-{tag}", f"t{tag}.events", f"t{tag}.warnings", f"t{tag}.breaches",
                   f"t{tag}.outcomes", f"t{tag}.dead-letter", f"t{tag}.probes", f"t{tag}.clocks")

    def env(self) -> dict[str, str]:
        return {
            "SLA_APP_ID": self.app_id,
            "SLA_TOPIC_EVENTS": self.events,
            "SLA_TOPIC_PROBES": self.probes,
            "SLA_TOPIC_WARNINGS": self.warnings,
            "SLA_TOPIC_BREACHES": self.breaches,
            "SLA_TOPIC_OUTCOMES": self.outcomes,
            "SLA_TOPIC_DEAD_LETTER": self.dead_letter,
            "SLA_TOPIC_CLOCKS": self.clocks,
            "SLA_KAFKA_BOOTSTRAP": BOOTSTRAP,
        }

    @property
    def outputs(self) -> list[str]:
        return [self.warnings, self.breaches, self.outcomes, self.dead_letter]


@pytest.fixture
def names() -> Names:
    """Fresh topic names and app id for one test."""
    return Names.fresh()


def run(coro: Any) -> Any:
    """Run a coroutine to completion from a synchronous test."""
    return asyncio.run(coro)


async def create_topics(names: Names, partitions: int, bootstrap: str = BOOTSTRAP) -> None:
    """Create the input and output topics with ``partitions`` partitions."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        await admin.create_topics([NewTopic(t, partitions, 1) for t in [names.events, names.probes, *names.outputs]])
    finally:
        await admin.close()


async def alter_topic(topic: str, config: dict[str, str], bootstrap: str = BOOTSTRAP) -> None:
    """Change topic-level configs (e.g. max.message.bytes)."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        await admin.alter_configs([ConfigResource(ConfigResourceType.TOPIC, topic, config)])
    finally:
        await admin.close()


@dataclass
class Worker:
    """One `sla-monitor worker` process."""

    names: Names
    data_dir: Path
    policy: Path
    instance_id: str | None = None
    port: int = field(default_factory=free_port)
    log_path: Path | None = None
    process: subprocess.Popen[bytes] | None = None
    started_at: float = 0.0
    env: dict[str, str] = field(default_factory=dict)  # settings of this worker only (win over the rest)

    def start(self) -> Worker:
        env = {**os.environ, **self.names.env(), "SLA_DATA_DIR": str(self.data_dir), "SLA_WEB_PORT": str(self.port),
               "SLA_WEB_HOST": "127.0.0.1", "SLA_POLICY": str(self.policy), "SLA_LOG_FORMAT": "json", **self.env}
        if self.instance_id:
            env["SLA_INSTANCE_ID"] = self.instance_id
        self.log_path = self.log_path or self.data_dir.with_suffix(".log")
        with open(self.log_path, "ab") as log:  # the child keeps its own descriptor
            self.started_at = time.monotonic()
            self.process = subprocess.Popen(
                [sys.executable, "-m", "monitor.cli", "worker"], env=env, stdout=log, stderr=subprocess.STDOUT, cwd=REPO,
            )
        return self

    def health(self, path: str = "/health/ready") -> int:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.port}{path}", timeout=1) as response:
                return int(response.status)
        except urllib.error.HTTPError as error:
            return int(error.code)
        except OSError:
            return 0

    def get(self, path: str) -> tuple[int, bytes]:
        """Status and body of a GET on the worker's web port (0 and empty when nothing answers)."""
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.port}{path}", timeout=3) as response:
                return int(response.status), bytes(response.read())
        except urllib.error.HTTPError as error:
            return int(error.code), bytes(error.read())
        except OSError:
            return 0, b""

    def stats(self) -> dict[str, Any]:
        with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/stats", timeout=2) as response:
            return dict(json.loads(response.read()))

    def wait_ready(self, timeout: float = 60.0) -> float:
        """Wait until /health/ready says 200; return seconds since start."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.process is not None
            if self.process.poll() is not None:
                raise AssertionError(f"worker exited with {self.process.returncode}; log:\n{self.log_tail()}")
            if self.health() == 200:
                return time.monotonic() - self.started_at
            time.sleep(0.1)
        raise AssertionError(f"worker not ready after {timeout}s; log:\n{self.log_tail()}")

    def kill(self) -> None:
        """kill -9: no goodbye to the group, no flush."""
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(10)

    def stop(self) -> None:
        """Graceful stop (SIGTERM)."""
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)

    def log_tail(self, lines: int = 60) -> str:
        if not self.log_path or not self.log_path.exists():
            return ""
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])


@pytest.fixture
def workers(tmp_path: Path, names: Names) -> Iterator[list[Worker]]:
    """Worker processes started by the test; all are stopped afterwards."""
    started: list[Worker] = []
    yield started
    for worker in started:
        worker.kill()


def new_worker(started: list[Worker], tmp_path: Path, names: Names, name: str, *,
               policy: Path = SECONDS_POLICY, instance_id: str | None = None,
               env: dict[str, str] | None = None) -> Worker:
    """Create and start a worker with its own data folder."""
    worker = Worker(names, tmp_path / f"data-{name}", policy, instance_id=instance_id,
                    log_path=tmp_path / f"worker-{name}.log", env=env or {})
    started.append(worker)
    return worker.start()


class Producer:
    """Sends raw events to the input topics, keyed by ticket (or service) id unless told otherwise.

    Probe results and maintenance announcements go to the probe topic, the rest to the ticket topic.
    """

    def __init__(self, names: Names, bootstrap: str = BOOTSTRAP) -> None:
        self.names = names
        self.bootstrap = bootstrap
        self.lines: list[str] = []

    async def send_all(self, items: list[tuple[float, dict[str, Any] | bytes]], t0: float, keyed: bool = True,
                       burst: bool = False) -> None:
        """Send each item at wall time t0 + offset (seconds).

        Each item waits for its acknowledgement before the next is sent, unless burst: then the items of one
        offset go out together (the producer keeps their order within a partition, one request in flight per
        broker) and are all acknowledged before the next offset's, so a flood sent at 0.0 does not hold back
        what is due at 0.2 by the ~1 ms round trip of each of its records.
        """
        producer = AIOKafkaProducer(bootstrap_servers=self.bootstrap, acks="all")
        await producer.start()
        pending: list[asyncio.Future[Any]] = []
        try:
            for offset, body in sorted(items, key=lambda x: x[0]):
                delay = t0 + offset - time.time()
                if delay > 0:
                    await asyncio.gather(*pending)
                    pending.clear()
                    await asyncio.sleep(max(0.0, t0 + offset - time.time()))
                if isinstance(body, bytes):
                    topic, value, key = self.names.events, body, None
                else:
                    line = json.dumps(body)
                    self.lines.append(line)
                    owner = body.get("ticket_id") or body.get("service_id")
                    key = owner.encode() if keyed and isinstance(owner, str) else None
                    is_probe = str(body.get("type", "")).startswith(("probe.", "maintenance."))
                    topic, value = (self.names.probes if is_probe else self.names.events), line.encode()
                if burst:
                    pending.append(await producer.send(topic, value, key=key))
                else:
                    await producer.send_and_wait(topic, value, key=key)
            await asyncio.gather(*pending)
        finally:
            await producer.stop()


def iso(at: float) -> str:
    """RFC 3339 UTC text of a Unix time."""
    return datetime.fromtimestamp(at, UTC).isoformat()


async def partition_counts(topics: list[str], bootstrap: str = BOOTSTRAP) -> dict[str, int]:
    """Partition count of each existing topic among ``topics``."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        described = await admin.describe_topics(topics)
        return {t["topic"]: len(t["partitions"]) for t in described if t["partitions"]}
    finally:
        await admin.close()


@dataclass
class Output:
    """One record read back from an output topic."""

    topic: str
    partition: int
    offset: int
    timestamp: float  # broker/producer timestamp, seconds
    key: bytes | None
    headers: dict[str, bytes]
    record: dict[str, Any]


async def read_outputs(names: Names, idle: float = 2.0, limit: float = 60.0,
                       bootstrap: str = BOOTSTRAP) -> list[Output]:
    """Read every record on the output topics from the start until ``idle`` seconds pass without one."""
    counts = await partition_counts(names.outputs, bootstrap)
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False, auto_offset_reset="earliest")
    await consumer.start()
    try:
        partitions = [TopicPartition(t, p) for t in names.outputs for p in range(counts.get(t, 0))]
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        out: list[Output] = []
        began = time.monotonic()
        while time.monotonic() - began < limit:
            batch = await consumer.getmany(timeout_ms=int(idle * 1000))
            if not batch:
                break
            for tp, messages in batch.items():
                for m in messages:
                    out.append(Output(tp.topic, tp.partition, m.offset, m.timestamp / 1000, m.key,
                                      dict(m.headers or ()), json.loads(m.value or b"null")))
        return out
    finally:
        await consumer.stop()


def publication_order(outputs: list[Output]) -> list[Output]:
    """The records in the order the worker published them, as ``sla-monitor notify`` merges the topics back.

    By Kafka timestamp; within one millisecond warning < breach < escalation < outcome (a batch sends
    a clock's levels in that order, and records in two topics sent in the same millisecond carry no
    other order: the order of reading them depends on the consumer's fetches), then by offset (one
    partition keeps its own order exactly).
    """
    from monitor.notify.alerts import merge_key

    return sorted(outputs, key=lambda o: (*merge_key(o.record, round(o.timestamp * 1000)), o.offset))


def replay_records(lines: list[str], until: float) -> list[dict[str, Any]]:
    """What `sla-monitor replay` publishes for the same events and policy."""
    from monitor.core.instants import to_us
    from monitor.core.policy import load_policy
    from monitor.core.replay import Rejection, replay_lines

    items = replay_lines(load_policy(SECONDS_POLICY), lines, to_us(datetime.fromtimestamp(until, UTC)))
    return [r for r in items if not isinstance(r, Rejection)]


def wait_until(at: float) -> None:
    """Sleep until wall time ``at``."""
    time.sleep(max(0.0, at - time.time()))


def probe(service_id: str, probe_id: str, at: float, *, ok: bool | str | None) -> dict[str, Any]:
    """One probe.result body at Unix time ``at`` (``ok=None`` leaves the field out)."""
    body: dict[str, Any] = {"type": "probe.result", "event_id": f"{service_id}-{probe_id}-{at:.3f}",
                            "service_id": service_id, "probe_id": probe_id, "occurred_at": iso(at)}
    if ok is not None:
        body["ok"] = ok
    return body


def ticket(kind: str, ticket_id: str, at: float, **fields: Any) -> dict[str, Any]:
    """One event body occurring at Unix time ``at``."""
    return {"type": f"ticket.{kind}", "event_id": f"{ticket_id}-{kind}-{at:.3f}", "ticket_id": ticket_id,
            "occurred_at": iso(at), **fields}


__all__ = ["Names", "Output", "Producer", "Worker", "alter_topic", "broker_down", "broker_up", "create_topics", "iso",
           "new_worker", "own_broker", "probe", "publication_order", "read_outputs", "replay_records", "run", "ticket",
           "wait_until"]
