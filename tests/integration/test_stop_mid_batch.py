"""A worker stopped while a batch cannot be published loses none of the batch.

The dead-letter topic is made unwritable (its max.message.bytes below any dead
letter's size: the broker refuses each write) while the broker otherwise works,
so offsets could still be committed. A batch holding a
malformed message and a ticket's opening then waits on its publish; the worker
is stopped (SIGTERM) meanwhile. After the topic is fixed, a restarted worker
must publish the dead letter and watch the ticket: the stop must not have
committed the offsets of a batch whose states were never recorded.
"""

from __future__ import annotations

import time
from pathlib import Path

from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType

from tests.integration.conftest import (
    BOOTSTRAP,
    Names,
    Producer,
    Worker,
    create_topics,
    new_worker,
    read_outputs,
    run,
    ticket,
)


async def _max_message_bytes(topic: str, size: int) -> None:
    admin = AIOKafkaAdminClient(bootstrap_servers=BOOTSTRAP)
    await admin.start()
    try:
        await admin.alter_configs([ConfigResource(ConfigResourceType.TOPIC, topic,
                                                  {"max.message.bytes": str(size)})])
    finally:
        await admin.close()


def test_stop_while_a_batch_cannot_be_published_loses_none_of_it(
    tmp_path: Path, names: Names, workers: list[Worker],
) -> None:
    run(create_topics(names, 1))
    run(_max_message_bytes(names.dead_letter, 64))
    first = new_worker(workers, tmp_path, names, "a", instance_id="sla-a", env={"SLA_SHUTDOWN_TIMEOUT_S": "5"})
    first.wait_ready()

    t0 = time.time()
    producer = Producer(names)
    run(producer.send_all([(0.0, b"{not json"), (0.0, ticket("opened", "S1", t0, priority="P1"))], t0, keyed=False))
    time.sleep(4)  # the batch waits on the dead letter's acknowledgement
    assert not [o for o in run(read_outputs(names, idle=1.0)) if o.topic == names.dead_letter], "the topic took a write"
    assert first.process is not None
    first.process.terminate()  # Faust waits for the batch; the stop guard ends the wait (SLA_SHUTDOWN_TIMEOUT_S)
    assert first.process.wait(60) == 1, first.log_tail()

    run(_max_message_bytes(names.dead_letter, 1048588))
    # Same instance id and web address: a static member comes back where it was.
    second = Worker(names, first.data_dir, first.policy, instance_id="sla-a", port=first.port,
                    log_path=tmp_path / "worker-a2.log")
    workers.append(second)
    second.start()
    second.wait_ready()
    time.sleep(max(0.0, t0 + 11.5 - time.time()))  # S1's P1 response (10 s) is breached by now
    outputs = run(read_outputs(names))
    dead = [o.record for o in outputs if o.topic == names.dead_letter]
    breaches = [o.record for o in outputs if o.topic == names.breaches]
    assert [d["reason"] for d in dead if d.get("kind") == "malformed"], f"the malformed message was lost: {dead}"
    assert "S1:response:breach" in [b["id"] for b in breaches], (
        f"the ticket opened in the stopped batch was lost; breaches: {breaches}\n{second.log_tail()}")
