"""The open clocks in memory, ordered by urgency: pure, no I/O, time an argument.

One ``Row`` per open clock (a ticket's response clock until acknowledged, its
resolution clock until resolved), built from the ticket's latest ``sla.clock``
record; a tombstone removes the ticket. Rows stay sorted by a key that does not
depend on the time: running clocks (and paused ones already past their target)
by deadline, so breached rows come first, longest overdue first, then by time to
deadline; paused clocks after them, by business time left. A change costs a
binary search and a list insertion; the top rows are a slice and the counts per
priority and metric are kept as they change, so 100,000 open tickets stay
cheap. While the topic is first read (``loading``) rows are only collected and
sorted once at the end.

Bounds: at most ``max_tickets`` tickets (further ones are counted in
``skipped`` and left out until room is made); a record must be at most
``MAX_RECORD_BYTES`` and well formed, else it is counted in ``bad`` (the ticket
keeps its previous rows).
"""

from __future__ import annotations

import bisect
import json
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

METRICS = ("response", "resolution")
FILTERS = ("priority", "customer", "service", "metric", "ticket")
MAX_RECORD_BYTES = 16_384  # a clock record of 256-character ids is under 3 KB
Key = tuple[int, int, str, str]  # (0 running / 1 paused, deadline or ms left, ticket, metric)


class BadRecord(ValueError):
    """An ``sla.clock`` record the board cannot use."""


@dataclass(frozen=True, slots=True)
class Row:
    """One open clock as the page shows it (instants in ms since the epoch)."""

    ticket_id: str
    metric: str
    priority: str
    customer_id: str | None
    service_id: str | None
    state: str  # running | paused
    deadline_ms: int
    used_s: float
    target_s: float
    level: str
    updated_ms: int
    next_due_ms: int | None

    @property
    def key(self) -> Key:
        """Its place in the urgency order."""
        if self.state == "paused":
            if self.used_s < self.target_s:
                return 1, round((self.target_s - self.used_s) * 1000), self.ticket_id, self.metric
            # Paused past its target: overdue since its deadline (which the record dates by then at the latest).
            return 0, min(self.deadline_ms, self.updated_ms), self.ticket_id, self.metric
        return 0, self.deadline_ms, self.ticket_id, self.metric

    @property
    def combo(self) -> tuple[str, str, str | None, str | None]:
        """What the filters look at, but the ticket id."""
        return self.priority, self.metric, self.customer_id, self.service_id

    def breached(self, now_ms: int) -> bool:
        """Tell whether the clock is past its target at ``now_ms``: its deadline passed, or (paused) its used
        time reached the target. By the record's figures, not its level: a priority change that moved the
        deadline later makes a clock whose breach was published no longer overdue (its outcome may retract it)."""
        rank, since, _, _ = self.key
        return rank == 0 and now_ms >= since

    def as_json(self, now_ms: int) -> dict[str, Any]:
        """The row for the page and the API."""
        return {"ticket_id": self.ticket_id, "metric": self.metric, "priority": self.priority,
                "customer_id": self.customer_id, "service_id": self.service_id, "state": self.state,
                "deadline_ms": self.deadline_ms, "used_seconds": self.used_s, "target_seconds": self.target_s,
                "level": self.level, "updated_ms": self.updated_ms, "next_due_ms": self.next_due_ms,
                "breached": self.breached(now_ms)}


@dataclass(frozen=True, slots=True)
class Filters:
    """What a view shows: each field a set of accepted values (empty: any)."""

    priority: frozenset[str] = frozenset()
    customer: frozenset[str] = frozenset()
    service: frozenset[str] = frozenset()
    metric: frozenset[str] = frozenset()
    ticket: frozenset[str] = frozenset()

    @classmethod
    def of(cls, query: Mapping[str, str]) -> Filters:
        """Filters from URL parameters (comma-separated values: ``priority=P1,P2``)."""
        values = {name: frozenset(v for v in query.get(name, "").split(",") if v) for name in FILTERS}
        bad = sorted(values["metric"] - set(METRICS))
        if bad:
            raise ValueError(f"metric: {', '.join(bad)} is not one of {', '.join(METRICS)}")
        return cls(**values)

    @property
    def empty(self) -> bool:
        """Tell whether every row passes."""
        return not (self.priority or self.customer or self.service or self.metric or self.ticket)

    def accepts(self, row: Row) -> bool:
        """Tell whether ``row`` is in the view."""
        return ((not self.priority or row.priority in self.priority)
                and (not self.metric or row.metric in self.metric)
                and (not self.ticket or row.ticket_id in self.ticket)
                and (not self.customer or row.customer_id in self.customer)
                and (not self.service or row.service_id in self.service))


