"""Bounded, persistent per-ticket history: closed spans and recent event ids.

Ticket states are immutable values (a decision returns a new one; the old one
stays valid, replay may apply an event to it again), yet an event must not cost
a copy of the ticket's whole history. ``Spans`` shares one append-only list
between the states that extend each other; ``RecentIds`` keeps the last ids in
fixed-size chunks, so adding one copies a chunk, never the window.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass
from itertools import islice

from monitor.core.limits import DEDUP_WINDOW

Span = tuple[int, int]


class Spans:
    """A persistent sequence of closed spans ``(start_us, end_us)``, O(1) to extend.

    A ``Spans`` is a prefix of a shared list; ``appended`` writes into the list when
    the prefix is all of it and copies the prefix otherwise (a branch, rare). Items
    inside a prefix are never written again, so every value stays what it was.
    """

    __slots__ = ("_items", "_n")

    def __init__(self, items: list[Span] | None = None, n: int | None = None) -> None:
        self._items: list[Span] = [] if items is None else items
        self._n = len(self._items) if n is None else n

    def appended(self, span: Span) -> Spans:
        """These spans and one more at the end."""
        items = self._items
        if len(items) != self._n:
            items = items[: self._n]
        items.append(span)
        return Spans(items, self._n + 1)

    def head(self, count: int) -> Spans:
        """The first ``count`` spans."""
        return Spans(self._items, max(0, min(count, self._n)))

    def since(self, index: int) -> Iterator[Span]:
        """The spans from ``index`` on, in order."""
        return islice(self._items, index, self._n)

    def __len__(self) -> int:
        return self._n

    def __iter__(self) -> Iterator[Span]:
        return islice(self._items, 0, self._n)

    def __getitem__(self, index: int) -> Span:
        if index < 0:
            index += self._n
        if not 0 <= index < self._n:
            raise IndexError("span index out of range")
        return self._items[index]

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Spans):
            return NotImplemented
        return self._n == other._n and (
            self._items is other._items or all(a == b for a, b in zip(self, other, strict=True))
        )

    def __hash__(self) -> int:
        return hash(tuple(self))

    def __repr__(self) -> str:
        return f"Spans({list(self)!r})"


def event_key(event_id: str) -> bytes:
    """The 16-byte digest by which an event id is remembered (ids may be long; digests are not)."""
    return hashlib.blake2b(event_id.encode("utf-8", "surrogatepass"), digest_size=16).digest()


_CHUNK = 50
_CHUNKS = DEDUP_WINDOW // _CHUNK


@dataclass(frozen=True, slots=True)
class RecentIds:
    """The digests of a ticket's most recent event ids: at least the last ``DEDUP_WINDOW``.

    Full chunks of ``_CHUNK`` digests (sets, oldest first) and the newest, filling
    one (in order). When the newest fills, it becomes a chunk and the oldest chunk
    beyond the window is forgotten: the window holds between DEDUP_WINDOW and
    DEDUP_WINDOW + _CHUNK - 1 ids, and adding one costs O(_CHUNK + _CHUNKS).
    """

    chunks: tuple[frozenset[bytes], ...] = ()
    newest: tuple[bytes, ...] = ()

    def __contains__(self, key: object) -> bool:
        if key in self.newest:
            return True
        for chunk in self.chunks:  # noqa: SIM110 (a loop makes no generator; most tickets have no full chunk)
            if key in chunk:
                return True
        return False

    def added(self, key: bytes) -> RecentIds:
        """The window with ``key`` as its newest id."""
        newest = (*self.newest, key)
        if len(newest) < _CHUNK:
            return RecentIds(self.chunks, newest)
        return RecentIds((*self.chunks, frozenset(newest))[-_CHUNKS:], ())

    def __len__(self) -> int:
        return len(self.chunks) * _CHUNK + len(self.newest)

    def ordered(self) -> list[bytes]:
        """Every digest, oldest chunk first (sorted inside a chunk), the newest in order."""
        out: list[bytes] = []
        for chunk in self.chunks:
            out.extend(sorted(chunk))
        out.extend(self.newest)
        return out

    @classmethod
    def of(cls, keys: list[bytes]) -> RecentIds:
        """The window after adding ``keys`` in order (what ``ordered`` wrote reads back equal)."""
        window = cls()
        for key in keys[-(DEDUP_WINDOW + _CHUNK - 1) :]:
            window = window.added(key)
        return window
