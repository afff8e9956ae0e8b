"""Faust's consumer, each fetch handed to one batch handler instead of a stream.

Faust keeps what it is good at: group membership and the co-partitioning
assignor, table recovery from the changelogs, offset commits, timers and the
web server. What it costs per message is its delivery path: every fetched
record becomes a ``ConsumerMessage``, is awaited through ``wait_first`` (two
tasks), dispatched by the conductor into a channel queue, read back by the
stream, wrapped in an ``Event`` and acknowledged one by one. Measured on this
machine, that path alone (``take_events`` doing nothing) ran at 0.13-0.17 of a
plain aiokafka loop, which capped the worker near half its own speed.

``BatchConsumer._drain_messages`` replaces that path for one handler and the
topics it takes (``app.sla_batch_topics``; any other topic, such as the
changelogs Faust's recovery reads, goes Faust's own way): their records of a
fetch go, per partition in offset order, to
``handler(records)`` in chunks of at most ``batch_max``; when it returns, their
offsets are acknowledged in Faust's own bookkeeping (``_acked``,
``_acked_index``, gaps), so Faust's commit, its rebalance and its shutdown work
as before. While a chunk is handled, a token stands in Faust's set of
unacknowledged messages: a rebalance or a stop waits for it (``wait_empty``)
before committing and revoking, as it waits for a stream's events.

A handler that raises is the caller's business (the worker exits, leaving the
chunk unacknowledged: it is read again from the committed offsets).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from time import monotonic
from typing import Any

from faust.transport.consumer import CONSUMER_FETCHING
from faust.transport.drivers import aiokafka as faust_aiokafka
from mode.utils.futures import notify
from rocksdict import WriteBatch

BatchHandler = Callable[[Sequence[Any]], Awaitable[None]]


class _InFlight:
    """Stands for a chunk being handled in ``Consumer._unacked_messages`` (a WeakSet of messages)."""

    __slots__ = ("__weakref__", "acked", "refcount", "size")

    def __init__(self, size: int) -> None:
        self.acked, self.refcount, self.size = False, 1, size

    def __repr__(self) -> str:
        return f"<batch of {self.size} being handled>"


class BatchConsumer(faust_aiokafka.Consumer):
    """The aiokafka driver's consumer, delivering fetches to ``app.sla_batch_handler`` when it is set."""

    async def _drain_messages(self, fetcher: Any) -> None:  # pragma: no cover - exercised against a broker
        handler: BatchHandler | None = getattr(self.app, "sla_batch_handler", None)
        if handler is None:
            await super()._drain_messages(fetcher)
            return
        batch_max: int = getattr(self.app, "sla_batch_max", 1000)
        topics: frozenset[str] = getattr(self.app, "sla_batch_topics", frozenset())
        consumer_stopped, fetcher_stopped = self._stopped.is_set, fetcher._stopped.is_set
        try:
            while not (consumer_stopped() or fetcher_stopped()):
                self.diag.set_flag(CONSUMER_FETCHING)
                records, active = await self._wait_next_records(1.0)
                await self.sleep(0)
                if not records or self.should_stop or not self.flow_active:
                    continue
                generation = self.app.consumer_generation_id
                ours = {tp: batch for tp, batch in records.items() if tp.topic in topics}
                for tp, batch in records.items():
                    if tp.topic not in topics:
                        await self._deliver(tp, self._restore(tp, batch, active), active, generation)
                fresh = await self._fresh(ours, active)
                for start in range(0, len(fresh), batch_max):
                    if (not self.flow_active or self.should_stop
                            or self.app.consumer_generation_id != generation):
                        break  # a rebalance began: the rest is read again from the committed offsets
                    chunk = fresh[start:start + batch_max]
                    token = _InFlight(len(chunk))
                    self._unacked_messages.add(token)  # type: ignore[arg-type]
                    try:
                        await handler(chunk)
                        self._acknowledge(chunk)
                    finally:
                        token.acked = True
                        self._unacked_messages.discard(token)  # type: ignore[arg-type]
                        notify(self._waiting_for_ack)
                    if self._commit_every is not None and self._n_acked >= self._commit_every:
                        self._n_acked = 0
                        await self.commit()
                self.diag.unset_flag(CONSUMER_FETCHING)
        except self.consumer_stopped_errors:
            if self.transport.app.should_stop:
                return
            raise
        finally:
            self.diag.unset_flag(CONSUMER_FETCHING)

    def _restore(self, tp: Any, records: Sequence[Any], active: set[Any] | None) -> Sequence[Any]:
        """Write a fetch of an active table partition's changelog records into its store at once; return the
        records still for Faust's recovery (the last one, which makes it check whether recovery is complete).

        Faust's recovery takes a changelog record like an input message (a message object, two tasks, the
        conductor, a queue, then per record its bookkeeping and a check of every partition's progress):
        ~40 us a record, most of a restart's time at a million tickets. Here a fetch's records are written
        as one RocksDB write batch, as Faust's own ``apply_changelog_batch`` writes its buffer, after that
        buffer (records handed to it before) is applied, so that no older value lands after a newer one.
        """
        recovery = self.app.tables.recovery  # type: ignore[attr-defined]  # TableManager has it
        if (len(records) < 2 or not self.flow_active or not recovery.in_recovery or tp not in recovery.active_tps
                or (active is not None and tp not in active)):  # a rebalance began, or not a recovery: Faust's way
            return records
        seen = recovery.active_offsets.get(tp)
        if seen is not None:
            records = [record for record in records if record.offset > seen]
        if len(records) < 2:
            return records
        table = recovery.tp_to_table[tp]
        pending = recovery.buffers[table]
        if pending:
            table.apply_changelog_batch(pending)
            pending.clear()
        batch = WriteBatch(raw_mode=True)
        for record in records[:-1]:
            if record.value is None:
                batch.delete(record.key)
            else:
                batch.put(record.key, record.value)
        table.data._db_for_partition(tp.partition).write(batch)
        written = records[-2].offset
        table.data.set_persisted_offset(tp, written)
        recovery.active_offsets[tp] = written
        self._read_offset[tp] = written
        return records[-1:]

    async def _deliver(self, tp: Any, records: Sequence[Any], active: set[Any] | None, generation: int) -> None:
        """Faust's own path, one message at a time, for the topics the handler does not take (the changelogs
        Faust's recovery reads)."""
        unread = await self._unread(tp, records, active, gaps=self.app.topics.acks_enabled_for(tp.topic))
        for record in unread:
            if not self.flow_active or self.app.consumer_generation_id != generation:
                return
            await self.wait_first(self.callback(self._to_message(tp, record)), self.suspend_flow.wait())
            self._read_offset[tp] = record.offset

    async def _fresh(self, records: Any, active: set[Any] | None) -> list[Any]:
        """The fetch's records not read yet, per partition in offset order; gaps noted as Faust notes them."""
        fresh: list[Any] = []
        for tp, batch in records.items():
            fresh += await self._unread(tp, batch, active, gaps=True)
        return fresh

    async def _unread(self, tp: Any, records: Sequence[Any], active: set[Any] | None, gaps: bool) -> list[Any]:
        """What Faust's drain lets through of one partition's records: none while the partition is not active
        (paused for recovery, or its buffer full), and of the others those at or after its read offset (older
        ones were read before a seek back); offsets missing between them (compaction, transaction markers)
        noted as a gap, which the commit passes over, when ``gaps``."""
        if active is not None and tp not in active and tp not in self._buffered_partitions:
            return []
        self.app.monitor.track_tp_end_offset(tp, self.highwater(tp))
        unread: list[Any] = []
        last = self._read_offset[tp]
        for record in records:
            offset = record.offset
            if last is not None and offset < last:
                continue
            if gaps and last and offset - last > 1:
                await self._add_gap(tp, last + 1, offset - 1)  # Faust adds offset too, acked twice
            last = offset
            unread.append(record)
        return unread

    def _acknowledge(self, records: Sequence[Any]) -> None:
        """What ``Consumer.ack`` and the read offset do for each message, once per partition of a handled chunk."""
        by_tp: dict[tuple[str, int], list[int]] = {}
        for record in records:
            by_tp.setdefault((record.topic, record.partition), []).append(record.offset)
        inbound = self.app.monitor.stream_inbound_time  # what Faust's stall check reads (a stream sets it per event)
        now = monotonic()
        for (topic, partition), offsets in by_tp.items():
            tp = self._new_topicpartition(topic, partition)  # equal to the fetch's own (aiokafka's TopicPartition)
            self._read_offset[tp] = offsets[-1]
            inbound[tp] = now
            committed = self._committed_offset[tp]
            if committed is not None:
                offsets = [offset for offset in offsets if offset >= committed]
            index = self._acked_index[tp]
            offsets = [offset for offset in offsets if offset not in index]
            index.update(offsets)
            self._acked[tp].extend(offsets)
            self._n_acked += len(offsets)


class BatchTransport(faust_aiokafka.Transport):
    """The aiokafka transport with ``BatchConsumer``."""

    Consumer = BatchConsumer
