"""The fast schema engine (jsonschema-rs) decides exactly as the reference engine
(jsonschema with RE2) does: the same issues (code, path, message) on the synthetic corpus
with breakage and on Hypothesis-generated documents, and it steps aside for schemas whose
meaning it has not been proven to share."""

from __future__ import annotations

import copy
import json
import sys
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import PROJECT
from memkb.kb.layout import KINDS, location_of
from memkb.records.load import load_bytes
from memkb.records.schema import (
    Schemas,
    _compile_fast,
    _linear_validator_class,
    fast_refusal,
)
from memkb.validation.engine import check_file

if str(PROJECT) not in sys.path:  # tooling/bench is not an installed package
    sys.path.insert(0, str(PROJECT))

from tooling.bench.synth import generate_kb


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> dict[str, bytes]:
    """A synthetic KB of 1,500 records, 30% broken in every way synth knows."""
    kb = generate_kb(tmp_path_factory.mktemp("fast") / "kb", 1500, broken_fraction=0.3, seed=7)
    return {
        p.relative_to(kb.root).as_posix(): p.read_bytes()
        for p in sorted((kb.root / "kb").rglob("*.yaml"))
    }


def engines() -> tuple[Schemas, Schemas]:
    return Schemas(PROJECT), Schemas(PROJECT, fast=False)


def issue_rows(schemas: Schemas, kind: str, doc: dict[str, Any]) -> list[tuple[Any, ...]]:
    return [(i.code, i.path, i.message, i.at_key, i.hint) for i in schemas.issues(kind, doc)]


def test_every_bundled_schema_takes_the_fast_path() -> None:
    """Otherwise the differential tests below would compare the reference with itself."""
    fast, _ = engines()
    for kind in KINDS:
        assert fast_refusal(fast.document(kind)) is None, kind
        assert fast.fast_validator(kind) is not None, kind
    assert Schemas(PROJECT, fast=False).fast_validator("pattern") is None


def test_same_findings_on_the_broken_synthetic_corpus(corpus: dict[str, bytes]) -> None:
    fast, reference = engines()
    flagged = 0
    for relpath, raw in corpus.items():
        got = check_file(relpath, raw, fast)
        want = check_file(relpath, raw, reference)
        assert got == want, relpath
        flagged += bool(want[1])
    assert flagged >= 0.25 * len(corpus)  # the corpus really is broken


def record_docs(corpus: dict[str, bytes]) -> list[tuple[str, dict[str, Any]]]:
    out = []
    for relpath, raw in corpus.items():
        doc = load_bytes(raw, relpath).doc
        kind = location_of(relpath).kind
        if isinstance(doc, dict) and kind is not None:
            out.append((kind, doc))
    return out


# Values on either side of the schemas' patterns, enums and date format.
NEAR_MISSES = [
    *("", "x", "ab_c", "ab-c", "Ab", "a__b", "1a", "\u00e9", "ab_c\n", "security-auditor"),
    *("2024-02-29", "2023-02-29", "0000-01-01", "2024-13-01", "2024-1-01", "2024-01-01\n"),
    "\uff12\uff10\uff12\uff14-01-01",  # fullwidth digits: not [0-9]
    *("success", "partial", "failure", "active", "draft", "1.5", "0.5"),
]
SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**53) + 1, max_value=2**53 - 1),
    st.floats(allow_nan=False),
    st.sampled_from(NEAR_MISSES),
    st.text(max_size=8),
)
VALUES = st.recursive(
    SCALARS,
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(st.sampled_from(["id", "name", "x", "weight", "rate"]), inner, max_size=3)
    ),
    max_leaves=8,
)


