"""A worker stopped while a batch cannot be published loses none of the batch.

On a broker of the test's own that does not create topics by itself, the
dead-letter topic is deleted while the worker runs: its publishes then wait for
the topic to come back (a transient failure, retried), while the broker
otherwise works, so offsets could still be committed. A batch holding a
malformed message and a ticket's opening waits on its publish; the worker is
stopped (SIGTERM) meanwhile. After the topic is back, a restarted worker must
publish the dead letter and watch the ticket: the stop must not have committed
the offsets of a batch whose states were never recorded. (A refusal for good,
such as a message over max.message.bytes, is handled per record instead: see
test_unpublishable.)
"""

from __future__ import annotations

import time
from pathlib import Path

from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from tests.integration.conftest import (
    Names,
    Producer,
    Worker,
    create_topics,
    new_worker,
    own_broker,
    partition_counts,
    read_outputs,
    run,
    ticket,
)


async def _drop_topic(bootstrap: str, topic: str) -> None:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        await admin.delete_topics([topic])
    finally:
        await admin.close()


async def _add_topic(bootstrap: str, topic: str) -> None:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        await admin.create_topics([NewTopic(topic, 1, 1)])
    finally:
        await admin.close()


def test_stop_while_a_batch_cannot_be_published_loses_none_of_it(
    tmp_path: Path, names: Names, workers: list[Worker],
) -> None:
    """A batch waiting on a publish that keeps failing is neither committed at a stop nor lost after a restart."""
    with own_broker(tmp_path / "kafka", "auto.create.topics.enable=false") as (bootstrap, _):
        run(create_topics(names, 1, bootstrap))
        env = {"SLA_KAFKA_BOOTSTRAP": bootstrap, "SLA_SHUTDOWN_TIMEOUT_S": "5"}
        first = new_worker(workers, tmp_path, names, "a", instance_id="sla-a", env=env)
        first.wait_ready(120)
        run(_drop_topic(bootstrap, names.dead_letter))
        while names.dead_letter in run(partition_counts([names.dead_letter], bootstrap)):
            time.sleep(0.2)

        t0 = time.time()
        producer = Producer(names, bootstrap)
        run(producer.send_all([(0.0, b"{not json"), (0.0, ticket("opened", "S1", t0, priority="P1"))], t0, keyed=False))
        time.sleep(4)  # the batch waits on the dead letter's acknowledgement
        assert names.dead_letter not in run(partition_counts([names.dead_letter], bootstrap)), "the topic came back"
        assert first.process is not None
        first.process.terminate()  # Faust waits for the batch; the stop guard ends the wait (SLA_SHUTDOWN_TIMEOUT_S)
        assert first.process.wait(60) == 1, first.log_tail()

        run(_add_topic(bootstrap, names.dead_letter))
        # Same instance id and web address: a static member comes back where it was.
        second = Worker(names, first.data_dir, first.policy, instance_id="sla-a", port=first.port,
                        log_path=tmp_path / "worker-a2.log", env=env)
        workers.append(second)
        second.start()
        second.wait_ready(120)
        time.sleep(max(0.0, t0 + 11.5 - time.time()))  # S1's P1 response (10 s) is breached by now
        outputs = run(read_outputs(names, bootstrap=bootstrap))
        dead = [o.record for o in outputs if o.topic == names.dead_letter]
        breaches = [o.record for o in outputs if o.topic == names.breaches]
        assert [d["reason"] for d in dead if d.get("kind") == "malformed"], f"the malformed message was lost: {dead}"
        assert "S1:response:breach" in [b["id"] for b in breaches], (
            f"the ticket opened in the stopped batch was lost; breaches: {breaches}\n{second.log_tail()}")
