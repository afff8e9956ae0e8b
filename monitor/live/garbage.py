"""The worker's cyclic garbage collection, kept out of the way of its alerts.

Python's collector walks every object it tracks that survived fewer than two
collections, and now and then all of them. A worker keeps hundreds of thousands
of long-lived objects (decoded states in the cache, their spans and recent ids),
so with the default scheme a young collection could walk ~400,000 of them and
hold the event loop for 250-300 ms (``bench/plain_worker.py``: 26 collections,
longest 258-294 ms, at 100,000 open tickets), and every alert due meanwhile
waited; yet they found next to nothing (36 objects of cyclic garbage in 200,000
events): the worker's objects are freed by reference counting.

So after each batch (and after recovery) the objects that survived it are
frozen (``gc.freeze``, constant time): collections then walk only what the
current batch made. Cyclic garbage among frozen objects would never be found,
so a full collection runs, between two batches, whenever the interpreter's
allocated memory blocks (``sys.getallocatedblocks``, looked at every
``CHECK_EVERY`` batches: ~0.6 ms at 9 million blocks) have grown to ``GROWTH``
times what they were after the last one (or after recovery): memory held by
undetected cycles stays below what the worker's live objects take, and a
worker whose tickets do not grow never pauses for it.
"""

from __future__ import annotations

import gc
import sys
import time

import structlog

log = structlog.get_logger("sla.worker")
GROWTH = 2.0  # a full collection when the allocated blocks have doubled since the last one
FLOOR = 1_000_000  # ... and are more than twice this many (a started worker has ~600,000)
CHECK_EVERY = 16  # batches between two looks at the allocated blocks


class Collector:
    """Freezes what each batch leaves alive; collects in full once allocated memory has grown ``growth`` times."""

    def __init__(self, growth: float = GROWTH) -> None:
        self.growth = growth
        self.baseline: int | None = None  # allocated blocks after the last full collection, or after recovery
        self.batches = 0
        self.full = 0  # full collections run

    def rebase(self) -> None:
        """Freeze everything alive now and count from it (after recovery: it made what it made on purpose)."""
        gc.freeze()
        self.baseline = sys.getallocatedblocks()

    def after_batch(self) -> float | None:
        """Freeze the batch's survivors; collect in full if memory has grown enough; the seconds that took, if it ran."""
        gc.freeze()
        self.batches += 1
        if self.batches % CHECK_EVERY:
            return None
        blocks = sys.getallocatedblocks()
        if self.baseline is None:
            self.baseline = blocks
            return None
        if blocks <= max(self.baseline, FLOOR) * self.growth:
            return None
        started = time.perf_counter()
        gc.unfreeze()
        found = gc.collect()
        gc.freeze()
        took = time.perf_counter() - started
        self.baseline = sys.getallocatedblocks()
        self.full += 1
        log.info("full garbage collection", seconds=round(took, 3), blocks_before=blocks, found=found,
                 blocks_after=self.baseline)
        return took
