"""The replay progress bar: drawn on a terminal, silent otherwise."""

from __future__ import annotations

import io

from monitor.cli.progress import Progress


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_draws_on_a_terminal() -> None:
    """On a terminal the bar shows the share done and the line rate, then clears its line."""
    ticks = iter([0.0, 1.0, 2.0])
    stream = _Terminal()
    bar = Progress(stream, total_bytes=1000, clock=lambda: next(ticks))
    bar.update(500, 20_000)
    assert "50%" in stream.getvalue()
    assert "20.0k lines" in stream.getvalue()
    bar.close()
    assert stream.getvalue().endswith("\r\x1b[K")


def test_progress_is_silent_when_not_a_terminal() -> None:
    """When stderr is redirected nothing is written, so JSON lines stay clean."""
    stream = io.StringIO()
    bar = Progress(stream, total_bytes=1000)
    bar.update(500, 20_000)
    bar.close()
    assert stream.getvalue() == ""
