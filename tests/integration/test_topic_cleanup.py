"""The suite deletes its topics at the end, so a broker that ran it starts quickly for the demo."""

from __future__ import annotations

import re

from aiokafka.admin import AIOKafkaAdminClient

from tests.integration.conftest import BOOTSTRAP, TEST_TOPIC, Names, create_topics, delete_test_topics, run


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
