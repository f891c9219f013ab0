"""A validator of the part of JSON Schema (draft 2020-12) that memkb's schemas use, in
plain Python: it decides that a document is valid without loading jsonschema-rs.

jsonschema-rs costs a process about 15 ms to import, 13 of them for `email.utils`, which
its module initialisation imports (pyo3-built's `__build__` parses the build time with
`email.utils.parsedate_to_datetime`): a third of what a `memkb record` process may spend
on memkb. A write judges one record, which this walk checks in microseconds. A
`pattern` is searched with RE2, as the reference engine searches it.

It only ever says "valid for sure": a document it cannot vouch for (a violation, or a
value it does not judge, such as 1.0 where an integer is wanted) goes to jsonschema-rs
and, if rejected there, to the reference engine that explains it, as before. A schema
with any keyword outside KEYWORDS gets no plain validator at all.
tests/unit/records/test_plain_schema.py compares its verdicts with jsonschema-rs's on
the corpus and on Hypothesis' documents.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from typing import Any, NamedTuple

# Keywords this validator implements, and those it may ignore (annotations).
KEYWORDS = frozenset({
    "$ref", "type", "enum", "const", "minimum", "maximum", "exclusiveMinimum",
    "minLength", "maxLength", "pattern", "format", "properties", "additionalProperties",
    "required", "minProperties", "propertyNames", "items", "minItems", "uniqueItems",
})  # fmt: skip
ANNOTATIONS = frozenset(
    {"$schema", "$id", "$defs", "$comment", "title", "description", "default", "examples"}
)
Check = Callable[[Any], bool]
# A schema regex searched in a text: True, False, or None when it cannot be run. The
# caller's RE2 search (memkb.records.schema._search): the reference engine's own
# semantics, in linear time (Python's backtracking `re` takes minutes on `^(a+)+$`).
Search = Callable[[str, str], bool | None]


class _Env(NamedTuple):
    root: Mapping[str, Any]  # the schema, for its $defs
    formats: Mapping[str, Check]
    search: Search


def plain_validator(
    schema: Mapping[str, Any], formats: Mapping[str, Check], search: Search
) -> Check | None:
    """A function saying True only of documents `schema` surely accepts, or None when the
    schema uses anything this module does not implement. `formats` checks a `format`,
    `search` a `pattern`."""
    if not _supported(schema, formats):
        return None
    env = _Env(schema, formats, search)
    return lambda doc: _is_json(doc, 0) and _valid(doc, schema, env, 0)


def _is_json(value: Any, depth: int) -> bool:
    """Whether `value` is a JSON document (string keys, finite numbers): what JSON Schema
    judges. Anything else, e.g. a key YAML read as an integer, is the engines' to judge."""
    if depth > 64:
        return False
    if isinstance(value, dict):
        return all(isinstance(k, str) and _is_json(v, depth + 1) for k, v in value.items())
    if isinstance(value, list):
        return all(_is_json(item, depth + 1) for item in value)
    return _type_name(value) is not None


def _supported(node: Any, formats: Mapping[str, Check]) -> bool:
    if isinstance(node, bool):
        return True
    if not isinstance(node, Mapping):
        return False
    for key, value in node.items():
        if key in ANNOTATIONS:
            if key == "$defs" and not all(_supported(v, formats) for v in value.values()):
                return False
            continue
        if key not in KEYWORDS:
            return False
        if key == "$ref" and not (isinstance(value, str) and value.startswith("#/$defs/")):
            return False
        if key == "pattern" and not isinstance(value, str):
            return False
        if key == "format" and value not in formats:
            return False
        if key == "properties" and not all(_supported(v, formats) for v in value.values()):
            return False
        if key in ("additionalProperties", "propertyNames", "items") and not _supported(
            value, formats
        ):
            return False
    return True


def _valid(value: Any, schema: Any, env: _Env, depth: int) -> bool:
    if schema is True:
        return True
    if schema is False or depth > 64:
        return False
    for key, spec in schema.items():
        check = _CHECKS.get(key)
        if check is not None and not check(value, spec, schema, env, depth):
            return False
    return True


def _type_name(value: Any) -> str | None:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number" if math.isfinite(value) else None
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    if isinstance(value, dict):
        return "object"
    return None


