"""The on-call board in a real headless browser (Debian's chromium through Selenium) against a real broker, a
real worker and a real `sla-monitor board`: rows appear and leave within 2 s, countdowns tick, a row turns
breached at its deadline, filters live in the URL, kiosk mode, viewer's time zone, no console error.

Set SLA_BOARD_SCREENSHOTS=docs to refresh docs/board.png and docs/board-kiosk.png.
"""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from tests.browser.chromium import chromium
from tests.integration.board_process import BoardProcess
from tests.integration.conftest import Names, Producer, Worker, run, ticket

pytestmark = [pytest.mark.browser, pytest.mark.integration]
VIEWER_ZONE = "Asia/Kolkata"  # the browser's zone: +05:30 all year, unlike the worker's UTC
POLICY = Path(__file__).resolve().parents[1] / "integration" / "policy.seconds.yaml"


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Names, BoardProcess]]:
    """One worker and one board on fresh topics, for the module."""
    folder = tmp_path_factory.mktemp("board-stack")
    names = Names.fresh()
    worker = Worker(names, folder / "data", POLICY, log_path=folder / "worker.log").start()
    board = BoardProcess(names, folder / "board.log")
    try:
        worker.wait_ready()
        board.start().wait_ready()
        yield names, board
    finally:
        board.stop()
        worker.kill()


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """Headless chromium in the viewer's zone, driven through the system chromedriver (nothing downloaded)."""
    with chromium(tmp_path_factory.mktemp("chromium"), "1300,800", zone=VIEWER_ZONE) as driver:
        yield driver


def _send(names: Names, *bodies: dict[str, Any]) -> None:
    now = time.time()
    run(Producer(names).send_all([(0.0, body) for body in bodies], now))


def _wait(check: Callable[[], Any], within: float, what: str) -> Any:
    deadline = time.monotonic() + within
    while True:
        found = check()
        if found or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    assert found, f"{what} not within {within} s"
    return found


# The rows as the page shows them, read in one script (the page redraws rows on every push).
READ_ROWS = """return Array.from(document.querySelectorAll('#rows tr')).map(tr => ({
  ticket: tr.dataset.ticket, metric: tr.dataset.metric, breached: tr.classList.contains('breached'),
  cells: Array.from(tr.cells).map(td => td.textContent),
  seconds: parseInt(tr.querySelector('td.left').dataset.seconds, 10),
  left: tr.querySelector('td.left').textContent, level: tr.querySelector('td.level').textContent,
  deadline: tr.querySelector('td.deadline').textContent}));"""


def _all_rows(browser: Any) -> list[dict[str, Any]]:
    return list(browser.execute_script(READ_ROWS))


def _rows(browser: Any, ticket_id: str) -> list[dict[str, Any]]:
    return [row for row in _all_rows(browser) if row["ticket"] == ticket_id]


def _row(browser: Any, ticket_id: str, metric: str) -> dict[str, Any] | None:
    return next((row for row in _rows(browser, ticket_id) if row["metric"] == metric), None)


def _seconds_left(row: dict[str, Any]) -> int:
    return int(row["seconds"])


def _no_console_errors(browser: Any) -> None:
    errors = [entry for entry in browser.get_log("browser") if entry["level"] in ("SEVERE", "ERROR")]
    assert errors == []


