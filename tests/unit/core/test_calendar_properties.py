"""Business-calendar arithmetic against a slow, obviously correct reference.

The reference never calls ``BusinessCalendar``: it walks a window of real
instants step by step (a minute, or a second near DST changes), asks
``datetime.fromtimestamp`` for the local wall time of each step and looks the
date and time of day up in the plan the calendar was built from. Interval
bounds, zone offsets and the window all sit on the step grid, so whether
business time counts is constant over each step and the walk is exact to the
microsecond.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from hypothesis import assume, given, settings
from hypothesis import strategies as st

from monitor.core.calendar import BusinessCalendar, Interval

US = 1_000_000
MINUTE_US = 60 * US
DAY = 86_400

ZONES = ("Europe/Berlin", "America/New_York", "Australia/Lord_Howe", "Asia/Shanghai", "UTC", "America/Santiago")
DST_ZONES = ("Europe/Berlin", "America/New_York", "Australia/Lord_Howe", "America/Santiago")

# Wall times (minutes after midnight) where DST changes happen in these zones:
# 00:00/24:00 (Santiago), 01:00-03:00 (New York, Berlin), 01:30/02:30 (Lord Howe), 23:00.
INTERESTING_MINUTES = (0, 60, 90, 119, 120, 121, 150, 180, 540, 720, 780, 1080, 1380, 1439, 1440)

MINUTE_WINDOW_STEPS = 10 * 1440  # ten days of minutes
SECOND_WINDOW_STEPS = 3 * 3600  # three hours of seconds, centred on a transition

FAST = settings(max_examples=120, deadline=None)
SLOW = settings(max_examples=75, deadline=None)


# -- the reference -------------------------------------------------------------------


@dataclass(frozen=True)
class Plan:
    """What a calendar is built from; the reference reads only this."""

    zone: ZoneInfo
    weekly: tuple[tuple[Interval, ...], ...]
    holidays: frozenset[date]
    workdays: dict[date, tuple[Interval, ...]]
    always: bool

    def calendar(self) -> BusinessCalendar:
        """Build the calendar under test through its dataclass constructor."""
        return BusinessCalendar(
            name="prop",
            timezone=self.zone,
            weekly=self.weekly,
            holidays=self.holidays,
            workdays=dict(self.workdays),
            always=self.always,
        )


def reference_is_open(plan: Plan, second: int) -> bool:
    """Whether the whole second starting at ``second`` (epoch) is business time, by the wall clock."""
    if plan.always:
        return True
    local = datetime.fromtimestamp(second, plan.zone)
    day = local.date()
    if day in plan.workdays:
        intervals = plan.workdays[day]
    elif day in plan.holidays:
        intervals = ()
    else:
        intervals = plan.weekly[day.weekday()]
    time_of_day = local.hour * 3600 + local.minute * 60 + local.second
    return any(start <= time_of_day < end for start, end in intervals)


class Walk:
    """The reference over ``[origin, origin + steps * step)``: open or closed, step by step."""

    def __init__(self, plan: Plan, origin_us: int, step_us: int, steps: int) -> None:
        self.origin = origin_us
        self.step = step_us
        self.end = origin_us + steps * step_us
        self.open = [reference_is_open(plan, (origin_us + i * step_us) // US) for i in range(steps)]

    def _open_pieces(self, from_us: int) -> Iterator[tuple[int, int]]:
        """Open parts ``[lo, hi)`` of the steps at or after ``from_us``, in order."""
        first = (from_us - self.origin) // self.step
        for i in range(first, len(self.open)):
            if self.open[i]:
                yield max(from_us, self.origin + i * self.step), self.origin + (i + 1) * self.step

    def is_open(self, at_us: int) -> bool:
        """Whether business time counts at the instant."""
        return self.open[(at_us - self.origin) // self.step]

    def elapsed(self, start_us: int, end_us: int) -> int:
        """Business time in ``[start_us, end_us)``."""
        total = 0
        for lo, hi in self._open_pieces(start_us):
            if lo >= end_us:
                break
            total += min(hi, end_us) - lo
        return total

    def add(self, start_us: int, duration_us: int) -> int | None:
        """Earliest instant at which ``duration_us`` has elapsed since ``start_us`` (None past the window)."""
        if duration_us == 0:
            return start_us
        used = 0
        for lo, hi in self._open_pieces(start_us):
            if used + (hi - lo) >= duration_us:
                return lo + (duration_us - used)
            used += hi - lo
        return None

    def next_opening(self, at_us: int) -> int | None:
        """First open instant at or after ``at_us`` (None past the window)."""
        return next((lo for lo, _ in self._open_pieces(at_us)), None)


def transitions(zone: ZoneInfo, year: int) -> list[int]:
    """Epoch seconds of the UTC-offset changes of a zone in a year (first second of the new offset)."""

    def offset(second: int) -> timedelta | None:
        return datetime.fromtimestamp(second, zone).utcoffset()

    found = []
    second = int(datetime(year, 1, 1, tzinfo=UTC).timestamp())
    stop = int(datetime(year + 1, 1, 1, tzinfo=UTC).timestamp())
    while second < stop:
        if offset(second + 3600) != offset(second):
            lo, hi = second, second + 3600
            while hi - lo > 1:
                mid = (lo + hi) // 2
                lo, hi = (mid, hi) if offset(mid) == offset(lo) else (lo, mid)
            found.append(hi)
        second += 3600
    return found


TRANSITIONS = {name: [t for year in (2025, 2026, 2027) for t in transitions(ZoneInfo(name), year)] for name in ZONES}


def test_reference_sees_the_transitions() -> None:
    """The reference's transition finder sees two changes a year in DST zones and none elsewhere."""
    for name in ZONES:
        assert len(TRANSITIONS[name]) == (6 if name in DST_ZONES else 0), name


