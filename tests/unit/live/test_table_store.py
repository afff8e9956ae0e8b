"""The adapter's table rows: in each message's partition database, changelog records in batches per partition."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aiokafka.structs import ConsumerRecord
from rocksdict import Options, Rdict

from monitor.live.app import _message, _TableStore
from monitor.live.processor import TICKETS, Write


def record(partition: int, offset: int, key: bytes) -> ConsumerRecord[bytes, bytes]:
    """A record as aiokafka's consumer hands it over."""
    return ConsumerRecord("tickets.events", partition, offset, 0, 0, key, b"{}", None, len(key), 2, [])


@dataclass
class Data:
    """A table's store: a real RocksDB per partition (opened as Faust's store opens it: raw bytes), persisted
    offsets by partition."""

    directory: Path
    dbs: dict[int, Rdict] = field(default_factory=dict)
    persisted: dict[int, int] = field(default_factory=dict)

    def _db_for_partition(self, partition: int) -> Rdict:
        if partition not in self.dbs:
            self.dbs[partition] = Rdict(str(self.directory / str(partition)), Options(raw_mode=True))
        return self.dbs[partition]

    @property
    def rows(self) -> dict[tuple[int, bytes], bytes]:
        return {(partition, key): value for partition, db in self.dbs.items() for key, value in db.items()}

    def set_persisted_offset(self, tp: Any, offset: int) -> None:
        self.persisted[tp.partition] = offset


class Table:
    def __init__(self, directory: Path) -> None:
        self.data = Data(directory)
        self.changelog_topic = type("T", (), {"get_topic_name": staticmethod(lambda: "app-tickets-changelog")})()


class Batch:
    """A record batch that holds two records."""

    def __init__(self) -> None:
        self.records: list[tuple[bytes, bytes]] = []

    def append(self, *, key: bytes, value: bytes, timestamp: None, headers: list[Any]) -> object | None:
        assert isinstance(headers, list)  # aiokafka refuses a tuple
        if len(self.records) == 2:
            return None
        self.records.append((key, value))
        return object()


class Client:
    """The producer's side: batches sent, each acknowledged at the next base offset of its partition."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, int, list[tuple[bytes, bytes]]]] = []
        self.next_offset = {0: 10, 1: 5}

    def create_batch(self) -> Batch:
        return Batch()

    async def send_batch(self, batch: Batch, topic: str, *, partition: int) -> asyncio.Future[Any]:
        self.sent.append((topic, partition, batch.records))
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        tp = type("TP", (), {"partition": partition})()
        future.set_result(type("R", (), {"topic_partition": tp, "offset": self.next_offset[partition]})())
        self.next_offset[partition] += len(batch.records)
        return future


def test_rows_go_to_their_partition_and_changelog_records_in_batches_per_partition(tmp_path: Path) -> None:
    """Three rows on partition 0 and one on 1: two batches for 0 (two records fit), one for 1; persisted offsets
    are each partition's last record."""
    asyncio.run(_record_four_rows(tmp_path))


async def _record_four_rows(directory: Path) -> None:
    table = Table(directory)
    store = _TableStore({TICKETS: table})
    records = [record(0, 0, b"A"), record(0, 1, b"B"), record(1, 0, b"C"), record(0, 2, b"D")]
    messages = [_message(r) for r in records]
    client = Client()
    writes = [Write(TICKETS, m.key or b"", b"row-" + (m.key or b""), m, None) for m in messages]  # type: ignore[arg-type]
    await store.record(writes, client)
    await asyncio.gather(*store._settling)
    assert table.data.rows == {(0, b"A"): b"row-A", (0, b"B"): b"row-B", (1, b"C"): b"row-C", (0, b"D"): b"row-D"}
    assert client.sent == [("app-tickets-changelog", 0, [(b"A", b"row-A"), (b"B", b"row-B")]),
                           ("app-tickets-changelog", 0, [(b"D", b"row-D")]),
                           ("app-tickets-changelog", 1, [(b"C", b"row-C")])]
    assert table.data.persisted == {0: 12, 1: 5}  # offsets 10, 11 (first batch), 12; and 5
    assert [store.get(TICKETS, m.key or b"", m) for m in messages] == [b"row-A", b"row-B", b"row-C", b"row-D"]
    assert store.get(TICKETS, b"C", messages[0]) is None  # C lives in partition 1, read for a message of 0
    for db in table.data.dbs.values():
        db.close()
