"""Shared fixtures: a policy in the documented shape and event builders."""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterator
from typing import Any

import pytest

from monitor.core.events import TicketEvent, parse_event
from monitor.core.policy import Policy, parse_policy

POLICY_YAML = """
calendars:
  business:
    timezone: Asia/Shanghai
    hours:
      mon-fri: "09:00-12:00,13:00-18:00"
      sat: "10:00-14:00"
    holidays: ["2026-10-01", "2026-10-02"]
    workdays:
      "2026-10-10": "09:00-18:00"
  always:
    timezone: UTC
    hours: always
service_hours: business
targets:
  P1:
    calendar: always
    response: 15m
    resolution: 2h
    out_of_hours: {response: 30m, resolution: 4h}
  P2: {calendar: business, response: 30m, resolution: 8h}
  P3: {calendar: business, response: 2h, resolution: 24h}
warn_at: [0.5, 0.75, 0.9]
overrides:
  - match: {customer_id: acme}
    targets: {P1: {response: 10m}}
"""

_ids = itertools.count(1)


@pytest.fixture(scope="session")
def broker_sessions_lock() -> Iterator[None]:
    """The shared lock of the sessions that use the local broker (integration and browser tests), held for the
    whole session: one session's end deletes another's topics only when none holds it
    (``tests/integration/conftest.py``, ``shared_session``)."""
    from tests.integration.conftest import shared_session

    with shared_session():
        yield


@pytest.fixture
def policy() -> Policy:
    """The policy shape from the README, in Asia/Shanghai business hours."""
    return parse_policy(POLICY_YAML, "test-policy.yaml")


def event_json(kind: str, ticket: str, at: str, **fields: Any) -> str:
    """Build one raw JSON event line; ``at`` without offset means +08:00."""
    if not at.endswith(("Z", "+08:00", "+00:00", "+01:00", "+02:00")) and "+" not in at[10:]:
        at += "+08:00"
    body = {"type": f"ticket.{kind}", "event_id": fields.pop("event_id", f"ev-{next(_ids)}"),
            "ticket_id": ticket, "occurred_at": at, **fields}
    return json.dumps(body)


def event(kind: str, ticket: str, at: str, **fields: Any) -> TicketEvent:
    """Build one parsed event (see ``event_json``)."""
    return parse_event(event_json(kind, ticket, at, **fields))
