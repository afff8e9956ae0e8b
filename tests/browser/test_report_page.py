"""The HTML report in a real headless browser (Debian's chromium through Selenium): it renders its figures,
draws the chart, fetches nothing and logs no console error.

Set SLA_REPORT_SCREENSHOT=docs/report-example.png to refresh the screenshot in the docs.
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from monitor.cli.report_render import render_html
from monitor.core.instants import to_us
from monitor.core.policy import parse_policy
from monitor.core.replay import Rejection, replay_lines
from monitor.core.report import Month, build_reports
from tests.browser.chromium import chromium
from tests.unit.core import test_report_quarter as quarter

pytestmark = [pytest.mark.browser, pytest.mark.integration]


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """Headless chromium driven through the system chromedriver (Selenium Manager never downloads anything)."""
    with chromium(tmp_path_factory.mktemp("chromium"), "1000,1500") as driver:
        yield driver


def _page(tmp_path: Path) -> tuple[Path, dict[str, Any]]:
    """The November report of acme from the replayed quarter: breaches, capped credits, an improvement plan."""
    policy = parse_policy(quarter.POLICY.replace("  acme:\n", "  acme:\n    name: ACME GmbH\n"), "quarter.yaml")
    lines, ratings = quarter._generate(7)
    until = to_us(datetime(2027, 1, 1, 0, 0, 1, tzinfo=quarter.BERLIN))
    records = [r for r in replay_lines(policy, lines, until) if not isinstance(r, Rejection)] + ratings
    [built] = build_reports(policy, Month.parse("2026-11"), records, "acme")
    path = tmp_path / "acme-2026-11.html"
    path.write_text(render_html(built, records_read=len(records)), encoding="utf-8")
    return path, built.record


def test_report_page_renders_its_figures_without_errors(browser: Any, tmp_path: Path) -> None:
    """Header, KPI rows, chart bars, breach rows and the credit total are in the DOM; the console has no error."""
    from selenium.webdriver.common.by import By

    path, record = _page(tmp_path)
    assert record["breaches"]
    assert record["improvement_plan_due"]
    browser.get(path.as_uri())
    find = browser.find_element
    assert find(By.ID, "customer").text == "ACME GmbH"
    assert "November 2026" in find(By.ID, "period").text
    assert record["due_by"] in find(By.ID, "due").text
    rows = browser.find_elements(By.CSS_SELECTOR, "#kpis tbody tr")
    assert [r.get_attribute("data-kpi") for r in rows] == [k["name"] for k in record["kpis"]]
    missed = [r.get_attribute("data-kpi") for r in rows if r.find_elements(By.CSS_SELECTOR, "span.missed")]
    assert missed == [k["name"] for k in record["kpis"] if k["met"] is False]
    colour = browser.execute_script(
        "return getComputedStyle(document.querySelector('#kpis span.missed')).backgroundColor")
    assert colour == "rgb(253, 232, 230)"  # the stylesheet applies
    assert len(browser.find_elements(By.CSS_SELECTOR, "#breaches tbody tr")) == len(record["breaches"])
    bars = browser.find_elements(By.CSS_SELECTOR, "#chart rect.bar")
    assert len(bars) == len({b["at"][:10] for b in record["breaches"]})
    assert find(By.ID, "chart").size["height"] > 100
    assert find(By.ID, "credits-total").text == f"{record['credits']['total']} EUR"
    assert f"Improvement plan due by {record['improvement_plan_due']}" in find(By.ID, "improvement").text
    resources = browser.execute_script("return performance.getEntriesByType('resource').length")
    assert resources == 0  # self-contained: nothing fetched
    errors = [entry for entry in browser.get_log("browser") if entry["level"] in ("SEVERE", "ERROR")]
    assert errors == []
    first = tmp_path / "first-screen.png"
    assert browser.save_screenshot(str(first))
    if os.environ.get("SLA_REPORT_SCREENSHOT"):
        shutil.copy(first, os.environ["SLA_REPORT_SCREENSHOT"])
    browser.set_window_size(1000, browser.execute_script("return document.body.scrollHeight") + 40)
    shot = tmp_path / "report.png"
    assert browser.save_screenshot(str(shot))
    assert shot.stat().st_size > first.stat().st_size > 20_000


def test_report_prints_to_a4_pdf(browser: Any, tmp_path: Path) -> None:
    """Print to PDF (the print stylesheet, A4) gives an A4 document of a few pages."""
    import base64

    path, _ = _page(tmp_path)
    browser.get(path.as_uri())
    pdf = base64.b64decode(browser.execute_cdp_cmd("Page.printToPDF", {"preferCSSPageSize": True})["data"])
    assert pdf.startswith(b"%PDF")
    [count] = re.findall(rb"/Count (\d+)", pdf)
    assert 1 <= int(count) <= 10  # 29 breaches listed: a few pages
    boxes = {tuple(round(float(x)) for x in box.split()) for box in re.findall(rb"/MediaBox \[([^\]]*)\]", pdf)}
    assert boxes == {(0, 0, 595, 842)}  # A4 in points, on every page
