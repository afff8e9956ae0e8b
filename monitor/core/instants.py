"""Instants as integer microseconds since the Unix epoch, and back.

The core counts time in whole microseconds (the resolution of ``datetime``) so
that sums and fractions of durations are exact; binary floats would move an
alert by a second now and then.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, tzinfo

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
MICROSECOND = timedelta(microseconds=1)
US_PER_SECOND = 1_000_000


def to_us(at: datetime) -> int:
    """Return the aware datetime ``at`` as microseconds since the epoch."""
    if at.tzinfo is None or at.utcoffset() is None:
        raise ValueError("naive datetime: an offset or time zone is required")
    return (at - EPOCH) // MICROSECOND


def from_us(us: int, tz: tzinfo = UTC) -> datetime:
    """Return microseconds since the epoch as an aware datetime in ``tz``."""
    return (EPOCH + timedelta(microseconds=us)).astimezone(tz)


def format_us(us: int, tz: tzinfo = UTC) -> str:
    """Render an instant as RFC 3339 with the offset of ``tz``."""
    text = from_us(us, tz).isoformat()
    return text[:-6] + "Z" if text.endswith("+00:00") else text
