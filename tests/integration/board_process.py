"""An `sla-monitor board` process of a test, over the test's own clocks topic."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.integration.conftest import BOOTSTRAP, REPO, Names, free_port


@dataclass
class BoardProcess:
    """One `sla-monitor board` on a free port of 127.0.0.1."""

    names: Names
    log_path: Path
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> BoardProcess:
        env = {**os.environ, "SLA_TOPIC_CLOCKS": self.names.clocks, "SLA_LOG_FORMAT": "json",
               "SLA_BOARD_PUSH_S": "0.25"}
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "monitor.cli", "board", "--port", str(self.port), "--kafka-bootstrap", BOOTSTRAP],
                env=env, stdout=log, stderr=subprocess.STDOUT, cwd=REPO)
        return self

    def get(self, path: str) -> tuple[int, Any]:
        """Status and JSON body of a GET (0, None when nothing answers)."""
        try:
            with urllib.request.urlopen(self.url + path, timeout=3) as response:
                return int(response.status), json.loads(response.read())
        except urllib.error.HTTPError as error:
            return int(error.code), json.loads(error.read() or b"null")
        except OSError:
            return 0, None

    def wait_ready(self, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.process is not None
            if self.process.poll() is not None:
                raise AssertionError(f"board exited with {self.process.returncode}:\n{self.log_tail()}")
            if self.get("/health/ready")[0] == 200:
                return
            time.sleep(0.1)
        raise AssertionError(f"board not ready after {timeout} s:\n{self.log_tail()}")

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)

    def log_tail(self, lines: int = 40) -> str:
        if not self.log_path.exists():
            return ""
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