def parse_record(ticket_id: str, value: bytes) -> tuple[Row, ...]:
    """The open clocks of one ``sla.clock`` record (raise ``BadRecord`` when it is not one)."""
    if len(value) > MAX_RECORD_BYTES:
        raise BadRecord(f"{len(value)} bytes; the limit is {MAX_RECORD_BYTES}")
    try:
        record = json.loads(value)
        if not isinstance(record, dict) or record.get("type") != "sla.clock":
            raise BadRecord("not an sla.clock record")
        if record.get("ticket_id") != ticket_id:
            raise BadRecord(f"ticket_id {record.get('ticket_id')!r} is not the key {ticket_id!r}")
        updated = _ms(record["updated_at"])
        rows = []
        for metric in METRICS:
            clock = record["clocks"][metric]
            if clock["state"] == "stopped":
                continue
            if clock["state"] not in ("running", "paused"):
                raise BadRecord(f"clocks.{metric}.state: {clock['state']!r}")
            rows.append(Row(ticket_id, metric, str(record["priority"]), _text(record.get("customer_id")),
                            _text(record.get("service_id")), clock["state"], _ms(clock["deadline"]),
                            float(clock["used_seconds"]), float(clock["target_seconds"]), str(clock["level"]),
                            updated, None if clock.get("next_due") is None else _ms(clock["next_due"])))
        return tuple(rows)
    except BadRecord:
        raise
    except (ValueError, KeyError, TypeError) as error:
        raise BadRecord(f"{type(error).__name__}: {error}") from None


def _ms(text: Any) -> int:
    at = datetime.fromisoformat(str(text))
    if at.tzinfo is None:
        raise ValueError(f"{text!r} has no offset")
    return round(at.timestamp() * 1000)


def _text(value: Any) -> str | None:
    return None if value is None else str(value)


