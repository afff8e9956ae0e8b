"""A batch's publish retries transient failures and handles a message refused for good per message."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from typing import Any

from aiokafka.errors import InvalidTopicError, MessageSizeTooLargeError, NotEnoughReplicasError
from faust.exceptions import ProducerSendError

from monitor.live.publishing import Send, publish_all


def _send(name: str, size: int = 10, topic: str = "out", replacement: bool = False) -> Send:
    return Send(topic, name.encode(), b"x" * size, [("id", name.encode())], ("in", 0, 1), {"id": name},
                replacement=replacement)


class Broker:
    """A fake producer that acknowledges, like Kafka, a whole batch of sends at once or refuses it whole."""

    def __init__(self, limit: int = 100, down_for: int = 0, client_limit: int = 10_000) -> None:
        self.limit, self.down_for, self.client_limit = limit, down_for, client_limit
        self.group: list[tuple[Send, asyncio.Future[None]]] = []
        self.acked: list[str] = []
        self.replaced: list[tuple[str, str]] = []
        self.dropped: list[str] = []
        self.failures: list[str | None] = []
        self.naps: list[float] = []

    async def send(self, item: Send) -> Awaitable[Any]:
        if item.size > self.client_limit:
            raise ProducerSendError("Error while sending") from MessageSizeTooLargeError("over max_request_size")
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        if not self.group:
            asyncio.get_running_loop().call_soon(self._answer)
        self.group.append((item, future))
        return future

    def _answer(self) -> None:
        group, self.group = self.group, []
        if self.down_for:
            self.down_for -= 1
            error: BaseException | None = NotEnoughReplicasError()
        elif any(item.topic == "bad topic" for item, _ in group):
            error = InvalidTopicError()
        elif sum(item.size for item, _ in group) > self.limit:
            error = MessageSizeTooLargeError()
        else:
            error = None
        for item, future in group:
            if error is None:
                self.acked.append(item.label)
                future.set_result(None)
            else:
                future.set_exception(error)

    def replacement(self, item: Send, reason: str) -> Send:
        self.replaced.append((item.label, reason))
        return _send(f"dl-{item.label}", size=len(reason), topic=item.topic, replacement=True)

    def unpublishable(self, item: Send, reason: str) -> None:
        self.dropped.append(item.label)

    def failing(self, reason: str | None) -> None:
        self.failures.append(reason)

    async def nap(self, seconds: float) -> None:
        self.naps.append(seconds)


def _publish(broker: Broker, items: list[Send], max_record_bytes: int = 1_000) -> list[str]:
    lost = asyncio.run(publish_all(items, broker, max_record_bytes, sleep=broker.nap))
    return [item.label for item in lost]


def test_transient_failures_are_retried_with_backoff_until_acknowledged() -> None:
    """Not-enough-replicas three times: the whole batch is sent again, backing off, then works and says so."""
    broker = Broker(down_for=3)
    assert _publish(broker, [_send("a"), _send("b")]) == []
    assert broker.acked == ["a", "b"]
    assert broker.naps == [0.5, 1.0, 2.0]
    assert broker.failures[:3] == ["[Error 19] NotEnoughReplicasError"] * 3
    assert broker.failures[-1] is None
    assert broker.replaced == []


def test_a_message_refused_for_good_is_replaced_and_the_rest_go_out() -> None:
    """A message too large for the broker takes its batch down; the others succeed alone, it becomes a dead letter."""
    broker = Broker(limit=100)
    lost = _publish(broker, [_send("a"), _send("big", size=150), _send("c")])
    assert lost == ["big"]
    assert sorted(broker.acked) == ["a", "c", "dl-big"]
    assert broker.replaced[0][0] == "big"
    assert "MessageSizeTooLargeError" in broker.replaced[0][1]
    assert broker.naps == []  # nothing transient: no waiting


def test_a_refused_replacement_is_dropped_and_counted_never_retried_forever() -> None:
    """When the dead letter standing in for a refused message is refused too, it is dropped and counted."""
    broker = Broker()
    lost = _publish(broker, [_send("ok"), _send("x", topic="bad topic")])
    assert lost == ["x", "dl-x"]
    assert broker.acked == ["ok"]
    assert broker.dropped == ["dl-x"]


def test_a_message_over_the_record_limit_is_never_sent() -> None:
    """A message above max_record_bytes is replaced without being sent, even when the broker would take it."""
    broker = Broker(limit=10_000)
    lost = _publish(broker, [_send("huge", size=2_000), _send("a")], max_record_bytes=1_000)
    assert lost == ["huge"]
    assert sorted(broker.acked) == ["a", "dl-huge"]
    assert "SLA_MAX_RECORD_BYTES=1000" in broker.replaced[0][1]


def test_a_message_the_producer_refuses_before_sending_does_not_raise() -> None:
    """The producer's own size check raises at send(): that message is replaced, the batch is not lost."""
    broker = Broker(limit=100_000, client_limit=500)
    lost = _publish(broker, [_send("a"), _send("big", size=800)], max_record_bytes=1_000)
    assert lost == ["big"]
    assert sorted(broker.acked) == ["a", "dl-big"]
    assert "over max_request_size" in broker.replaced[0][1]
