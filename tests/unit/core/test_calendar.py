"""Business-calendar arithmetic, with hand-computed expectations.

Calendars:
  shanghai   Asia/Shanghai, Mon-Fri 09:00-12:00,13:00-18:00 (8 h a day); holidays
             2026-10-01..07; extra workday Sat 2026-10-10 with weekday hours.
             2026-09-14 is a Monday.
  berlin     Europe/Berlin, Mon-Fri 09:00-18:00. DST starts Sun 2026-03-29
             (02:00 -> 03:00) and ends Sun 2026-10-25 (03:00 -> 02:00).
  berlin_7   Europe/Berlin, every day 09:00-18:00.
  berlin_24  Europe/Berlin, every day 00:00-24:00 (not ``always``: days follow the wall clock).
  howe_24    Australia/Lord_Howe, every day 00:00-24:00; 30-minute DST shifts on
             Sun 2026-04-05 (02:00 -> 01:30) and Sun 2026-10-04 (02:00 -> 02:30).
  ny_night   America/New_York, every day 01:00-03:00. DST starts Sun 2026-03-08
             (02:00 -> 03:00) and ends Sun 2026-11-01 (02:00 -> 01:00).
  always     24x7 in Europe/Berlin.
"""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest

from monitor.core.calendar import BusinessCalendar
from monitor.core.instants import to_us

US = 1
SECOND = 1_000_000
MINUTE = 60 * SECOND
HOUR = 60 * MINUTE

_SHANGHAI_DAY = ((9 * 3600, 12 * 3600), (13 * 3600, 18 * 3600))
_NINE_TO_SIX = ((9 * 3600, 18 * 3600),)
_WHOLE_DAY = ((0, 86_400),)


def _calendars() -> dict[str, BusinessCalendar]:
    berlin = ZoneInfo("Europe/Berlin")
    return {
        "shanghai": BusinessCalendar(
            "shanghai",
            ZoneInfo("Asia/Shanghai"),
            weekly=(_SHANGHAI_DAY,) * 5 + ((),) * 2,
            holidays=frozenset(date(2026, 10, day) for day in range(1, 8)),
            workdays={date(2026, 10, 10): _SHANGHAI_DAY},
        ),
        "berlin": BusinessCalendar("berlin", berlin, weekly=(_NINE_TO_SIX,) * 5 + ((),) * 2),
        "berlin_7": BusinessCalendar("berlin_7", berlin, weekly=(_NINE_TO_SIX,) * 7),
        "berlin_24": BusinessCalendar("berlin_24", berlin, weekly=(_WHOLE_DAY,) * 7),
        "howe_24": BusinessCalendar("howe_24", ZoneInfo("Australia/Lord_Howe"), weekly=(_WHOLE_DAY,) * 7),
        "ny_night": BusinessCalendar("ny_night", ZoneInfo("America/New_York"), weekly=(((3600, 3 * 3600),),) * 7),
        "always": BusinessCalendar("always", berlin, always=True),
    }


@pytest.fixture
def calendars() -> dict[str, BusinessCalendar]:
    """Fresh calendars (their per-day caches start empty in every test)."""
    return _calendars()


def at(text: str) -> int:
    """Instant of an RFC 3339 text; without an offset, Shanghai time (+08:00)."""
    if "+" not in text[10:] and "-" not in text[10:] and not text.endswith("Z"):
        text += "+08:00"
    return to_us(datetime.fromisoformat(text))


def test_at_helper_reads_offsets() -> None:
    """The table helper reads Shanghai time by default and honours explicit offsets."""
    assert at("2026-09-14T09:00") == at("2026-09-14T01:00Z") == at("2026-09-14T03:00+02:00")


