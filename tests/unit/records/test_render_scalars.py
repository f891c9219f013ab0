"""memkb.records.render decides and writes the scalars of printable ASCII itself, without
PyYAML: the same resolvers (held equal to PyYAML's), the same analysis and the same
quoting as PyYAML's emitter, proven against PyYAML on Hypothesis' texts and numbers and
on whole records (the bundled KB and a synthetic one rendered by PyYAML alone)."""

from __future__ import annotations

import math
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from conftest import BUNDLED_KB, PROJECT
from memkb.records import render, resolvers
from memkb.records.load import load_bytes
from memkb.records.readers import KbLoader

if str(PROJECT) not in sys.path:  # tooling/bench is not an installed package
    sys.path.insert(0, str(PROJECT))

from tooling.bench import synth


def _clear_caches() -> None:
    for cached in (render._plain, render._quoted):
        cached.cache_clear()


@pytest.fixture
def pyyaml_only(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Every string scalar decided and quoted by PyYAML, as render did before."""
    _clear_caches()
    monkeypatch.setattr(render, "_printable_ascii", lambda _text: False)
    yield
    _clear_caches()


def _pyyaml_quoted(text: str) -> str:
    out = render._dumped(text)
    return render._dumped(text, style='"') if "\n" in out else out


@pytest.mark.parametrize("owner", [yaml.SafeDumper, KbLoader], ids=["dumper", "loader"])
def test_the_resolver_table_is_pyyamls_without_timestamps(owner: Any) -> None:
    ours: dict[str, list[tuple[str, str, int]]] = {}
    for tag, firsts, pattern, flags in resolvers.IMPLICIT_RESOLVERS:
        for first in firsts:
            ours.setdefault(first, []).append((tag, pattern, flags))
    theirs = {
        first: [(tag, rx.pattern, rx.flags) for tag, rx in found if "timestamp" not in tag]
        for first, found in owner.yaml_implicit_resolvers.items()
        if first  # '' (the empty scalar, null) is never written plain
    }
    assert ours == {first: found for first, found in theirs.items() if found}
    assert {"", *ours} == resolvers.FIRST_CHARACTERS


# Printable ASCII weighted towards what YAML's analysis and resolvers look at.
_PIECES = [
    *"-?:,[]{}#&*!|>'\"%@`~=<. +_/0123456789eExXbB",
    "---", "...", ": ", " #", "0x", "0b", "0o", ".inf", ".nan", "1_000", "1:20", "<<",
    "yes", "No", "TRUE", "off", "null", "Null", "~", "2026-12-01", "1e5", "-.5",
]  # fmt: skip
ASCII_TEXT = st.lists(
    st.one_of(
        st.sampled_from(_PIECES), st.text(st.characters(min_codepoint=32, max_codepoint=126))
    ),
    max_size=6,
).map("".join)


@settings(max_examples=1000, deadline=None)
@given(ASCII_TEXT | st.text(max_size=8))
def test_reads_as_text_as_the_loader_resolves(text: str) -> None:
    tag = KbLoader.resolve(KbLoader, yaml.ScalarNode, text, (True, False))
    assert resolvers.reads_as_text(text) == (tag == "tag:yaml.org,2002:str")


@settings(max_examples=2000, deadline=None)
@given(ASCII_TEXT, st.booleans())
def test_plain_or_quoted_as_pyyaml_decides(text: str, flow: bool) -> None:
    assert render._plain(text, flow=flow) == render._pyyaml_plain(text, flow=flow)
    if not render._pyyaml_plain(text, flow=False):  # what render quotes (_node)
        assert render._quoted(text) == _pyyaml_quoted(text)


def test_the_ascii_path_is_taken_for_ordinary_values() -> None:
    # The proof above compares the two paths; this says the fast one is the one used.
    assert all(render._printable_ascii(t) for t in ("2026-12-01-shop", "Shop 2", "it's"))
    assert not render._printable_ascii("café") and not render._printable_ascii("a\tb")


NUMBERS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([0.0, -0.0, 1e16, 1e17, 1e-5, 123456789.0, 0.1, 2.5e-300]),
)


@settings(max_examples=1000, deadline=None)
@given(NUMBERS)
def test_numbers_as_pyyaml_writes_them(value: Any) -> None:
    assert render._number(type(value).__name__, value) == render._dumped(value)


def test_a_nan_is_written_as_yaml_nan() -> None:
    assert render._number("float", math.nan) == ".nan"


def _records(root: Path) -> list[tuple[str, dict[str, Any]]]:
    """The records under `root`/kb/, with their paths relative to `root`."""
    found = []
    for path in sorted((root / "kb").rglob("*.yaml")):
        rel = path.relative_to(root).as_posix()
        doc = load_bytes(path.read_bytes(), rel).doc
        if isinstance(doc, dict) and isinstance(doc.get("kind"), str):
            found.append((rel, doc))
    return found


def _rendered(records: list[tuple[str, dict[str, Any]]]) -> list[str]:
    return [render.render_record(doc["kind"], doc, rel) for rel, doc in records]


def test_every_record_renders_as_pyyaml_renders_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with monkeypatch.context() as patch:
        _clear_caches()
        patch.setattr(render, "_printable_ascii", lambda _text: False)
        synth.generate_kb(tmp_path / "kb-synth", 400, broken_fraction=0.1, seed=7)
        records = _records(tmp_path / "kb-synth") + _records(BUNDLED_KB.parent)
        by_pyyaml = _rendered(records)
    _clear_caches()
    assert len(records) > 300  # the synthetic KB's records read back, and the bundled ones
    assert _rendered(records) == by_pyyaml
