"""Instant conversions: the memoised renderer writes exactly what ``datetime.isoformat`` writes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone, tzinfo
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from monitor.core import instants
from monitor.core.instants import EPOCH, format_us, from_us, to_us

ZONES: tuple[tzinfo, ...] = (
    UTC, timezone(timedelta(hours=-5)), timezone(timedelta(hours=5, minutes=45)),
    ZoneInfo("Europe/Berlin"), ZoneInfo("America/New_York"), ZoneInfo("Australia/Lord_Howe"),
    ZoneInfo("Asia/Kathmandu"), ZoneInfo("America/St_Johns"), ZoneInfo("Africa/Monrovia"),  # -0:44:30 until 1972
    ZoneInfo("America/Santiago"), ZoneInfo("Pacific/Chatham"), ZoneInfo("UTC"),
)
LATEST_US = to_us(datetime(9999, 12, 30, tzinfo=UTC))


def reference(us: int, tz: tzinfo) -> str:
    """RFC 3339 the obvious way: ``isoformat`` with ``+00:00`` written ``Z``."""
    text = (EPOCH + timedelta(microseconds=us)).astimezone(tz).isoformat()
    return text[:-6] + "Z" if text.endswith("+00:00") else text


@settings(max_examples=2000, deadline=None)
@given(st.integers(0, LATEST_US), st.sampled_from(ZONES), st.sampled_from([1, 1_000_000, 60_000_000, 900_000_000]))
def test_format_us_matches_isoformat(us: int, zone: tzinfo, grain: int) -> None:
    """Any instant in any zone (DST, half- and quarter-hour offsets, seconds offsets) renders as isoformat does."""
    us -= us % grain
    assert format_us(us, zone) == reference(us, zone)


@pytest.mark.parametrize("zone", ["Europe/Berlin", "America/New_York", "Australia/Lord_Howe", "Africa/Monrovia"])
def test_format_us_across_transitions(zone: str) -> None:
    """Every second around each offset change of 1970-2040 renders as isoformat does."""
    tz = ZoneInfo(zone)
    start, end = to_us(datetime(1970, 1, 1, tzinfo=UTC)), to_us(datetime(2040, 1, 1, tzinfo=UTC))
    step = 3 * 3600 * 1_000_000
    previous = from_us(start, tz).utcoffset()
    checked = 0
    for us in range(start, end, step):
        offset = from_us(us, tz).utcoffset()
        if offset != previous:
            for s in range(us - step, us + 60 * 1_000_000, 15 * 1_000_000):
                assert format_us(s, tz) == reference(s, tz)
                assert format_us(s + 1, tz) == reference(s + 1, tz)
            checked += 1
        previous = offset
    assert checked > 0


def test_format_memos_are_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    """The offset and date memos are emptied when full, and rendering stays right."""
    monkeypatch.setattr(instants, "MEMO_ENTRIES", 10)
    monkeypatch.setattr(instants, "_offsets", {})
    monkeypatch.setattr(instants, "_dates", {})
    zone = ZoneInfo("Europe/Berlin")
    for day in range(50):
        us = day * 86_400_000_000 + 3_600_000_000
        assert format_us(us, zone) == reference(us, zone)
        assert len(instants._offsets) <= 10
        assert len(instants._dates) <= 10


def test_to_us_of_the_same_and_other_instants() -> None:
    """Converting the same object twice, equal instants in other offsets, and naive times (refused)."""
    a = datetime(2026, 11, 30, 9, 0, tzinfo=timezone(timedelta(hours=8)))
    b = datetime(2026, 11, 30, 1, 0, tzinfo=UTC)
    assert to_us(a) == to_us(a) == to_us(b) == 1_796_000_400_000_000
    assert to_us(datetime(2026, 11, 30, 1, 0, 0, 1, tzinfo=UTC)) == 1_796_000_400_000_001
    with pytest.raises(ValueError, match="naive"):
        to_us(datetime(2026, 11, 30, 9, 0))
