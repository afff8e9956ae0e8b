"""BatchConsumer's bookkeeping: what a handled batch acknowledges is what Faust's own commit path then commits."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import faust
import pytest
from aiokafka.structs import ConsumerRecord, TopicPartition

from monitor.live.batch_consumer import BatchConsumer, BatchTransport, _InFlight

TOPIC = "tickets.events"


def record(partition: int, offset: int, topic: str = TOPIC) -> ConsumerRecord[bytes, bytes]:
    return ConsumerRecord(topic, partition, offset, 0, 0, b"k", b"{}", None, 1, 2, [])


@pytest.fixture
def consumer() -> Iterator[BatchConsumer]:
    """A consumer of a never-started app: Faust's offset bookkeeping, no broker."""
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)  # what Faust's services ask for when they make their events
    app = faust.App("batch-consumer-test", broker="kafka://127.0.0.1:1", autodiscover=False, loop=loop)
    app.transport = BatchTransport(app.conf.broker_consumer, app, loop=loop)
    made = app.consumer  # as the worker makes it: Faust's callbacks, our transport
    assert isinstance(made, BatchConsumer)
    made.highwater = lambda tp: None  # type: ignore[method-assign]  # the broker's end offsets: none here
    yield made
    made._thread.thread_loop.close()  # the consumer thread's loop, made with it and never run
    asyncio.set_event_loop(None)
    loop.close()


def run(consumer: BatchConsumer, records: Any, active: set[TopicPartition] | None = None) -> list[Any]:
    """What ``_fresh`` hands over of a fetch."""
    return consumer.loop.run_until_complete(consumer._fresh(records, active))  # type: ignore[no-any-return]


def fetch(*records: ConsumerRecord[bytes, bytes]) -> dict[TopicPartition, list[ConsumerRecord[bytes, bytes]]]:
    by_tp: dict[TopicPartition, list[ConsumerRecord[bytes, bytes]]] = {}
    for r in records:
        by_tp.setdefault(TopicPartition(r.topic, r.partition), []).append(r)
    return by_tp


def fresh(consumer: BatchConsumer, records: Any) -> list[int]:
    return [r.offset for r in run(consumer, records)]


def test_acknowledged_batches_commit_through_their_last_offset_per_partition(consumer: BatchConsumer) -> None:
    tp0, tp1 = TopicPartition(TOPIC, 0), TopicPartition(TOPIC, 1)
    records = fetch(record(0, 0), record(0, 1), record(1, 0), record(0, 2))
    handled = run(consumer, records)
    assert [(r.partition, r.offset) for r in handled] == [(0, 0), (0, 1), (0, 2), (1, 0)]  # per partition, in order
    consumer._acknowledge(handled[:2])  # a first chunk: offsets 0 and 1 of partition 0
    assert consumer._filter_committable_offsets([tp0, tp1]) == {tp0: 2}
    consumer._acknowledge(handled[2:])
    assert consumer._filter_committable_offsets([tp0, tp1]) == {tp0: 3, tp1: 1}
    assert consumer._n_acked == 4
    assert set(consumer.app.monitor.stream_inbound_time) == {tp0, tp1}  # Faust's stall check sees them handled


def test_an_unacknowledged_chunk_holds_the_commit_back(consumer: BatchConsumer) -> None:
    """A chunk not handled (the worker left, or a rebalance broke the fetch off) is not committed past."""
    tp = TopicPartition(TOPIC, 0)
    handled = run(consumer, fetch(*(record(0, n) for n in range(6))))
    consumer._acknowledge(handled[:3])
    assert consumer._filter_committable_offsets([tp]) == {tp: 3}
    assert consumer._read_offset[tp] == 2  # the next fetch of this partition starts after what was handled


def test_records_read_before_are_not_handed_over_again(consumer: BatchConsumer) -> None:
    consumer._acknowledge(run(consumer, fetch(record(0, 0), record(0, 1))))
    assert fresh(consumer, fetch(record(0, 0), record(0, 1), record(0, 2))) == [1, 2]  # as Faust's drain: >= read


def test_offsets_missing_in_a_fetch_become_a_gap_that_is_committed_over(consumer: BatchConsumer) -> None:
    """A compacted topic or transaction markers leave offsets no record has: they must not stop the commit."""
    tp = TopicPartition(TOPIC, 0)
    consumer._acknowledge(run(consumer, fetch(record(0, 0), record(0, 1))))
    assert consumer._filter_committable_offsets([tp]) == {tp: 2}
    consumer._committed_offset[tp] = 2
    consumer._acknowledge(run(consumer, fetch(record(0, 5), record(0, 6))))
    assert consumer._filter_committable_offsets([tp]) == {tp: 7}


def test_partitions_not_active_are_left_out(consumer: BatchConsumer) -> None:
    """While Faust pauses a partition (recovery, a full buffer), its records are not handed over."""
    active = {TopicPartition(TOPIC, 1)}
    handled = run(consumer, fetch(record(0, 0), record(1, 0)), active)
    assert [(r.partition, r.offset) for r in handled] == [(1, 0)]


def test_a_chunk_being_handled_is_waited_for_like_a_message_in_a_stream(consumer: BatchConsumer) -> None:
    """Faust's rebalance and stop wait (wait_empty) until its set of unacknowledged messages is empty."""
    token = _InFlight(3)
    consumer._unacked_messages.add(token)  # type: ignore[arg-type]
    assert consumer.unacked
    consumer._clean_unacked_messages()
    assert consumer.unacked  # not acked yet: still waited for
    token.acked = True
    consumer._clean_unacked_messages()
    assert not consumer.unacked
