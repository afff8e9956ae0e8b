"""Durations written as h/m/s parts (``1h30m``, ``45s``) and back."""

from __future__ import annotations

import re

from monitor.core.instants import US_PER_SECOND

_DURATION = re.compile(r"^(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?$")


def parse_duration(text: str) -> int:
    """Parse ``"1h30m"``-style text into whole microseconds; raise ValueError."""
    match = _DURATION.match(text.strip()) if isinstance(text, str) else None
    if not match or not any(match.groups()):
        raise ValueError(
            f"invalid duration {text!r}: use h/m/s parts such as 15m, 1h30m or 45s"
        )
    hours, minutes, seconds = (int(part or 0) for part in match.groups())
    return (hours * 3600 + minutes * 60 + seconds) * US_PER_SECOND


def format_duration(us: int) -> str:
    """Render microseconds as h/m/s parts; sub-second rests are shown as seconds."""
    seconds, rest = divmod(us, US_PER_SECOND)
    hours, seconds = divmod(seconds, 3600)
    minutes, seconds = divmod(seconds, 60)
    text = (f"{hours}h" if hours else "") + (f"{minutes}m" if minutes else "")
    if seconds or rest or not text:
        text += f"{seconds}.{rest:06d}".rstrip("0").rstrip(".") + "s"
    return text
