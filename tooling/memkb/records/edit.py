"""Round-trip editing of one YAML file: a change applied at a dotted path, every other
line keeping its bytes (comments, key order, quoting, flow lists).

ruamel.yaml re-emits the edited document; the line diff between its re-emission of
the original and of the edited document is spliced into the original text. ruamel is
imported inside the functions: `memkb record` and the validator never need it.

    new = edit_text(raw, "kb/patterns/x.yaml", field_steps("prior.weight"), change)
"""

from __future__ import annotations

import difflib
import io
import itertools
import re
import unicodedata
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from memkb.errors import RecordError
from memkb.records.render import FIELD_ORDER

if TYPE_CHECKING:
    from ruamel.yaml import YAML

__all__ = ["assign", "edit_text", "field_steps", "list_at", "scalar"]


def _yaml(text: str) -> YAML:
    from ruamel.yaml import YAML

    rt = YAML(typ="rt")
    rt.preserve_quotes = True
    rt.width = 4096  # never re-wrap a long line we did not edit
    rt.indent(**_indentation(text))
    return rt


def _indentation(text: str) -> dict[str, int]:
    """The file's own indentation, so lines we add look like their neighbours."""
    from ruamel.yaml.error import YAMLError
    from ruamel.yaml.util import load_yaml_guess_indent

    try:
        _, sequence, offset = load_yaml_guess_indent(text)
    except (YAMLError, IndexError):  # ruamel's guess runs off a line holding only "-"
        sequence, offset = 4, 2
    if offset is None:
        sequence, offset = 4, 2  # house style: "  - item" under its key
    lines = [ln for ln in text.splitlines() if ln.strip() and not ln.lstrip().startswith("#")]
    mapping = 2
    for line, following in itertools.pairwise(lines):
        if re.match(r"^\s*[^\s#-][^:]*:\s*(#.*)?$", line) and not following.lstrip().startswith(
            "-"
        ):
            step = _spaces(following) - _spaces(line)
            if step > 0:
                mapping = step
                break
    return {"mapping": mapping, "sequence": sequence, "offset": offset}


def _spaces(line: str) -> int:
    return len(line) - len(line.lstrip(" "))


def edit_text(raw: bytes, relpath: str, steps: Sequence[str | int], change: Any) -> bytes:
    """`raw` with `change(parent, last_step)` applied at `steps`, every other line unchanged.

    Raises RecordError if the file cannot be parsed or the path does not lead
    to a mapping or list.
    """
    from ruamel.yaml.error import YAMLError

    text = raw.decode("utf-8")
    rt = _yaml(text)
    try:
        doc = rt.load(text)
    except YAMLError as exc:
        raise RecordError(
            f"{relpath} is not valid YAML; fix it before editing", hint=str(exc).splitlines()[0]
        ) from exc
    if not isinstance(doc, dict):
        raise RecordError(f"{relpath} does not hold a mapping of fields; fix it before editing")
    top_keys = list(doc)
    parent: Any = doc
    for step in steps[:-1]:
        parent = _descend(parent, step, relpath)
    parent_keys = list(parent) if isinstance(parent, dict) else []
    change(parent, steps[-1] if steps else "")
    orders = FIELD_ORDER.get(str(doc.get("kind")), {})
    _place_new_keys(doc, top_keys, orders.get((), ()))
    if parent is not doc and isinstance(parent, dict):
        where = tuple("[]" if isinstance(s, int) else s for s in steps[:-1])
        _place_new_keys(parent, parent_keys, orders.get(where, ()))
    after = _splice(text, _dump(rt, rt.load(text)), _dump(rt, doc))
    if not _reads_back(after, doc):  # a safety net: never write what reads back otherwise
        raise RecordError(
            f"{relpath}: the edited file would not read back as the values given",
            hint="avoid control characters and unusual line breaks in the value",
        )
    return after.encode("utf-8")


def _reads_back(text: str, doc: Any) -> bool:
    """True if `text` parses to `doc` (ruamel can emit text it cannot parse, e.g. the
    value "? x" inside a flow mapping)."""
    from ruamel.yaml.error import YAMLError

    try:
        return bool(_yaml(text).load(text) == doc)
    except YAMLError:
        return False


def _place_new_keys(mapping: Any, old_keys: list[Any], order: Sequence[str]) -> None:
    """Move keys the edit added to their place in the schema's field order (the house
    style), instead of ruamel's default, the end of the mapping."""
    for key in [k for k in mapping if k not in old_keys and k in order]:
        rank = order.index(key)
        value = mapping.pop(key)
        before = [i for i, k in enumerate(mapping) if k in order and order.index(k) < rank]
        mapping.insert(before[-1] + 1 if before else 0, key, value)


