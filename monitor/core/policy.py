"""The SLA policy: calendars, targets per priority, warnings, escalations and overrides.

The YAML shape is a user-facing contract (see README). ``load_policy`` reads
and validates a file and compiles it into a ``Policy`` the core can query
quickly; anything wrong is reported as a ``PolicyError`` naming the file, the
path inside it and the problem.
"""

from __future__ import annotations

import itertools
import math
import re
from collections import OrderedDict
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation
from fractions import Fraction
from pathlib import Path
from typing import Annotated, Any, Literal, NamedTuple
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError

from monitor.core.calendar import DAY_SECONDS, HORIZON_DAYS, MAX_CLOSED_DAYS, BusinessCalendar, Interval
from monitor.core.contracts import (
    Contract,
    ContractDoc,
    ReportDoc,
    ReportRules,
    compile_contracts,
    compile_report,
)
from monitor.core.durations import format_duration, parse_duration
from monitor.core.errors import PolicyError, Problem
from monitor.core.limits import MAX_CACHED_TARGETS, MAX_ESCALATION_TO_LENGTH, MAX_ESCALATIONS

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_TIME = re.compile(r"^(\d{1,2}):(\d{2})(?::(\d{2}))?$")


# -- raw document (what the YAML says) ------------------------------------------


def _duration(value: Any) -> int:
    if not isinstance(value, str):
        raise ValueError(f"invalid duration {value!r}: use h/m/s parts such as 15m or 1h30m")
    us = parse_duration(value)
    if us <= 0:
        raise ValueError(f"duration {value!r} must be longer than zero")
    return us


Duration = Annotated[int, BeforeValidator(_duration)]


def _percent(value: Any) -> Decimal:
    # YAML reads 99.9 as a binary float; its shortest repr is the decimal the user wrote.
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise ValueError(f"invalid percentage {value!r}: write e.g. 99.9")
    try:
        percent = Decimal(repr(value) if isinstance(value, float) else str(value))
    except InvalidOperation:
        raise ValueError(f"invalid percentage {value!r}: write e.g. 99.9") from None
    if not percent.is_finite() or not 0 < percent < 100:
        raise ValueError(f"{value} is outside (0, 100): write the target in percent, e.g. 99.9")
    return percent


Percent = Annotated[Decimal, BeforeValidator(_percent)]


def _recipient(value: Any) -> str:
    if not isinstance(value, str):
        raise ValueError(f"invalid recipient {value!r}: write a name such as team-lead")
    if not 1 <= len(value) <= MAX_ESCALATION_TO_LENGTH:
        raise ValueError(f"{len(value)} characters; the limit is 1-{MAX_ESCALATION_TO_LENGTH}")
    return value


