"""Replay output stays byte-identical: varied input against digests of the output before the speed-up.

The digests were taken from the replay of ``varied_events.varied_lines()`` by the
engine as it was before the replay speed work (issue 13); any change to a record,
its field order, a number's or an instant's rendering or a rejection's reason
changes them. When a change of output is intended, say so in the commit and
update the digest with the one the failure prints.
"""

from __future__ import annotations

import hashlib
import json

import pytest

from monitor.core.policy import Policy, load_policy, parse_policy
from monitor.core.replay import Rejection, replay_lines
from tests.unit.core.varied_events import ESCALATIONS_YAML, GOLDEN_POLICY_YAML, varied_lines

EXPECTED = {
    # (policy, tickets, seed): sha256 of the rendered output
    ("golden", 1500, 13): "8820202116e77e3e29ac2748d4766c05abc63ecbcadc56cb9f02ce2baa4d3f64",
    ("example", 1500, 13): "802c26ce648fbc2afbe636dae02fd1eae444c5ab5caf415e990683fe9dc2c9e6",
    # the golden policy with escalations: taken from main at a42c111 (escalations merged, no speed work)
    ("escalating", 1500, 13): "e294bbf1e8745aaa1229742966133dab16c1f23d8a9e7da0c7720abfeecf980e",
}


def _policy(name: str) -> Policy:
    if name == "golden":
        return parse_policy(GOLDEN_POLICY_YAML, "golden.yaml")
    if name == "escalating":
        return parse_policy(GOLDEN_POLICY_YAML + ESCALATIONS_YAML, "golden.yaml")
    return load_policy("deploy/policy.example.yaml")


def rendered(policy: Policy, lines: list[str]) -> bytes:
    """Replay output as the CLI prints it: records as JSON lines, rejections marked ``E``."""
    out = []
    raw = [line.encode("utf-8", "surrogatepass") for line in lines]
    for item in replay_lines(policy, raw):
        if isinstance(item, Rejection):
            out.append("E " + json.dumps(item.as_dict(), ensure_ascii=False) + "\n")
        else:
            out.append(json.dumps(item, ensure_ascii=False) + "\n")
    return "".join(out).encode("utf-8", "surrogatepass")


@pytest.mark.parametrize(("name", "tickets", "seed"), sorted(EXPECTED))
def test_replay_output_is_byte_identical(name: str, tickets: int, seed: int) -> None:
    """Replay of varied input (DST, holidays, pauses, reopenings, ratings, probes, bad lines) is unchanged."""
    digest = hashlib.sha256(rendered(_policy(name), varied_lines(tickets, seed))).hexdigest()
    assert digest == EXPECTED[(name, tickets, seed)], f"replay output changed: sha256 now {digest}"


def test_varied_input_covers_what_it_claims() -> None:
    """The varied input holds every event type, bad lines and late arrivals (so the digests pin them)."""
    lines = varied_lines(1500, 13)
    types = {line.split('"')[3] for line in lines if line.startswith('{"type": "')}
    assert types >= {
        "ticket.opened", "ticket.acknowledged", "ticket.resolved", "ticket.reopened", "ticket.paused",
        "ticket.resumed", "ticket.priority_changed", "ticket.rated", "probe.result", "maintenance.scheduled",
    }
    outputs = rendered(_policy("golden"), lines).decode("utf-8", "surrogatepass").splitlines()
    assert any('"retracts"' in line for line in outputs)
    assert any("availability" in line for line in outputs)
    escalating = rendered(_policy("escalating"), lines).decode("utf-8", "surrogatepass")
    assert escalating.count('"sla.escalation"') > 1000
    assert sum(line.startswith("E ") for line in outputs) > 1000
