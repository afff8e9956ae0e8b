"""A real Alertmanager for the notifier's tests: Debian's prometheus-alertmanager on free ports, clustering
off, its own storage folder, the shipped routes with every receiver a webhook served by the test itself.

The binary is installed by `make setup` / `make test` (scripts/prometheus.sh install); without it the tests
fail, they do not skip.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.integration.conftest import REPO, Names, free_port

EXAMPLE_CONFIG = REPO / "deploy" / "prometheus" / "alertmanager.yml"
BINARY = "prometheus-alertmanager"


class Webhook:
    """An HTTP server taking Alertmanager's webhook notifications; each is kept with the receiver's path."""

    def __init__(self) -> None:
        self.received: list[tuple[str, dict[str, Any]]] = []
        self._lock = threading.Lock()
        hook = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                with hook._lock:
                    hook.received.append((self.path.strip("/"), body))
                self.send_response(200)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = int(self.server.server_address[1])
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def alerts(self, receiver: str | None = None) -> list[dict[str, Any]]:
        """Every alert of every notification so far (each with its notification's receiver), oldest first."""
        with self._lock:
            return [{**a, "receiver": path} for path, body in self.received for a in body["alerts"]
                    if receiver is None or path == receiver]

    def wait_for(self, what: Callable[[dict[str, Any]], bool], timeout: float = 30.0, *,
                 receiver: str | None = None) -> dict[str, Any]:
        """The first notified alert matching ``what``, waiting for it."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for alert in self.alerts(receiver):
                if what(alert):
                    return alert
            time.sleep(0.1)
        raise AssertionError(f"no such notification within {timeout}s; received: {json.dumps(self.received)[:3000]}")

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def config_with_webhooks(webhook_port: int) -> dict[str, Any]:
    """The shipped example configuration, receivers pointed at the test's webhook, short waits."""
    config: dict[str, Any] = yaml.safe_load(EXAMPLE_CONFIG.read_text())

    # group_wait 1 s, not 0: Alertmanager's inhibitor learns of a new alert asynchronously, and a group
    # flushed at once could notify a warning before the inhibitor has seen the breach posted with it.
    def quick(route: dict[str, Any]) -> None:
        for key in ("group_wait", "group_interval"):
            if key in route:
                route[key] = "1s"
        for child in route.get("routes", []):
            quick(child)

    config["route"].update(group_wait="1s", group_interval="1s")
    quick(config["route"])
    for receiver in config["receivers"]:
        receiver["webhook_configs"] = [{"url": f"http://127.0.0.1:{webhook_port}/{receiver['name']}",
                                        "send_resolved": True}]
    return config


@dataclass
class Alertmanager:
    """One prometheus-alertmanager process (restartable with the same storage)."""

    home: Path
    webhook: Webhook
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> Alertmanager:
        self.home.mkdir(parents=True, exist_ok=True)
        config = self.home / "alertmanager.yml"
        config.write_text(yaml.safe_dump(config_with_webhooks(self.webhook.port)))
        with open(self.home / "alertmanager.log", "ab") as log:
            self.process = subprocess.Popen(
                [BINARY, f"--config.file={config}", f"--storage.path={self.home / 'data'}",
                 f"--web.listen-address=127.0.0.1:{self.port}", "--cluster.listen-address=", "--log.level=debug"],
                stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            assert self.process.poll() is None, f"alertmanager exited:\n{self.log_tail()}"
            try:
                with urllib.request.urlopen(f"{self.url}/-/ready", timeout=1) as reply:
                    if reply.status == 200:
                        return self
            except OSError:
                pass
            time.sleep(0.1)
        raise AssertionError(f"alertmanager not ready in 30 s:\n{self.log_tail()}")

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)

    def alerts(self) -> list[dict[str, Any]]:
        """Alertmanager's current alerts (active, silenced and inhibited; not resolved)."""
        with urllib.request.urlopen(f"{self.url}/api/v2/alerts", timeout=5) as reply:
            return list(json.loads(reply.read()))

    def post(self, alerts: list[dict[str, Any]]) -> None:
        request = urllib.request.Request(f"{self.url}/api/v2/alerts", data=json.dumps(alerts).encode(),
                                         headers={"Content-Type": "application/json"}, method="POST")
        with urllib.request.urlopen(request, timeout=5) as reply:
            assert reply.status == 200

    def log_tail(self, lines: int = 40) -> str:
        path = self.home / "alertmanager.log"
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:]) if path.exists() else ""


@pytest.fixture
def webhook() -> Iterator[Webhook]:
    """The receiving end of Alertmanager's notifications."""
    hook = Webhook()
    yield hook
    hook.close()


@pytest.fixture
def alertmanager(tmp_path: Path, webhook: Webhook) -> Iterator[Alertmanager]:
    """A real Alertmanager with the shipped routes; fails (does not skip) when the package is missing."""
    if shutil.which(BINARY) is None:
        pytest.fail(f"{BINARY} is not installed: `make setup` installs it (scripts/prometheus.sh install)")
    manager = Alertmanager(tmp_path / "alertmanager", webhook).start()
    yield manager
    manager.stop()


@dataclass
class NotifyProcess:
    """One `sla-monitor notify` process."""

    names: Names
    alertmanager_url: str
    log_path: Path
    env: dict[str, str] = field(default_factory=dict)
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None

    def start(self) -> NotifyProcess:
        env = {**os.environ, **self.names.env(), "SLA_NOTIFY_WEB_PORT": str(self.port),
               "SLA_NOTIFY_WEB_HOST": "127.0.0.1", "SLA_LOG_FORMAT": "json", "SLA_NOTIFY_REPOST_S": "1",
               **self.env}
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "monitor.cli", "notify", "--alertmanager", self.alertmanager_url],
                env=env, stdout=log, stderr=subprocess.STDOUT, cwd=REPO)
        return self

    def get(self, path: str) -> tuple[int, str]:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.port}{path}", timeout=2) as reply:
                return int(reply.status), reply.read().decode()
        except urllib.error.HTTPError as error:
            return int(error.code), error.read().decode()
        except OSError:
            return 0, ""

    def wait_ready(self, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.process is not None
            assert self.process.poll() is None, f"notify exited:\n{self.log_tail()}"
            if self.get("/health/ready")[0] == 200:
                return
            time.sleep(0.1)
        raise AssertionError(f"notify not ready in {timeout}s:\n{self.log_tail()}")

    def metric(self, name: str) -> float:
        """The sum of a metric's samples on /metrics."""
        _, text = self.get("/metrics")
        return sum(float(line.rsplit(" ", 1)[1]) for line in text.splitlines()
                   if line.startswith(name) and (line[len(name)] in " {"))

    def kill(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.kill()
            self.process.wait(10)

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            self.process.wait(20)

    def log_tail(self, lines: int = 40) -> str:
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:]) \
            if self.log_path.exists() else ""


@pytest.fixture
def notifiers() -> Iterator[list[NotifyProcess]]:
    """Notifier processes started by the test; all are killed afterwards."""
    started: list[NotifyProcess] = []
    yield started
    for notifier in started:
        notifier.kill()