def test_a_ticket_appears_counts_down_breaches_at_its_deadline_and_leaves(stack: tuple[Names, BoardProcess],
                                                                        browser: Any) -> None:
    """Opened: its rows within 2 s; the countdown decreases; at the response deadline (10 s) the row turns
    breached; resolved: the rows leave within 2 s; all without a reload and without a console error."""
    from selenium.webdriver.common.by import By

    names, board = stack
    browser.get(board.url + "/")
    _wait(lambda: browser.find_element(By.ID, "status").text == "live", 10, "the page connected")
    browser.execute_script("window.notReloaded = true")
    opened = time.time()
    _send(names, ticket("opened", "LIVE-1", opened, priority="P1", customer_id="acme", service_id="mail"))
    response = _wait(lambda: _row(browser, "LIVE-1", "response"), 2.0 + (time.time() - opened) , "LIVE-1's row")
    assert time.time() - opened < 2.5
    assert _row(browser, "LIVE-1", "resolution") is not None
    assert response["cells"][:5] == ["LIVE-1", "P1", "acme", "mail", "response"]
    first = _seconds_left(response)
    time.sleep(2.1)
    response = _row(browser, "LIVE-1", "response")
    second = _seconds_left(response)
    assert second < first <= 10
    # The deadline in the viewer's zone, with its offset.
    deadline_text = response["deadline"]
    assert deadline_text.endswith(" +05:30")
    due = datetime.fromtimestamp(opened + 10, UTC).astimezone(ZoneInfo(VIEWER_ZONE))
    assert deadline_text[:16] == due.strftime("%Y-%m-%d %H:%M")
    assert not response["breached"]
    # The deadline passes: the row turns breached (the browser's own tick; the worker's breach follows).
    time.sleep(max(0.0, opened + 10 - time.time()))
    _wait(lambda: (_row(browser, "LIVE-1", "response") or {}).get("breached"), 1.5, "the breached row")
    assert "overdue" in (_row(browser, "LIVE-1", "response") or {})["left"]
    _wait(lambda: (_row(browser, "LIVE-1", "response") or {}).get("level") == "breach", 3.0,
          "the worker's breach level")
    # Breached first: the top row of the page.
    assert _all_rows(browser)[0]["ticket"] == "LIVE-1"
    resolved = time.time()
    _send(names, ticket("resolved", "LIVE-1", resolved))
    _wait(lambda: not _rows(browser, "LIVE-1"), 2.0 + (time.time() - resolved), "LIVE-1 leaving")
    assert time.time() - resolved < 2.5
    assert browser.execute_script("return window.notReloaded") is True
    _no_console_errors(browser)


def test_filters_are_in_the_url_and_a_bookmark_is_a_view(stack: tuple[Names, BoardProcess], browser: Any) -> None:
    """?priority=, ?customer=, ?metric= and ?ticket= each narrow the rows and counts; typing a filter rewrites the URL."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    names, board = stack
    now = time.time()
    _send(names, ticket("opened", "F-1", now, priority="P2", customer_id="acme", service_id="crm"),
          ticket("opened", "F-2", now, priority="P3", customer_id="globex", service_id="mail"),
          ticket("opened", "F-3", now, priority="P3", customer_id="acme", service_id="mail"))

    def shown() -> set[tuple[str, str]]:
        return {(r["ticket"], r["metric"]) for r in _all_rows(browser) if r["ticket"].startswith("F-")}

    browser.get(board.url + "/?priority=P3")
    _wait(lambda: {t for t, _ in shown()} == {"F-2", "F-3"}, 5, "the P3 view")
    assert browser.find_element(By.ID, "f-priority").get_attribute("value") == "P3"
    counts = browser.execute_script(
        "return Object.fromEntries(Array.from(document.querySelectorAll('#counts span'))"
        ".map(e => [e.dataset.count, e.textContent]))")
    assert "P2" not in counts
    assert counts["P3"] == "P3 4"  # two tickets, two clocks each
    customer = browser.find_element(By.ID, "f-customer")
    customer.send_keys("acme")
    _wait(lambda: {t for t, _ in shown()} == {"F-3"}, 3, "the P3 + acme view")
    assert "priority=P3" in browser.current_url
    assert "customer=acme" in browser.current_url
    Select(browser.find_element(By.ID, "f-metric")).select_by_value("response")
    _wait(lambda: shown() == {("F-3", "response")}, 3, "the response-only view")
    assert "metric=response" in browser.current_url
    bookmark = browser.current_url
    browser.get(board.url + "/")
    browser.get(bookmark)  # the bookmark gives the same view back
    _wait(lambda: shown() == {("F-3", "response")}, 5, "the bookmarked view")
    browser.get(board.url + "/?ticket=F-1")  # the notifier's link
    _wait(lambda: shown() == {("F-1", "response"), ("F-1", "resolution")}, 5, "the ticket view")
    browser.get(board.url + "/?service=mail&customer=globex")
    _wait(lambda: {t for t, _ in shown()} == {"F-2"}, 5, "the service + customer view")
    _send(names, *(ticket("resolved", t, time.time()) for t in ("F-1", "F-2", "F-3")))
    _no_console_errors(browser)


def test_kiosk_mode_has_large_type_and_no_form(stack: tuple[Names, BoardProcess], browser: Any) -> None:
    """?kiosk=1: the body is in kiosk mode, its type larger than the normal page's, the filter form hidden."""
    from selenium.webdriver.common.by import By

    _, board = stack
    browser.get(board.url + "/")
    normal = browser.execute_script("return parseFloat(getComputedStyle(document.body).fontSize)")
    browser.get(board.url + "/?kiosk=1")
    _wait(lambda: browser.find_element(By.ID, "status").text == "live", 5, "the page connected")
    assert "kiosk" in (browser.find_element(By.TAG_NAME, "body").get_attribute("class") or "")
    large = browser.execute_script("return parseFloat(getComputedStyle(document.body).fontSize)")
    assert large >= 1.5 * normal
    assert not browser.find_element(By.ID, "filters").is_displayed()
    resources = browser.execute_script(
        "return performance.getEntriesByType('resource').map(e => new URL(e.name).origin)")
    assert set(resources) <= {board.url}  # nothing from elsewhere
    _no_console_errors(browser)


