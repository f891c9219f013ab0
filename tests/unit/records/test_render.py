"""render_record: the house style of kb/, byte for byte, and a faithful round trip."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from conftest import BUNDLED_KB, PROJECT, SCHEMAS
from memkb.records.load import MAX_INT, load_bytes
from memkb.records.render import FIELD_ORDER, render_record

BUNDLED_FILES = sorted(BUNDLED_KB.rglob("*.yaml"))


def _load(path: Path) -> Any:
    rel = path.relative_to(PROJECT).as_posix()
    loaded = load_bytes(path.read_bytes(), rel)
    assert loaded.findings == []
    return loaded.doc


def test_bundled_kb_is_not_empty() -> None:
    # Guards the parametrized test below against passing vacuously.
    assert len(BUNDLED_FILES) >= 8


@pytest.mark.parametrize("path", BUNDLED_FILES, ids=lambda p: p.name)
def test_every_bundled_record_renders_byte_for_byte(path: Path) -> None:
    doc = _load(path)
    rel = path.relative_to(PROJECT).as_posix()
    assert render_record(doc["kind"], doc, rel) == path.read_text(encoding="utf-8")


def test_relpath_defaults_to_the_canonical_path() -> None:
    path = BUNDLED_KB / "outcomes" / "2025" / "2025-01-20-shumica-marketplace.yaml"
    doc = _load(path)
    text = render_record("outcome", doc)
    assert text.splitlines()[0] == (
        "# yaml-language-server: $schema=../../../schemas/outcome.schema.json"
    )
    assert text == path.read_text(encoding="utf-8")


def test_keys_follow_the_schema_then_unknown_keys_in_given_order() -> None:
    doc = {
        "zeta": 1,
        "key_droids": ["a-b"],
        "id": "x",
        "kind": "pattern",
        "alpha": 2,
        "prior": {"source": "s", "weight": 10, "success_rate": 0.5},
    }
    lines = render_record("pattern", doc).splitlines()
    assert lines[1:] == [
        "kind: pattern",
        "id: x",
        "key_droids: [a-b]",
        "prior:",
        "  success_rate: 0.5",
        "  weight: 10",
        "  source: s",
        "zeta: 1",
        "alpha: 2",
    ]


def test_quoting_only_where_yaml_needs_it() -> None:
    doc = {
        "id": "x",
        "notes": "true",
        "date": "2025-01-20",
        "project": "Day 1: plan",
        "domains": ["yes", "no-thing"],
        "title": "a\nb",
        "error_count": 3,
        "description": "legacy memory, 2025-01-20",
        "status": "  padded",
    }
    text = render_record("outcome", doc, "kb/outcomes/2025/x.yaml")
    assert "notes: 'true'" in text
    assert "date: 2025-01-20\n" in text
    assert "project: 'Day 1: plan'" in text
    assert "domains:\n  - 'yes'\n  - no-thing\n" in text  # one item needs quotes: block
    assert 'title: "a\\nb"' in text
    assert "description: legacy memory, 2025-01-20\n" in text
    assert "status: '  padded'" in text
    assert load_bytes(text.encode(), "x.yaml").doc == doc


def test_long_identifier_lists_fall_back_to_block_style() -> None:
    droids = [f"droid-number-{i}" for i in range(12)]
    text = render_record("pattern", {"id": "x", "key_droids": droids})
    assert "key_droids:\n  - droid-number-0\n" in text
    assert max(len(line) for line in text.splitlines()[1:]) <= 100


def test_lists_of_mappings_and_nested_lists() -> None:
    doc = {
        "id": "t",
        "phases": [{"droids": ["a"], "phase": "p", "name": "P"}],
        "x": [[1, 2], [], ["two words", "b"]],
        "y": {},
        "z": [],
    }
    text = render_record("template", doc)
    assert "phases:\n  - phase: p\n    name: P\n    droids: [a]\n" in text
    assert "x:\n  - [1, 2]\n  - []\n  - - two words\n    - b\n" in text
    assert "y: {}\nz: []\n" in text
    assert load_bytes(text.encode(), "t.yaml").doc == doc


def test_long_keys_up_to_the_yaml_limit() -> None:
    doc = {"id": "x", "k" * 900: ["a"]}
    text = render_record("pattern", doc)
    assert load_bytes(text.encode(), "x.yaml").doc == doc
    with pytest.raises(ValueError, match="too long"):
        render_record("pattern", {"id": "x", "k" * 1200: 1})


def test_unrenderable_values_raise() -> None:
    with pytest.raises(TypeError, match="set"):
        render_record("pattern", {"id": "x", "bad": {1, 2}})
    with pytest.raises(KeyError):
        render_record("pattern", {"kind": "pattern"})


def _schema_orders(kind: str) -> dict[tuple[str, ...], tuple[str, ...]]:
    schema = json.loads((SCHEMAS / f"{kind}.schema.json").read_text())
    defs = schema.get("$defs", {})
    found: dict[tuple[str, ...], tuple[str, ...]] = {}

    def walk(node: dict[str, Any], path: tuple[str, ...]) -> None:
        if "$ref" in node:
            node = defs[node["$ref"].rsplit("/", 1)[-1]]
        if "properties" in node:
            found[path] = tuple(node["properties"])
            for name, sub in node["properties"].items():
                walk(sub, (*path, name))
        if isinstance(node.get("items"), dict):
            walk(node["items"], (*path, "[]"))
        if isinstance(node.get("additionalProperties"), dict):
            walk(node["additionalProperties"], (*path, "*"))

    walk(schema, ())
    return found


@pytest.mark.parametrize("kind", sorted(FIELD_ORDER))
def test_field_order_table_matches_the_schemas(kind: str) -> None:
    assert FIELD_ORDER[kind] == _schema_orders(kind)


_scalars = st.one_of(
    st.text(max_size=40),
    st.integers(-MAX_INT, MAX_INT),  # beyond: KB112 (test_bad_input.py)
    st.booleans(),
    st.none(),
    st.sampled_from(
        [
            "2025-01-20",
            "yes",
            "null",
            "1e3",
            "- x",
            "a: b",
            "#c",
            "<<",
            "=",
            "~",
            "@x",
            "`x",
            "a\tb",
            "\u2028",
            "",
        ]
    ),
)
_values = st.recursive(
    _scalars,
    lambda inner: (
        st.lists(inner, max_size=5)
        | st.dictionaries(st.text(min_size=0, max_size=20), inner, max_size=4)
    ),
    max_leaves=20,
)


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(st.text(max_size=30), _values, max_size=8))
def test_rendered_text_loads_back_to_the_same_dict(doc: dict[str, Any]) -> None:
    text = render_record("pattern", doc, "kb/patterns/x.yaml")
    loaded = load_bytes(text.encode("utf-8"), "kb/patterns/x.yaml")
    assert loaded.findings == []
    assert loaded.doc == doc