def _type(value: Any, spec: Any, *_: Any) -> bool:
    name = _type_name(value)
    wanted = spec if isinstance(spec, list) else [spec]
    # A float is judged "number" only: 1.0 as an integer is left to jsonschema-rs.
    return name is not None and (name in wanted or (name == "integer" and "number" in wanted))


def _same(a: Any, b: Any) -> bool:
    """Equal and of the same JSON type (stricter than JSON's equality: 1 and 1.0 differ)."""
    if type(a) is not type(b):
        return False
    if isinstance(a, list):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    return bool(a == b)


def _enum(value: Any, spec: Any, *_: Any) -> bool:
    return any(_same(value, option) for option in spec)


def _const(value: Any, spec: Any, *_: Any) -> bool:
    return _same(value, spec)


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _minimum(value: Any, spec: Any, *_: Any) -> bool:
    return not _number(value) or value >= spec


def _maximum(value: Any, spec: Any, *_: Any) -> bool:
    return not _number(value) or value <= spec


def _exclusive_minimum(value: Any, spec: Any, *_: Any) -> bool:
    return not _number(value) or value > spec


def _min_length(value: Any, spec: Any, *_: Any) -> bool:
    return not isinstance(value, str) or len(value) >= spec


def _max_length(value: Any, spec: Any, *_: Any) -> bool:
    return not isinstance(value, str) or len(value) <= spec


def _pattern(value: Any, spec: Any, _schema: Any, env: _Env, _depth: int) -> bool:
    return not isinstance(value, str) or env.search(spec, value) is True


def _format(value: Any, spec: Any, _schema: Any, env: _Env, _depth: int) -> bool:
    return bool(env.formats[spec](value))


def _properties(value: Any, spec: Any, _schema: Any, env: _Env, depth: int) -> bool:
    if not isinstance(value, dict):
        return True
    return all(_valid(value[k], sub, env, depth + 1) for k, sub in spec.items() if k in value)


def _additional(value: Any, spec: Any, schema: Any, env: _Env, depth: int) -> bool:
    if not isinstance(value, dict):
        return True
    declared = schema.get("properties", {})
    return all(_valid(v, spec, env, depth + 1) for k, v in value.items() if k not in declared)


def _required(value: Any, spec: Any, *_: Any) -> bool:
    return not isinstance(value, dict) or all(k in value for k in spec)


def _min_properties(value: Any, spec: Any, *_: Any) -> bool:
    return not isinstance(value, dict) or len(value) >= spec


def _property_names(value: Any, spec: Any, _schema: Any, env: _Env, depth: int) -> bool:
    if not isinstance(value, dict):
        return True
    return all(isinstance(k, str) and _valid(k, spec, env, depth + 1) for k in value)


def _items(value: Any, spec: Any, _schema: Any, env: _Env, depth: int) -> bool:
    return not isinstance(value, list) or all(_valid(i, spec, env, depth + 1) for i in value)


def _min_items(value: Any, spec: Any, *_: Any) -> bool:
    return not isinstance(value, list) or len(value) >= spec


def _unique(value: Any, spec: Any, *_: Any) -> bool:
    # Python's == is looser than JSON's (True == 1): a pair it calls equal is left to
    # jsonschema-rs, so "unique" here is unique for sure.
    if not (spec and isinstance(value, list)):
        return True
    return all(value[i] != value[j] for i in range(len(value)) for j in range(i))


def _ref(value: Any, spec: Any, _schema: Any, env: _Env, depth: int) -> bool:
    target = env.root.get("$defs", {}).get(spec.removeprefix("#/$defs/"))
    return target is not None and _valid(value, target, env, depth + 1)


_CHECKS: dict[str, Callable[..., bool]] = {
    "$ref": _ref, "type": _type, "enum": _enum, "const": _const, "minimum": _minimum,
    "maximum": _maximum, "exclusiveMinimum": _exclusive_minimum, "minLength": _min_length,
    "maxLength": _max_length, "pattern": _pattern, "format": _format,
    "properties": _properties, "additionalProperties": _additional, "required": _required,
    "minProperties": _min_properties, "propertyNames": _property_names, "items": _items,
    "minItems": _min_items, "uniqueItems": _unique,
}  # fmt: skip
