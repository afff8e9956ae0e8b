"""Readiness of a worker: able to process and publish now.

``/health/ready`` and the ``sla_worker_ready`` gauge both come from
``readiness``: a worker is ready when its tables are recovered, no rebalance
runs, the broker answered the last check, and its publishes are neither
failing nor waiting longer than ``stall_s`` for an acknowledgement. Each
condition clears by itself when the cause goes away.

``BrokerCheck`` is the shell's periodic check: a metadata request for the
topics the worker uses, through a client of its own with a short timeout (the
producer's requests may wait 20 minutes), so the event loop is never held up.
"""

from __future__ import annotations

import asyncio
import random
from dataclasses import dataclass
from typing import Any

from aiokafka.client import AIOKafkaClient
from aiokafka.errors import KafkaError, for_code
from aiokafka.protocol.metadata import MetadataRequest

from monitor.live.kafka import client_kwargs
from monitor.live.publishing import describe
from monitor.live.settings import Settings

CHECK_TIMEOUT_S = 5.0


@dataclass(frozen=True)
class Readiness:
    """Whether the worker is ready, and why not."""

    ready: bool
    status: str  # "ready", "recovering" or "unavailable"
    reason: str | None = None

    def body(self) -> dict[str, str]:
        """The JSON body of /health/ready."""
        return {"status": self.status} if self.reason is None else {"status": self.status, "reason": self.reason}


def readiness(*, recovered: bool, rebalancing: bool, broker_error: str | None, publish_error: str | None,
              publish_waiting_s: float | None, stall_s: float) -> Readiness:
    """Decide readiness from what the worker knows now (see the module docstring)."""
    if broker_error is not None:
        return Readiness(False, "unavailable", f"Kafka unreachable: {broker_error}")
    if publish_error is not None:
        return Readiness(False, "unavailable", f"publishing fails: {publish_error}")
    if publish_waiting_s is not None and publish_waiting_s > stall_s:
        return Readiness(False, "unavailable",
                         f"a batch's publish has waited {publish_waiting_s:.0f} s for the broker's acknowledgement")
    if not recovered or rebalancing:
        return Readiness(False, "recovering", "table recovery or a rebalance is running")
    return Readiness(True, "ready")


def metadata_problem(topics: list[tuple[Any, ...]]) -> str | None:
    """What is wrong in a metadata response's topics (error codes, partitions without a leader), if anything."""
    for topic in topics:
        error_code, name, partitions = topic[0], topic[1], topic[-1]
        if error_code:
            return f"topic {name}: {for_code(error_code).__name__}"
        for partition in partitions:
            if partition[0] or partition[2] < 0:
                return f"topic {name} partition {partition[1]} has no leader"
    return None


class BrokerCheck:
    """Asks the brokers for the metadata of the worker's topics; None when they answer and all have leaders."""

    def __init__(self, settings: Settings, topics: list[str], timeout_s: float = CHECK_TIMEOUT_S) -> None:
        self.settings, self.topics, self.timeout_s = settings, topics, timeout_s
        self._client: AIOKafkaClient | None = None

    async def __call__(self) -> str | None:
        """The reason the worker cannot use Kafka now, or None."""
        try:
            return await asyncio.wait_for(self._ask(), self.timeout_s)
        except TimeoutError:
            return f"no answer within {self.timeout_s:.0f} s"
        except (KafkaError, OSError) as error:
            return describe(error)

    async def _ask(self) -> str | None:
        if self._client is None:
            client = AIOKafkaClient(**client_kwargs(self.settings), client_id=f"{self.settings.app_id}-health",
                                    request_timeout_ms=int(self.timeout_s * 1000))
            try:
                await client.bootstrap()
            except BaseException:
                await client.close()
                raise
            self._client = client
        nodes = [broker.nodeId for broker in self._client.cluster.brokers()]
        random.shuffle(nodes)
        last = "no broker known"
        for node in nodes:
            try:
                response = await self._client.send(node, MetadataRequest(self.topics, False))
            except KafkaError as error:
                last = describe(error)
                continue
            return metadata_problem(response.topics)
        return last

    async def close(self) -> None:
        """Close the client, if any."""
        if self._client is not None:
            await self._client.close()
            self._client = None
