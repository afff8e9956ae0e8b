"""A quiet progress bar for long replays, shown only on a terminal."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TextIO


class Progress:
    """Draws ``[=====>    ] 52% 1.2M lines 310k/s`` on one line of a terminal."""

    def __init__(self, stream: TextIO, total_bytes: int | None, clock: Callable[[], float] = time.monotonic) -> None:
        self._stream = stream
        self._total = total_bytes
        self._clock = clock
        self._start = clock()
        self._last = 0.0
        self.enabled = stream.isatty()

    def update(self, done_bytes: int, lines: int) -> None:
        """Redraw at most ten times a second."""
        if not self.enabled:
            return
        now = self._clock()
        if now - self._last < 0.1:
            return
        self._last = now
        rate = lines / max(now - self._start, 1e-9)
        text = f"{_human(lines)} lines {_human(int(rate))}/s"
        if self._total:
            share = min(done_bytes / self._total, 1.0)
            filled = int(share * 30)
            text = f"[{'=' * filled}{'>' if filled < 30 else ''}{' ' * (29 - filled)}] {share:4.0%} " + text
        self._stream.write("\r" + text + "\x1b[K")
        self._stream.flush()

    def close(self) -> None:
        """Clear the bar's line."""
        if self.enabled:
            self._stream.write("\r\x1b[K")
            self._stream.flush()


def _human(n: int) -> str:
    for unit, size in (("M", 1_000_000), ("k", 1_000)):
        if n >= size:
            return f"{n / size:.1f}{unit}"
    return str(n)
