"""Render a record as the YAML text of a new knowledge file, in the house style of kb/.

The style, which every bundled record follows (and a test holds byte for byte):
- first line the editor's schema modeline, then the record's keys in the order of
  the kind's schema (unknown keys after, in the order given);
- lists of short identifiers in flow style (`[a, b]`) when the line stays short,
  every other list (sentences, mappings) in block style; nested mappings in block style;
- strings quoted only where YAML needs it. The decision is PyYAML's own scalar
  analysis, resolved without the timestamp rule (memkb keeps dates as strings, so
  `2025-01-20` stays plain); quoted text is written by PyYAML's emitter, never by hand.

PyYAML costs a `memkb record` process about 20 ms to import, so the scalars of printable
ASCII (every id, date, number and most names) are decided and written here, by the same
rules as PyYAML's analysis, resolvers and emitter (copied below as data, held equal to
PyYAML's by tests/unit/records/test_render_scalars.py (the resolvers are
memkb.records.resolvers'), which also compares the two on
Hypothesis' texts and on every record of the corpus); any other scalar is PyYAML's.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from functools import cache, lru_cache
from typing import TYPE_CHECKING, Any

from memkb.kb.layout import modeline, record_relpath
from memkb.records.resolvers import reads_as_text

__all__ = ["FIELD_ORDER", "FLOW_WIDTH", "render_record", "scalar_texts"]

# Where a flow list would make a line longer than this, the list goes block style.
FLOW_WIDTH = 100
INDENT = "  "
MAX_KEY_WIDTH = 1000

# Field order of every object in each kind's schema, keyed by the path of the
# object inside the record ("[]" stands for "every item of the list"). Kept as
# data so rendering needs no repository; tests/unit/records/test_render.py checks it against
# schemas/*.schema.json so the two cannot drift apart.
FIELD_ORDER: dict[str, dict[tuple[str, ...], tuple[str, ...]]] = {
    "pattern": {
        (): (
            "kind",
            "schema_version",
            "id",
            "title",
            "description",
            "status",
            "superseded_by",
            "domains",
            "phases",
            "key_droids",
            "quality_improvements",
            "best_practices",
            "learned_techniques",
            "tools",
            "guards",
            "prior",
            "legacy",
        ),
        ("prior",): ("success_rate", "timeline_optimization", "weight", "source"),
        ("legacy",): ("id", "source", "shape", "extra"),
    },
    "failure": {
        (): (
            "kind",
            "schema_version",
            "id",
            "title",
            "description",
            "status",
            "superseded_by",
            "domains",
            "phases",
            "warning_signs",
            "common_causes",
            "prevention_strategies",
            "fallback_strategies",
            "legacy",
        ),
        ("legacy",): ("id", "source", "shape", "extra"),
    },
    "template": {
        (): (
            "kind",
            "schema_version",
            "id",
            "title",
            "description",
            "status",
            "superseded_by",
            "domains",
            "phases",
            "risk_level",
            "estimated_timeline",
            "tech_stack",
            "tools",
            "guards",
            "prior",
            "legacy",
        ),
        ("phases", "[]"): ("phase", "name", "droids", "description"),
        ("estimated_timeline",): ("min_weeks", "max_weeks"),
        ("prior",): ("success_probability", "weight", "source"),
        ("legacy",): ("id", "source", "shape", "extra"),
    },
    "expectation": {
        (): ("kind", "schema_version", "id", "title", "description", "query", "expect"),
        ("query",): ("domains", "phases", "droids", "text", "limit"),
        ("expect",): (
            "top_template",
            "top_pattern",
            "top_guard",
            "templates_include",
            "patterns_include",
            "guards_include",
            "templates_exclude",
            "patterns_exclude",
            "guards_exclude",
        ),
    },
    "outcome": {
        (): (
            "kind",
            "schema_version",
            "id",
            "project",
            "date",
            "outcome",
            "domains",
            "template",
            "patterns_applied",
            "droids_used",
            "failures_met",
            "timeline",
            "quality_score",
            "error_count",
            "user_satisfaction",
            "notes",
            "advice",
        ),
        ("failures_met", "[]"): ("failure", "recovered", "how", "prevention_used"),
        ("timeline",): ("planned_days", "actual_days"),
        ("advice",): ("brief_id", "commit", "followed", "ignored", "not_met"),
        ("advice", "followed"): ("templates", "patterns", "guards"),
        ("advice", "ignored"): ("templates", "patterns", "guards"),
    },
    "vocabulary": {
        (): ("kind", "schema_version", "droids", "domains", "phases"),
        ("droids", "*"): ("description", "aliases"),
        ("domains", "*"): ("description", "aliases"),
        ("phases", "*"): ("description", "aliases"),
    },
}

# A "short identifier": what may stand in a flow list without reading as prose.
_IDENTIFIER = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.@/-]*")
_STR_TAG = "tag:yaml.org,2002:str"
# What YAML reads as a line break; a quoted scalar holding one would span lines.
_LINE_BREAKS = ("\n", "\r", "\x85", "\u2028", "\u2029")


if TYPE_CHECKING:
    import yaml

# The characters PyYAML's analysis treats as whitespace around an indicator.
_SPACES = "\0 \t\r\n\x85\u2028\u2029"


def _ascii_plain(text: str) -> tuple[bool, bool]:
    """(allowed plain in block context, in flow context) for printable ASCII `text`, one
    line: PyYAML's Emitter.analyze_scalar on such text."""
    block = flow = text.startswith(("---", "..."))
    after_space = True
    for index, ch in enumerate(text):
        before_space = index + 1 >= len(text) or text[index + 1] in _SPACES
        if index == 0:
            if ch in "#,[]{}&*!|>'\"%@`":
                flow = block = True
            if ch in "?:":
                flow = True
                block = block or before_space
            if ch == "-" and before_space:
                flow = block = True
        else:
            if ch in ",?[]{}":
                flow = True
            if ch == ":":
                flow = True
                block = block or before_space
            if ch == "#" and after_space:
                flow = block = True
        after_space = ch in _SPACES
    spaced = text[:1] == " " or text[-1:] == " "
    return not (block or spaced), not (flow or spaced)


