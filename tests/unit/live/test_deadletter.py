"""Dead letters are bounded in size whatever the input, and say what they left out."""

from __future__ import annotations

import base64
import hashlib
import json

import pytest

from monitor.core.records import SlaDeadLetter
from monitor.live.deadletter import MAX_DEAD_LETTER_BYTES, MAX_ORIGINAL_BYTES, dead_letter

AT_US = 1_764_493_200_000_000  # 2025-11-30T09:00:00Z, a fixed instant


def _letter(raw: bytes, **fields: str) -> dict[str, object]:
    return dead_letter(raw, fields.pop("reason", "not valid JSON"), kind="malformed", topic="t" * 249,
                       partition=3, offset=7, at_us=AT_US, **fields)


@pytest.mark.parametrize(
    ("size", "truncated"),
    [
        (0, False),  # empty message
        (MAX_ORIGINAL_BYTES, False),  # exactly the bound: kept whole
        (MAX_ORIGINAL_BYTES + 1, True),  # one byte over: cut
        (900_000, True),  # the 900 KB input
    ],
)
def test_original_is_whole_up_to_the_bound_else_cut_with_size_and_hash(size: int, truncated: bool) -> None:
    """Up to 256 KiB the original is kept whole; beyond, its first 256 KiB, with the whole size and SHA-256."""
    raw = bytes(range(256)) * (size // 256) + b"x" * (size % 256)
    letter = _letter(raw)
    kept = base64.b64decode(str(letter["original_b64"]))
    assert kept == raw[:MAX_ORIGINAL_BYTES]
    assert letter["original_truncated"] is truncated
    assert letter["original_size"] == size
    assert letter["original_sha256"] == hashlib.sha256(raw).hexdigest()
    SlaDeadLetter.model_validate(letter)


def test_worst_case_dead_letter_stays_below_its_documented_bound() -> None:
    """Huge reason and ids full of characters JSON escapes still give a dead letter below MAX_DEAD_LETTER_BYTES."""
    nasty = "\x00" * 900_000
    letter = dead_letter(b"\xff" * 900_000, nasty, kind="internal", topic="t" * 249, partition=2**31 - 1,
                         offset=2**63 - 1, at_us=AT_US, event_id=nasty, ticket_id=nasty, service_id=nasty,
                         replaces=nasty)
    size = len(json.dumps(letter, ensure_ascii=False).encode())
    assert size < MAX_DEAD_LETTER_BYTES < 1_000_000
    SlaDeadLetter.model_validate(letter)


def test_a_refused_record_gets_its_own_id_after_the_source() -> None:
    """A dead letter replacing an unpublishable record is id'd source:partition:offset:record-id."""
    letter = dead_letter(b"{}", "refused", kind="internal", topic="in", partition=0, offset=5, at_us=AT_US,
                         replaces="T-1:response:breach")
    assert letter["id"] == "in:0:5:T-1:response:breach"
    assert _letter(b"{}")["id"] == f"{'t' * 249}:3:7"