@pytest.mark.parametrize(
    ("calendar", "start", "duration", "due"),
    [
        # A full 8 h day from opening ends exactly at closing: due 18:00, not next morning.
        ("shanghai", "2026-09-14T09:00", 8 * HOUR, "2026-09-14T18:00"),
        # The last hour of the day: due at closing.
        ("shanghai", "2026-09-14T17:00", HOUR, "2026-09-14T18:00"),
        # Ends exactly at the start of lunch: due 12:00, not 13:00.
        ("shanghai", "2026-09-14T10:00", 2 * HOUR, "2026-09-14T12:00"),
        # One microsecond more runs on after lunch.
        ("shanghai", "2026-09-14T10:00", 2 * HOUR + US, "2026-09-14T13:00:00.000001"),
        # Opened during lunch: counting starts at 13:00.
        ("shanghai", "2026-09-14T12:30", HOUR, "2026-09-14T14:00"),
        # Opened at 12:00 sharp: intervals are half-open, so lunch has begun.
        ("shanghai", "2026-09-14T12:00", HOUR, "2026-09-14T14:00"),
        # Straddles lunch: 30 min before it, 30 min after.
        ("shanghai", "2026-09-14T11:30", HOUR, "2026-09-14T13:30"),
        # Friday 17:30 + 1 h: 30 min on Friday, 30 min on Monday morning.
        ("shanghai", "2026-09-18T17:30", HOUR, "2026-09-21T09:30"),
        # Opened on a holiday (Thu 1 Oct): holidays and weekend until Thu 8 Oct.
        ("shanghai", "2026-10-01T10:00", HOUR, "2026-10-08T10:00"),
        # 1 h on Wed 30 Sep, then the holidays, then 2 h on Thu 8 Oct.
        ("shanghai", "2026-09-30T17:00", 3 * HOUR, "2026-10-08T11:00"),
        # Opened before opening: counting starts at 09:00.
        ("shanghai", "2026-09-15T07:00", 30 * MINUTE, "2026-09-15T09:30"),
        # Fri 9 Oct 17:00 + 2 h: 1 h on Friday, 1 h on the extra workday Sat 10 Oct.
        ("shanghai", "2026-10-09T17:00", 2 * HOUR, "2026-10-10T10:00"),
        # Fri 9 Oct + Sat 10 Oct are two full 8 h days.
        ("shanghai", "2026-10-09T09:00", 16 * HOUR, "2026-10-10T18:00"),
        # From closing on the extra workday: Sunday is closed, Monday 12 Oct counts.
        ("shanghai", "2026-10-10T18:00", HOUR, "2026-10-12T10:00"),
        # An ordinary Saturday is closed: Monday 10:00.
        ("shanghai", "2026-09-19T10:00", HOUR, "2026-09-21T10:00"),
        # Zero duration is due at the start, even when closed.
        ("shanghai", "2026-09-19T10:00", 0, "2026-09-19T10:00"),
        # Five full days from Monday opening end at Friday closing.
        ("shanghai", "2026-09-14T09:00", 40 * HOUR, "2026-09-18T18:00"),
        # From closing time: the next day's full 8 h.
        ("shanghai", "2026-09-14T18:00", 8 * HOUR, "2026-09-15T18:00"),
        # Berlin Friday before spring-forward: 1 h Friday (+01:00), 1 h Monday (+02:00).
        ("berlin", "2026-03-27T17:00+01:00", 2 * HOUR, "2026-03-30T10:00+02:00"),
        # Berlin Friday before fall-back: 1 h Friday (+02:00), 1 h Monday (+01:00).
        ("berlin", "2026-10-23T17:00+02:00", 2 * HOUR, "2026-10-26T10:00+01:00"),
        # Every-day calendar, Saturday 17:00 + 2 h lands on the spring-forward Sunday.
        ("berlin_7", "2026-03-28T17:00+01:00", 2 * HOUR, "2026-03-29T10:00+02:00"),
        # Every-day calendar, Saturday 17:00 + 2 h lands on the fall-back Sunday.
        ("berlin_7", "2026-10-24T17:00+02:00", 2 * HOUR, "2026-10-25T10:00+01:00"),
        # The spring-forward Sunday still holds nine hours 09:00-18:00.
        ("berlin_7", "2026-03-29T09:00+02:00", 9 * HOUR, "2026-03-29T18:00+02:00"),
        # The fall-back Sunday still holds nine hours 09:00-18:00.
        ("berlin_7", "2026-10-25T09:00+01:00", 9 * HOUR, "2026-10-25T18:00+01:00"),
        # A 00:00-24:00 fall-back day holds 25 real hours.
        ("berlin_24", "2026-10-25T00:00+02:00", 25 * HOUR, "2026-10-26T00:00+01:00"),
        # A 00:00-24:00 spring-forward day holds 23 real hours.
        ("berlin_24", "2026-03-29T00:00+01:00", 23 * HOUR, "2026-03-30T00:00+02:00"),
        # 01:00-03:00 on the spring-forward day holds 1 h: due 03:00 EDT.
        ("ny_night", "2026-03-08T01:00-05:00", HOUR, "2026-03-08T03:00-04:00"),
        # 30 min left on the spring-forward night, 15 min the next night.
        ("ny_night", "2026-03-08T01:30-05:00", 45 * MINUTE, "2026-03-09T01:15-04:00"),
        # 01:00-03:00 on the fall-back day holds 3 h: 2 h in are 02:00 EST.
        ("ny_night", "2026-11-01T01:00-04:00", 2 * HOUR, "2026-11-01T02:00-05:00"),
        # ... and all 3 h end at 03:00 EST, the closing.
        ("ny_night", "2026-11-01T01:00-04:00", 3 * HOUR, "2026-11-01T03:00-05:00"),
        # Opened in the repeated hour (01:30 EST): 1.5 h are left that night.
        ("ny_night", "2026-11-01T01:30-05:00", 90 * MINUTE, "2026-11-01T03:00-05:00"),
        # 24x7 counts real time across spring-forward: 01:00 CET + 2 h = 04:00 CEST.
        ("always", "2026-03-29T01:00+01:00", 2 * HOUR, "2026-03-29T04:00+02:00"),
        # 24x7 across fall-back: 02:00 CEST + 2 h = 03:00 CET.
        ("always", "2026-10-25T02:00+02:00", 2 * HOUR, "2026-10-25T03:00+01:00"),
        # 24x7 and zero duration.
        ("always", "2026-10-25T02:00+02:00", 0, "2026-10-25T02:00+02:00"),
        # Microseconds: the last microsecond of the day ends at closing.
        ("shanghai", "2026-09-14T17:59:59.999999", US, "2026-09-14T18:00"),
        # Microseconds: 1 µs from closing is 1 µs after the next opening.
        ("shanghai", "2026-09-14T18:00", US, "2026-09-15T09:00:00.000001"),
        # Microseconds: 1 µs before lunch plus 1 µs after it.
        ("shanghai", "2026-09-14T11:59:59.999999", 2 * US, "2026-09-14T13:00:00.000001"),
        # Microseconds: before opening, 1 µs is due 1 µs after 09:00.
        ("shanghai", "2026-09-14T08:00", US, "2026-09-14T09:00:00.000001"),
        # Microseconds on a 24x7 calendar.
        ("always", "2026-09-14T08:00", US, "2026-09-14T08:00:00.000001"),
    ],
)
def test_add(calendars: dict[str, BusinessCalendar], calendar: str, start: str, duration: int, due: str) -> None:
    """add(start, duration) is the earliest instant with that much business time since start."""
    assert calendars[calendar].add(at(start), duration) == at(due)