def _printable_ascii(text: str) -> bool:
    return text.isascii() and text.isprintable()


@cache
def _pyyaml() -> tuple[type[yaml.SafeDumper], yaml.SafeDumper]:
    """PyYAML's dumper resolving plain scalars the way memkb loads them (no timestamps),
    and an instance of it for its analysis: imported only for a scalar beyond ASCII."""
    from io import StringIO

    import yaml

    class Dumper(yaml.SafeDumper):
        """Safe dumper that resolves plain scalars the way memkb loads them."""

    Dumper.yaml_implicit_resolvers = {
        first: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:timestamp"]
        for first, resolvers in yaml.SafeDumper.yaml_implicit_resolvers.items()
    }
    return Dumper, Dumper(StringIO())


def render_record(kind: str, doc: Mapping[str, Any], relpath: str | None = None) -> str:
    """Return the text of the knowledge file holding `doc`, a record of `kind`.

    `relpath` (the file's path from the repository root) sets the modeline's relative
    schema path; it defaults to the record's canonical path from its `id`.
    Raises KeyError if `relpath` is omitted and `doc` has no `id`, TypeError for a
    value YAML cannot hold (anything but mappings, lists, str, int, float, bool, None),
    ValueError for a mapping key too long for YAML (over MAX_KEY_WIDTH characters).
    """
    path = relpath if relpath is not None else record_relpath(kind, str(doc["id"]))
    orders = FIELD_ORDER.get(kind, {})
    body = _mapping_lines(doc, 0, (), orders) if doc else ["{}"]
    return "\n".join([modeline(kind, path), *body]) + "\n"


def scalar_texts(doc: Any) -> list[str]:
    """The text of every scalar a YAML reader composes from the rendering of `doc`: each
    key, each string, and each number, bool or null as written (empty collections
    hold none). Raises TypeError as render_record does."""
    if isinstance(doc, Mapping):
        return [t for key, value in doc.items() for t in (_scalar(key), *scalar_texts(value))]
    if _is_list(doc):
        return [text for item in doc for text in scalar_texts(item)]
    return [_scalar(doc)]


def _scalar(value: Any) -> str:
    return value if isinstance(value, str) else _node(value)


def _ordered(doc: Mapping[str, Any], order: Sequence[str]) -> list[tuple[str, Any]]:
    """Items of `doc`: the schema's fields in schema order, then the rest as given."""
    known = [(key, doc[key]) for key in order if key in doc]
    rest = [(key, value) for key, value in doc.items() if key not in order]
    return known + rest


def _order_for(
    orders: Mapping[tuple[str, ...], tuple[str, ...]], path: tuple[str, ...]
) -> tuple[str, ...]:
    if path in orders:
        return orders[path]
    wildcard = (*path[:-1], "*") if path else path
    return orders.get(wildcard, ())


def _mapping_lines(
    doc: Mapping[Any, Any],
    depth: int,
    path: tuple[str, ...],
    orders: Mapping[tuple[str, ...], tuple[str, ...]],
) -> list[str]:
    pad = INDENT * depth
    lines: list[str] = []
    for key, value in _ordered(doc, _order_for(orders, path)):
        head = f"{pad}{_key(key)}:"
        child = (*path, str(key))
        if isinstance(value, Mapping) and value:
            lines.append(head)
            lines.extend(_mapping_lines(value, depth + 1, child, orders))
        elif _is_list(value) and value:
            flow = _flow(value, len(head) + 1)
            if flow is not None:
                lines.append(f"{head} {flow}")
            else:
                lines.append(head)
                lines.extend(_sequence_lines(value, depth + 1, child, orders))
        else:
            lines.append(f"{head} {_node(value)}")
    return lines