class Board:
    """The open clocks of every ticket read so far; see the module docstring."""

    def __init__(self, max_tickets: int = 500_000) -> None:
        self.max_tickets = max_tickets
        self.tickets: dict[str, tuple[Row, ...]] = {}
        self.rows: dict[Key, Row] = {}
        self.ordered: list[tuple[Key, Row]] = []  # by key (unique, so rows are never compared)
        self.by_priority: Counter[str] = Counter()
        self.by_metric: Counter[str] = Counter()
        # Open clocks per (priority, metric, customer, service): the counts of a filtered view without a walk.
        self.combos: Counter[tuple[str, str, str | None, str | None]] = Counter()
        self.version = 0  # moves on every change, for the pushes
        self.skipped = 0  # records of tickets beyond max_tickets
        self.bad = 0  # records that are not sla.clock records
        self.loading = True  # until the topic was read up to its end: sort once, at the end

    # -- changes ---------------------------------------------------------------------------------

    def apply(self, key: bytes | None, value: bytes | None) -> None:
        """Take one message of the clocks topic: a record, or a tombstone (None) that removes the ticket."""
        if not key:
            self.bad += 1
            raise BadRecord("no key (the ticket id)")
        ticket_id = key.decode(errors="replace")
        if value is None:
            self._set(ticket_id, ())
            return
        try:
            rows = parse_record(ticket_id, value)
        except BadRecord:
            self.bad += 1
            raise
        if ticket_id not in self.tickets and len(self.tickets) >= self.max_tickets:
            self.skipped += 1
            return
        self._set(ticket_id, rows)

    def loaded(self) -> None:
        """The topic was read up to its end at start-up: sort the rows once and follow changes one by one."""
        self.ordered = sorted(self.rows.items())
        self.loading = False
        self.version += 1

    def _set(self, ticket_id: str, rows: tuple[Row, ...]) -> None:
        for row in self.tickets.pop(ticket_id, ()):
            key = row.key
            del self.rows[key]
            if not self.loading:
                del self.ordered[bisect.bisect_left(self.ordered, (key,))]
            self.by_priority[row.priority] -= 1
            self.by_metric[row.metric] -= 1
            combo = row.combo
            self.combos[combo] -= 1
            if not self.combos[combo]:
                del self.combos[combo]
        if rows:
            self.tickets[ticket_id] = rows
        for row in rows:
            key = row.key
            self.rows[key] = row
            if not self.loading:
                bisect.insort(self.ordered, (key, row))
            self.by_priority[row.priority] += 1
            self.by_metric[row.metric] += 1
            self.combos[row.combo] += 1
        self.version += 1

    # -- views -----------------------------------------------------------------------------------

    def in_order(self) -> Iterator[Row]:
        """Every open clock, most urgent first."""
        return (row for _, row in (self.ordered if not self.loading else sorted(self.rows.items())))

    def view(self, filters: Filters, limit: int, now_ms: int) -> dict[str, Any]:
        """The page's data: the top ``limit`` rows of the view, its counts, and the board's.

        Rows come from the ordered list, walked only until ``limit`` rows match; the counts from
        the per-combination counters; breached from the (usually short) prefix of rows past their
        deadline. A ticket filter looks its rows up directly.
        """
        if filters.ticket:
            return self._walked(filters, limit, now_ms, self._ticket_rows(filters))
        if self.loading:
            return self._walked(filters, limit, now_ms)
        ordered = self.ordered
        overdue = bisect.bisect_left(ordered, ((0, now_ms + 1),))
        if filters.empty:
            top = [row.as_json(now_ms) for _, row in ordered[:limit]]
            by_priority, by_metric = +self.by_priority, +self.by_metric
            matching = len(ordered)
            breached = overdue  # paused rows short of their target (rank 1) are not breached
        else:
            top = []
            for _, row in ordered:
                if filters.accepts(row):
                    top.append(row.as_json(now_ms))
                    if len(top) >= limit:
                        break
            by_priority, by_metric = Counter(), Counter()
            for (priority, metric, customer, service), count in self.combos.items():
                if ((not filters.priority or priority in filters.priority)
                        and (not filters.metric or metric in filters.metric)
                        and (not filters.customer or customer in filters.customer)
                        and (not filters.service or service in filters.service)):
                    by_priority[priority] += count
                    by_metric[metric] += count
            matching = sum(by_metric.values())
            accepts = filters.accepts
            breached = sum(1 for i in range(overdue) if accepts(ordered[i][1]))
        return self._view(now_ms, matching, breached, by_priority, by_metric, top, limit)

    def _walked(self, filters: Filters, limit: int, now_ms: int,
                rows: Iterable[Row] | None = None) -> dict[str, Any]:
        """The view by walking the rows (while loading, or a ticket's few rows)."""
        top: list[dict[str, Any]] = []
        matching = breached = 0
        by_priority: Counter[str] = Counter()
        by_metric: Counter[str] = Counter()
        for row in (rows if rows is not None else self.in_order()):
            if not filters.accepts(row):
                continue
            matching += 1
            breached += row.breached(now_ms)
            by_priority[row.priority] += 1
            by_metric[row.metric] += 1
            if len(top) < limit:
                top.append(row.as_json(now_ms))
        return self._view(now_ms, matching, breached, by_priority, by_metric, top, limit)

    def _view(self, now_ms: int, matching: int, breached: int, by_priority: Counter[str], by_metric: Counter[str],
              top: list[dict[str, Any]], limit: int) -> dict[str, Any]:
        return {"now_ms": now_ms, "open_tickets": len(self.tickets), "open_clocks": len(self.rows),
                "matching": matching, "breached": breached,
                "counts": {"priority": dict(sorted(by_priority.items())), "metric": dict(sorted(by_metric.items()))},
                "rows": top, "limit": limit, "skipped": self.skipped, "bad": self.bad}

    def _ticket_rows(self, filters: Filters) -> list[Row]:
        """A ticket link (/?ticket=T-1): its own rows (other filters still apply), no walk over the board."""
        found = [row for ticket in filters.ticket for row in self.tickets.get(ticket, ())]
        return sorted(found, key=lambda row: row.key)
