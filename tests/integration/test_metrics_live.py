"""The worker's /metrics on the real broker: month-to-date figures survive a restart and add up across workers."""

from __future__ import annotations

import time
import urllib.request
from collections import Counter
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.integration.conftest import (
    Names,
    Producer,
    Worker,
    create_topics,
    new_worker,
    probe,
    run,
    ticket,
)

pytestmark = pytest.mark.integration
STATE_FIGURES = ("sla_period_outcomes", "sla_open_clocks", "sla_breached_open_clocks",
                 "sla_service_downtime_seconds_total", "sla_service_budget_used_seconds")


def scrape(worker: Worker) -> Counter[tuple[str, tuple[tuple[str, str], ...]]]:
    """The worker's state-derived samples, by name and labels."""
    with urllib.request.urlopen(f"http://127.0.0.1:{worker.port}/metrics", timeout=5) as response:
        text = response.read().decode()
    out: Counter[tuple[str, tuple[tuple[str, str], ...]]] = Counter()
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name in STATE_FIGURES:
                out[sample.name, tuple(sorted(sample.labels.items()))] = sample.value
    return out


def settled(workers: list[Worker], expect_partitions: int, timeout: float = 60.0) -> Counter[tuple[str, tuple[tuple[str, str], ...]]]:
    """Sum of the workers' figures once they own ``expect_partitions`` between them and are ready."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        owned = sum(len(w.stats()["partitions"]) for w in workers if w.health() == 200)
        if owned == expect_partitions and all(w.health() == 200 for w in workers):
            total: Counter[tuple[str, tuple[tuple[str, str], ...]]] = Counter()
            for w in workers:
                total.update(scrape(w))
            return total
        time.sleep(0.5)
    raise AssertionError("workers did not settle:\n" + "\n".join(w.log_tail(20) for w in workers))


def test_figures_survive_restart_and_add_up_across_workers(
    tmp_path: Path, names: Names, workers: list[Worker]
) -> None:
    """Twelve outcomes and six open clocks: the same after kill -9 and restart, and summed over two workers."""
    run(create_topics(names, 4))
    first = new_worker(workers, tmp_path, names, "a", instance_id="a")
    first.wait_ready()
    t0 = time.time() - 5.0  # already in the past: nothing waits on the wall clock
    items: list[tuple[float, dict]] = []
    for n in range(6):  # acknowledged and resolved at once: two met outcomes each
        items += [(0.0, ticket("opened", f"M{n}", t0, priority="P1")), (0.0, ticket("resolved", f"M{n}", t0 + 1))]
    for n in range(3):  # still open: two open clocks each
        items.append((0.0, ticket("opened", f"O{n}", t0 + 2, priority="P3")))  # 40 s: not breached during the test
    items += [(0.0, probe("shop", "a", t0, ok=False)), (0.0, probe("shop", "a", t0 + 0.5, ok=True))]
    run(Producer(names).send_all(items, time.time()))

    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        before = settled([first], 4)
        outcomes_seen = sum(v for (name, _), v in before.items() if name == "sla_period_outcomes")
        if outcomes_seen == 12 and ("sla_service_downtime_seconds_total", (("service", "shop"),)) in before:
            break  # both input topics handled (they are consumed independently)
        time.sleep(0.5)
    outcomes = {labels: v for (name, labels), v in before.items() if name == "sla_period_outcomes" and v}
    assert sorted(dict(labels)["metric"] for labels in outcomes) == ["resolution", "response"]
    assert set(outcomes.values()) == {6.0}
    assert sum(v for (name, _), v in before.items() if name == "sla_open_clocks") == 6
    assert before["sla_service_downtime_seconds_total", (("service", "shop"),)] == 0.5

    first.kill()
    # Same instance id and web address (Faust checks it), but an empty folder: state comes from the changelogs.
    restarted = first
    restarted.data_dir = tmp_path / "data-a-empty"
    restarted.start().wait_ready()
    assert settled([restarted], 4) == before, "a restart changed the figures"

    second = new_worker(workers, tmp_path, names, "b", instance_id="b")
    second.wait_ready()
    split = settled([restarted, second], 4)
    assert split == before, "two workers do not add up to one"
    assert all(len(w.stats()["partitions"]) == 2 for w in (restarted, second))


def test_a_worker_with_an_empty_folder_restores_hundreds_of_tickets_from_the_changelogs(
    tmp_path: Path, names: Names, workers: list[Worker]
) -> None:
    """Rows changed several times (opened, acknowledged, resolved) come back as last written: a restore that
    applied a fetch out of order, or dropped part of it, would count other clocks open or other outcomes."""
    run(create_topics(names, 4))
    first = new_worker(workers, tmp_path, names, "a", instance_id="a")
    first.wait_ready()
    t0 = time.time() - 5.0
    items: list[tuple[float, dict]] = []
    for n in range(400):
        items.append((0.0, ticket("opened", f"C{n}", t0, priority="P3")))
    for n in range(0, 400, 3):  # response met: one clock left open
        items.append((0.0, ticket("acknowledged", f"C{n}", t0 + 1)))
    for n in range(1, 400, 4):  # both stopped
        items.append((0.0, ticket("resolved", f"C{n}", t0 + 2)))
    run(Producer(names).send_all(items, time.time()))
    acknowledged, resolved = set(range(0, 400, 3)), set(range(1, 400, 4))
    open_clocks = sum((n not in resolved) + (n not in resolved and n not in acknowledged) for n in range(400))
    outcomes_expected = sum((n in resolved) + (n in acknowledged or n in resolved) for n in range(400))

    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        before = settled([first], 4)
        if sum(v for (name, _), v in before.items() if name == "sla_period_outcomes") == outcomes_expected:
            break
        time.sleep(0.5)
    assert sum(v for (name, _), v in before.items() if name == "sla_open_clocks") == open_clocks
    first.kill()
    first.data_dir = tmp_path / "data-a-empty"
    first.start().wait_ready()
    assert settled([first], 4) == before, "the restored tables give other figures"
