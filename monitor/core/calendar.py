"""Business calendars: when the SLA clock runs, and business-time arithmetic.

A calendar is a time zone, weekly opening hours (several intervals a day),
holidays (closed all day) and dated extra working days. Intervals are
half-open wall-clock ranges ``[start, end)`` on a local date. Business time is
the set of real instants whose local wall-clock time (date and time of day)
falls inside that date's intervals, measured in real seconds: on a
spring-forward day a 01:00-03:00 interval holds one hour, on a fall-back day
it holds three, and a 09:00-18:00 day is nine hours either way.

All instants and durations are integer microseconds (see ``monitor.core.instants``).
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from monitor.core.instants import US_PER_SECOND, from_us

_EPOCH_DATE = date(1970, 1, 1)
_BUCKET_US = 900 * US_PER_SECOND  # local dates are cached per quarter hour of real time

Interval = tuple[int, int]
"""Seconds after local midnight ``[start, end)``; ``end`` may be 86400."""

DAY_SECONDS = 86_400
MAX_CLOSED_DAYS = 3_700
"""Longest run of closed days a calendar may have (about ten years); refused at policy load."""
HORIZON_DAYS = 7_305
"""Supported horizon: every target must be reachable within twenty years of calendar time from any start."""
_DST_LOSS_US = 2 * 3600 * US_PER_SECOND  # most business time one offset change can skip (zones shift <= 2 h)


class CalendarExhaustedError(RuntimeError):
    """A calendar stays closed for longer than any SLA can sensibly wait."""


@dataclass(frozen=True, eq=False)
class BusinessCalendar:
    """Where and when business time counts; all arithmetic is exact."""

    name: str
    timezone: ZoneInfo
    weekly: tuple[tuple[Interval, ...], ...] = ((),) * 7  # Monday first
    holidays: frozenset[date] = frozenset()
    workdays: Mapping[date, tuple[Interval, ...]] = field(default_factory=dict)
    always: bool = False
    _days: dict[date, tuple[tuple[int, int], ...]] = field(
        default_factory=dict, repr=False, compare=False
    )
    _dates: dict[int, date] = field(default_factory=dict, repr=False, compare=False)
    # The same two memos by day number (days since 1970-01-01, local), for the arithmetic's walks.
    _spans: dict[int, tuple[tuple[int, int], ...]] = field(default_factory=dict, repr=False, compare=False)
    _numbers: dict[int, int] = field(default_factory=dict, repr=False, compare=False)

    # -- wall-clock plan -------------------------------------------------

    def intervals_on(self, day: date) -> tuple[Interval, ...]:
        """Return the wall-clock opening intervals of a local date."""
        if self.always:
            return ((0, DAY_SECONDS),)
        if day in self.workdays:
            return self.workdays[day]
        if day in self.holidays:
            return ()
        return self.weekly[day.weekday()]

    def open_on(self, day: date) -> tuple[tuple[int, int], ...]:
        """Return the real-time open intervals ``[start_us, end_us)`` of a local date."""
        cached = self._days.get(day)
        if cached is not None:
            return cached
        wall = self.intervals_on(day)
        spans: list[tuple[int, int]] = []
        if wall:
            midnight = (day - _EPOCH_DATE).days * DAY_SECONDS  # the date's 00:00 as if UTC
            for piece_start, piece_end, offset in self._offset_pieces(midnight):
                for start, end in wall:
                    lo = max(piece_start, midnight + start - offset)
                    hi = min(piece_end, midnight + end - offset)
                    if hi > lo:
                        spans.append((lo * US_PER_SECOND, hi * US_PER_SECOND))
            spans.sort()
        result = tuple(merge_spans(spans))
        self._days[day] = result
        return result

    def _offset(self, at_s: int) -> int:
        offset = datetime.fromtimestamp(at_s, self.timezone).utcoffset()
        return int(offset.total_seconds()) if offset is not None else 0

    def _offset_pieces(self, midnight: int) -> list[tuple[int, int, int]]:
        """Split the real instants around a local date into spans of one UTC offset."""
        # Offsets lie within +-26 h, so these bounds cover every instant of the date.
        lo, hi = midnight - 2 * DAY_SECONDS, midnight + 3 * DAY_SECONDS
        step = 6 * 3600  # zone rules never change twice within six hours
        samples = list(range(lo, hi + 1, step))
        pieces: list[tuple[int, int, int]] = []
        start, offset = lo, self._offset(lo)
        for previous, current in itertools.pairwise(samples):
            if self._offset(current) == offset:
                continue
            a, b = previous, current  # offset(a) == offset, offset(b) differs
            while b - a > 1:
                mid = (a + b) // 2
                if self._offset(mid) == offset:
                    a = mid
                else:
                    b = mid
            pieces.append((start, b, offset))
            start, offset = b, self._offset(b)
        pieces.append((start, hi, offset))
        return pieces

    def local_date(self, at_us: int) -> date:
        """Return the local date of an instant in this calendar's zone."""
        bucket = at_us // _BUCKET_US
        found = self._dates.get(bucket)
        if found is not None:
            return found
        start, end = bucket * _BUCKET_US, (bucket + 1) * _BUCKET_US - 1
        first, last = from_us(start, self.timezone), from_us(end, self.timezone)
        day = from_us(at_us, self.timezone).date()
        # Offsets are whole quarter hours and change at most once in a quarter hour:
        # with one offset throughout, every instant of the bucket has the same date.
        if first.utcoffset() == last.utcoffset() and first.date() == last.date():
            self._dates[bucket] = day
        return day

    def _day_number(self, at_us: int) -> int:
        """``local_date`` as a day number (days since 1970-01-01)."""
        bucket = at_us // _BUCKET_US
        found = self._numbers.get(bucket)
        if found is not None:
            return found
        number = (self.local_date(at_us) - _EPOCH_DATE).days
        if bucket in self._dates:  # one date throughout the bucket (see local_date)
            self._numbers[bucket] = number
        return number

    def _open_on_number(self, number: int) -> tuple[tuple[int, int], ...]:
        """``open_on`` of a day number."""
        found = self._spans.get(number)
        if found is None:
            found = self._spans[number] = self.open_on(_EPOCH_DATE + timedelta(days=number))
        return found

    # -- questions ---------------------------------------------------------

    def is_open(self, at_us: int) -> bool:
        """Tell whether business time is counting at the instant."""
        if self.always:
            return True
        return any(s <= at_us < e for s, e in self.open_on(self.local_date(at_us)))

    def next_opening(self, at_us: int) -> int:
        """Return the first instant at or after ``at_us`` when the calendar is open."""
        if self.always:
            return at_us
        day = self.local_date(at_us)
        for _ in range(MAX_CLOSED_DAYS + 2):
            for start, end in self.open_on(day):
                if end > at_us:
                    return max(start, at_us)
            day += timedelta(days=1)
        raise CalendarExhaustedError(f"calendar {self.name!r} never opens again")

    # -- arithmetic ----------------------------------------------------------

    def elapsed(self, start_us: int, end_us: int) -> int:
        """Return the business time in ``[start_us, end_us)``."""
        if end_us <= start_us:
            return 0
        if self.always:
            return end_us - start_us
        total = 0
        number = self._day_number(start_us)
        last = self._day_number(end_us)
        spans_of = self._spans.get
        while number <= last:
            spans = spans_of(number)
            if spans is None:
                spans = self._open_on_number(number)
            for s, e in spans:
                lo = s if s > start_us else start_us
                hi = e if e < end_us else end_us
                if hi > lo:
                    total += hi - lo
            number += 1
        return total

    def add(self, start_us: int, duration_us: int) -> int:
        """Return the earliest instant at which ``duration_us`` of business time
        has passed since ``start_us``."""
        return self.add_many(start_us, (duration_us,))[0]

    def add_many(self, start_us: int, durations_us: Sequence[int]) -> list[int]:
        """``add`` for several durations in one walk; ``durations_us`` ascending."""
        if self.always:
            return [start_us + d for d in durations_us]
        results: list[int] = []
        pending = iter(durations_us)
        want = next(pending, None)
        used = 0
        while want is not None and want <= 0:
            results.append(start_us)
            want = next(pending, None)
        number = self._day_number(start_us)
        spans_of = self._spans.get
        closed = 0  # days in a row without business time: only the search for an opening is bounded
        while want is not None:
            closed += 1
            spans = spans_of(number)
            if spans is None:
                spans = self._open_on_number(number)
            for s, e in spans:
                if e <= start_us:
                    continue
                closed = 0
                if s < start_us:
                    s = start_us
                while want is not None and want - used <= e - s:
                    results.append(s + (want - used))
                    want = next(pending, None)
                used += e - s
            number += 1
            if closed > MAX_CLOSED_DAYS + 1:
                raise CalendarExhaustedError(f"calendar {self.name!r} never opens again")
        return results

    # -- limits checked when a policy is loaded ------------------------------

    def longest_closed_run(self) -> tuple[int, date | None]:
        """The most consecutive local dates without opening hours, and the first of them.

        Only holidays can make a run longer than a week (a calendar open on no weekday
        is refused before), so runs are searched from each holiday.
        """
        if self.always:
            return 0, None
        best, first = 0, None
        covered: date | None = None  # last date of the run measured last
        for holiday in sorted(self.holidays):
            if self.intervals_on(holiday) or (covered is not None and holiday <= covered):
                continue  # open (an extra workday), or inside the run measured last
            start = holiday
            while not self.intervals_on(start - timedelta(days=1)) and (holiday - start).days < 7:
                start -= timedelta(days=1)
            end = holiday
            while not self.intervals_on(end + timedelta(days=1)):
                end += timedelta(days=1)
            covered = end
            length = (end - start).days + 1
            if length > best:
                best, first = length, start
        return best, first

    def business_floor_us(self, days: int) -> int:
        """Business time that any ``days`` consecutive days hold at least (a safe lower bound).

        Whole weeks of the weekly plan, less every holiday (as if all fell in the
        window), less what daylight-saving changes can skip (two a year, 2 h each).
        """
        if self.always:
            return days * DAY_SECONDS * US_PER_SECOND
        week = sum(end - start for intervals in self.weekly for start, end in intervals) * US_PER_SECOND
        holidays = sum(
            sum(end - start for start, end in self.weekly[day.weekday()]) for day in self.holidays
        ) * US_PER_SECOND
        changes = 2 * (days // 365 + 2)
        return max(0, (days // 7) * week - holidays - changes * _DST_LOSS_US)


def merge_spans(spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Join sorted half-open spans that overlap or touch."""
    merged: list[tuple[int, int]] = []
    for start, end in spans:
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged
