"""The replay command's output path: the same bytes as json.dumps of what the engine yields, GC restored."""

from __future__ import annotations

import gc
import hashlib
import json
from pathlib import Path

import pytest

from monitor.cli.main import main
from monitor.core.policy import parse_policy
from monitor.core.replay import Rejection, replay_lines
from tests.unit.core.varied_events import GOLDEN_POLICY_YAML, varied_lines

REPO = Path(__file__).resolve().parents[3]

# sha256 of stdout and stderr of `make demo-replay`'s replay, taken before the replay speed work.
EXAMPLE_STDOUT = "0907c7ce2b98fa02b6c88ded50d6bcdcda5aad6f7679fae7926d87f0461cecd7"
EXAMPLE_STDERR = "523936fbb3457b8202102b7f57efb6830cd23d4141b9c852bfc338f7fdcf123f"


def test_replay_command_prints_what_the_engine_yields(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Records on stdout and rejections on stderr are json.dumps(..., ensure_ascii=False) of each, in order."""
    policy = tmp_path / "policy.yaml"
    policy.write_text(GOLDEN_POLICY_YAML)
    lines = varied_lines(400, 7)
    events = tmp_path / "events.jsonl"
    events.write_bytes(b"".join(line.encode("utf-8", "surrogatepass") + b"\n" for line in lines))
    out, err = [], []
    raw = [line.encode("utf-8", "surrogatepass") + b"\n" for line in lines]
    for item in replay_lines(parse_policy(GOLDEN_POLICY_YAML, "p.yaml"), raw):
        if isinstance(item, Rejection):
            err.append(json.dumps(item.as_dict(), ensure_ascii=False) + "\n")
        else:
            out.append(json.dumps(item, ensure_ascii=False) + "\n")
    thresholds = gc.get_threshold()
    assert main(["replay", "--policy", str(policy), str(events)]) == 0
    assert gc.get_threshold() == thresholds
    captured = capsys.readouterr()
    assert captured.out == "".join(out)
    assert captured.err == "".join(err)
    assert len(out) > 500
    assert len(err) > 50


def test_demo_replay_output_is_unchanged(capsys: pytest.CaptureFixture[str]) -> None:
    """`make demo-replay`'s replay prints byte for byte what it printed before the speed work."""
    assert main(["replay", "--policy", str(REPO / "deploy" / "policy.example.yaml"),
                 "--until", "2026-12-03T00:00:00+01:00", str(REPO / "examples" / "events.jsonl")]) == 0
    captured = capsys.readouterr()
    assert hashlib.sha256(captured.out.encode()).hexdigest() == EXAMPLE_STDOUT
    assert hashlib.sha256(captured.err.encode()).hexdigest() == EXAMPLE_STDERR
