"""Records the broker will not take are handled one by one: never a crash, never a lost batch.

The worker reads a backlog produced before it starts, so the messages of each
test are handled in one batch.
"""

from __future__ import annotations

import base64
import hashlib
import json
import time
from pathlib import Path

from monitor.core.records import SlaDeadLetter
from monitor.live.deadletter import MAX_DEAD_LETTER_BYTES, MAX_ORIGINAL_BYTES
from tests.integration.conftest import (
    Names,
    Producer,
    Worker,
    alter_topic,
    create_topics,
    new_worker,
    read_outputs,
    run,
    ticket,
)


def test_a_900_kb_input_gets_a_bounded_dead_letter_and_its_batch_still_alerts(
    tmp_path: Path, names: Names, workers: list[Worker],
) -> None:
    """A 900 KB garbage message gets a truncated dead letter (size and hash kept); the ticket beside it alerts."""
    run(create_topics(names, 1))
    garbage = b"\x00garbage" * 112_500  # 900 000 bytes, not JSON
    t0 = time.time()
    run(Producer(names).send_all([(0.0, garbage), (0.0, ticket("opened", "B1", t0, priority="P1"))], t0))
    new_worker(workers, tmp_path, names, "a").wait_ready()
    time.sleep(max(0.0, t0 + 6.0 - time.time()))  # B1's first P1 warning falls due at 5 s
    outputs = run(read_outputs(names))
    dead = [o for o in outputs if o.topic == names.dead_letter]
    assert len(dead) == 1, [o.record.get("reason") for o in dead]
    letter = dead[0].record
    SlaDeadLetter.model_validate(letter)
    assert letter["kind"] == "malformed"
    assert letter["original_truncated"] is True
    assert letter["original_size"] == len(garbage)
    assert letter["original_sha256"] == hashlib.sha256(garbage).hexdigest()
    assert base64.b64decode(letter["original_b64"]) == garbage[:MAX_ORIGINAL_BYTES]
    assert len(json.dumps(letter, ensure_ascii=False).encode()) < MAX_DEAD_LETTER_BYTES
    assert "B1:response:warning:0.5" in [o.record["id"] for o in outputs if o.topic == names.warnings]


def test_a_dead_letter_the_topic_refuses_is_counted_and_the_batch_goes_on(
    tmp_path: Path, names: Names, workers: list[Worker],
) -> None:
    """With the dead-letter topic refusing every write, the refusal is counted and the batch's ticket still alerts."""
    run(create_topics(names, 1))
    run(alter_topic(names.dead_letter, {"max.message.bytes": "200"}))  # below any dead letter's size
    t0 = time.time()
    run(Producer(names).send_all([(0.0, b"{not json"), (0.0, ticket("opened", "U1", t0, priority="P1"))], t0))
    worker = new_worker(workers, tmp_path, names, "a")
    worker.wait_ready()
    time.sleep(max(0.0, t0 + 6.0 - time.time()))
    outputs = run(read_outputs(names))
    assert "U1:response:warning:0.5" in [o.record["id"] for o in outputs if o.topic == names.warnings], (
        worker.log_tail())
    assert not [o for o in outputs if o.topic == names.dead_letter]
    counts = worker.stats()["counts"]
    assert counts.get("unpublishable") == 1, counts
    assert counts.get("refused") == 1, counts
    status, body = worker.get("/metrics")
    assert status == 200
    assert "sla_unpublishable_records_total 1.0" in body.decode()
