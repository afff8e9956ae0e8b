"""Browser sessions share the broker with integration sessions (the board's tests run a worker on test topics)."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="session", autouse=True)
def browser_session_lock(broker_sessions_lock: None) -> None:
    """A browser session holds the integration sessions' shared lock, so an integration session ending beside it
    deletes only its own topics, not the ones the board's page is reading."""
