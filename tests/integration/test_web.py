"""The worker's web port: only sla-monitor's own pages, nothing of Faust's built-in ones."""

from __future__ import annotations

import time
from pathlib import Path

from tests.integration.conftest import Names, Producer, Worker, create_topics, new_worker, run, ticket

OUR_PAGES = ["/health/live", "/health/ready", "/metrics", "/stats"]
# Faust's built-in pages (tables, router, index, debug statistics and graph, performance) and their kin.
OTHER_PATHS = [
    "/", "/table/", "/table/tickets/", "/table/tickets/W1/", "/table/services/", "/table/aggregates/",
    "/router/", "/router/tickets/", "/router/tickets/W1/", "/graph/", "/assignment/", "/performance/",
    "/stats/", "/health/", "/metrics/x", "/favicon.ico", "/static/", "/../etc/passwd",
]


def test_only_our_pages_are_served_and_every_other_path_is_404(
    tmp_path: Path, names: Names, workers: list[Worker],
) -> None:
    """Health, metrics and stats answer; Faust's /table, /router, / and every other path are 404 (no table data)."""
    run(create_topics(names, 1))
    worker = new_worker(workers, tmp_path, names, "a")
    worker.wait_ready()
    run(Producer(names).send_all([(0.0, ticket("opened", "W1", time.time(), priority="P3", customer_id="ACME"))],
                                 time.time()))
    deadline = time.monotonic() + 20
    while not worker.stats()["counts"].get("event.ticket.opened"):
        assert time.monotonic() < deadline, "the ticket was not handled"
        time.sleep(0.2)
    assert {path: worker.health(path) for path in OUR_PAGES} == dict.fromkeys(OUR_PAGES, 200)
    assert {path: worker.health(path) for path in OTHER_PATHS} == dict.fromkeys(OTHER_PATHS, 404)
