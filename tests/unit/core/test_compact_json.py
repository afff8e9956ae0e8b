"""compact_json: the JSON of state rows and published records, and kept bytes that cost their size."""

from __future__ import annotations

import json
import subprocess
import sys

from hypothesis import given
from hypothesis import strategies as st

from monitor.core.codec import compact_json

values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**63), 2**63 - 1) | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(),
    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(st.text(), inner, max_size=5),
    max_leaves=20,
)


@given(values)
def test_it_reads_back_as_what_was_written(value: object) -> None:
    """Any JSON value (64-bit integers, floats, any text) reads back equal with the standard library."""
    assert json.loads(compact_json(value)) == value


def test_text_is_utf8_and_without_spaces() -> None:
    """Compact, and non-ASCII text as UTF-8, not escapes."""
    assert compact_json({"id": "Zürich-1", "n": [1, None]}) == '{"id":"Zürich-1","n":[1,null]}'.encode()


def test_kept_encodings_take_about_their_size() -> None:
    """60,000 kept rows of ~150 bytes: RSS grows by a few MiB, not by orjson's buffer of a few KiB each (which
    took ~240 MiB for as many, measured as orjson returns them)."""
    program = """
import resource
from monitor.core.codec import compact_json
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
kept = [compact_json([3, f"T-{n:07d}", "P3", "c-730", None, 1796029217270000, 1, 1, 1, "X1GvBHqHSlBc9Uu/0HScQg==",
                      ["P3", [], 1796029217270000, None, 0, [], 0, 0, [], "ae49f5324a5b466c", 0]])
        for n in range(60_000)]
print((resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) // 1024)
"""
    grown_mib = int(subprocess.run([sys.executable, "-c", program], check=True, capture_output=True, text=True).stdout)
    assert grown_mib < 40, f"{grown_mib} MiB for 60,000 rows of ~150 bytes"