def _dump(rt: YAML, doc: Any) -> str:
    out = io.StringIO()
    rt.dump(doc, out)
    return out.getvalue()


def _splice(original: str, before: str, after: str) -> str:
    """Apply the line diff `before` -> `after` to `original`.

    `before` is ruamel's re-emission of `original`; where the two agree (always,
    for files in the house style) the edit's hunks land on the original lines, so
    formatting ruamel would normalise elsewhere in the file is kept as it was.
    """
    if before == original:
        return after
    orig, old, new = (s.splitlines(keepends=True) for s in (original, before, after))
    to_orig = {}
    for block in difflib.SequenceMatcher(None, old, orig, autojunk=False).get_matching_blocks():
        for offset in range(block.size):
            to_orig[block.a + offset] = block.b + offset
    out, cursor = [], 0
    for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(
        None, old, new, autojunk=False
    ).get_opcodes():
        if tag == "equal":
            continue
        if i1 not in to_orig and i1 > 0 and (i1 - 1) not in to_orig:
            # Both neighbours are lines ruamel re-emitted differently (`a: null` as
            # `a:`): no original line to anchor the hunk on, so take ruamel's text whole
            # rather than guess (a guess put new lines at the top of the file).
            return after
        start = to_orig.get(i1, to_orig.get(i1 - 1, cursor - 1) + 1)
        if i2 == i1:
            end = start  # a pure insertion
        elif (i2 - 1) in to_orig:
            end = to_orig[i2 - 1] + 1
        else:
            # The hunk's last line is one ruamel re-emitted differently (a re-indented
            # folded text): the hunk ends where the next line both agree on begins.
            end = to_orig.get(i2, -1)
        if start < cursor or end < start:
            return after  # the edit overlaps lines ruamel rewrote: take its text whole
        out += orig[cursor:start] + new[j1:j2]
        cursor = end
    return "".join(out + orig[cursor:])


def field_steps(field: str) -> list[str | int]:
    """The steps of a dotted field: "phases.0.name" -> ["phases", 0, "name"]; "" -> []."""
    return [int(p) if p.isdigit() else p for p in field.split(".")] if field else []


def _descend(node: Any, step: str | int, relpath: str) -> Any:
    if isinstance(node, dict):
        return node.setdefault(step, {}) if isinstance(step, str) else _bad_step(step, relpath)
    if isinstance(node, list) and isinstance(step, int) and step < len(node):
        return node[step]
    return _bad_step(step, relpath)


def _bad_step(step: str | int, relpath: str) -> Any:
    raise RecordError(
        f"{relpath} has no field '{step}' to edit inside",
        hint="use a dotted path to a mapping or list, e.g. prior.weight",
    )


def scalar(value: Any) -> Any:
    """`value`, double-quoted where YAML would otherwise fold or drop characters of it
    (control characters, NEL and the Unicode line and paragraph separators), or read it
    back as something else than text (`yes`: ruamel writes YAML 1.2, where it is text,
    but memkb's loader reads YAML 1.1, where it is a boolean)."""
    if isinstance(value, str) and (
        any(unicodedata.category(ch) in ("Cc", "Cf", "Zl", "Zp") and ch != "\n" for ch in value)
        or _not_text_in_yaml11(value)
    ):
        from ruamel.yaml.scalarstring import DoubleQuotedScalarString

        return DoubleQuotedScalarString(value)
    return value


def _not_text_in_yaml11(value: str) -> bool:
    import yaml

    resolver = yaml.resolver.Resolver()  # PyYAML ships no types for it
    tag = resolver.resolve(yaml.ScalarNode, value, (True, False))  # type: ignore[no-untyped-call]
    return bool(tag != "tag:yaml.org,2002:str")


def assign(parent: Any, key: str | int, value: Any) -> None:
    """Set `parent[key]` (a mapping's key or an existing list index) to `value`, quoted
    where needed; RecordError if `parent` cannot hold it."""
    value = scalar(value)
    if isinstance(parent, list) and isinstance(key, int):
        if key >= len(parent):
            raise RecordError(f"list index {key} is out of range ({len(parent)} items)")
        parent[key] = value
    elif isinstance(parent, dict):
        parent[key] = value
    else:
        raise RecordError(f"cannot set '{key}' inside a {type(parent).__name__}")


def list_at(parent: Any, key: str | int, *, create: bool) -> list[Any]:
    """The list at `parent[key]` (made empty first if absent and `create`); RecordError if
    there is none."""
    if isinstance(parent, dict) and key not in parent and create:
        parent[key] = []
    items = parent.get(key) if isinstance(parent, dict) else None
    if not isinstance(items, list):
        raise RecordError(f"'{key}' is not a list field", hint="use `memkb set` for it")
    return items
