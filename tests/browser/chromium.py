"""Headless Debian chromium driven through the system chromedriver, for the browser tests (nothing downloaded:
Selenium Manager never runs)."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

CHROMEDRIVER = Path("/usr/bin/chromedriver")
HINT = "run `scripts/browser.sh install` (make setup does): Debian's chromium and chromium-driver"


@contextmanager
def chromium(profile: Path, window: str, zone: str | None = None) -> Iterator[Any]:
    """A driver with its own profile folder, a ``window`` size ("W,H") and, if given, the viewer's time ``zone``;
    the browser's console is kept for the tests to read. Fails (not skips) when chromium is not installed."""
    if not CHROMEDRIVER.exists() or shutil.which("chromium") is None:
        pytest.fail(f"no chromium/chromedriver: {HINT}")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--no-first-run", f"--window-size={window}"):
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={profile}")
    options.binary_location = shutil.which("chromium") or "chromium"
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    service = Service(str(CHROMEDRIVER), env={**os.environ, "TZ": zone}) if zone else Service(str(CHROMEDRIVER))
    driver = webdriver.Chrome(service=service, options=options)
    try:
        yield driver
    finally:
        driver.quit()
