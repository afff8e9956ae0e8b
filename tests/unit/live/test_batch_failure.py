"""A batch that fails after the processor (publishing, recording) makes the worker leave before Faust acknowledges it."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

import pytest

from monitor.live.app import BATCH_FAILED_EXIT, unless_failed


class Exits:
    """Stands in for ``os._exit``: remembers the status instead of leaving."""

    def __init__(self) -> None:
        self.calls: list[int] = []

    def __call__(self, status: int, message: str, **fields: Any) -> None:
        self.calls.append(status)


def test_a_failed_batch_exits_with_its_status_before_returning_to_faust() -> None:
    """The exit happens inside the agent's step, so take_events never reaches its acknowledgement."""
    exits, seen = Exits(), []

    async def failing(events: Sequence[Any]) -> None:
        seen.extend(events)
        raise RuntimeError("Argument 'headers' has incorrect type")

    asyncio.run(unless_failed(failing, ["e1", "e2"], exits))
    assert seen == ["e1", "e2"]
    assert exits.calls == [BATCH_FAILED_EXIT]


def test_a_completed_batch_does_not_exit() -> None:
    exits, done = Exits(), []

    async def fine(events: Sequence[Any]) -> None:
        done.append(len(events))

    asyncio.run(unless_failed(fine, ["e1"], exits))
    assert (done, exits.calls) == ([1], [])


def test_a_stop_is_not_a_failure() -> None:
    """Cancellation (the worker stopping mid-batch) goes through: the batch is read again anyway."""
    exits = Exits()

    async def stopped(events: Sequence[Any]) -> None:
        raise asyncio.CancelledError

    with pytest.raises(asyncio.CancelledError):
        asyncio.run(unless_failed(stopped, ["e1"], exits))
    assert exits.calls == []
