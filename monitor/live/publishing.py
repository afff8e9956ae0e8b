"""Publishing one batch's messages: transient failures are retried, permanent ones handled per message.

A batch's states are recorded only after every message it decided was
acknowledged, so a publish that keeps failing must not lose the batch — and a
single message the broker will never take (too large, invalid topic) must not
hold up or sink the others. ``publish_all`` therefore

- retries, with backoff, every message that failed for a transient reason
  (broker unreachable, leader moving, not enough replicas);
- sends a message refused for good once more *alone* (a broker refuses a whole
  producer batch, innocent messages with it), and if it is refused again,
  replaces it with a bounded dead letter of kind ``internal`` naming it and
  the error;
- drops, logged and counted, a replacement that is refused in turn: it is
  never retried forever;
- treats a message whose encoded size is over the configured maximum
  (``SLA_MAX_RECORD_BYTES``) as refused for good without sending it.

The broker I/O is injected (``Channel``), so this is tested without Kafka.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, Protocol

from aiokafka.errors import (
    CorruptRecordException,
    InvalidTopicError,
    MessageSizeTooLargeError,
    RecordListTooLargeError,
)

# Errors that the same message meets again on every try.
PERMANENT_ERRORS: tuple[type[BaseException], ...] = (
    MessageSizeTooLargeError,  # over max.message.bytes (broker) or max_request_size (client, before sending)
    RecordListTooLargeError,
    InvalidTopicError,
    CorruptRecordException,  # the broker's answer to a record it cannot store (e.g. over a segment)
)
FIRST_RETRY_S, LAST_RETRY_S = 0.5, 10.0

Source = tuple[str, int, int]  # topic, partition, offset of the input message a send comes from


@dataclass(frozen=True)
class Send:
    """One message to publish, with the input message it comes from."""

    topic: str
    key: bytes | None
    value: bytes
    headers: list[tuple[str, bytes]]
    source: Source
    record: dict[str, Any] | None = field(default=None, compare=False)  # the record encoded in value, if any
    replacement: bool = False  # a dead letter standing in for a refused message: never replaced again

    @property
    def size(self) -> int:
        """Bytes of key, value and headers (what Kafka's limits count, less a few bytes of framing)."""
        return len(self.key or b"") + len(self.value) + sum(len(k) + len(v) for k, v in self.headers)

    @property
    def label(self) -> str:
        """The record id, or what the message is."""
        if self.record is not None:
            return str(self.record["id"])
        return f"message for {self.topic} from {':'.join(map(str, self.source))}"


class Channel(Protocol):
    """What ``publish_all`` needs of the worker."""

    async def send(self, item: Send) -> Awaitable[Any]:
        """Hand the message to the producer; the result resolves on the broker's acknowledgement."""

    def replacement(self, item: Send, reason: str) -> Send:
        """The dead letter to publish instead of a message refused for good."""

    def unpublishable(self, item: Send, reason: str) -> None:
        """Log and count a message that cannot be published at all."""

    def failing(self, reason: str | None) -> None:
        """Publishing is failing (transiently) for ``reason``, or works again (None)."""


def is_permanent(error: BaseException) -> bool:
    """True when the same message would be refused again (Faust wraps client-side errors: look inside)."""
    seen: BaseException | None = error
    while seen is not None:
        if isinstance(seen, PERMANENT_ERRORS):
            return True
        seen = seen.__cause__
    return False


def describe(error: BaseException) -> str:
    """The innermost error's name and message, e.g. ``[Error 10] MessageSizeTooLargeError: …``."""
    while error.__cause__ is not None:
        error = error.__cause__
    text = str(error)
    return text if type(error).__name__ in text else f"{type(error).__name__}: {text}"


async def publish_all(
    items: Iterable[Send], channel: Channel, max_record_bytes: int,
    sleep: Callable[[float], Awaitable[Any]] = asyncio.sleep,
) -> list[Send]:
    """Publish every message, as described above; return those not published (replaced or dropped)."""
    pending = list(items)
    lost: list[Send] = []
    delay = FIRST_RETRY_S
    while pending:
        errors = await _send_together(pending, channel, max_record_bytes)
        retry: list[tuple[Send, BaseException]] = []
        refused: list[tuple[Send, BaseException]] = []
        for item, error in zip(pending, errors, strict=True):
            if error is not None:
                (refused if is_permanent(error) else retry).append((item, error))
        following: list[Send] = []
        for item, error in refused:
            if len(pending) > 1 and not isinstance(error, RecordOverLimit):
                # It may only have shared a producer batch the broker refused: try it alone.
                [again] = await _send_together([item], channel, max_record_bytes)
                if again is None:
                    continue
                if not is_permanent(again):
                    retry.append((item, again))
                    continue
                error = again
            lost.append(item)
            if item.replacement:
                channel.unpublishable(item, describe(error))
            else:
                following.append(channel.replacement(item, describe(error)))
        if retry:
            channel.failing(describe(retry[0][1]))
            await sleep(delay)
            delay = min(delay * 2, LAST_RETRY_S)
        pending = [item for item, _ in retry] + following
    channel.failing(None)
    return lost


class RecordOverLimit(MessageSizeTooLargeError):  # type: ignore[misc]  # aiokafka is untyped
    """A message over ``max_record_bytes``, refused before it is sent."""


async def _send_together(items: list[Send], channel: Channel, max_record_bytes: int) -> list[BaseException | None]:
    """Send every message, then wait for each acknowledgement; the error of each (None when acknowledged)."""
    futures: list[Awaitable[Any] | BaseException] = []
    for item in items:
        if item.size > max_record_bytes:
            futures.append(RecordOverLimit(f"{item.size} bytes is over the largest record the worker publishes "
                                      f"(SLA_MAX_RECORD_BYTES={max_record_bytes})"))
            continue
        try:
            futures.append(await channel.send(item))
        except Exception as error:  # refused before sending (e.g. over the producer's max_request_size)
            futures.append(error)
    # The producer's futures as they are: a coroutine around each would cost a task per message.
    waiting = [f for f in futures if not isinstance(f, BaseException)]
    answers = iter(await asyncio.gather(*waiting, return_exceptions=True))
    errors: list[BaseException | None] = []
    for future in futures:
        outcome = future if isinstance(future, BaseException) else next(answers)
        if isinstance(outcome, BaseException) and not isinstance(outcome, Exception):
            raise outcome  # cancelled: not a message's error
        errors.append(outcome if isinstance(outcome, BaseException) else None)
    return errors
