"""The worker's key -> partition mapping is Kafka's default partitioner, hashes remembered or not."""

from __future__ import annotations

from aiokafka.partitioner import DefaultPartitioner
from aiokafka.partitioner import murmur2 as aiokafka_murmur2
from hypothesis import given
from hypothesis import strategies as st

from monitor.live.kafka import KEY_HASHES_CACHED, murmur2, partition_for, producer_partitioner


@given(st.binary(max_size=600))
def test_murmur2_is_aiokafkas_for_any_key(key: bytes) -> None:
    """Every length (each tail of 0-3 bytes, keys past the unpackers kept ready) hashes as aiokafka hashes it."""
    assert murmur2(key) == aiokafka_murmur2(key)


def test_murmur2_matches_kafkas_java_client() -> None:
    """Values of Kafka's own Utils.murmur2 (its UtilsTest): the hash is the broker's, not only aiokafka's."""
    assert murmur2(b"21") == -973932308 & 0xFFFFFFFF
    assert murmur2(b"foobar") == -790332482 & 0xFFFFFFFF
    assert murmur2(b"a-little-bit-long-string") == -985981536 & 0xFFFFFFFF
    assert murmur2(b"a-little-bit-longer-string") == -1486304829 & 0xFFFFFFFF
    assert murmur2(b"lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8") == -58897971 & 0xFFFFFFFF
    assert murmur2(b"abc") == 479470107


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
