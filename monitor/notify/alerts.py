"""What is firing and what to post: the notifier's decisions, with no I/O.

``FiringSet`` takes the records of the warning, breach and outcome topics (in
publication order, each with its Kafka timestamp) and says which Alertmanager
alerts to post now; the shell (``monitor.notify.service``) carries that out and
re-posts ``firing()`` periodically. Time is an argument.

One alert per *slot*: (ticket, metric, alertname, escalation_to). Every warning
of a clock shares its slot (the labels carry no threshold, so Alertmanager sees
one warning alert whose annotations follow the latest threshold). Rules:

- a warning, breach or escalation fires its slot; a later record of the slot
  with other labels (the priority changed) resolves the old alert and fires
  the new one;
- a breach or an escalation resolves (supersedes) the clock's warning, and a
  warning of a clock with a breach or escalation firing is not fired;
- the clock's outcome resolves every alert of the clock published before it;
  alerts published after it (the ticket was reopened) stay firing;
- an alert arriving after its clock's outcome (the topics are read in
  parallel) does not fire: the last outcomes are remembered
  (``RECENT_OUTCOMES``).

Service-level records (``metric: availability``), ratings and unknown types are
ignored, with a reason the shell counts.
"""

from __future__ import annotations

import sys
from collections import OrderedDict
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

ALERT_KINDS = {"sla.warning": "SlaWarning", "sla.breach": "SlaBreach", "sla.escalation": "SlaEscalation"}
SEVERITY = {"SlaWarning": "warning", "SlaBreach": "critical", "SlaEscalation": "critical"}
# Order of records published in the same millisecond: alerts before the outcome that ends them.
RANK = {"sla.warning": 0, "sla.breach": 1, "sla.escalation": 2, "sla.outcome": 3}

#: Outcomes remembered to stop alerts read after them (across topics the order of reading is not
#: the order of publication); the oldest are forgotten first.
RECENT_OUTCOMES = 10_000
#: Default bound of the firing set (``SLA_NOTIFY_MAX_FIRING``).
MAX_FIRING = 100_000

Clock = tuple[str, str]  # ticket_id, metric
Slot = tuple[str, str, str, str]  # ticket_id, metric, alertname, escalation_to ("" for the others)
LabelSet = tuple[tuple[str, str], ...]  # sorted (name, value) pairs: an alert's identity in Alertmanager


class Ignored(ValueError):
    """A record the notifier does not turn into an alert; ``reason`` is a short metric label."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(detail)
        self.reason = reason


@dataclass(frozen=True, slots=True)
class Alert:
    """One Alertmanager alert as the notifier builds it from a record.

    Kept compact (it is what the firing set holds): the summary and the board link
    are made when the alert is posted, from the labels and the few fields kept.
    """

    labels: LabelSet
    starts_at: datetime
    deadline: str
    level: str  # warning:0.75, breach, escalation:1
    record_id: str
    board_url: str
    threshold: float = 0.0  # of a warning

    @property
    def annotations(self) -> LabelSet:
        """summary, deadline, threshold (the level) and record_id."""
        return (("deadline", self.deadline), ("record_id", self.record_id), ("summary", self.summary),
                ("threshold", self.level))

    @property
    def summary(self) -> str:
        """One readable line: kind, priority, ticket, customer, metric, deadline."""
        labels = dict(self.labels)
        ticket, priority, metric = labels["ticket_id"], labels["priority"], labels["metric"]
        who = f" (customer {labels['customer']})" if "customer" in labels else ""
        if labels["alertname"] == "SlaWarning":
            return (f"SLA warning: {priority} ticket {ticket}{who} has used {self.threshold:.0%} of its {metric} "
                    f"target; deadline {self.deadline}")
        if labels["alertname"] == "SlaBreach":
            return f"SLA breach: {priority} ticket {ticket}{who} missed its {metric} deadline {self.deadline}"
        return (f"SLA escalation {self.level.split(':')[1]} to {labels['escalation_to']}: {priority} ticket "
                f"{ticket}{who} is still open after missing its {metric} deadline {self.deadline}")

    @property
    def generator_url(self) -> str:
        """The board filtered to the ticket."""
        return board_link(self.board_url, dict(self.labels)["ticket_id"])

    def payload(self, ends_at: datetime | None = None) -> dict[str, Any]:
        """The alert in Alertmanager's v2 API shape (``postableAlert``); firing without ``ends_at``."""
        body: dict[str, Any] = {
            "labels": dict(self.labels),
            "annotations": dict(self.annotations),
            "startsAt": _rfc3339(self.starts_at),
            "generatorURL": self.generator_url,
        }
        if ends_at is not None:
            body["endsAt"] = _rfc3339(max(ends_at, self.starts_at))
        return body