def paths_of(doc: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every path to a value in `doc` (mapping keys and list indexes)."""
    out = [prefix] if prefix else []
    if isinstance(doc, dict):
        for key, value in doc.items():
            out += paths_of(value, (*prefix, key))
    elif isinstance(doc, list):
        for index, value in enumerate(doc):
            out += paths_of(value, (*prefix, index))
    return out


def mutate(doc: dict[str, Any], path: tuple[Any, ...], how: str, value: Any) -> dict[str, Any]:
    """`doc` with the value at `path` replaced, deleted, or given an extra field."""
    out = copy.deepcopy(doc)
    parent = out
    for step in path[:-1]:
        parent = parent[step]
    last = path[-1]
    if how == "delete" and isinstance(parent, dict):
        del parent[last]
    elif how == "extra" and isinstance(parent[last], dict):
        parent[last]["unexpected_field"] = value
    else:
        parent[last] = value
    return out


@settings(
    max_examples=400, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=st.data())
def test_same_issues_on_generated_documents(corpus: dict[str, bytes], data: st.DataObject) -> None:
    fast, reference = engines()
    docs = record_docs(corpus)
    kind, doc = data.draw(st.sampled_from(docs))
    for _ in range(data.draw(st.integers(min_value=1, max_value=3))):
        paths = paths_of(doc)
        if not paths:
            break
        path = data.draw(st.sampled_from(paths))
        how = data.draw(st.sampled_from(["replace", "delete", "extra"]))
        doc = mutate(doc, path, how, data.draw(VALUES))
    assert issue_rows(fast, kind, doc) == issue_rows(reference, kind, doc)


@pytest.mark.parametrize(
    ("extra", "reason"),
    [
        ({"properties": {"x": {"pattern": "^[\\D]+$"}}}, "may differ between RE2 and Rust"),
        ({"properties": {"x": {"pattern": "^\\bx$"}}}, "may differ between RE2 and Rust"),
        ({"properties": {"x": {"pattern": "(?i)^ab$"}}}, "may differ between RE2 and Rust"),
        ({"patternProperties": {"^é": {}}}, "may differ between RE2 and Rust"),
        ({"properties": {"x": {"format": "email"}}}, "format 'email'"),
        ({"properties": {"x": {"$ref": "common.schema.json"}}}, "leaves the schema"),
        ({"properties": {"x": {"$ref": "https://example.com/s.json"}}}, "leaves the schema"),
    ],
)
def test_unproven_schemas_are_left_to_the_reference_engine(
    extra: dict[str, Any], reason: str
) -> None:
    schema = {"type": "object", **extra}
    refusal = fast_refusal(schema)
    assert refusal is not None and reason in refusal


# RE2's \d \s \w are ASCII, Rust's are Unicode: spelled out for Rust, both engines agree
# on the characters where the two definitions differ.
PERL_CLASS_PATTERNS = ["^\\d+$", "^[^:\\s]*$", "^\\w+$", "^\\S+$", "^a\\sb$", "^[\\w-]+$"]
PERL_CLASS_TEXTS = ["123", "٣", "a b", "a\u00a0b", "a\vb", "a\u2003b", "x_1", "é", "a-b", ":"]


@pytest.mark.parametrize("regex", PERL_CLASS_PATTERNS)
def test_perl_classes_mean_the_same_in_both_engines(regex: str) -> None:
    schema = {"type": "string", "pattern": regex}
    assert fast_refusal(schema) is None
    fast = _compile_fast(schema)
    reference = _linear_validator_class()(schema)
    assert fast is not None
    verdicts = {text: (fast.is_valid(text), reference.is_valid(text)) for text in PERL_CLASS_TEXTS}
    assert all(f == r for f, r in verdicts.values()), verdicts
    assert {f for f, _ in verdicts.values()} == {True, False}  # the texts tell them apart


def test_a_schema_with_unproven_syntax_still_validates(tmp_path: Path) -> None:
    """The kind goes through the reference engine alone, with the same findings."""
    (tmp_path / "schemas").mkdir()
    for kind in KINDS:
        doc = json.loads((PROJECT / "schemas" / f"{kind}.schema.json").read_text())
        if kind == "pattern":
            doc["properties"]["id"]["pattern"] = "^[^\\W]+$"
        (tmp_path / "schemas" / f"{kind}.schema.json").write_text(json.dumps(doc))
    schemas = Schemas(tmp_path)
    assert schemas.fast_validator("pattern") is None
    assert schemas.fast_validator("outcome") is not None
    doc = {"kind": "pattern", "id": "bad id!"}
    paths = {i.path for i in schemas.issues("pattern", doc)}
    assert ("id",) in paths


def test_a_document_the_fast_engine_cannot_take_is_judged_by_the_reference() -> None:
    """A YAML key that is not a string (jsonschema-rs raises on it) is not a crash."""
    fast, reference = engines()
    doc = {"kind": "pattern", "id": "a", 1: "one"}
    assert issue_rows(fast, "pattern", doc) == issue_rows(reference, "pattern", doc)
    assert issue_rows(fast, "pattern", doc)  # wrong: a non-string key, missing fields


def test_the_fast_date_check_is_pythons() -> None:
    """jsonschema-rs's own `date` accepts year 0; the reference engine refuses it."""
    fast, reference = engines()
    docs = record_docs_of_kind("outcome")
    doc = {**docs, "date": "0000-01-01"}
    assert issue_rows(fast, "outcome", doc) == issue_rows(reference, "outcome", doc) != []


def record_docs_of_kind(kind: str) -> dict[str, Any]:
    """One valid record of `kind` from the bundled KB."""
    folder = {"outcome": "outcomes"}[kind]
    path = next(iter(sorted((PROJECT / "kb" / folder).rglob("*.yaml"))))
    doc = load_bytes(path.read_bytes(), "x.yaml").doc
    assert isinstance(doc, dict)
    return doc