@pytest.mark.parametrize(
    ("calendar", "start", "end", "business"),
    [
        # A Shanghai weekday holds 8 h.
        ("shanghai", "2026-09-14T00:00", "2026-09-15T00:00", 8 * HOUR),
        # A whole week: five 8 h days.
        ("shanghai", "2026-09-14T00:00", "2026-09-21T00:00", 40 * HOUR),
        # Friday 17:00 to Monday 10:00: 1 h + 1 h, the weekend is closed.
        ("shanghai", "2026-09-18T17:00", "2026-09-21T10:00", 2 * HOUR),
        # 1-11 Oct: seven holidays, then Thu, Fri and the extra Saturday (3 x 8 h).
        ("shanghai", "2026-10-01T00:00", "2026-10-11T00:00", 24 * HOUR),
        # Lunch holds nothing.
        ("shanghai", "2026-09-14T12:00", "2026-09-14T13:00", 0),
        # Empty range.
        ("shanghai", "2026-09-14T11:00", "2026-09-14T11:00", 0),
        # Reversed range counts nothing.
        ("shanghai", "2026-09-14T15:00", "2026-09-14T11:00", 0),
        # Microseconds across lunch: one before it, one after.
        ("shanghai", "2026-09-14T11:59:59.999999", "2026-09-14T13:00:00.000001", 2 * US),
        # Berlin Mon-Fri around spring-forward: Fri + Mon = 18 h (Sunday's change is invisible).
        ("berlin", "2026-03-27T00:00+01:00", "2026-03-31T00:00+02:00", 18 * HOUR),
        # Berlin Mon-Fri around fall-back: Fri + Mon = 18 h.
        ("berlin", "2026-10-23T00:00+02:00", "2026-10-27T00:00+01:00", 18 * HOUR),
        # A 09:00-18:00 day is 9 h on the spring-forward Sunday.
        ("berlin_7", "2026-03-29T00:00+01:00", "2026-03-30T00:00+02:00", 9 * HOUR),
        # ... and on the fall-back Sunday.
        ("berlin_7", "2026-10-25T00:00+02:00", "2026-10-26T00:00+01:00", 9 * HOUR),
        # A 00:00-24:00 day is 25 h on fall-back.
        ("berlin_24", "2026-10-25T00:00+02:00", "2026-10-26T00:00+01:00", 25 * HOUR),
        # A 00:00-24:00 day is 23 h on spring-forward.
        ("berlin_24", "2026-03-29T00:00+01:00", "2026-03-30T00:00+02:00", 23 * HOUR),
        # An ordinary 00:00-24:00 day is 24 h.
        ("berlin_24", "2026-03-30T00:00+02:00", "2026-03-31T00:00+02:00", 24 * HOUR),
        # Lord Howe falls back 30 min: a 00:00-24:00 day holds 24.5 h.
        ("howe_24", "2026-04-05T00:00+11:00", "2026-04-06T00:00+10:30", 24 * HOUR + 30 * MINUTE),
        # Lord Howe springs forward 30 min: 23.5 h.
        ("howe_24", "2026-10-04T00:00+10:30", "2026-10-05T00:00+11:00", 23 * HOUR + 30 * MINUTE),
        # 01:00-03:00 on the US spring-forward day holds 1 h.
        ("ny_night", "2026-03-08T00:00-05:00", "2026-03-09T00:00-04:00", HOUR),
        # 01:00-03:00 on the US fall-back day holds 3 h.
        ("ny_night", "2026-11-01T00:00-04:00", "2026-11-02T00:00-05:00", 3 * HOUR),
        # An ordinary night holds 2 h.
        ("ny_night", "2026-11-02T00:00-05:00", "2026-11-03T00:00-05:00", 2 * HOUR),
        # Only the second pass through 01:00-02:00 on fall-back: from 01:00 EST to 02:00 EST.
        ("ny_night", "2026-11-01T01:00-05:00", "2026-11-01T02:00-05:00", HOUR),
        # 24x7 counts real time: the fall-back day is 25 h.
        ("always", "2026-10-25T00:00+02:00", "2026-10-26T00:00+01:00", 25 * HOUR),
        # 24x7 counts microseconds.
        ("always", "2026-10-25T00:00+02:00", "2026-10-25T00:00:00.000001+02:00", US),
    ],
)
def test_elapsed(calendars: dict[str, BusinessCalendar], calendar: str, start: str, end: str, business: int) -> None:
    """elapsed(start, end) is the business time in [start, end)."""
    assert calendars[calendar].elapsed(at(start), at(end)) == business


