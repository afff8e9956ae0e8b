"""The integration suite's clean-up: a session ending beside another deletes only its own tests' topics."""

from __future__ import annotations

import fcntl
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.integration.conftest import REPO, TEST_TOPIC, Names, SessionLock, session_topics


def _tag(names: Names) -> str:
    return names.events.split(".")[0][1:]


def test_a_session_pattern_matches_its_tests_topics_and_no_others() -> None:
    """Its tags' input, output and Faust topics; neither another session's tests nor anything outside the suite."""
    mine, other = Names.fresh(), Names.fresh()
    pattern = session_topics({_tag(mine)})
    for topic in (mine.events, *mine.outputs, mine.clocks, f"{mine.app_id}-tickets-changelog",
                  f"{mine.app_id}-__assignor-__leader"):
        assert pattern.match(topic), topic
        assert TEST_TOPIC.match(topic), topic
    for topic in (other.events, *other.outputs, f"{other.app_id}-tickets-changelog", "sla.warnings",
                  f"x{mine.events}", f"bench-{_tag(mine)[:6]}.events"):
        assert not pattern.match(topic), topic


def test_a_session_without_tests_deletes_nothing() -> None:
    """No tags, no topics (not every topic)."""
    assert not session_topics(set()).match(Names.fresh().events)


def test_a_session_is_alone_only_when_no_other_holds_the_lock(tmp_path: Path) -> None:
    """While another session runs, the ending one is not alone; alone, it keeps new sessions waiting until it ends."""
    path = tmp_path / "sessions.lock"
    with SessionLock(path) as ending, SessionLock(path):
        assert not ending.alone()
    with SessionLock(path) as last:
        assert last.alone()
        with open(path) as starting, pytest.raises(BlockingIOError):
            fcntl.flock(starting, fcntl.LOCK_SH | fcntl.LOCK_NB)
    with SessionLock(path) as after:
        assert after.alone()


def test_every_browser_test_runs_under_the_sessions_lock() -> None:
    """A browser-only session holds the shared lock (an integration session ending beside it then leaves the
    board's topics alone): every browser test's fixtures include ``broker_sessions_lock``."""
    listing = subprocess.run(
        [sys.executable, "-m", "pytest", "--fixtures-per-test", "-p", "no:cacheprovider", "-q", "tests/browser"],
        cwd=REPO, capture_output=True, text=True, timeout=120, check=True).stdout
    sections = re.split(r"\n-+ fixtures used by ", listing)[1:]
    assert len(sections) >= 5, listing  # the board's and the report's page tests
    unlocked = [section.split(" ", 1)[0] for section in sections
                if "\nbroker_sessions_lock -- tests/conftest.py" not in section]
    assert not unlocked, unlocked