Recipient = Annotated[str, BeforeValidator(_recipient)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class CalendarDoc(_Strict):
    timezone: str
    hours: Literal["always"] | dict[str, str]
    holidays: list[date] = Field(default_factory=list)
    workdays: dict[date, str] = Field(default_factory=dict)


class TargetPartDoc(_Strict):
    calendar: str | None = None
    response: Duration | None = None
    resolution: Duration | None = None


class TargetDoc(_Strict):
    calendar: str
    response: Duration
    resolution: Duration
    out_of_hours: TargetPartDoc | None = None


class TargetOverrideDoc(TargetPartDoc):
    out_of_hours: TargetPartDoc | None = None


class MatchDoc(_Strict):
    customer_id: str | None = None
    service_id: str | None = None
    priority: str | None = None


class EscalationDoc(_Strict):
    after: Duration  # business time past the target
    to: Recipient


Escalations = dict[str, list[EscalationDoc]]  # priority (or "default") -> levels, in order


class OverrideDoc(_Strict):
    match: MatchDoc
    targets: dict[str, TargetOverrideDoc] = Field(default_factory=dict)
    escalations: Escalations | None = None


class ServiceDoc(_Strict):
    availability: Percent
    timezone: str


class MaintenanceDoc(_Strict):
    min_notice: Duration = Field(default_factory=lambda: parse_duration("24h"))


class PolicyDoc(_Strict):
    calendars: dict[str, CalendarDoc] = Field(min_length=1)
    service_hours: str | None = None
    targets: dict[str, TargetDoc] = Field(min_length=1)
    warn_at: list[float] = Field(default_factory=lambda: [0.5, 0.75, 0.9])
    escalations: Escalations = Field(default_factory=dict)
    overrides: list[OverrideDoc] = Field(default_factory=list)
    services: dict[str, ServiceDoc] = Field(default_factory=dict)
    maintenance: MaintenanceDoc = Field(default_factory=MaintenanceDoc)
    contracts: dict[str, ContractDoc] = Field(default_factory=dict)
    report: ReportDoc = Field(default_factory=ReportDoc)


# -- compiled policy (what the core uses) -----------------------------------------


@dataclass(frozen=True, slots=True)
class Escalation:
    """One escalation level: due ``after_us`` of business time past the target, addressed ``to``."""

    after_us: int
    to: str


@dataclass(frozen=True)
class ClockTargets:
    """The targets that apply to one ticket: its calendar, two durations and the escalations past them."""

    calendar: BusinessCalendar
    response_us: int
    resolution_us: int
    escalations: tuple[Escalation, ...] = ()
    # Per metric, what the engine derives from these targets (its target, alert levels and their
    # fingerprint; see ``monitor.core.clock``): at most two entries.
    plans: dict[str, tuple[int, tuple[int, ...], str]] = field(
        default_factory=dict, repr=False, compare=False, hash=False
    )

    def target_us(self, metric: str) -> int:
        """Return the target duration of ``metric`` (response or resolution)."""
        return self.response_us if metric == "response" else self.resolution_us


@dataclass(frozen=True)
class Override:
    """Replace some target fields (and escalations) for tickets matching all given fields."""

    customer_id: str | None
    service_id: str | None
    priority: str | None
    targets: Mapping[str, TargetOverrideDoc]
    escalations: Mapping[str, tuple[Escalation, ...]] | None = None  # None: the policy's apply

    def matches(self, priority: str, customer_id: str | None, service_id: str | None) -> bool:
        """Tell whether a ticket with these fields falls under this override."""
        return (
            (self.priority is None or self.priority == priority)
            and (self.customer_id is None or self.customer_id == customer_id)
            and (self.service_id is None or self.service_id == service_id)
        )


@dataclass(frozen=True)
class ServiceTarget:
    """A service's availability target: percent per calendar month in its zone."""

    name: str
    availability: Decimal  # percent, e.g. Decimal("99.9")
    timezone: ZoneInfo

    @property
    def objective(self) -> Decimal:
        """The target as a ratio, e.g. 0.999."""
        return self.availability / 100


@dataclass(frozen=True, eq=False)
class Policy:
    """A validated SLA policy, ready for the core."""

    source: str
    calendars: Mapping[str, BusinessCalendar]
    service_hours: BusinessCalendar | None
    targets: Mapping[str, TargetDoc]
    warn_at: tuple[Fraction, ...]
    overrides: tuple[Override, ...] = ()
    escalations: Mapping[str, tuple[Escalation, ...]] = field(default_factory=dict)  # priority or "default"
    services: Mapping[str, ServiceTarget] = field(default_factory=dict)
    min_notice_us: int = 24 * 3600 * 1_000_000
    contracts: Mapping[str, Contract] = field(default_factory=dict)
    report: ReportRules = field(default_factory=ReportRules)
    # Resolved targets of the most recently seen (priority, customer, service, in hours): LRU, at most
    # MAX_CACHED_TARGETS (customer and service ids come from input, so their pairs are unbounded).
    _cache: OrderedDict[tuple[str, str | None, str | None, bool], ClockTargets] = field(
        default_factory=OrderedDict, repr=False
    )
    _levels: dict[int, tuple[int, ...]] = field(default_factory=dict, repr=False)
    _clock_levels: dict[tuple[int, tuple[Escalation, ...]], tuple[int, ...]] = field(default_factory=dict, repr=False)
    _warn_floats: list[float] = field(default_factory=list, repr=False)

    def warn_float(self, level: int) -> float:
        """``float(warn_at[level - 1])``, the threshold of warning ``level`` as records show it (memoised:
        converting a Fraction costs more than a look-up)."""
        return self.warn_floats()[level - 1]

    def warn_floats(self) -> list[float]:
        """The warning thresholds as floats, in order (memoised; do not change the list)."""
        floats = self._warn_floats
        if not floats:
            floats.extend(float(f) for f in self.warn_at)
        return floats

    def thresholds(
        self, target_us: int, compute: Callable[[int, tuple[Fraction, ...]], tuple[int, ...]]
    ) -> tuple[int, ...]:
        """Memoised ``compute(target_us, warn_at)``: the alert levels of a target."""
        found = self._levels.get(target_us)
        if found is None:
            found = self._levels[target_us] = compute(target_us, self.warn_at)
        return found

    def clock_levels(
        self, targets: ClockTargets, metric: str, compute: Callable[[int, tuple[Fraction, ...]], tuple[int, ...]]
    ) -> tuple[int, ...]:
        """The alert levels of one clock, as business time used (ascending): the warnings and the target
        (``thresholds``), then the target plus each escalation's ``after``."""
        target = targets.target_us(metric)
        if not targets.escalations:
            return self.thresholds(target, compute)
        key = (target, targets.escalations)
        found = self._clock_levels.get(key)
        if found is None:
            found = (*self.thresholds(target, compute), *(target + e.after_us for e in targets.escalations))
            self._clock_levels[key] = found
        return found

    @property
    def max_escalations(self) -> int:
        """The most escalation levels any clock can have under this policy."""
        lists = [*self.escalations.values(), *(e for o in self.overrides for e in (o.escalations or {}).values())]
        return max((len(levels) for levels in lists), default=0)

    @property
    def report_zone(self) -> ZoneInfo:
        """Zone of month-to-date ticket figures: the service-hours calendar's, else the first calendar's."""
        calendar = self.service_hours or next(iter(self.calendars.values()))
        return calendar.timezone

    @property
    def priorities(self) -> tuple[str, ...]:
        """The priorities the policy defines, in file order."""
        return tuple(self.targets)

    def in_hours(self, at_us: int) -> bool:
        """Tell whether an instant is inside service hours (always, without them)."""
        return self.service_hours is None or self.service_hours.is_open(at_us)

    def targets_for(
        self, priority: str, customer_id: str | None, service_id: str | None, in_hours: bool
    ) -> ClockTargets:
        """Resolve the targets of a ticket: defaults, first matching override,
        then the out-of-hours values when it opened outside service hours."""
        key = (priority, customer_id, service_id, in_hours)
        cache = self._cache
        cached = cache.get(key)
        if cached is not None:
            cache.move_to_end(key)
            return cached
        base = self.targets[priority]
        calendar, response, resolution = base.calendar, base.response, base.resolution
        ooh = base.out_of_hours
        escalations = _escalations_of(self.escalations, priority) or ()
        for override in self.overrides:
            if override.matches(priority, customer_id, service_id):
                part = override.targets.get(priority)
                if part is not None:
                    calendar = part.calendar or calendar
                    response = part.response or response
                    resolution = part.resolution or resolution
                    ooh = _merge_part(ooh, part.out_of_hours)
                if override.escalations is not None:
                    own = _escalations_of(override.escalations, priority)
                    escalations = own if own is not None else escalations
                break
        if not in_hours and ooh is not None:
            calendar = ooh.calendar or calendar
            response = ooh.response or response
            resolution = ooh.resolution or resolution
        result = ClockTargets(self.calendars[calendar], response, resolution, escalations)
        cache[key] = result
        if len(cache) > MAX_CACHED_TARGETS:
            cache.popitem(last=False)
        return result


def _escalations_of(escalations: Mapping[str, tuple[Escalation, ...]], priority: str) -> tuple[Escalation, ...] | None:
    """A priority's escalations from one list (its own, else ``default``); None when it names neither."""
    found = escalations.get(priority)
    return found if found is not None else escalations.get("default")


def _merge_part(base: TargetPartDoc | None, top: TargetPartDoc | None) -> TargetPartDoc | None:
    if top is None:
        return base
    if base is None:
        return top
    return TargetPartDoc(
        calendar=top.calendar or base.calendar,
        response=top.response or base.response,
        resolution=top.resolution or base.resolution,
    )


# -- loading -------------------------------------------------------------------------


def load_policy(path: str | Path) -> Policy:
    """Read, validate and compile a policy file; raise PolicyError when unusable."""
    name = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as error:
        raise PolicyError(name, [Problem("", f"cannot read file: {error.strerror}")]) from None
    return parse_policy(text, name)


def parse_policy(text: str, source: str = "<policy>") -> Policy:
    """Validate and compile policy YAML text; ``source`` names it in errors."""
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(error, "problem", None) or str(error)
        raise PolicyError(source, [Problem(where, f"not valid YAML: {problem}")]) from None
    if not isinstance(data, dict):
        raise PolicyError(source, [Problem("", "expected a mapping with calendars and targets")])
    try:
        doc = PolicyDoc.model_validate(data)
    except ValidationError as error:
        raise PolicyError(source, [_problem(e) for e in error.errors()]) from None
    problems: list[Problem] = []
    policy = _compile(doc, source, problems)
    if problems:
        raise PolicyError(source, problems)
    return policy


def _problem(error: Mapping[str, Any]) -> Problem:
    loc = [str(p) for p in error["loc"] if not str(p).startswith(("function-", "literal["))]
    # Union branches show up as loc entries named after the type; keep the data path.
    loc = [p for p in loc if p not in ("str", "dict[str,str]", "int")]
    message = str(error["msg"]).removeprefix("Value error, ")
    if error["type"] == "missing":
        message = "required field is missing"
    elif error["type"] == "extra_forbidden":
        message = "unknown field (check the spelling)"
    return Problem(".".join(loc), message)


def _compile(doc: PolicyDoc, source: str, problems: list[Problem]) -> Policy:
    calendars: dict[str, BusinessCalendar] = {}
    for name, spec in doc.calendars.items():
        calendar = _compile_calendar(name, spec, f"calendars.{name}", problems)
        if calendar is not None:
            calendars[name] = calendar

    def check_calendar(ref: str | None, path: str) -> None:
        if ref is not None and ref not in doc.calendars:
            known = ", ".join(sorted(doc.calendars))
            problems.append(Problem(path, f"unknown calendar {ref!r} (defined: {known})"))

    check_calendar(doc.service_hours, "service_hours")
    for priority, target in doc.targets.items():
        check_calendar(target.calendar, f"targets.{priority}.calendar")
        if target.out_of_hours is not None:
            check_calendar(target.out_of_hours.calendar, f"targets.{priority}.out_of_hours.calendar")
    for i, override in enumerate(doc.overrides):
        match = override.match
        if match.customer_id is None and match.service_id is None and match.priority is None:
            problems.append(
                Problem(f"overrides.{i}.match", "give at least one of customer_id, service_id, priority")
            )
        if match.priority is not None and match.priority not in doc.targets:
            problems.append(Problem(f"overrides.{i}.match.priority", f"unknown priority {match.priority!r}"))
        if not override.targets and override.escalations is None:
            problems.append(Problem(f"overrides.{i}", "give targets, escalations or both"))
        for priority, part in override.targets.items():
            path = f"overrides.{i}.targets.{priority}"
            if priority not in doc.targets:
                problems.append(Problem(path, f"priority {priority!r} has no default targets"))
            check_calendar(part.calendar, f"{path}.calendar")
            if part.out_of_hours is not None:
                check_calendar(part.out_of_hours.calendar, f"{path}.out_of_hours.calendar")

    fractions: list[Fraction] = []
    for i, value in enumerate(doc.warn_at):
        if not math.isfinite(value):
            problems.append(Problem(f"warn_at.{i}", f"{value} is not a number between 0 and 1: use e.g. 0.75 for 75 %"))
            continue
        fraction = Fraction(str(value))
        if not 0 < fraction < 1:
            problems.append(Problem(f"warn_at.{i}", f"{value} is outside (0, 1): use e.g. 0.75 for 75 %"))
        elif fraction in fractions:
            problems.append(Problem(f"warn_at.{i}", f"{value} is listed twice"))
        else:
            fractions.append(fraction)

    escalations = _compile_escalations(doc.escalations, "escalations", doc.targets, problems)
    override_escalations = [
        None if o.escalations is None else _compile_escalations(o.escalations, f"overrides.{i}.escalations", doc.targets, problems)
        for i, o in enumerate(doc.overrides)
    ]

    services: dict[str, ServiceTarget] = {}
    for name, service in doc.services.items():
        try:
            services[name] = ServiceTarget(name, service.availability, ZoneInfo(service.timezone))
        except (ZoneInfoNotFoundError, ValueError):
            problems.append(Problem(f"services.{name}.timezone", f"unknown time zone {service.timezone!r} (use an IANA name such as Asia/Shanghai)"))

    contracts = compile_contracts(doc.contracts, doc.services, doc.targets, problems)

    if not problems:
        _check_horizon(doc, calendars, problems)

    return Policy(
        source=source,
        calendars=calendars,
        service_hours=calendars.get(doc.service_hours) if doc.service_hours else None,
        targets=doc.targets,
        warn_at=tuple(sorted(fractions)),
        overrides=tuple(
            Override(o.match.customer_id, o.match.service_id, o.match.priority, o.targets, own)
            for o, own in zip(doc.overrides, override_escalations, strict=True)
        ),
        escalations=escalations,
        services=services,
        min_notice_us=doc.maintenance.min_notice,
        contracts=contracts,
        report=compile_report(doc.report),
    )


def _compile_escalations(
    docs: Escalations, path: str, priorities: Mapping[str, object], problems: list[Problem]
) -> dict[str, tuple[Escalation, ...]]:
    """Check one ``escalations`` mapping (known priorities or ``default``, bounded, increasing) and compile it."""
    out: dict[str, tuple[Escalation, ...]] = {}
    for key, levels in docs.items():
        where = f"{path}.{key}"
        if key not in priorities and key != "default":
            known = ", ".join(priorities)
            problems.append(Problem(where, f"unknown priority {key!r} (targets define: {known}; or use default)"))
            continue
        if len(levels) > MAX_ESCALATIONS:
            problems.append(Problem(where, f"{len(levels)} escalation levels; the limit is {MAX_ESCALATIONS}"))
            continue
        for i in range(1, len(levels)):
            before, after = levels[i - 1].after, levels[i].after
            if after <= before:
                problems.append(Problem(
                    f"{where}.{i}.after",
                    f"{format_duration(after)} is not later than the level before it ({format_duration(before)}): "
                    "list escalations by increasing after",
                ))
        out[key] = tuple(Escalation(level.after, level.to) for level in levels)
    return out


class _Measured(NamedTuple):
    """A duration a clock can be measured against, and the field that supplied it."""

    path: str
    calendar: str
    metric: str
    duration: int
    last_escalation: tuple[str, int] | None  # path of the last escalation's `after` and its value, if any


def _escalation_doc(docs: Escalations | None, priority: str, prefix: str) -> tuple[str, list[EscalationDoc]] | None:
    """A priority's escalation list in one mapping (its own, else ``default``) and its path; None if neither."""
    if docs is None:
        return None
    for key in (priority, "default"):
        if key in docs:
            return f"{prefix}.{key}", docs[key]
    return None


def _effective_targets(doc: PolicyDoc) -> Iterator[_Measured]:
    """Every duration a ticket can be measured against, as ``targets_for`` merges them, with the last escalation
    past it; ``path`` names the field that supplied the duration (or the calendar, when only that changed)."""
    for priority, base in doc.targets.items():
        default = _escalation_doc(doc.escalations, priority, "escalations")
        parts: list[tuple[str, TargetPartDoc | None, TargetPartDoc | None, tuple[str, list[EscalationDoc]] | None]] = [
            (f"targets.{priority}", None, base.out_of_hours, default)
        ]
        for i, override in enumerate(doc.overrides):
            found = override.targets.get(priority)
            own = _escalation_doc(override.escalations, priority, f"overrides.{i}.escalations")
            if found is not None or own is not None:
                ooh = _merge_part(base.out_of_hours, found.out_of_hours) if found is not None else base.out_of_hours
                parts.append((f"overrides.{i}.targets.{priority}", found, ooh, own if own is not None else default))
        for prefix, part, ooh, escalations in parts:
            last = None
            if escalations is not None and escalations[1]:
                last = (f"{escalations[0]}.{len(escalations[1]) - 1}.after", escalations[1][-1].after)
            for metric in ("response", "resolution"):
                calendar, duration = base.calendar, getattr(base, metric)
                path = f"targets.{priority}.{metric}"
                if part is not None:
                    calendar = part.calendar or calendar
                    if getattr(part, metric):
                        duration, path = getattr(part, metric), f"{prefix}.{metric}"
                    elif part.calendar:
                        path = f"{prefix}.calendar"
                yield _Measured(path, calendar, metric, duration, last)
                if ooh is not None:
                    if getattr(ooh, metric):
                        duration, path = getattr(ooh, metric), f"{prefix}.out_of_hours.{metric}"
                    elif ooh.calendar:
                        path = f"{prefix}.out_of_hours.calendar"
                    yield _Measured(path, ooh.calendar or calendar, metric, duration, last)


def _check_horizon(doc: PolicyDoc, calendars: Mapping[str, BusinessCalendar], problems: list[Problem]) -> None:
    """Refuse calendars closed for too long and targets no start could reach within the horizon."""
    for name, calendar in calendars.items():
        run, first = calendar.longest_closed_run()
        if run > MAX_CLOSED_DAYS:
            problems.append(Problem(
                f"calendars.{name}.holidays",
                f"closed for {run} days in a row from {first}: a calendar must open at least once "
                f"every {MAX_CLOSED_DAYS} days",
            ))
    if problems:
        return
    seen: set[tuple[str, str, int]] = set()
    for path, calendar_name, _, duration, last in _effective_targets(doc):
        if (path, calendar_name, duration) not in seen:
            seen.add((path, calendar_name, duration))
            floor = calendars[calendar_name].business_floor_us(HORIZON_DAYS)
            if duration > floor:
                problems.append(Problem(
                    path,
                    f"{format_duration(duration)} of calendar {calendar_name!r} cannot be guaranteed within the "
                    f"supported horizon of {HORIZON_DAYS} days (twenty years): any twenty years of it hold at least "
                    f"{format_duration(floor)}, so use a target of at most that",
                ))
                continue
        if last is None or (last[0], calendar_name, duration + last[1]) in seen:
            continue
        seen.add((last[0], calendar_name, duration + last[1]))
        floor = calendars[calendar_name].business_floor_us(HORIZON_DAYS)
        if duration + last[1] > floor:
            problems.append(Problem(
                last[0],
                f"target {format_duration(duration)} ({path}) plus {format_duration(last[1])} of calendar "
                f"{calendar_name!r} cannot be guaranteed within the supported horizon of {HORIZON_DAYS} days (twenty "
                f"years): any twenty years of it hold at least {format_duration(floor)}, so keep target plus after "
                "at most that",
            ))


def _compile_calendar(
    name: str, spec: CalendarDoc, path: str, problems: list[Problem]
) -> BusinessCalendar | None:
    try:
        zone = ZoneInfo(spec.timezone)
    except (ZoneInfoNotFoundError, ValueError):
        problems.append(Problem(f"{path}.timezone", f"unknown time zone {spec.timezone!r} (use an IANA name such as Europe/Berlin)"))
        return None
    if spec.hours == "always":
        if spec.holidays or spec.workdays:
            problems.append(Problem(f"{path}.hours", "an 'always' calendar cannot have holidays or workdays"))
        return BusinessCalendar(name, zone, always=True)
    weekly: list[tuple[Interval, ...] | None] = [None] * 7
    for key, value in spec.hours.items():
        days = _parse_days(key)
        if days is None:
            problems.append(Problem(f"{path}.hours.{key}", "unknown day: use mon..sun, a range such as mon-fri, or a list such as mon,wed"))
            continue
        intervals = _parse_intervals(value, f"{path}.hours.{key}", problems)
        for day in days:
            if weekly[day] is not None:
                problems.append(Problem(f"{path}.hours.{key}", f"{DAYS[day]} is given more than once"))
            weekly[day] = intervals
    workdays = {
        day: _parse_intervals(value, f"{path}.workdays.{day.isoformat()}", problems)
        for day, value in spec.workdays.items()
    }
    if not any(weekly):
        problems.append(Problem(f"{path}.hours", "no opening hours on any day of the week"))
    return BusinessCalendar(
        name,
        zone,
        weekly=tuple(w or () for w in weekly),
        holidays=frozenset(spec.holidays),
        workdays=workdays,
    )


def _parse_days(key: str) -> list[int] | None:
    days: list[int] = []
    for part in key.lower().replace(" ", "").split(","):
        first, _, last = part.partition("-")
        if first not in DAYS or (last and last not in DAYS):
            return None
        start, end = DAYS.index(first), DAYS.index(last or first)
        days.extend((start + i) % 7 for i in range((end - start) % 7 + 1))
    return days


def _parse_intervals(text: str, path: str, problems: list[Problem]) -> tuple[Interval, ...]:
    if text.strip().lower() in ("", "closed"):
        return ()
    intervals: list[Interval] = []
    for part in text.split(","):
        start_text, sep, end_text = part.strip().partition("-")
        start, end = _parse_time(start_text), _parse_time(end_text)
        if not sep or start is None or end is None:
            problems.append(Problem(path, f"bad interval {part.strip()!r}: write HH:MM-HH:MM, e.g. 09:00-18:00"))
            continue
        if end <= start:
            problems.append(Problem(path, f"interval {part.strip()!r} ends before it starts (split a night shift at 24:00)"))
            continue
        intervals.append((start, end))
    intervals.sort()
    for (s1, e1), (s2, e2) in itertools.pairwise(intervals):
        if s2 < e1:
            problems.append(Problem(path, f"intervals overlap: {_hhmm(s1)}-{_hhmm(e1)} and {_hhmm(s2)}-{_hhmm(e2)}"))
    return tuple(intervals)


def _parse_time(text: str) -> int | None:
    match = _TIME.match(text.strip())
    if not match:
        return None
    hours, minutes, seconds = int(match[1]), int(match[2]), int(match[3] or 0)
    if minutes > 59 or seconds > 59:
        return None
    value = hours * 3600 + minutes * 60 + seconds
    return value if value <= DAY_SECONDS else None


def _hhmm(seconds: int) -> str:
    return f"{seconds // 3600:02d}:{seconds % 3600 // 60:02d}"