def _sequence_lines(
    items: Sequence[Any],
    depth: int,
    path: tuple[str, ...],
    orders: Mapping[tuple[str, ...], tuple[str, ...]],
) -> list[str]:
    pad = INDENT * depth
    lines: list[str] = []
    child = (*path, "[]")
    for item in items:
        if isinstance(item, Mapping) and item:
            nested = _mapping_lines(item, depth + 1, child, orders)
        elif _is_list(item) and item:
            flow = _flow(item, len(pad) + 2)
            nested = [flow] if flow is not None else _sequence_lines(item, depth + 1, child, orders)
        else:
            lines.append(f"{pad}- {_node(item)}")
            continue
        # The item's first line shares the dash's line: "- phase: x" / "- - a".
        lines.append(f"{pad}- {nested[0].lstrip(' ')}")
        lines.extend(nested[1:])
    return lines


def _is_list(value: Any) -> bool:
    return isinstance(value, list | tuple)


def _flow(items: Sequence[Any], prefix_width: int) -> str | None:
    """`[a, b]` if every item is a short identifier or number and the line stays short."""
    parts = []
    for item in items:
        if isinstance(item, bool) or item is None:
            return None
        if isinstance(item, int | float):
            parts.append(_node(item))
        elif isinstance(item, str) and _IDENTIFIER.fullmatch(item) and _plain(item, flow=True):
            parts.append(item)
        else:
            return None
    text = f"[{', '.join(parts)}]"
    return text if prefix_width + len(text) <= FLOW_WIDTH else None


def _key(key: Any) -> str:
    text = _node(key)
    if len(text) > MAX_KEY_WIDTH:
        # YAML parsers accept an implicit key of at most 1024 characters; a longer one
        # needs the "? " form, which no record uses. Refuse rather than write a file
        # that will not load.
        raise ValueError(f"mapping key too long to write as YAML ({len(text)} characters)")
    return text


def _node(value: Any) -> str:
    """One scalar (or empty collection) as it stands after `key: ` or `- `."""
    if isinstance(value, Mapping):
        if value:
            raise TypeError("non-empty mapping where a scalar was expected")
        return "{}"
    if _is_list(value):
        if value:
            raise TypeError("non-empty list where a scalar was expected")
        return "[]"
    if isinstance(value, str):
        return value if _plain(value, flow=False) else _quoted(value)
    if value is None or isinstance(value, bool | int | float):
        return _number(type(value).__name__, value)
    raise TypeError(f"cannot render a value of type {type(value).__name__} as YAML")


@lru_cache(maxsize=65536)
def _plain(text: str, *, flow: bool) -> bool:
    """Whether PyYAML's emitter would write `text` plain (and it would load back as str)."""
    if text and _printable_ascii(text):
        block, in_flow = _ascii_plain(text)
        return (in_flow if flow else block) and reads_as_text(text)
    return _pyyaml_plain(text, flow=flow)


def _pyyaml_plain(text: str, *, flow: bool) -> bool:
    import yaml

    resolver = _pyyaml()[1]
    tag = resolver.resolve(yaml.ScalarNode, text, (True, False))  # type: ignore[no-untyped-call]
    if tag != _STR_TAG:
        return False
    analysis = resolver.analyze_scalar(text)
    if analysis.empty or analysis.multiline:
        return False
    return bool(analysis.allow_flow_plain if flow else analysis.allow_block_plain)


@lru_cache(maxsize=65536)
def _quoted(text: str) -> str:
    """`text` quoted by PyYAML; forced onto one line (double quotes) if it spans lines."""
    if _printable_ascii(text):
        # PyYAML single-quotes such text (no special character, no line break), doubling
        # each quote, and never folds it (the width is unbounded).
        return "'" + text.replace("'", "''") + "'"
    out = _dumped(text)
    if any(brk in out for brk in _LINE_BREAKS):
        out = _dumped(text, style='"')
    return out


def _number(kind: str, value: Any) -> str:
    """A number, bool or null as PyYAML writes it: SafeRepresenter's represent_bool,
    represent_none, represent_int and represent_float. Not cached: a cache keyed by value
    wrote -0.0 as 0.0 after 0.0 (equal keys), and this costs less than the lookup."""
    del kind
    if value is None or isinstance(value, bool):
        return {None: "null", True: "true", False: "false"}[value]
    if isinstance(value, int):
        return str(value)
    if value != value:
        return ".nan"
    if value in (float("inf"), float("-inf")):
        return ".inf" if value > 0 else "-.inf"
    text = repr(value).lower()
    return text.replace("e", ".0e", 1) if "." not in text and "e" in text else text


def _dumped(value: Any, style: str | None = None) -> str:
    import yaml

    out: str = yaml.dump(
        value,
        Dumper=_pyyaml()[0],
        default_style=style,
        width=float("inf"),
        allow_unicode=True,
        explicit_end=False,
    )
    # A root scalar is followed by a document-end marker ("...") in PyYAML's output.
    out = out.removesuffix("\n").removesuffix("\n...").removesuffix("...")
    return out.rstrip("\n")