# -- strategies ----------------------------------------------------------------------------


@st.composite
def day_plans(draw: st.DrawFn, bound: st.SearchStrategy[int]) -> tuple[Interval, ...]:
    """Up to three sorted, non-overlapping intervals (some touching) with bounds from ``bound``."""
    count = draw(st.integers(0, 3))
    points = sorted(draw(st.lists(bound, min_size=2 * count, max_size=2 * count, unique=True)))
    intervals = [(points[i], points[i + 1]) for i in range(0, len(points), 2)]
    # Sometimes let an interval start exactly where the previous one ends.
    for i in range(1, len(intervals)):
        if draw(st.booleans()) and draw(st.booleans()):
            intervals[i] = (intervals[i - 1][1], intervals[i][1])
    return tuple(intervals)


def minute_bounds() -> st.SearchStrategy[int]:
    """Interval bounds on whole minutes, often at DST-relevant wall times."""
    minutes = st.one_of(st.sampled_from(INTERESTING_MINUTES), st.integers(0, 1440))
    return minutes.map(lambda m: m * 60)


@st.composite
def plans(draw: st.DrawFn, zone: ZoneInfo, dates: list[date], bound: st.SearchStrategy[int]) -> Plan:
    """A random calendar plan whose holidays and extra workdays fall on ``dates``."""
    always = draw(st.integers(0, 19)) == 0
    weekly = tuple(draw(day_plans(bound)) for _ in range(7))
    holidays = frozenset(draw(st.lists(st.sampled_from(dates), max_size=4)))
    workday_dates = draw(st.lists(st.sampled_from(dates), max_size=3, unique=True))
    workdays = {day: draw(day_plans(bound)) for day in workday_dates}
    return Plan(zone, weekly, holidays, workdays, always)


@dataclass(frozen=True)
class Case:
    """A calendar, its reference walk and the window both are compared over."""

    plan: Plan
    calendar: BusinessCalendar
    walk: Walk

    @property
    def start(self) -> int:
        """First instant of the window."""
        return self.walk.origin

    @property
    def end(self) -> int:
        """End (exclusive) of the window."""
        return self.walk.end


