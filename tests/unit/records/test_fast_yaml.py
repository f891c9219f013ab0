"""The fast YAML reader (yaml-rs behind a pre-filter) yields exactly what the reference
reader (libyaml, YAML 1.1, our safety checks) yields: the same document and the same
findings, on the whole broken synthetic corpus and on Hypothesis-generated texts."""

from __future__ import annotations

import subprocess
import sys

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from conftest import PROJECT
from memkb.records.load import _parse, fast_document, load_bytes

if str(PROJECT) not in sys.path:  # tooling/bench is not an installed package
    sys.path.insert(0, str(PROJECT))

from tooling.bench.synth import generate_kb


def same(fast: object, reference: object) -> bool:
    """Equal and of the same types: repr tells 1 from 1.0 and True (== does not), and nan
    from nan (== says they differ)."""
    return repr(fast) == repr(reference)


def both(text: str) -> tuple[object, object]:
    fast, reference = (
        load_bytes(text.encode(), "f.yaml"),
        load_bytes(text.encode(), "f.yaml", fast=False),
    )
    return (fast.doc, fast.findings), (reference.doc, reference.findings)


def test_same_documents_and_findings_on_the_broken_synthetic_corpus(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    kb = generate_kb(tmp_path_factory.mktemp("yaml") / "kb", 2000, broken_fraction=0.3, seed=3)
    files = sorted((kb.root / "kb").rglob("*.yaml"))
    fast_read = 0
    for path in files:
        raw = path.read_bytes()
        fast, reference = load_bytes(raw, path.name), load_bytes(raw, path.name, fast=False)
        assert same((fast.doc, fast.findings), (reference.doc, reference.findings)), path
        taken = fast_document(raw) is not None
        # the fast reader really is the one reading: only a file with a load finding (a
        # syntax error, a duplicate key, in this corpus) goes to the reference reader
        assert taken or reference.findings, path
        fast_read += taken
    assert fast_read >= 0.85 * len(files)


# Scalars YAML 1.1 and 1.2 read differently, and the constructs our rules refuse.
TRICKY = [
    "yes", "No", "ON", "off", "y", "n", "=", "017", "0o17", "0b101", "0x1F", "1_000", "1e3",
    "1.5e3", "1.0e+3", ".5", "+1", "-0", "12:30", "1:20.5", "2024-01-01", "2024-01-01 10:00:00",
    "2024-01-05-checkout-17", ".inf", "-.Inf", ".NaN", "~", "null", "true", "True", "FALSE",
    "9007199254740993", "99999999999999999999", "!custom x", "!!python/object:os.system x",
    "!!str 1", "&a 1", "*a", "<<", '"a\\/b"', "'it''s'", '"\\x41"', "|\n  block\n", ">\n  folded\n",
    "[1, yes]", "{a: 1}", "a\tb", "x\u0085y", "x\u2028y", "\ufeffx", "3days", "v1.2.3",
]  # fmt: skip
KEYS = st.sampled_from(["kind", "id", "a", "b", "on", "017", "yes", "a b"])
VALUES = st.one_of(
    st.sampled_from(TRICKY), st.text(alphabet="ab:-[]{}&*!#'\"\n x1.0e_", max_size=12)
)


@settings(max_examples=600, deadline=None)
@given(st.lists(st.tuples(KEYS, VALUES), min_size=1, max_size=5), st.booleans())
def test_same_result_on_generated_mappings(pairs: list[tuple[str, str]], listed: bool) -> None:
    lines = [f"{key}: {value}" if not listed else f"{key}:\n  - {value}" for key, value in pairs]
    fast, reference = both("\n".join(lines) + "\n")
    assert same(fast, reference)


@settings(max_examples=400, deadline=None)
@given(st.text(alphabet=st.sampled_from("ab:-[]{}&*!#'\"\n\t x1e0._,?|>%@`\\yesno"), max_size=60))
def test_same_result_on_arbitrary_yaml_like_text(text: str) -> None:
    fast, reference = both(text)
    assert same(fast, reference)


@pytest.mark.parametrize(
    "text",
    [
        "a: yes\n", "a: on\n", "a: 017\n", "a: 1_000\n", "a: 1e3\n", "a: 12:30\n", "a: =\n",
        "a: !custom x\n", "a: &x 1\nb: *x\n", "a: {<<: {b: 1}}\n", "a: 1\n---\nb: 2\n",
        'a: "\\/"\n', "? [a]\n: 1\n", "a: 1\r\n", "a: x\u0085y\n", "a: x\u2028y\n", "a: x\u2029y\n",
        "a: 1:20\n", "yes: 1\n", "1: one\n", "a: .inf\n", "a: 1\na: 2\n", "a: 1",
        "a: |\n", "a: >\n", "a: [b:]\n", "a: [:0]\n", "a: {b:}\n",
    ],
)  # fmt: skip
def test_constructs_that_differ_go_to_the_reference_reader(text: str) -> None:
    assert fast_document(text) is None
    fast, reference = both(text)
    assert same(fast, reference)


def test_plain_records_take_the_fast_reader() -> None:
    text = "kind: outcome\nid: 2024-01-05-checkout-17\ndate: 2024-01-05\nquality: 0.85\ndays: 12\n"
    assert fast_document(text) is not None
    assert both(text)[0] == (
        {
            "kind": "outcome",
            "id": "2024-01-05-checkout-17",
            "date": "2024-01-05",
            "quality": 0.85,
            "days": 12,
        },
        [],
    )


@pytest.mark.parametrize(
    ("text", "expected"),
    [("a: |\n", {"a": ""}), ("a: >\n", {"a": ""}), ("a: [b:]\n", None), ("a: {b:}\n", None)],
)
def test_block_scalars_and_flow_colons_read_as_the_reference_reader_reads_them(
    text: str, expected: object
) -> None:
    """yaml-rs reads an empty last block scalar as "\\n" (libyaml: "") and accepts
    `[b:]`, which libyaml refuses (KB101): the pre-filter this module once had of its own
    let both through; the one it shares with the history's facts declines them."""
    fast, reference = both(text)
    assert same(fast, reference)
    assert fast[0] == expected
    assert [f.code for f in fast[1]] == ([] if expected is not None else ["KB101"])


def test_records_read_in_thread_after_thread_do_not_crash_the_process() -> None:
    """yaml-rs 0.1.6 segfaults when it was first imported in a thread that has ended and
    another thread calls it (the MCP server's worker threads): only the main thread imports
    it; until it has, other threads read with the reference reader."""
    code = (
        "import threading\n"
        "def work():\n"
        "    from memkb.records import load\n"
        "    raw = b'kind: outcome\\ndate: 2025-01-01\\noutcome: success\\n'\n"
        "    for _ in range(500):\n"
        "        assert load.load_bytes(raw, 'kb/x.yaml').doc is not None\n"
        "for _ in range(4):\n"
        "    t = threading.Thread(target=work); t.start(); t.join()\n"
        "print('ok')\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert (done.returncode, done.stdout) == (0, "ok\n"), done.stderr


def test_threads_use_yaml_rs_once_the_main_thread_imported_it() -> None:
    code = (
        "import sys, threading\n"
        "from memkb.records import load\n"
        "assert load.fast_yaml() is not None\n"
        "raw = b'kind: outcome\\ndate: 2025-01-01\\noutcome: success\\n'\n"
        "def work():\n"
        "    assert load.fast_yaml() is sys.modules['yaml_rs']\n"
        "    for _ in range(500):\n"
        "        assert load.load_bytes(raw, 'kb/x.yaml').doc is not None\n"
        "for _ in range(4):\n"
        "    t = threading.Thread(target=work); t.start(); t.join()\n"
        "print('ok')\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert (done.returncode, done.stdout) == (0, "ok\n"), done.stderr


@pytest.mark.parametrize(
    "text",
    ["status: __1\n", "a: _1\n", "a: [-_1]\n", "_1: x\n", "a: {b: _.5}\n", "a: +_2\n"],
)
def test_a_token_starting_with_an_underscore_is_left_to_the_reference_reader(text: str) -> None:
    """yaml-rs reads `_1` as the number 1; YAML 1.1 (the reference reader) as a string.
    Found by the history's differential test (status: __1 read as '1')."""
    assert fast_document(text) is None
    reference = _parse(text, "kb/x.yaml")
    assert load_bytes(text.encode(), "kb/x.yaml").doc == reference.doc
