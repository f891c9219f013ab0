"""memkb.records.plain_schema vouches only for documents jsonschema-rs accepts: compared
on every record of the bundled KB and of a synthetic one (broken records included), and
on Hypothesis' mutations of valid records of each kind."""

from __future__ import annotations

import copy
import sys
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from conftest import BUNDLED_KB, PROJECT
from memkb.kb.layout import KINDS
from memkb.records import schema as schema_module
from memkb.records.load import load_bytes
from memkb.records.plain_schema import plain_validator
from memkb.records.schema import FAST_FORMATS, Schemas

if str(PROJECT) not in sys.path:  # tooling/bench is not an installed package
    sys.path.insert(0, str(PROJECT))

from tooling.bench import synth

SCHEMAS = Schemas(PROJECT)


def _verdicts(kind: str, doc: Any) -> tuple[bool, bool]:
    plain = plain_validator(SCHEMAS.document(kind), FAST_FORMATS, schema_module._search)
    fast = SCHEMAS.fast_validator(kind)
    assert plain is not None and fast is not None
    return plain(doc), schema_module._fast_accepts(fast, doc)


def _records(folder: Path) -> list[tuple[str, dict[str, Any]]]:
    found = []
    for path in sorted(folder.rglob("*.yaml")):
        doc = load_bytes(path.read_bytes(), path.name).doc
        if isinstance(doc, dict) and doc.get("kind") in KINDS:
            found.append((doc["kind"], doc))
    return found


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> list[tuple[str, dict[str, Any]]]:
    root = tmp_path_factory.mktemp("kb") / "synth"
    synth.generate_kb(root, 600, broken_fraction=0.2, seed=11)
    return _records(root) + _records(BUNDLED_KB)


def test_every_kind_has_a_plain_validator() -> None:
    assert all(
        plain_validator(SCHEMAS.document(k), FAST_FORMATS, schema_module._search) for k in KINDS
    )


def test_it_vouches_only_for_what_jsonschema_rs_accepts(corpus: list[Any]) -> None:
    verdicts = [_verdicts(kind, doc) for kind, doc in corpus]
    assert not [
        doc
        for (kind, doc), (plain, fast) in zip(corpus, verdicts, strict=True)
        if plain and not fast
    ]
    accepted = [plain for plain, fast in verdicts if fast]
    assert len(accepted) > 400 and sum(accepted) / len(accepted) > 0.95  # and it is used
    assert any(not fast for _, fast in verdicts)  # the broken records are in the corpus


_JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-5, 2**40)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=12)
    | st.sampled_from(["", "x", "e-commerce", "2026-13-01", "2026-02-30", "2026-01-01", "A"]),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=8,
)


def _bundled(kind: str) -> dict[str, Any]:
    return next(doc for k, doc in _records(BUNDLED_KB) if k == kind)


def _paths(doc: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [prefix] if prefix else []
    if isinstance(doc, dict):
        for key, value in doc.items():
            found += _paths(value, (*prefix, key))
    elif isinstance(doc, list):
        for n, value in enumerate(doc):
            found += _paths(value, (*prefix, n))
    return found


@settings(max_examples=600, deadline=None)
@given(st.sampled_from(sorted(KINDS)), st.data(), _JSON, st.booleans())
def test_a_mutated_record_is_vouched_for_only_if_jsonschema_rs_accepts_it(
    kind: str, data: st.DataObject, value: Any, add: bool
) -> None:
    doc = copy.deepcopy(_bundled(kind))
    path = data.draw(st.sampled_from(_paths(doc)))
    parent: Any = doc
    for step in path[:-1]:
        parent = parent[step]
    if add and isinstance(parent, dict):
        parent[data.draw(st.text(max_size=8))] = value
    else:
        parent[path[-1]] = value
    plain, fast = _verdicts(kind, doc)
    assert fast or not plain, (path, value)


def test_a_document_that_is_not_json_is_left_to_the_engines() -> None:
    plain = plain_validator(SCHEMAS.document("outcome"), FAST_FORMATS, schema_module._search)
    assert plain is not None
    doc = _bundled("outcome")
    assert plain(doc)
    assert not plain({**doc, 1: "a key YAML read as an integer"})
    assert not plain({**doc, "notes": float("nan")})


def test_a_bulk_run_leaves_the_plain_validator_after_a_few_documents(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # ~110 µs a record against jsonschema-rs's ~5: a validate of thousands uses the latter.
    schemas = Schemas(PROJECT)
    asked: list[str] = []
    real = schemas.plain_validator
    monkeypatch.setattr(schemas, "plain_validator", lambda kind: asked.append(kind) or real(kind))
    doc = _bundled("outcome")
    assert all(schemas.issues("outcome", doc) == [] for _ in range(100))
    assert len(asked) == schema_module.PLAIN_DOCUMENTS
