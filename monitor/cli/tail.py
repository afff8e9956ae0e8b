"""Follow the output topics and print each record as one readable line."""

from __future__ import annotations

import asyncio
import json
import sys
from typing import Any

from aiokafka import AIOKafkaConsumer

from monitor.live.kafka import client_kwargs
from monitor.live.settings import Settings

_COLOURS = {"sla.warning": "\x1b[33m", "sla.breach": "\x1b[31m", "sla.escalation": "\x1b[1;31m", "sla.outcome": "\x1b[32m", "sla.dead_letter": "\x1b[35m", "sla.rating": "\x1b[36m"}


def render(record: dict[str, Any], colour: bool) -> str:
    """One line for a person watching the stream."""
    kind = record.get("type", "?")
    if kind == "sla.dead_letter":
        text = f"{'DEAD LETTER':<11} {record.get('source', {})} {record.get('reason')}"
    elif kind == "sla.rating":
        text = f"{record.get('at', '')[11:19]}  {'RATED':<9} {record.get('ticket_id', '')} {record.get('score')}/5"
    else:
        label = {"sla.warning": f"WARN {record.get('threshold', 0):.0%}", "sla.breach": "BREACH",
                 "sla.escalation": f"ESCAL {record.get('level', '?')}", "sla.outcome": f"{str(record.get('status', '')).upper()}"}.get(kind, kind)
        if "ticket_id" in record:
            text = (f"{record.get('at', '')[11:19]}  {label:<9} {record.get('ticket_id', '')} {record.get('metric', '')} "
                    f"{record.get('priority', '')}  deadline {record.get('deadline', '')[11:19]}")
        else:
            text = (f"{record.get('at', '')[11:19]}  {label:<9} {record.get('service_id', '')} availability "
                    f"{record.get('period', '')}  downtime {record.get('downtime_seconds', 0):g}s "
                    f"of {record.get('budget_seconds', 0):g}s")
        if kind == "sla.escalation":
            text += f"  to {record.get('to', '')}"
        if record.get("retracts"):
            text += f"  retracts {', '.join(record['retracts'])}"
    return f"{_COLOURS.get(kind, '')}{text}\x1b[0m" if colour else text


async def tail(settings: Settings, *, raw: bool = False, ready_within_s: float = 10.0) -> None:
    """Print records from the warning, breach (escalations too), outcome and dead-letter topics until interrupted.

    Each line is flushed as it is printed, so a pipe (``| grep BREACH``, ``| tee``)
    or a service wrapper sees it at once. Once the topics' ends are known, a line on
    stderr says from where it follows them: records published after it are shown.
    """
    topics = (settings.topic_warnings, settings.topic_breaches, settings.topic_outcomes, settings.topic_dead_letter)
    consumer = AIOKafkaConsumer(*topics, **client_kwargs(settings), auto_offset_reset="latest",
                                enable_auto_commit=False)
    await consumer.start()
    colour = sys.stdout.isatty()
    try:
        await _follow_from_now(consumer, ready_within_s)
        print(f"tail: following {', '.join(topics)} from now on (Ctrl-C stops)", file=sys.stderr, flush=True)
        async for message in consumer:
            try:
                record = json.loads(message.value or b"")
            except ValueError:
                continue
            print(json.dumps(record) if raw else render(record, colour), flush=True)
    finally:
        await consumer.stop()


async def _follow_from_now(consumer: AIOKafkaConsumer, within_s: float) -> None:
    """Wait until partitions are assigned and their end offsets resolved (topics may not exist yet)."""
    deadline = asyncio.get_running_loop().time() + within_s
    while not consumer.assignment() and asyncio.get_running_loop().time() < deadline:
        await asyncio.sleep(0.05)
    for partition in consumer.assignment():
        await consumer.position(partition)