def _rfc3339(at: datetime) -> str:
    return at.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _instant(record: Mapping[str, Any], name: str) -> datetime:
    text = record.get(name)
    if not isinstance(text, str):
        raise Ignored("malformed", f"record {record.get('id')!r} has no {name}")
    try:
        at = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise Ignored("malformed", f"record {record.get('id')!r}: {name} {text!r} is not an RFC 3339 time") from None
    if at.tzinfo is None:
        raise Ignored("malformed", f"record {record.get('id')!r}: {name} {text!r} has no offset")
    return at


def _text(record: Mapping[str, Any], name: str) -> str:
    value = record.get(name)
    if not isinstance(value, str) or not value:
        raise Ignored("malformed", f"record {record.get('id')!r} has no {name}")
    return value


def clock_of(record: Mapping[str, Any]) -> Clock:
    """The ticket clock a record is about; Ignored for service-level records, ratings and unknown types."""
    kind = record.get("type")
    if kind not in RANK:
        raise Ignored("other_type", f"record type {kind!r} is not an alert or an outcome")
    if record.get("metric") == "availability" or "ticket_id" not in record:
        raise Ignored("service", f"service-level record {record.get('id')!r}")
    return _text(record, "ticket_id"), _text(record, "metric")


def board_link(board_url: str, ticket_id: str) -> str:
    """The on-call board filtered to one ticket."""
    return f"{board_url.rstrip('/')}/?ticket={quote(ticket_id, safe='')}"


def alert_for(record: Mapping[str, Any], board_url: str) -> Alert:
    """The Alertmanager alert of a warning, breach or escalation record."""
    ticket_id, metric = clock_of(record)
    kind = record["type"]
    if kind not in ALERT_KINDS:
        raise Ignored("other_type", f"record type {kind!r} is not an alert")
    name = ALERT_KINDS[kind]
    priority = _text(record, "priority")
    at = _instant(record, "at")
    deadline = _text(record, "deadline")
    _instant(record, "deadline")
    # Values shared by many alerts are interned: the firing set holds one copy of each.
    labels = {"alertname": name, "ticket_id": ticket_id, "metric": sys.intern(metric),
              "priority": sys.intern(priority), "severity": SEVERITY[name]}
    for label, field_name in (("customer", "customer_id"), ("service", "service_id")):
        value = record.get(field_name)
        if isinstance(value, str) and value:
            labels[label] = sys.intern(value)
    threshold = 0.0
    if name == "SlaWarning":
        value = record.get("threshold")
        if not isinstance(value, int | float) or isinstance(value, bool) or not 0 < value < 1:
            raise Ignored("malformed", f"warning {record.get('id')!r} has no threshold between 0 and 1")
        threshold = float(value)
        level = f"warning:{threshold}"
    elif name == "SlaBreach":
        level = "breach"
    else:
        step, to = record.get("level"), _text(record, "to")
        if not isinstance(step, int) or isinstance(step, bool) or step < 1:
            raise Ignored("malformed", f"escalation {record.get('id')!r} has no level of 1 or more")
        labels["escalation_to"] = sys.intern(to)
        level = f"escalation:{step}"
    return Alert(tuple(sorted(labels.items())), at, deadline, level, _text(record, "id"), board_url, threshold)


