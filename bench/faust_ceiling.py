"""Faust's own ceiling on this machine: a minimal faust-streaming app over raw bytes.

    python bench/faust_ceiling.py --topic T --count N [--partitions 4] [--mode none|table]

Consumes N messages already on topic T with one agent (concurrency 1) reading
batches through `take_events`, as the worker does; `--mode table` also sets one
RocksDB-backed table row per message (a changelog write each). Prints one JSON
line `{"mode", "messages", "seconds", "rate"}` and exits. No SLA logic at all:
what the worker cannot beat while it writes a table row per event.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
import tempfile
import time
import uuid
import weakref
from collections.abc import Iterator
from typing import Any

import faust
from faust.streams import _current_event

from monitor.live.batch_consumer import BatchTransport

BOOTSTRAP = os.environ.get("SLA_KAFKA_BOOTSTRAP", "127.0.0.1:9092")


@contextlib.contextmanager
def current(event: Any) -> Iterator[None]:
    """Make ``event`` the stream's current one, so a table write goes to its partition."""
    token = _current_event.set(weakref.ref(event))
    try:
        yield
    finally:
        _current_event.reset(token)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--topic", required=True)
    parser.add_argument("--count", type=int, required=True)
    parser.add_argument("--partitions", type=int, default=4)
    parser.add_argument("--mode", choices=("none", "table", "batch"), default="table")
    args = parser.parse_args()
    data = tempfile.mkdtemp(prefix="faust-ceiling-")
    app = faust.App(f"ceiling-{uuid.uuid4().hex[:6]}", broker=f"kafka://{BOOTSTRAP}", store="rocksdb://", datadir=data,
                    web_enabled=False, topic_partitions=args.partitions, autodiscover=False, producer_acks=-1,
                    consumer_auto_offset_reset="earliest", table_standby_replicas=0)
    source = app.topic(args.topic, key_type=bytes, value_type=bytes, key_serializer="raw", value_serializer="raw")
    table = app.Table("rows", partitions=args.partitions, key_type=bytes, value_type=bytes)
    seen = 0
    began = 0.0

    def count(done: int) -> None:
        nonlocal seen
        seen += done
        if seen >= args.count:
            spent = time.perf_counter() - began
            print(json.dumps({"mode": args.mode, "messages": seen, "seconds": spent, "rate": seen / spent}),
                  flush=True)
            sys.stdout.flush()
            os._exit(0)

    if args.mode == "batch":  # the worker's path: Faust's consumer handing each fetch over, no stream
        app.transport = BatchTransport(app.conf.broker_consumer, app)

        async def handle(records: Any) -> None:
            nonlocal began
            began = began or time.perf_counter()
            count(len(records))

        app.sla_batch_handler = handle  # type: ignore[attr-defined]
        app.sla_batch_max = 500  # type: ignore[attr-defined]
        app.sla_batch_topics = frozenset({args.topic})  # type: ignore[attr-defined]

    @app.agent(source, concurrency=1)
    async def process(stream: Any) -> None:
        nonlocal began
        async for events in stream.take_events(500, within=0.01):
            if not began:
                began = time.perf_counter()
            if args.mode == "table":
                for event in events:
                    with current(event):
                        table[event.key or b""] = event.value or b""
            count(len(events))

    worker = faust.Worker(app, loglevel="WARNING", quiet=True, redirect_stdouts=False)
    worker.execute_from_commandline()


if __name__ == "__main__":
    main()
