"""The worker's key -> partition mapping is Kafka's default partitioner, hashes remembered or not."""

from __future__ import annotations

from aiokafka.partitioner import DefaultPartitioner

from monitor.live.kafka import KEY_HASHES_CACHED, partition_for, producer_partitioner


def test_partitions_agree_with_kafkas_default_partitioner_past_the_cache() -> None:
    """Keys looked up more often than the cache holds map as aiokafka's partitioner maps them, on any count."""
    reference = DefaultPartitioner()
    keys = [f"T-{n}".encode() for n in range(KEY_HASHES_CACHED + 1000)] + ["Ä-ü".encode(), b""]
    for partitions in (1, 4, 7):
        every = list(range(partitions))
        for key in keys[:: 97] + keys[-1000:]:
            expected = reference(key, every, every)
            assert partition_for(key, partitions) == expected
            assert producer_partitioner(key, every, every) == expected
    for key in keys:
        assert partition_for(key, 8) == reference(key, list(range(8)), list(range(8)))


def test_a_message_without_key_goes_to_an_available_partition() -> None:
    """Without a key the producer's partitioner picks among the available partitions."""
    assert {producer_partitioner(None, [0, 1, 2, 3], [2]) for _ in range(20)} == {2}