def _local_dates(zone: ZoneInfo, start_us: int, end_us: int) -> list[date]:
    first = datetime.fromtimestamp(start_us // US, zone).date() - timedelta(days=1)
    last = datetime.fromtimestamp(end_us // US, zone).date() + timedelta(days=1)
    return [first + timedelta(days=i) for i in range((last - first).days + 1)]


@st.composite
def minute_cases(draw: st.DrawFn) -> Case:
    """A ten-day window on the minute grid, often straddling a DST change, and a random calendar."""
    name = draw(st.sampled_from(ZONES))
    zone = ZoneInfo(name)
    anchors = TRANSITIONS[name]
    if anchors and draw(st.booleans()):
        anchor = draw(st.sampled_from(anchors))
    else:
        anchor = draw(st.integers(int(datetime(2025, 1, 1, tzinfo=UTC).timestamp()), int(datetime(2027, 12, 1, tzinfo=UTC).timestamp())))
    origin = (anchor // 60 - draw(st.integers(0, 4 * 1440))) * MINUTE_US
    end = origin + MINUTE_WINDOW_STEPS * MINUTE_US
    plan = draw(plans(zone, _local_dates(zone, origin, end), minute_bounds()))
    return Case(plan, plan.calendar(), Walk(plan, origin, MINUTE_US, MINUTE_WINDOW_STEPS))


@st.composite
def second_cases(draw: st.DrawFn) -> Case:
    """A three-hour window on the second grid centred on a DST change, with bounds near its wall times."""
    name = draw(st.sampled_from(DST_ZONES))
    zone = ZoneInfo(name)
    change = draw(st.sampled_from(TRANSITIONS[name]))
    walls = []
    for second in (change - 1, change):
        local = datetime.fromtimestamp(second, zone)
        walls.append(local.hour * 3600 + local.minute * 60 + local.second)
    near = st.tuples(st.sampled_from([*walls, walls[0] + 1]), st.integers(-5400, 5400)).map(
        lambda pair: min(DAY, max(0, pair[0] + pair[1]))
    )
    bound = st.one_of(near, st.sampled_from([0, DAY, *walls]))
    origin = (change - SECOND_WINDOW_STEPS // 2) * US
    end = origin + SECOND_WINDOW_STEPS * US
    plan = draw(plans(zone, _local_dates(zone, origin, end), bound))
    return Case(plan, plan.calendar(), Walk(plan, origin, US, SECOND_WINDOW_STEPS))


def instants(case: Case, *, inclusive_end: bool = False) -> st.SearchStrategy[int]:
    """Instants of the window: on the grid (where bounds and transitions are) or anywhere to the µs."""
    top = case.end if inclusive_end else case.end - 1
    steps = (top - case.start) // case.walk.step
    on_grid = st.integers(0, steps).map(lambda i: case.start + i * case.walk.step)
    return st.one_of(on_grid, st.integers(case.start, top))


def durations_from(case: Case, start_us: int) -> st.SearchStrategy[int]:
    """Business durations reachable inside the window from ``start_us``: anything, whole steps, extremes."""
    total = case.walk.elapsed(start_us, case.end)
    whole_steps = st.integers(0, total // case.walk.step).map(lambda n: n * case.walk.step)
    return st.one_of(st.integers(0, total), whole_steps, st.sampled_from([0, 1, total]).map(lambda d: min(d, total)))


# -- properties on the minute grid ---------------------------------------------------------


@FAST
@given(st.data())
def test_elapsed_matches_reference(data: st.DataObject) -> None:
    """elapsed(a, b) is exactly the business time the wall-clock walk counts in [a, b)."""
    case = data.draw(minute_cases())
    a = data.draw(instants(case))
    b = data.draw(instants(case, inclusive_end=True))
    assert case.calendar.elapsed(a, b) == case.walk.elapsed(a, b)


@FAST
@given(st.data())
def test_add_matches_reference(data: st.DataObject) -> None:
    """add(a, d) is the earliest instant by which the walk has counted d of business time."""
    case = data.draw(minute_cases())
    a = data.draw(instants(case))
    d = data.draw(durations_from(case, a))
    assert case.calendar.add(a, d) == case.walk.add(a, d)


@FAST
@given(st.data())
def test_elapsed_of_add_is_the_duration(data: st.DataObject) -> None:
    """elapsed(a, add(a, d)) == d, and add(a, 0) == a."""
    case = data.draw(minute_cases())
    a = data.draw(instants(case))
    d = data.draw(durations_from(case, a))
    assert case.calendar.elapsed(a, case.calendar.add(a, d)) == d
    assert case.calendar.add(a, 0) == a


@FAST
@given(st.data())
def test_deadline_never_falls_outside_business_hours(data: st.DataObject) -> None:
    """For d > 0, the microsecond just before add(a, d) is business time (the deadline is open or at a closing)."""
    case = data.draw(minute_cases())
    a = data.draw(instants(case))
    assume(case.walk.elapsed(a, case.end) > 0)
    d = data.draw(durations_from(case, a).filter(lambda d: d > 0))
    deadline = case.calendar.add(a, d)
    assert case.calendar.is_open(deadline - 1)
    assert case.walk.is_open(deadline - 1)


@FAST
@given(st.data())
def test_add_is_monotone_in_duration_and_start(data: st.DataObject) -> None:
    """A longer duration is never due earlier, and neither is the same duration started later."""
    case = data.draw(minute_cases())
    a1, a2 = sorted((data.draw(instants(case)), data.draw(instants(case))))
    d1, d2 = sorted((data.draw(durations_from(case, a1)), data.draw(durations_from(case, a1))))
    calendar = case.calendar
    assert calendar.add(a1, d1) <= calendar.add(a1, d2)
    d = data.draw(durations_from(case, a2))
    assert calendar.add(a1, d) <= calendar.add(a2, d)


@FAST
@given(st.data())
def test_add_is_additive(data: st.DataObject) -> None:
    """add(add(a, d1), d2) == add(a, d1 + d2) for every d1, d2 >= 0."""
    case = data.draw(minute_cases())
    a = data.draw(instants(case))
    total = data.draw(durations_from(case, a))
    d1 = data.draw(st.one_of(st.integers(0, total), st.sampled_from([0, total])))
    calendar = case.calendar
    assert calendar.add(calendar.add(a, d1), total - d1) == calendar.add(a, total)


@FAST
@given(st.data())
def test_add_many_is_add_for_each(data: st.DataObject) -> None:
    """add_many(a, ascending durations) equals add(a, d) for each duration, in order."""
    case = data.draw(minute_cases())
    a = data.draw(instants(case))
    durations = sorted(data.draw(st.lists(durations_from(case, a), max_size=6)))
    assert case.calendar.add_many(a, durations) == [case.walk.add(a, d) for d in durations]


@FAST
@given(st.data())
def test_is_open_and_next_opening_match_reference(data: st.DataObject) -> None:
    """is_open(t) agrees with the wall clock, and next_opening(t) is the walk's first open instant at or after t."""
    case = data.draw(minute_cases())
    for t in data.draw(st.lists(instants(case), min_size=1, max_size=20)):
        assert case.calendar.is_open(t) == case.walk.is_open(t)
        expected = case.walk.next_opening(t)
        if expected is not None:  # past the window the calendar may still open; the walk cannot tell
            assert case.calendar.next_opening(t) == expected


# -- properties on the second grid around DST changes ----------------------------------------


@SLOW
@given(st.data())
def test_dst_elapsed_and_is_open_match_reference_to_the_second(data: st.DataObject) -> None:
    """Around each DST change, elapsed and is_open agree with a second-by-second wall-clock walk."""
    case = data.draw(second_cases())
    a = data.draw(instants(case))
    b = data.draw(instants(case, inclusive_end=True))
    assert case.calendar.elapsed(a, b) == case.walk.elapsed(a, b)
    for t in data.draw(st.lists(instants(case), min_size=1, max_size=20)):
        assert case.calendar.is_open(t) == case.walk.is_open(t)


@SLOW
@given(st.data())
def test_dst_add_matches_reference_to_the_second(data: st.DataObject) -> None:
    """Around each DST change, add(a, d) is the walk's earliest instant, elapsed(a, add(a, d)) == d and the deadline is open just before."""
    case = data.draw(second_cases())
    a = data.draw(instants(case))
    durations = sorted(data.draw(st.lists(durations_from(case, a), min_size=1, max_size=4)))
    calendar = case.calendar
    got = calendar.add_many(a, durations)
    assert got == [case.walk.add(a, d) for d in durations]
    for d, deadline in zip(durations, got, strict=True):
        assert calendar.elapsed(a, deadline) == d
        if d > 0:
            assert case.walk.is_open(deadline - 1)
