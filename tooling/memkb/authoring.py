"""Authoring memory as library calls: create, record, edit, deprecate, delete, read.

Every write goes through `memkb.writer.write` (lock, validation, atomic file,
one commit with trailers). Edits are round-trip: the file is re-emitted by
ruamel.yaml and spliced so that every line outside the edited ones keeps its
bytes (comments, key order, quoting, flow lists).

    from memkb.authoring import record_outcome
    result = record_outcome(root, {"project": "Shop", "outcome": "success", ...})
"""

from __future__ import annotations

import difflib
import io
import itertools
import re
import unicodedata
from collections.abc import Mapping, Sequence
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from memkb.errors import RecordError, UsageError
from memkb.index import Record
from memkb.layout import check_kind, record_relpath
from memkb.render import FIELD_ORDER
from memkb.writer import Edit, Target, WriteOptions, WriteResult, write
from memkb.yamlio import MAX_DEPTH, MAX_EXPANDED_NODES, KbLoader, load_bytes

if TYPE_CHECKING:
    from ruamel.yaml import YAML

EDITABLE_KINDS = ("pattern", "failure", "template", "vocabulary")
PERMANENT_FIELDS = ("kind", "schema_version", "id")
APPEND_ONLY_HINT = (
    "outcomes are evidence and append-only: record a new outcome "
    "(`memkb record`) and say in its notes what it corrects"
)


# -- values ----------------------------------------------------------------------------


def parse_value(text: str) -> Any:
    """A command-line value read as YAML (`12` is a number, `[a, b]` a list, dates stay
    strings); text that is not valid YAML is kept as a string.

    Raises UsageError for a repeated key, and for aliases that expand past the limits
    of a knowledge file (a self-referring alias does): neither can be written."""
    loader = KbLoader(text)  # a safe loader
    loader.duplicates = []
    try:
        value = loader.get_single_data()
    except yaml.YAMLError:
        return text
    finally:
        loader.dispose()
    if loader.duplicates:
        key, mark = loader.duplicates[0]
        raise UsageError(
            f"duplicate key '{key}' in the value given (line {mark.line + 1})",
            hint="give each key once",
        )
    if not _bounded(value):
        raise UsageError(
            "the value given expands too far through its aliases",
            hint="write the value out instead of using anchors and aliases",
        )
    return text if value is None and text.strip() not in ("null", "~") else value


def _bounded(value: Any) -> bool:
    """False if `value`, aliases expanded, has more than MAX_EXPANDED_NODES nodes or
    nests deeper than MAX_DEPTH (as a knowledge file may not; a cycle does both)."""
    stack, count = [(value, 0)], 0
    while stack:
        node, depth = stack.pop()
        count += 1
        if count > MAX_EXPANDED_NODES or depth > MAX_DEPTH:
            return False
        if isinstance(node, dict):
            stack.extend((v, depth + 1) for v in node.values())
        elif isinstance(node, list):
            stack.extend((v, depth + 1) for v in node)
    return True


