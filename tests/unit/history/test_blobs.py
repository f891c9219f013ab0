"""The yaml-rs fast path of the history's facts (the bulk reads' one pre-filter,
memkb.records.load.fast_document) reads exactly what the reference loader
(memkb.records.load.load_bytes with fast=False: libyaml, YAML 1.1, our safety checks)
reads, or declines:
on the whole broken synthetic corpus, the bundled KB, and Hypothesis-generated texts."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from conftest import PROJECT
from memkb.history import blobs
from memkb.limits import MAX_FILE_BYTES
from memkb.records.load import load_bytes

KINDS = ("outcome", "pattern", "template", "failure")


def same(fast: object, reference: object) -> bool:
    """Equal and of the same types: repr tells 1 from 1.0 and True (== does not), and nan
    from nan (== says they differ)."""
    return repr(fast) == repr(reference)


def reference_facts(kind: str, raw: bytes, monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """facts() with every fast path off: the document comes from the reference reader."""
    with monkeypatch.context() as patch:
        reference_only(patch)
        return blobs.facts(kind, raw, "x.yaml")


def reference_only(patch: pytest.MonkeyPatch) -> None:
    """Turn off both fast paths of blobs.record_doc, and load_bytes's own (the same
    yaml-rs path as blobs._yaml_rs_doc): only libyaml's full loader reads."""
    patch.setattr(blobs, "_plain_doc", lambda _raw: None)
    patch.setattr(blobs, "load_bytes", lambda raw, path: load_bytes(raw, path, fast=False))


def check_exact(raw: bytes) -> bool:
    """Assert the fast document (if any) is the reference one; True if it was taken."""
    fast = blobs._yaml_rs_doc(raw)
    if fast is not None:
        assert same(fast, load_bytes(raw, "x.yaml", fast=False).doc), raw
    return fast is not None