def slot_of(alert: Alert) -> Slot:
    """The slot an alert fills (see the module docstring)."""
    labels = dict(alert.labels)
    return labels["ticket_id"], labels["metric"], labels["alertname"], labels.get("escalation_to", "")


@dataclass(frozen=True)
class Post:
    """One alert to post now: firing (``ends_at`` None) or resolved."""

    alert: Alert
    ends_at: datetime | None = None
    event: str = "firing"  # firing, updated, resolved, superseded, replaced, untracked

    def payload(self) -> dict[str, Any]:
        """The body element for ``POST /api/v2/alerts``."""
        return self.alert.payload(self.ends_at)


@dataclass
class Decision:
    """What one record changed."""

    posts: list[Post] = field(default_factory=list)
    ignored: str | None = None  # reason, when the record changes nothing
    detail: str = ""


@dataclass(slots=True)
class _Firing:
    alert: Alert
    timestamp_ms: int


class FiringSet:
    """The alerts firing now, rebuilt from the topics; at most ``max_firing`` tracked."""

    def __init__(self, board_url: str, max_firing: int = MAX_FIRING, recent_outcomes: int = RECENT_OUTCOMES) -> None:
        self.board_url = board_url
        self.max_firing = max_firing
        self._slots: dict[Slot, _Firing] = {}
        self._clocks: dict[Clock, list[Slot]] = {}  # a list: a clock has one to a few slots
        self._outcomes: OrderedDict[Clock, int] = OrderedDict()
        self._recent_outcomes = recent_outcomes
        self.untracked = 0  # alerts posted once but not kept, because the set was full

    def __len__(self) -> int:
        return len(self._slots)

    def firing(self) -> Iterator[Alert]:
        """Every tracked firing alert (what the shell re-posts)."""
        return (f.alert for f in self._slots.values())

    def counts(self) -> dict[str, int]:
        """Firing alerts per alertname."""
        counts = dict.fromkeys(ALERT_KINDS.values(), 0)
        for slot in self._slots:
            counts[slot[2]] += 1
        return counts

    def apply(self, record: Mapping[str, Any], timestamp_ms: int, now: datetime) -> Decision:
        """Take one record published at ``timestamp_ms`` (Kafka timestamp); ``now`` bounds resolutions' endsAt."""
        try:
            clock = clock_of(record)
            if record["type"] == "sla.outcome":
                return self._outcome(clock, _instant(record, "at"), timestamp_ms, now)
            alert = alert_for(record, self.board_url)
        except Ignored as why:
            return Decision(ignored=why.reason, detail=str(why))
        return self._alert(clock, alert, timestamp_ms, now)

    def _alert(self, clock: Clock, alert: Alert, timestamp_ms: int, now: datetime) -> Decision:
        ended = self._outcomes.get(clock)
        if ended is not None and ended >= timestamp_ms:
            return Decision(ignored="after_outcome", detail=f"{alert.record_id} was published before its outcome")
        slot = slot_of(alert)
        slots = self._clocks.get(clock, [])
        if slot[2] == "SlaWarning" and any(s[2] != "SlaWarning" for s in slots):
            return Decision(ignored="superseded", detail=f"{alert.record_id}: the clock's breach fires already")
        decision = Decision()
        if slot[2] != "SlaWarning":
            for other in [s for s in slots if s[2] == "SlaWarning"]:
                decision.posts.append(Post(self._drop(clock, other).alert, min(alert.starts_at, now), "superseded"))
        previous = self._slots.get(slot)
        if previous is not None and previous.alert.labels != alert.labels:
            decision.posts.append(Post(previous.alert, min(alert.starts_at, now), "replaced"))
            previous = None
        if previous is None and len(self._slots) >= self.max_firing:
            self.untracked += 1
            decision.posts.append(Post(alert, None, "untracked"))
            return decision
        self._slots[slot] = _Firing(alert, timestamp_ms)
        held = self._clocks.setdefault(clock, [])
        if slot not in held:
            held.append(slot)
        decision.posts.append(Post(alert, None, "firing" if previous is None else "updated"))
        return decision

    def _outcome(self, clock: Clock, at: datetime, timestamp_ms: int, now: datetime) -> Decision:
        self._outcomes[clock] = max(timestamp_ms, self._outcomes.pop(clock, timestamp_ms))
        while len(self._outcomes) > self._recent_outcomes:
            self._outcomes.popitem(last=False)
        decision = Decision()
        for slot in sorted(self._clocks.get(clock, ())):
            if self._slots[slot].timestamp_ms <= timestamp_ms:
                decision.posts.append(Post(self._drop(clock, slot).alert, min(at, now), "resolved"))
        if not decision.posts:
            decision.ignored, decision.detail = "nothing_firing", f"outcome of {clock[0]} {clock[1]}: no alert firing"
        return decision

    def _drop(self, clock: Clock, slot: Slot) -> _Firing:
        firing = self._slots.pop(slot)
        slots = self._clocks[clock]
        slots.remove(slot)
        if not slots:
            del self._clocks[clock]
        return firing


