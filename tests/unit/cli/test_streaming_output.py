"""Line-printing commands reach a pipe line by line, not in blocks at exit."""

from __future__ import annotations

import os
import selectors
import subprocess
import sys
from pathlib import Path

from tests.conftest import POLICY_YAML, event_json

REPO = Path(__file__).resolve().parents[3]


def buffered_env() -> dict[str, str]:
    """The environment without PYTHONUNBUFFERED, so the child buffers stdout as it would for a user."""
    return {k: v for k, v in os.environ.items() if k != "PYTHONUNBUFFERED"}


def read_line_within(stream: object, seconds: float) -> bytes | None:
    """The next line on a pipe if it arrives within ``seconds``, else None."""
    selector = selectors.DefaultSelector()
    selector.register(stream, selectors.EVENT_READ)  # type: ignore[arg-type]
    try:
        if not selector.select(timeout=seconds):
            return None
        return stream.readline()  # type: ignore[attr-defined, no-any-return]
    finally:
        selector.close()


def test_replay_from_stdin_prints_each_record_before_the_input_ends(tmp_path: Path) -> None:
    """`replay -` with stdout to a pipe: a record decided by a line appears while stdin is still open."""
    policy = tmp_path / "policy.yaml"
    policy.write_text(POLICY_YAML)
    with subprocess.Popen([sys.executable, "-m", "monitor.cli", "replay", "--policy", str(policy), "-"],
                          stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                          cwd=REPO, env=buffered_env()) as process:
        assert process.stdin is not None
        assert process.stdout is not None
        lines = [event_json("opened", "T", "2026-11-30T09:00:00", priority="P2"),
                 event_json("acknowledged", "T", "2026-11-30T09:10:00")]  # stops the response clock: an outcome
        process.stdin.write(("\n".join(lines) + "\n").encode())
        process.stdin.flush()
        line = read_line_within(process.stdout, 10.0)  # start-up (imports) included; stdin stays open
        process.stdin.close()
        process.wait(10)
    assert line is not None, "no record reached the pipe before stdin was closed"
    assert b'"T:response:outcome"' in line
    assert process.returncode == 0