def slugify(text: str) -> str:
    """kebab-case ascii slug of a project name (at most 80 characters), "project" if empty.
    Accents are dropped rather than the letters ("Café" -> "cafe")."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")[:80].strip("-")
    return slug or "project"


def required_fields(root: Path, kind: str) -> list[str]:
    """Fields the schema of `kind` requires, beyond kind, schema_version and id."""
    from memkb.schema import Schemas

    required = Schemas(root).document(kind).get("required", [])
    return [f for f in required if f not in PERMANENT_FIELDS]


# -- create ----------------------------------------------------------------------------


def check_same_kind(kind: str, doc: Mapping[str, Any]) -> None:
    """Raise UsageError if `doc` names a kind other than `kind`."""
    if doc.get("kind", kind) != kind:
        raise UsageError(
            f"the record says kind '{doc['kind']}' but `new {kind}` was asked for",
            hint=f"run `memkb new {doc['kind']} ...`, or drop 'kind' from the input",
        )


def new_record(
    root: Path, kind: str, doc: Mapping[str, Any], options: WriteOptions = WriteOptions()
) -> WriteResult:
    """Create the record `doc` (must carry its `id`) of `kind` as a new file.

    Raises UsageError for a kind that cannot be created, RecordError if the
    record exists already or does not validate.
    """
    if kind not in ("pattern", "failure", "template"):
        raise UsageError(
            f"cannot create a record of kind '{kind}' with `new`",
            hint="use `memkb record` for an outcome; new: pattern, failure, template",
        )
    check_same_kind(kind, doc)
    full = {"kind": kind, "schema_version": 1, **doc}
    rid = str(full.get("id", ""))
    if not rid:
        raise UsageError("the new record has no id", hint="give it as `memkb new KIND ID`")
    relpath = _relpath(kind, rid)

    def plan(target: Target) -> Edit:
        if target.exists(relpath):
            raise RecordError(
                f"{relpath} exists already; ids are never reused",
                hint=f"edit it with `memkb set {kind} {rid} FIELD VALUE`",
            )
        return Edit(kind, rid, "add", {relpath: _render(kind, full, relpath)})

    return write(root, plan, options)


def record_outcome(
    root: Path,
    fields: Mapping[str, Any],
    options: WriteOptions = WriteOptions(),
    *,
    today: date | None = None,
) -> WriteResult:
    """Record one project outcome as kb/outcomes/<yyyy>/<date>-<slug>[-N].yaml.

    `date` defaults to today; a file name already taken gets the next free
    suffix (-2, -3, ...), never an overwrite. Raises RecordError if the outcome
    does not validate (nothing is written then).
    """
    doc: dict[str, Any] = {"kind": "outcome", "schema_version": 1, "id": ""}
    doc.update({k: v for k, v in fields.items() if v is not None and k not in ("kind", "id")})
    doc["schema_version"] = fields.get("schema_version", 1)
    doc.setdefault("date", (today or date.today()).isoformat())
    stem = f"{doc['date']}-{slugify(str(doc.get('project', '')))}"

    def plan(target: Target) -> Edit:
        rid, number = stem, 1
        while target.exists(record_relpath("outcome", rid)):
            number += 1
            rid = f"{stem}-{number}"
        doc["id"] = rid
        relpath = record_relpath("outcome", rid)
        return Edit("outcome", rid, "record", {relpath: _render("outcome", doc, relpath)})

    return write(root, plan, options)


def _render(kind: str, doc: Mapping[str, Any], relpath: str) -> bytes:
    from memkb.render import render_record

    try:
        raw = render_record(kind, doc, relpath).encode()
    except (TypeError, ValueError) as exc:  # a value YAML cannot hold; a key too long
        raise RecordError(
            f"cannot write this {kind}: {exc}",
            hint="values must be text, numbers, booleans, lists or mappings, keys short",
        ) from exc
    loaded = load_bytes(raw, relpath)
    if loaded.doc is not None and loaded.doc != dict(doc):
        # Never write a file that reads back as something else than what was given.
        raise RecordError(
            f"{relpath}: this {kind} would not read back as the values given",
            hint="check the values for control characters or unusual line breaks",
        )
    return raw


# -- edit ------------------------------------------------------------------------------


def set_field(
    root: Path, kind: str, rid: str, field: str, value: Any, options: WriteOptions = WriteOptions()
) -> WriteResult:
    """Set `field` (dotted for nested: `prior.weight`, `phases.0.name`) to `value`."""
    return _edit(
        root,
        kind,
        rid,
        field,
        options,
        f"set {field}",
        lambda parent, key: _assign(parent, key, value),
    )


def add_item(
    root: Path, kind: str, rid: str, field: str, value: Any, options: WriteOptions = WriteOptions()
) -> WriteResult:
    """Append `value` to the list `field` (created if absent); RecordError if already there."""

    def change(parent: Any, key: str | int) -> None:
        items = _list_at(parent, key, create=True)
        if value in items:
            raise RecordError(f"{field} already holds {value!r}", hint="nothing to add")
        items.append(_scalar(value))

    return _edit(root, kind, rid, field, options, f"add to {field}", change)


def remove_item(
    root: Path, kind: str, rid: str, field: str, value: Any, options: WriteOptions = WriteOptions()
) -> WriteResult:
    """Remove `value` from the list `field`; RecordError if it is not there."""

    def change(parent: Any, key: str | int) -> None:
        items = _list_at(parent, key, create=False)
        if value not in items:
            shown = ", ".join(repr(i) for i in items) or "nothing"
            raise RecordError(f"{field} does not hold {value!r}", hint=f"it holds: {shown}")
        items.remove(value)

    return _edit(root, kind, rid, field, options, f"remove from {field}", change)


def deprecate(
    root: Path,
    kind: str,
    rid: str,
    superseded_by: str | None = None,
    options: WriteOptions = WriteOptions(),
) -> WriteResult:
    """Mark a record `status: deprecated` (and `superseded_by`); it stays for history."""

    def change(doc: Any, _key: str | int) -> None:
        if doc.get("status") == "deprecated" and doc.get("superseded_by") == superseded_by:
            raise RecordError(f"{kind} '{rid}' is deprecated already", hint="nothing to do")
        _assign(doc, "status", "deprecated")
        if superseded_by:
            _assign(doc, "superseded_by", superseded_by)

    detail = f"superseded by {superseded_by}" if superseded_by else ""
    return _edit(root, kind, rid, "", options, detail, change, action="deprecate")


def rename(kind: str, rid: str) -> None:
    """Always raises UsageError: ids are permanent (history and outcomes cite them)."""
    raise UsageError(
        f"{kind} ids are permanent: '{rid}' cannot be renamed",
        hint=f"create the record under its new id with `memkb new {kind} NEW_ID`, "
        f"then `memkb deprecate {kind} {rid} --superseded-by NEW_ID`",
    )


def delete(root: Path, kind: str, rid: str, options: WriteOptions = WriteOptions()) -> WriteResult:
    """Delete a record; RecordError listing the records that still refer to it."""
    _check_editable(kind, rid)
    relpath = _relpath(kind, rid)

    def plan(target: Target) -> Edit:
        if target.read(relpath) is None:
            raise _missing(kind, rid)
        citing = referrers(root, kind, rid)
        if citing:
            raise RecordError(
                f"{kind} '{rid}' is referred to by {len(citing)} record(s); not deleted",
                findings=list[object](citing),
                hint=f"deprecate it instead: `memkb deprecate {kind} {rid}`",
            )
        return Edit(kind, rid, "delete", {relpath: None})

    return write(root, plan, options)


def referrers(root: Path, kind: str, rid: str) -> list[str]:
    """`path: field` of every reference to record `kind`/`rid` in the KB."""
    found = []
    for record in sorted(_indexed(root), key=lambda r: (r.kind, r.id)):
        for target, value, path in record.refs:
            if target == kind and value == rid and (record.kind, record.id) != (kind, rid):
                found.append(f"{record.relpath}: {'.'.join(map(str, path))}")
    return sorted(found)


def _edit(
    root: Path,
    kind: str,
    rid: str,
    field: str,
    options: WriteOptions,
    detail: str,
    change: Any,
    *,
    action: str = "update",
) -> WriteResult:
    _check_editable(kind, rid)
    steps = _steps(field)
    if steps and steps[0] in PERMANENT_FIELDS:
        if steps[0] == "id":
            rename(kind, rid)
        raise UsageError(f"'{steps[0]}' is fixed for every record", hint="edit another field")
    relpath = _relpath(kind, rid)

    def plan(target: Target) -> Edit:
        raw = target.read(relpath)
        if raw is None:
            raise _missing(kind, rid)
        edited = edit_text(raw, relpath, steps, change)
        if edited == raw:
            # A commit that changes nothing would still tell history "update".
            raise RecordError(
                f"{relpath} holds that already; nothing was written", hint="nothing to do"
            )
        return Edit(kind, rid, action, {relpath: edited}, detail)

    return write(root, plan, options)


def _check_editable(kind: str, rid: str) -> None:
    if kind == "outcome":
        raise UsageError(f"outcome '{rid}' cannot be changed", hint=APPEND_ONLY_HINT)
    if kind not in EDITABLE_KINDS:
        raise UsageError(f"unknown kind '{kind}'", hint=f"use one of: {', '.join(EDITABLE_KINDS)}")


def _relpath(kind: str, rid: str) -> str:
    """The path of record `kind`/`rid`; UsageError for an unknown kind, or for an id that
    is not a plain file name (one holding '/' or starting with '.' would name a file
    outside the kind's folder, e.g. `rm failure ../patterns/x`)."""
    check_kind(kind)
    if not rid or "/" in rid or "\0" in rid or rid.startswith("."):
        raise UsageError(
            f"'{rid}' is not a record id",
            hint=f"give the file name of the record without .yaml (see `memkb list --kind {kind}`)",
        )
    return record_relpath(kind, rid)


def _missing(kind: str, rid: str) -> RecordError:
    return RecordError(
        f"no {kind} '{rid}' ({record_relpath(kind, rid)} does not exist)",
        hint=f"list them with `memkb list --kind {kind}`",
    )


# -- round-trip ------------------------------------------------------------------------


def _yaml(text: str) -> YAML:
    # ruamel is imported here, not at the top: `memkb record` never needs it.
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
    except YAMLError:
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
    if _yaml(after).load(after) != doc:  # a safety net: never write what reads back otherwise
        raise RecordError(
            f"{relpath}: the edited file would not read back as the values given",
            hint="avoid control characters and unusual line breaks in the value",
        )
    return after.encode("utf-8")


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
        start = to_orig.get(i1, to_orig.get(i1 - 1, cursor - 1) + 1)
        end = to_orig[i2 - 1] + 1 if i2 > i1 and (i2 - 1) in to_orig else start
        if start < cursor:
            return after  # the edit overlaps lines ruamel rewrote: take its text whole
        out += orig[cursor:start] + new[j1:j2]
        cursor = end
    return "".join(out + orig[cursor:])


def _steps(field: str) -> list[str | int]:
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


def _scalar(value: Any) -> Any:
    """`value`, double-quoted where YAML would otherwise fold or drop characters of it
    (control characters, NEL and the Unicode line and paragraph separators)."""
    if isinstance(value, str) and any(
        unicodedata.category(ch) in ("Cc", "Cf", "Zl", "Zp") and ch != "\n" for ch in value
    ):
        from ruamel.yaml.scalarstring import DoubleQuotedScalarString

        return DoubleQuotedScalarString(value)
    return value


def _assign(parent: Any, key: str | int, value: Any) -> None:
    value = _scalar(value)
    if isinstance(parent, list) and isinstance(key, int):
        if key >= len(parent):
            raise RecordError(f"list index {key} is out of range ({len(parent)} items)")
        parent[key] = value
    elif isinstance(parent, dict):
        parent[key] = value
    else:
        raise RecordError(f"cannot set '{key}' inside a {type(parent).__name__}")


def _list_at(parent: Any, key: str | int, *, create: bool) -> list[Any]:
    if isinstance(parent, dict) and key not in parent and create:
        parent[key] = []
    items = parent.get(key) if isinstance(parent, dict) else None
    if not isinstance(items, list):
        raise RecordError(f"'{key}' is not a list field", hint="use `memkb set` for it")
    return items


# -- read ------------------------------------------------------------------------------


def show(root: Path, kind: str, rid: str) -> Record:
    """The record `kind`/`rid`, read from its own file; RecordError if there is none or it
    cannot be parsed; UsageError for an unknown kind or an id that is not a file name."""
    relpath = _relpath(kind, rid)
    try:
        raw = (root / relpath).read_bytes()
    except (FileNotFoundError, NotADirectoryError):
        raise _missing(kind, rid) from None
    loaded = load_bytes(raw, relpath)
    if loaded.doc is None:
        raise RecordError(f"{relpath} cannot be read", findings=list[object](loaded.findings))
    return Record(kind, rid, relpath, loaded.doc)


def list_records(
    root: Path,
    *,
    kind: str | None = None,
    domain: str | None = None,
    phase: str | None = None,
    droid: str | None = None,
) -> list[Record]:
    """Records filtered by kind, domain, phase and droid (each optional), by kind then id.

    Filters run on the validation engine's cached index (references included), so only
    the records listed are parsed in full. Raises UsageError for an unknown kind.
    """
    if kind is not None:
        check_kind(kind)
    wanted = {"domain": domain, "phase": phase, "droid": droid}
    found = []
    for record in sorted(_indexed(root), key=lambda r: (r.kind, r.id)):
        if record.kind == "vocabulary" or kind not in (None, record.kind):
            continue
        names = {(target, value) for target, value, _ in record.refs}
        if all(v is None or (t, v) in names for t, v in wanted.items()):
            found.append(_full(root, record))
    return found


def _indexed(root: Path) -> list[Record]:
    from memkb.validate import validate_repo

    return list(validate_repo(root).index.records.values())


def _full(root: Path, record: Record) -> Record:
    loaded = load_bytes((root / record.relpath).read_bytes(), record.relpath)
    doc = loaded.doc if isinstance(loaded.doc, dict) else record.doc
    return Record(record.kind, record.id, record.relpath, doc, record.refs)
