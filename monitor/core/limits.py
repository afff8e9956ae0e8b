"""Every bound the core puts on what a producer can make it keep or do.

A producer that exceeds one gets its event refused with a reason naming the
bound (a dead letter, live); nothing else slows down. The README's "Limits"
section lists the same figures.

Input
    MAX_EVENT_BYTES      size of one raw event (a JSON line or a Kafka message value)
    MAX_ID_LENGTH        characters of an id or name in an event (event_id, ticket_id, ...)
    EARLIEST, LATEST     instants accepted in events (occurred_at, starts_at, ends_at), UTC
    MAX_LATENCY_MS       a probe result's latency_ms
    MAX_COMMENT_LENGTH   characters of a rating's comment

Per policy
    MAX_ESCALATIONS      escalation levels in one list of the policy's ``escalations`` (per priority,
                         ``default``, or an override's); each adds one alert level to a clock

Per ticket
    DEDUP_WINDOW         event ids remembered for de-duplication (the most recent ones)
    MAX_EVENTS_PER_TICKET accepted events, after which only events that stop a clock are
                         (so the ticket can still be acknowledged and resolved)
    MAX_SPANS            running spans a clock can have (each accepted event adds at most one)
    MAX_TICKET_STATE_BYTES what the encoded state of a ticket stays under at these bounds

Per worker or replay (memory kept whatever the input)
    MAX_CACHED_TARGETS   resolved targets kept per policy, by (priority, customer, service, in hours),
                         least recently used dropped first (``Policy.targets_for``)

Per service
    MAX_PROBES_PER_SERVICE     probe locations (a new one beyond is refused)
    MAX_WINDOWS_PER_SERVICE    maintenance windows kept (not ended before the current period)
    MAX_SERVICE_STATE_BYTES    what the encoded state of a service stays under at these bounds
"""

from __future__ import annotations

from datetime import UTC, datetime

MAX_EVENT_BYTES = 65_536
MAX_ID_LENGTH = 256

EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)
# Business-time walks run up to twenty years past an instant (calendar.HORIZON_DAYS) plus
# a calendar's longest closed run (calendar.MAX_CLOSED_DAYS, about ten years): ending in
# 9960 keeps every walk inside the years ``datetime`` can represent (up to 9999).
LATEST = datetime(9960, 12, 31, 23, 59, 59, 999_999, tzinfo=UTC)
RANGE_TEXT = "1970-01-01..9960-12-31 (UTC)"
MAX_LATENCY_MS = 86_400_000  # one day
MAX_COMMENT_LENGTH = 4_000  # well inside MAX_EVENT_BYTES even as escaped JSON

MAX_ESCALATIONS = 10
MAX_ESCALATION_TO_LENGTH = 256  # characters of an escalation's `to`

DEDUP_WINDOW = 1_000
MAX_EVENTS_PER_TICKET = 10_000
# Only ticket.resumed and ticket.reopened add a span, each after a pause or a resolve;
# the opening adds the first.
MAX_SPANS = 1 + MAX_EVENTS_PER_TICKET // 2
MAX_TICKET_STATE_BYTES = 512 * 1024
MAX_SERVICE_STATE_BYTES = 512 * 1024

MAX_CACHED_TARGETS = 10_000

MAX_PROBES_PER_SERVICE = 64
MAX_WINDOWS_PER_SERVICE = 64