class Outbox:
    """Alerts waiting to be posted, the latest state per alert (label set), at most ``most``.

    When full, the oldest entry is dropped and counted: a dropped firing alert is
    posted anyway with the next re-post of the firing set, a dropped resolution
    ends in Alertmanager at its ``resolve_timeout``, as the alert is no longer re-posted.
    """

    def __init__(self, most: int = MAX_FIRING) -> None:
        self.most = most
        self._waiting: OrderedDict[LabelSet, Post] = OrderedDict()
        self.dropped = 0

    def __len__(self) -> int:
        return len(self._waiting)

    def add(self, posts: Iterable[Post]) -> None:
        """Queue posts; a later post of the same alert replaces the earlier one."""
        for post in posts:
            self._waiting.pop(post.alert.labels, None)
            self._waiting[post.alert.labels] = post
            if len(self._waiting) > self.most:
                self._waiting.popitem(last=False)
                self.dropped += 1

    def peek(self, most: int) -> list[Post]:
        """The oldest ``most`` waiting posts (left in the outbox until ``done``)."""
        out: list[Post] = []
        for post in self._waiting.values():
            if len(out) >= most:
                break
            out.append(post)
        return out

    def done(self, posts: Iterable[Post]) -> None:
        """Remove posts that were delivered (or refused for good), unless a newer one replaced them."""
        for post in posts:
            if self._waiting.get(post.alert.labels) is post:
                del self._waiting[post.alert.labels]

    def discard_firing(self) -> None:
        """Drop waiting firing posts (a full re-post of the firing set carries them)."""
        for labels in [k for k, p in self._waiting.items() if p.ends_at is None and p.event != "untracked"]:
            del self._waiting[labels]


def kept_after_rebuild(post: Post, timestamp_ms: int, now: datetime, resolve_timeout_s: float) -> bool:
    """Whether a post decided while re-reading the topics at start-up is still worth sending.

    Firing alerts are sent with the whole firing set once the topics are read (one
    beyond the set's bound is not: its outcome could not be matched). A resolution is
    sent when it is recent: an alert resolved longer than ``resolve_timeout_s`` ago
    has ended in Alertmanager by itself (no one re-posted it).
    """
    if post.ends_at is None:
        return False
    return now.timestamp() * 1000 - timestamp_ms <= resolve_timeout_s * 1000


def merge_key(record: Mapping[str, Any], timestamp_ms: int) -> tuple[int, int]:
    """Sort key putting records of several topics back in publication order."""
    return timestamp_ms, RANK.get(str(record.get("type")), 0)
