"""Instants as integer microseconds since the Unix epoch, and back.

The core counts time in whole microseconds (the resolution of ``datetime``) so
that sums and fractions of durations are exact; binary floats would move an
alert by a second now and then.

``format_us`` renders without building a ``datetime`` each time: the UTC offset
of a zone is remembered per quarter hour of real time and the text of a date per
day, in two memos of at most ``MEMO_ENTRIES`` entries each (emptied when full), and the text of
a time of day per second of the day (at most 86,400 entries).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, tzinfo

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
MICROSECOND = timedelta(microseconds=1)
US_PER_SECOND = 1_000_000
MEMO_ENTRIES = 100_000

_EPOCH_ORDINAL = EPOCH.toordinal()
_DAY_US = 86_400 * US_PER_SECOND
_BUCKET_US = 900 * US_PER_SECOND
_MIXED = -1 << 80  # a bucket whose offset changes, or is not whole minutes: rendered the slow way
_offsets: dict[tuple[tzinfo, int], int] = {}  # (zone, quarter hour) -> offset in microseconds
_dates: dict[int, str] = {}  # local day number -> "YYYY-MM-DDT"
_suffixes: dict[int, str] = {}  # offset in microseconds -> "Z", "+01:00", ...
_times: dict[int, str] = {}  # second of the day -> "HH:MM:SS" (at most 86,400 entries)
_last: tuple[datetime | None, int] = (None, 0)  # the last instant converted, and its value


def to_us(at: datetime) -> int:
    """Return the aware datetime ``at`` as microseconds since the epoch."""
    global _last
    last = _last  # one read: (instant, value) stay a pair even between threads
    if last[0] is at:  # the same object again (the driver and the clock both convert an event's time)
        return last[1]
    if at.tzinfo is None or at.utcoffset() is None:
        raise ValueError("naive datetime: an offset or time zone is required")
    us = (at - EPOCH) // MICROSECOND
    _last = (at, us)
    return us


def from_us(us: int, tz: tzinfo = UTC) -> datetime:
    """Return microseconds since the epoch as an aware datetime in ``tz``."""
    return (EPOCH + timedelta(microseconds=us)).astimezone(tz)


def _format_slowly(us: int, tz: tzinfo) -> str:
    text = from_us(us, tz).isoformat()
    return text[:-6] + "Z" if text.endswith("+00:00") else text


def _bucket_offset(us: int, tz: tzinfo) -> int:
    """The offset of ``tz`` throughout the quarter hour holding ``us``, or ``_MIXED``."""
    start = us // _BUCKET_US * _BUCKET_US
    first = from_us(start, tz).utcoffset()
    last = from_us(start + _BUCKET_US - 1, tz).utcoffset()
    if first is None or first != last or first % timedelta(minutes=1):
        return _MIXED
    return first // MICROSECOND


def _suffix(offset: int) -> str:
    if offset == 0:
        return "Z"
    minutes = abs(offset) // (60 * US_PER_SECOND)
    return f"{'-' if offset < 0 else '+'}{minutes // 60:02d}:{minutes % 60:02d}"


def format_us(us: int, tz: tzinfo = UTC) -> str:
    """Render an instant as RFC 3339 with the offset of ``tz`` (``Z`` for a zero offset)."""
    key = (tz, us // _BUCKET_US)
    offset = _offsets.get(key)
    if offset is None:
        if len(_offsets) >= MEMO_ENTRIES:
            _offsets.clear()
        offset = _offsets[key] = _bucket_offset(us, tz)
    if offset == _MIXED:
        return _format_slowly(us, tz)
    day, rest = divmod(us + offset, _DAY_US)
    day_text = _dates.get(day)
    if day_text is None:
        if len(_dates) >= MEMO_ENTRIES:
            _dates.clear()
        day_text = _dates[day] = date.fromordinal(_EPOCH_ORDINAL + day).isoformat() + "T"
    suffix = _suffixes.get(offset)
    if suffix is None:
        suffix = _suffixes[offset] = _suffix(offset)  # offsets are whole minutes within a day: bounded
    seconds, micro = divmod(rest, US_PER_SECOND)
    clock_text = _times.get(seconds)
    if clock_text is None:
        hours, minute_seconds = divmod(seconds, 3600)
        minutes, second = divmod(minute_seconds, 60)
        clock_text = _times[seconds] = f"{hours:02d}:{minutes:02d}:{second:02d}"
    if micro:
        return f"{day_text}{clock_text}.{micro:06d}{suffix}"
    return day_text + clock_text + suffix
