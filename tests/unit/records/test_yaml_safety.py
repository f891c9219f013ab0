"""KB1xx: every unsafe or unreadable YAML input yields one clear finding, never a traceback."""

from __future__ import annotations

import subprocess
import sys
import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from conftest import PROJECT
from memkb.records.load import MAX_EXPANDED_NODES, MAX_FILE_BYTES, load_bytes, locate

GOOD = b"kind: pattern\nid: x\ndomains: [a, b]\n"


def codes(raw: bytes) -> list[tuple[str, int, int]]:
    return [(f.code, f.line, f.col) for f in load_bytes(raw, "f.yaml").findings]


def test_plain_mapping_loads_with_dates_kept_as_strings() -> None:
    loaded = load_bytes(b"date: 2025-01-20\nn: 3\n", "f.yaml")
    assert loaded.findings == []
    assert loaded.doc == {"date": "2025-01-20", "n": 3}


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (b"a: [1,\n", [("KB101", 2, 1)]),
        (b"a: 1\nb: 2\na: 3\n", [("KB102", 3, 1)]),
        (b"a:\n  x: 1\n  x: 2\nb: 1\nb: 2\n", [("KB102", 3, 3), ("KB102", 5, 1)]),
        (b"a: !!python/object/apply:os.system ['true']\n", [("KB103", 1, 4)]),
        (b"a: !custom 1\n", [("KB103", 1, 4)]),
        (b"a: ok\nb: \xff\xfe\n", [("KB106", 2, 4)]),
        (b"a:\n\tb: 1\n", [("KB107", 2, 1)]),
        (b"", [("KB108", 1, 1)]),
        (b"   \n# only a comment\n", [("KB108", 1, 1)]),
        (b"- a\n- b\n", [("KB109", 1, 1)]),
        (b"just a string\n", [("KB109", 1, 1)]),
        (b"~\n", [("KB109", 1, 1)]),
        (b"null\n", [("KB109", 1, 1)]),
    ],
)
def test_bad_yaml_is_reported_with_code_and_place(
    raw: bytes, expected: list[tuple[str, int, int]]
) -> None:
    assert codes(raw) == expected


def test_billion_laughs_fails_fast() -> None:
    lines = ["a: &a [x, x, x, x, x, x, x, x, x, x]"]
    for i in range(1, 10):
        prev, name = chr(ord("a") + i - 1), chr(ord("a") + i)
        lines.append(f"{name}: &{name} [{', '.join(['*' + prev] * 10)}]")
    started = time.perf_counter()
    result = codes("\n".join(lines).encode() + b"\n")
    assert result == [("KB104", 5, 4)]  # the first list whose expansion passes the limit
    assert time.perf_counter() - started < 1.0  # 10**10 nodes if expanded


def test_small_alias_use_is_allowed() -> None:
    loaded = load_bytes(b"a: &x [1, 2]\nb: *x\n", "f.yaml")
    assert loaded.findings == [] and loaded.doc == {"a": [1, 2], "b": [1, 2]}
    assert MAX_EXPANDED_NODES > 10


def test_oversized_file_is_refused_before_parsing() -> None:
    raw = b"a: " + b"x" * MAX_FILE_BYTES + b"\n"
    assert codes(raw) == [("KB105", 1, 1)]


def test_byte_order_mark_is_accepted() -> None:
    assert load_bytes(b"\xef\xbb\xbf" + GOOD, "f.yaml").findings == []


def test_locate_points_at_value_or_key() -> None:
    text = "a: 1\nb:\n  c: [x, y]\n"
    assert locate(text, ["b", "c", 1]) == (3, 10)
    assert locate(text, ["b", "c"], key=True) == (3, 3)
    assert locate(text, ["b", "missing"]) == (3, 3)


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=300))
def test_arbitrary_bytes_never_raise(raw: bytes) -> None:
    loaded = load_bytes(raw, "f.yaml")
    assert loaded.doc is None or isinstance(loaded.doc, dict)
    assert loaded.doc is not None or loaded.findings


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet=st.sampled_from("ab:-[]{}&*!#'\"\n\t x1"), max_size=120))
def test_arbitrary_yaml_like_text_never_raises(text: str) -> None:
    loaded = load_bytes(text.encode(), "f.yaml")
    assert all(f.line >= 1 and f.col >= 1 for f in loaded.findings)


def test_recursive_alias_is_reported_not_a_crash() -> None:
    assert codes(b"a: &x [1, *x]\n") == [("KB111", 1, 4)]


def test_deep_nesting_is_reported_not_a_crash() -> None:
    deep_alias = b"a: &x " + b"[" * 150 + b"]" * 150 + b"\nb: *x\n"
    assert [c for c, _, _ in codes(deep_alias)] == ["KB111"]
    deep_mapping = b"notes: " + b"{a: " * 900 + b"1" + b"}" * 900 + b"\n"
    assert [c for c, _, _ in codes(deep_mapping)] == ["KB111"]


def test_hypothesis_draws_fresh_examples_on_ci_too() -> None:
    """With CI set (as GitHub sets it), the suite's settings must not be derandomized:
    Hypothesis's own "ci" profile is, which hid a crash found one run in ten."""
    probe = (
        "import os, sys; os.environ['CI'] = 'true'; sys.path.insert(0, 'tests');"
        "import conftest; from hypothesis import settings;"
        "print(settings._current_profile, settings().derandomize)"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe],
        cwd=PROJECT,
        capture_output=True,
        text=True,
        check=True,
    )
    assert done.stdout.split() == ["ci", "False"]
