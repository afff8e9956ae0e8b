"""The suite deletes its topics at the end, so a broker that ran it starts quickly for the demo."""

from __future__ import annotations

import re
from pathlib import Path

from aiokafka.admin import AIOKafkaAdminClient

from tests.integration.conftest import (
    BOOTSTRAP,
    TEST_TOPIC,
    Names,
    SessionLock,
    create_topics,
    delete_test_topics,
    end_of_session,
    run,
    session_topics,
)


async def _topics() -> set[str]:
    admin = AIOKafkaAdminClient(bootstrap_servers=BOOTSTRAP)
    await admin.start()
    try:
        return set(await admin.list_topics())
    finally:
        await admin.close()


def test_test_topics_are_deleted_and_nothing_else() -> None:
    names = Names.fresh()
    run(create_topics(names, 1))
    mine = {names.events, names.probes, *names.outputs}
    assert all(TEST_TOPIC.match(t) for t in mine)
    assert TEST_TOPIC.match(f"{names.app_id}-tickets-changelog")
    for other in ("tickets.events", "sla.warnings", "sla.clocks", "sla-demo-tickets-changelog", "bench-1a2b3c-in",
                  "__consumer_offsets", "slatest-notatag-x"):
        assert not TEST_TOPIC.match(other), other
    assert mine <= run(_topics())
    # Only this test's topics: other runs may share the broker.
    tag = names.events.split(".")[0]
    assert run(delete_test_topics(re.compile("^" + re.escape(tag + ".")))) == len(mine)
    assert not mine & run(_topics())


def _own(names: Names) -> set[str]:
    return {names.events, names.probes, *names.outputs}


def test_a_session_ending_beside_another_leaves_the_other_ones_topics(tmp_path: Path) -> None:
    """A session ending while another runs deletes its own tests' topics only (it once deleted every test topic,
    and a test of the other session found its topics gone mid-run)."""
    mine, running = Names.fresh(), Names.fresh()
    run(create_topics(mine, 1))
    run(create_topics(running, 1))
    lock = tmp_path / "sessions.lock"  # not the suite's: sessions of other checkouts must not count here
    with SessionLock(lock) as ending, SessionLock(lock):
        deleted = run(end_of_session(ending, {mine.events.split(".")[0][1:]}))
    left = run(_topics())
    assert deleted == len(_own(mine))
    assert not _own(mine) & left
    assert _own(running) <= left
    assert run(delete_test_topics(session_topics({running.events.split(".")[0][1:]}))) == len(_own(running))