def test_same_documents_and_facts_on_the_broken_synthetic_corpus_and_bundled_kb(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.syspath_prepend(str(PROJECT))  # tooling/bench is not an installed package
    from tooling.bench.synth import generate_kb

    kb = generate_kb(tmp_path / "synth", 2000, broken_fraction=0.3, seed=3)
    files = [*(kb.root / "kb").rglob("*.yaml"), *(PROJECT / "kb").rglob("*.yaml")]
    taken = 0
    for path in files:
        raw = path.read_bytes()
        taken += check_exact(raw)
        kind = path.parent.name.rstrip("s") if "outcomes" not in path.parts else "outcome"
        assert same(blobs.facts(kind, raw, "x.yaml"), reference_facts(kind, raw, monkeypatch))
    assert taken >= 0.85 * len(files)  # yaml-rs really is the reader (30% are broken)


def test_the_synthetic_records_all_take_the_fast_path(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.syspath_prepend(str(PROJECT))
    from tooling.bench.synth import generate_kb

    kb = generate_kb(tmp_path / "synth", 400, seed=5)
    files = list((kb.root / "kb").rglob("*.yaml"))
    assert all(check_exact(path.read_bytes()) for path in files)


# Scalars YAML 1.1 and 1.2 read differently, and the constructs our rules refuse.
TRICKY = [
    "yes", "No", "ON", "off", "y", "n", "=", "017", "0o17", "0b101", "0x1F", "1_000", "1e3",
    "1E3", "1.5e3", "1.0e+3", "5e-1", ".5", "+.5", "-.5", "+1", "-0", "-0.0", "0.85", "1.",
    "12:30", "1:20.5", "2024-01-01", "2024-01-01 10:00:00", "2024-01-05-checkout-17", ".inf",
    "-.Inf", ".NaN", "-.nan", "~", "null", "Null", "NULL", "true", "True", "TRUE", "tRUE",
    "FALSE", "9007199254740991", "9007199254740993", "99999999999999999999", "1_0.5", "_1",
    "!custom x", "!!python/object:os.system x", "!!str 1", "&a 1", "*a", "<<", '"a\\/b"',
    "'it''s'", '"\\x41"', '"010"', "'yes'", "''", "|\n  block\n", ">\n  folded\n", "[1, yes]",
    "{a: 1}", "{a:010}", "a\tb", "x\u0085y", "x\u2028y", "\ufeffx", "caf\u00e9", "3days",
    "v1.2.3", "0.5.1", "__1", "-_1", "_.5", "1__0", "1.5_", "1_e3", "1.e3", "0.", "00",
    "+-1", "1e", "e3", ".e3", "+.", ".", "inf", "nan", "+.nan", "0xG", "1,000", "51e_5",
    "5E-_2", "[:0]", "[b:]", "{b:}", "[b:, c]", "[?b]", "|+", ">\n  ", "|2", "@x", "`x",
    "%x", "? x", "- x", "#x", "a #b", "a: b",
]  # fmt: skip
KEYS = st.sampled_from(["kind", "id", "a", "b", "on", "017", "yes", "a b", "1", "~", "<<"])
NUMBERISH = st.text(alphabet="0123456789._+-eExXoObBinfaINF:", min_size=1, max_size=8)
VALUES = st.one_of(
    st.sampled_from(TRICKY),
    NUMBERISH,
    st.text(alphabet="ab:-[]{}&*!#'\"\n x01.9eE_+", max_size=12),
)


@settings(max_examples=800, deadline=None)
@given(st.lists(st.tuples(KEYS, VALUES), min_size=1, max_size=6), st.booleans())
def test_same_document_on_generated_mappings(pairs: list[tuple[str, str]], listed: bool) -> None:
    lines = [f"{key}: {value}" if not listed else f"{key}:\n  - {value}" for key, value in pairs]
    check_exact(("\n".join(lines) + "\n").encode())


@settings(max_examples=600, deadline=None)
@given(st.lists(NUMBERISH, min_size=1, max_size=4), st.booleans())
def test_same_document_on_number_like_tokens(tokens: list[str], flow: bool) -> None:
    """yaml-rs's number grammar is laxer than YAML 1.2's (it drops underscores anywhere):
    every token it reads as a number must read as the same number in YAML 1.1."""
    body = (
        "a: [" + ", ".join(tokens) + "]\n"
        if flow
        else "".join(f"k{i}: {t}\n" for i, t in enumerate(tokens))
    )
    check_exact(body.encode())


@settings(max_examples=600, deadline=None)
@given(st.text(alphabet=st.sampled_from("ab:-[]{}&*!#'\"\n\t x01e.9_,?|>%@`\\yesno+"), max_size=60))
def test_same_document_on_arbitrary_yaml_like_text(text: str) -> None:
    check_exact(text.encode())


@settings(max_examples=300, deadline=None)
@given(
    st.sampled_from(KINDS),
    st.sampled_from(["outcome", "status", "date", "quality_score", "error_count", "template"]),
    st.sampled_from(TRICKY),
)
def test_same_facts_when_a_figure_field_holds_a_tricky_scalar(
    kind: str, field: str, value: str
) -> None:
    text = (
        f"kind: {kind}\ndate: 2025-01-01\noutcome: success\n{field}: {value}\n"
        "prior: {success_rate: 0.5, success_probability: 0.5, weight: 2}\n"
        "patterns_applied: [p_a]\ndroids_used: [a-b]\ntimeline: {planned_days: 3}\n"
    ).replace(f"\n{field}: ", "\n", 1 if field in ("outcome", "date") else 0)
    raw = text.encode()
    fast = blobs.facts(kind, raw, "x.yaml")
    with pytest.MonkeyPatch.context() as patch:
        reference_only(patch)
        assert same(fast, blobs.facts(kind, raw, "x.yaml"))


@pytest.mark.parametrize(
    "text",
    [
        "a: yes\n", "a: on\n", "a: 017\n", "a: 0o17\n", "a: 0x1F\n", "a: 1_000\n", "a: 1e3\n",
        "a: +.5\n", "a: 12:30\n", "a: =\n", "a: .inf\n", "a: 99999999999999999999\n",
        "a: !custom x\n", "a: !!str 1\n", "a: &x 1\nb: *x\n", "a: {<<: {b: 1}}\n",
        "a: 1\n---\nb: 2\n", "%YAML 1.1\n---\na: 1\n", 'a: "\\/"\n', "? [a]\n: 1\n",
        "a: 1\r\n", "a:\tb\n", "a: x\u0085y\n", "a: 1\na: 2\n", "1: one\n", "a: ''\n",
        "- a\n- b\n", "a\n", "# only a comment\n", "", "a: [1, 2\n", "yes: 1\n",
    ],
)  # fmt: skip
def test_constructs_that_differ_or_fail_go_to_the_reference_reader(text: str) -> None:
    assert blobs._yaml_rs_doc(text.encode()) is None


def test_non_utf8_and_oversize_go_to_the_reference_reader() -> None:
    assert blobs._yaml_rs_doc(b"a: caf\xe9\n") is None
    big = b"a: " + b"x" * MAX_FILE_BYTES + b"\n"
    assert blobs._yaml_rs_doc(big) is None


def test_a_plain_record_is_read_by_yaml_rs_as_libyaml_reads_it() -> None:
    raw = (
        b"# yaml-language-server: $schema=../../schemas/outcome.schema.json\n"
        b"kind: outcome\nid: 2024-01-05-checkout-17\ndate: 2024-01-05\noutcome: partial\n"
        b"quality_score: 0.85\nerror_count: 0\nuser_satisfaction: .5\nnotes: caf\xc3\xa9 -0 1.\n"
        b"patterns_applied: [p_a, p_b]\ntimeline:\n  planned_days: 12\n  actual_days: -3\n"
    )
    doc = blobs._yaml_rs_doc(raw)
    assert doc is not None and same(doc, load_bytes(raw, "x.yaml", fast=False).doc)
    assert doc["id"] == "2024-01-05-checkout-17" and doc["timeline"] == {
        "planned_days": 12,
        "actual_days": -3,
    }


def test_records_parsed_in_thread_after_thread_do_not_crash_the_process() -> None:
    """yaml-rs 0.1.6 segfaults when it was first imported in a thread that has ended and
    another thread calls it; the main thread imports it (memkb.records.load.fast_yaml, as
    the ReadAhead does before its thread starts)."""
    code = (
        "import threading\n"
        "from memkb.history import blobs\n"
        "from memkb.records.load import fast_yaml\n"
        "fast_yaml()\n"
        "raw = b'kind: outcome\\ndate: 2025-01-01\\noutcome: success\\n'\n"
        "def work():\n"
        "    for _ in range(500):\n"
        "        assert blobs._yaml_rs_doc(raw) is not None\n"
        "for _ in range(4):\n"
        "    t = threading.Thread(target=work); t.start(); t.join()\n"
        "print('ok')\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert (done.returncode, done.stdout) == (0, "ok\n"), done.stderr


@pytest.mark.parametrize("met", [5, "a string", {"failure": "x"}, None])
def test_an_outcome_whose_failures_met_is_not_a_list_meets_none(met: object) -> None:
    """Unvalidated history may hold anything: `failures_met: 5` read as no failure met
    (it crashed the figures with a TypeError), the rest of the outcome kept."""
    doc = {"outcome": "success", "date": "2025-01-01", "failures_met": met, "quality_score": 8}
    got = blobs.facts_of("outcome", doc)
    assert got["failures_met"] == [] and got["outcome"] == "success" and got["quality"] == 8
    listed = {**doc, "failures_met": [{"failure": "x", "recovered": True}, 3]}
    assert blobs.facts_of("outcome", listed)["failures_met"] == [["x", True, []]]
