"""Exception types of sla-monitor.

    SlaMonitorError                 base of everything raised on purpose
    ├── PolicyError                 a policy file cannot be used (file, path, what)
    ├── UsageError                  settings or arguments cannot be used
    └── EventRejected               one input event cannot be applied (reason)

User-facing errors carry enough to fix the input without reading code: a
policy error names the file, the path inside it and the problem; a rejected
event names what is wrong with it. Neither is ever shown as a traceback.
"""

from __future__ import annotations

from dataclasses import dataclass


class SlaMonitorError(Exception):
    """Base class for errors raised by sla-monitor on purpose."""


@dataclass(frozen=True)
class Problem:
    """One thing wrong at one place of a document."""

    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message}" if self.path else self.message


class PolicyError(SlaMonitorError):
    """A policy file is unreadable or invalid; lists every problem found."""

    def __init__(self, file: str, problems: list[Problem]) -> None:
        self.file = file
        self.problems = problems
        lines = [f"{file}: {p}" for p in problems]
        super().__init__("invalid policy\n" + "\n".join(lines))


class EventRejected(SlaMonitorError):
    """An input event was refused; ``reason`` says why in one line."""

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(reason)


class UsageError(SlaMonitorError):
    """Command-line arguments or settings are unusable; the message says which."""