@pytest.mark.parametrize(
    ("calendar", "instant", "is_open"),
    [
        # Opening instant is inside (half-open intervals).
        ("shanghai", "2026-09-14T09:00", True),
        # One microsecond before opening is outside.
        ("shanghai", "2026-09-14T08:59:59.999999", False),
        # Last microsecond before lunch is inside.
        ("shanghai", "2026-09-14T11:59:59.999999", True),
        # Lunch start is outside.
        ("shanghai", "2026-09-14T12:00", False),
        # Afternoon opening is inside.
        ("shanghai", "2026-09-14T13:00", True),
        # Last microsecond of the day is inside.
        ("shanghai", "2026-09-14T17:59:59.999999", True),
        # Closing is outside.
        ("shanghai", "2026-09-14T18:00", False),
        # A weekday holiday is closed.
        ("shanghai", "2026-10-01T10:00", False),
        # The extra Saturday workday is open.
        ("shanghai", "2026-10-10T10:00", True),
        # An ordinary Saturday is closed.
        ("shanghai", "2026-09-19T10:00", False),
        # The first pass through 01:30 on US fall-back (EDT) is open.
        ("ny_night", "2026-11-01T01:30-04:00", True),
        # The second pass through 01:30 (EST) is open too.
        ("ny_night", "2026-11-01T01:30-05:00", True),
        # 02:30 EST exists only after fall-back and is inside 01:00-03:00.
        ("ny_night", "2026-11-01T02:30-05:00", True),
        # 03:00 EST is closing.
        ("ny_night", "2026-11-01T03:00-05:00", False),
        # The last microsecond before the spring-forward gap is open.
        ("ny_night", "2026-03-08T01:59:59.999999-05:00", True),
        # Right after the gap it is 03:00 EDT: closed.
        ("ny_night", "2026-03-08T03:00-04:00", False),
        # The repeated 02:30 on Berlin fall-back (CET) is open on a 00:00-24:00 day.
        ("berlin_24", "2026-10-25T02:30+01:00", True),
        # 24x7 is always open.
        ("always", "2026-12-25T03:00+01:00", True),
    ],
)
def test_is_open(calendars: dict[str, BusinessCalendar], calendar: str, instant: str, is_open: bool) -> None:
    """is_open(t) tells whether the local wall time of t falls in that date's intervals."""
    assert calendars[calendar].is_open(at(instant)) is is_open


