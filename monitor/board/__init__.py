"""``sla-monitor board``: the on-call page, a stateless reader of the compacted ``sla.clocks`` topic.

A shell beside ``monitor.live`` (it imports only ``monitor.core`` and its own
modules): ``settings`` (environment), ``board`` (the open clocks in memory,
ordered by urgency, pure), ``feed`` (the Kafka consumer), ``web`` (aiohttp
pages, API, server-sent events) and ``run`` (the process).
"""
