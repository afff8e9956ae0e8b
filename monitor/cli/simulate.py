"""A realistic stream of ticket events and probe results, produced to Kafka in real time.

Tickets arrive at random (Poisson) with a priority mix; each lives a lifecycle
scaled to its policy targets: most are acknowledged in time, some late, some
wait on the customer (paused), some get their priority raised, some are
reopened, a few are never resolved. Each service of the policy is probed from
three locations at a fixed interval; now and then it has an outage (most
locations fail), and single locations fail on their own without taking it down.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import json
import random
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from aiokafka import AIOKafkaProducer

from monitor.core.policy import Policy, load_policy
from monitor.live.kafka import client_kwargs
from monitor.live.settings import Settings

PRIORITY_MIX = (("P1", 0.1), ("P2", 0.3), ("P3", 0.6))
CUSTOMERS = ("acme", "globex", "initech", "umbrella", "hooli")
SERVICES = ("mail", "crm", "erp", "vpn")

Plan = list[tuple[float, int, dict[str, Any]]]
LOCATIONS = ("fra", "ams", "sin")


@dataclass
class ServiceWeather:
    """When a simulated service is next down, and until when."""

    next_outage: float
    outage_until: float = 0.0

    def probe(self, rng: random.Random, now: float, mean_gap: float) -> list[bool]:
        """Results of the three locations at ``now``."""
        if now >= self.next_outage:
            self.outage_until = now + rng.uniform(0.05, 0.25) * mean_gap
            self.next_outage = self.outage_until + rng.expovariate(1 / mean_gap)
        if now < self.outage_until:
            return [rng.random() < 0.1 for _ in LOCATIONS]  # mostly failing
        return [rng.random() > 0.03 for _ in LOCATIONS]  # a stray failure is not an outage


def plan_ticket(rng: random.Random, policy: Policy, ticket_id: str, start: float, speed: float) -> list[tuple[float, dict[str, Any]]]:
    """The events of one ticket as (seconds from now, event body without time)."""
    priorities = [p for p, _ in PRIORITY_MIX if p in policy.targets] or list(policy.priorities)
    weights = [w for p, w in PRIORITY_MIX if p in policy.targets] or [1.0] * len(priorities)
    priority = rng.choices(priorities, weights)[0]
    customer, service = rng.choice(CUSTOMERS), rng.choice(SERVICES)
    targets = policy.targets_for(priority, customer, service, in_hours=True)
    response = targets.response_us / 1e6 / speed
    resolution = targets.resolution_us / 1e6 / speed
    events: list[tuple[float, dict[str, Any]]] = [
        (start, {"type": "ticket.opened", "priority": priority, "customer_id": customer, "service_id": service})
    ]
    ack = start + response * rng.uniform(0.2, 1.3)  # about a quarter are late
    events.append((ack, {"type": "ticket.acknowledged"}))
    if rng.random() < 0.05:
        higher = priorities[max(priorities.index(priority) - 1, 0)]
        if higher != priority:
            events.append((start + response * 0.3, {"type": "ticket.priority_changed", "priority": higher}))
    if rng.random() < 0.05:
        return events  # never resolved
    done = ack + resolution * rng.uniform(0.1, 1.2)
    if rng.random() < 0.2:
        pause = rng.uniform(ack, done)
        events.append((pause, {"type": "ticket.paused"}))
        events.append((pause + resolution * rng.uniform(0.05, 0.3), {"type": "ticket.resumed"}))
        done += resolution * 0.3
    events.append((done, {"type": "ticket.resolved"}))
    if rng.random() < 0.1:
        reopened = done + resolution * rng.uniform(0.05, 0.2)
        events.append((reopened, {"type": "ticket.reopened"}))
        done = reopened + resolution * rng.uniform(0.1, 0.5)
        events.append((done, {"type": "ticket.resolved"}))
    if rng.random() < 0.3:  # some customers answer the satisfaction survey
        score = rng.choices((1, 2, 3, 4, 5), (0.05, 0.08, 0.17, 0.35, 0.35))[0]
        events.append((done + resolution * rng.uniform(0.05, 0.3), {"type": "ticket.rated", "score": score}))
    return events


async def simulate(
    settings: Settings,
    *,
    rate: float,
    duration: float | None,
    speed: float = 1.0,
    seed: int | None = None,
    keyed: bool = True,
    probe_interval: float = 5.0,
    outage_gap: float = 120.0,
    clock: Callable[[], float] = time.time,
) -> int:
    """Produce events until ``duration`` seconds passed (or forever); return how many."""
    policy = load_policy(settings.policy)
    rng = random.Random(seed)
    producer = AIOKafkaProducer(**client_kwargs(settings), acks="all", linger_ms=5)
    await producer.start()
    pending: Plan = []
    seq = itertools.count()
    ids = itertools.count(1)
    run_id = f"{int(clock()):x}"
    began = clock()
    next_arrival = began
    weather = {name: ServiceWeather(began + rng.expovariate(1 / outage_gap)) for name in policy.services}
    next_probe = began if probe_interval > 0 and weather else float("inf")
    sent = 0
    try:
        while True:
            now = clock()
            if duration is not None and now - began >= duration and not pending:
                break
            while (duration is None or next_arrival - began < duration) and next_arrival <= now:
                ticket = f"SIM-{run_id}-{next(ids)}"
                for at, body in plan_ticket(rng, policy, ticket, next_arrival, speed):
                    heapq.heappush(pending, (at, next(seq), {**body, "ticket_id": ticket}))
                next_arrival += rng.expovariate(rate)
            while next_probe <= now and (duration is None or next_probe - began < duration):
                stamp = datetime.fromtimestamp(next_probe, UTC).isoformat()
                for service, state in weather.items():
                    for location, ok in zip(LOCATIONS, state.probe(rng, next_probe, outage_gap), strict=True):
                        body = {"type": "probe.result", "event_id": f"probe-{run_id}-{next(seq)}", "service_id": service,
                                "probe_id": location, "occurred_at": stamp, "ok": ok,
                                "latency_ms": round(rng.uniform(20, 80), 1) if ok else None}
                        await producer.send(settings.topic_probes, json.dumps(body).encode(),
                                            key=service.encode() if keyed else None)
                        sent += 1
                next_probe += probe_interval
            if duration is not None and next_probe - began >= duration:
                next_probe = float("inf")
            while pending and pending[0][0] <= now:
                at, _, body = heapq.heappop(pending)
                body["event_id"] = f"{body['ticket_id']}-{next(seq)}"
                body["occurred_at"] = datetime.fromtimestamp(at, UTC).isoformat()
                key = body["ticket_id"].encode() if keyed else None
                await producer.send(settings.topic_events, json.dumps(body).encode(), key=key)
                sent += 1
                if sent % 100 == 0:
                    print(f"simulate: {sent} events sent", file=sys.stderr)
            if duration is not None and now - began >= duration + 3600:
                break  # never wait more than an hour for planned lifecycles
            wake = min([next_arrival, next_probe] + ([pending[0][0]] if pending else []))
            await asyncio.sleep(min(max(wake - clock(), 0.0), 0.5))
    finally:
        await producer.flush()
        await producer.stop()
    return sent