@pytest.mark.parametrize(
    ("calendar", "instant", "opening"),
    [
        # Friday closing: Monday 09:00.
        ("shanghai", "2026-09-18T18:00", "2026-09-21T09:00"),
        # Lunch start: 13:00.
        ("shanghai", "2026-09-14T12:00", "2026-09-14T13:00"),
        # Already open: the instant itself.
        ("shanghai", "2026-09-14T10:00", "2026-09-14T10:00"),
        # Holiday: the first working day after the holidays.
        ("shanghai", "2026-10-01T10:00", "2026-10-08T09:00"),
        # Friday before the extra workday: Saturday 09:00.
        ("shanghai", "2026-10-09T18:00", "2026-10-10T09:00"),
        # After the spring-forward night's closing: 01:00 EDT the next night.
        ("ny_night", "2026-03-08T03:00-04:00", "2026-03-09T01:00-04:00"),
        # 24x7: the instant itself.
        ("always", "2026-12-25T03:00+01:00", "2026-12-25T03:00+01:00"),
    ],
)
def test_next_opening(calendars: dict[str, BusinessCalendar], calendar: str, instant: str, opening: str) -> None:
    """next_opening(t) is the first open instant at or after t."""
    assert calendars[calendar].next_opening(at(instant)) == at(opening)


def test_add_many_walks_once_for_ascending_durations(calendars: dict[str, BusinessCalendar]) -> None:
    """add_many gives add(start, d) for each ascending duration, lunch and closing included."""
    durations = [0, HOUR, 2 * HOUR, 3 * HOUR, 7 * HOUR, 8 * HOUR]
    expected = ["2026-09-14T10:00", "2026-09-14T11:00", "2026-09-14T12:00", "2026-09-14T14:00",
                "2026-09-14T18:00", "2026-09-15T10:00"]
    assert calendars["shanghai"].add_many(at("2026-09-14T10:00"), durations) == [at(t) for t in expected]


def test_always_calendar_ignores_holidays_and_weekly_hours() -> None:
    """An ``always`` calendar counts every microsecond whatever its other fields say."""
    calendar = BusinessCalendar(
        "24x7", ZoneInfo("Asia/Shanghai"), weekly=((),) * 7, holidays=frozenset({date(2026, 10, 1)}), always=True
    )
    start = at("2026-10-01T00:00")
    assert calendar.elapsed(start, at("2026-10-02T00:00")) == 24 * HOUR
    assert calendar.add(start, 5 * HOUR + 1) == at("2026-10-01T05:00:00.000001")
    assert calendar.is_open(start)