def test_screenshots_of_a_busy_board(stack: tuple[Names, BoardProcess], browser: Any, tmp_path: Path) -> None:
    """A board with breached, warned, paused and fresh tickets renders (set SLA_BOARD_SCREENSHOTS=docs to save
    docs/board.png and docs/board-kiosk.png)."""

    names, board = stack
    now = time.time()
    customers = ["acme", "globex", "initech", "umbrella"]
    services = ["mail", "crm", "vpn", "billing"]
    bodies = []
    for i in range(12):
        priority = ("P1", "P2", "P3")[i % 3]
        bodies.append(ticket("opened", f"INC-{4810 + i}", now - (i * 1.3), priority=priority,
                             customer_id=customers[i % 4], service_id=services[(i * 3) % 4]))
    _send(names, *bodies)
    _send(names, ticket("acknowledged", "INC-4811", time.time()), ticket("paused", "INC-4813", time.time()))
    time.sleep(7)  # warnings and a breach or two by now
    browser.get(board.url + "/")
    _wait(lambda: sum(r["ticket"].startswith("INC-") for r in _all_rows(browser)) >= 20, 5, "the rows")
    time.sleep(1.2)
    shot, kiosk = tmp_path / "board.png", tmp_path / "board-kiosk.png"
    assert browser.save_screenshot(str(shot))
    browser.set_window_size(1600, 900)  # a wall screen
    try:
        browser.get(board.url + "/?kiosk=1")
        _wait(lambda: sum(r["ticket"].startswith("INC-") for r in _all_rows(browser)) >= 10, 5, "kiosk rows")
        time.sleep(1.2)
        assert browser.execute_script("return document.documentElement.scrollWidth <= window.innerWidth")
        assert browser.save_screenshot(str(kiosk))
    finally:
        browser.set_window_size(1300, 800)
    assert shot.stat().st_size > 20_000
    assert kiosk.stat().st_size > 20_000
    if os.environ.get("SLA_BOARD_SCREENSHOTS"):
        folder = Path(os.environ["SLA_BOARD_SCREENSHOTS"])
        shutil.copy(shot, folder / "board.png")
        shutil.copy(kiosk, folder / "board-kiosk.png")
    _no_console_errors(browser)
