"""Authoring memory as library calls: create, record, edit, deprecate, delete (and read,
from memkb.write.read: `show` and `list_records` are re-exported here).

Every write goes through `memkb.write.transaction.write` (lock, validation, atomic file,
one commit with trailers). Edits are round-trip (`memkb.records.edit`): every line
outside the edited ones keeps its bytes (comments, key order, quoting, flow lists).

    from memkb.write.authoring import record_outcome
    result = record_outcome(root, {"project": "Shop", "outcome": "success", ...})
"""

from __future__ import annotations

import copy
import re
import unicodedata
from collections.abc import Mapping
from datetime import date
from pathlib import Path
from typing import Any

from memkb.errors import RecordError, UsageError
from memkb.kb.index import Vocabulary
from memkb.kb.layout import SCHEMA_VERSIONS, VOCABULARY_FILE, check_kind, record_relpath
from memkb.kb.refs import refs_of
from memkb.kb.snapshot import Snapshot
from memkb.records import edit as yamledit
from memkb.records.load import MAX_DEPTH, MAX_EXPANDED_NODES, MAX_INT, load_bytes
from memkb.write.journal import read_file
from memkb.write.read import canonical_name as _resolve

# show and list_records are re-exported: memkb.write.authoring is their documented home.
from memkb.write.read import list_records as list_records
from memkb.write.read import not_found as _missing
from memkb.write.read import record_path as _relpath
from memkb.write.read import show as show
from memkb.write.transaction import Edit, Target, WriteOptions, WriteResult, write

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

    Raises UsageError for a repeated key, for an integer beyond MAX_INT (KB112), for
    aliases that expand past the limits of a knowledge file (a self-referring alias
    does): none can be written; and for text that is not UTF-8 (undecodable bytes arrive
    as lone surrogates)."""
    import yaml  # the reference reader (PyYAML): `memkb record` never needs it

    from memkb.records.readers import IntegerOutOfRange, KbLoader

    _check_utf8(text)
    loader = KbLoader(text)  # a safe loader
    loader.duplicates = []
    try:
        value = loader.get_single_data()
    except IntegerOutOfRange as exc:
        raise UsageError(
            f"KB112 the value given holds an integer beyond ±{MAX_INT}",
            hint="give a smaller number, or quote it to store it as text",
        ) from exc
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


def _check_utf8(text: str) -> None:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise UsageError(
            "the value given is not UTF-8 text", hint="give the value as UTF-8"
        ) from exc


def value_from_text(
    root: Path, kind: str, field: str, text: str, *, item: bool = False, as_yaml: bool = False
) -> Any:
    """What command-line `text` means for `field` of `kind` (for an item of that list if
    `item`): the text as given where the schema wants text, since reading "Review check:
    keep comments" as YAML would make it a mapping; `parse_value` for any other field, or
    for every field with `as_yaml`. Raises UsageError as parse_value does."""
    if not as_yaml and _is_text(_field_schema(root, kind, yamledit.field_steps(field), item)):
        _check_utf8(text)
        return text
    return parse_value(text)


def _field_schema(
    root: Path, kind: str, steps: list[str | int], item: bool
) -> dict[str, Any] | None:
    """The schema of the value at `steps` (of one of its items if `item`), $refs inside
    the document followed; None where the schema does not say."""
    from memkb.records.schema import Schemas

    if kind not in EDITABLE_KINDS and kind not in ("outcome",):
        return None
    doc = Schemas(root).document(kind)
    node: Any = _deref(doc, doc)
    for step in [*steps, *([0] if item else [])]:
        if isinstance(step, int):
            node = node.get("items")
        else:
            node = node.get("properties", {}).get(step, node.get("additionalProperties"))
        if not isinstance(node, dict):
            return None
        node = _deref(doc, node)
    return node if isinstance(node, dict) else None


def _deref(doc: dict[str, Any], node: dict[str, Any]) -> dict[str, Any]:
    for _ in range(MAX_DEPTH):  # a $ref cycle ends here, not in a hang
        ref = node.get("$ref")
        if not (isinstance(ref, str) and ref.startswith("#/")):
            return node
        target: Any = doc
        for part in ref[2:].split("/"):
            target = target.get(part, {}) if isinstance(target, dict) else {}
        siblings = {k: v for k, v in node.items() if k != "$ref"}
        node = {**target, **siblings} if isinstance(target, dict) else siblings
    return node


def _is_text(spec: dict[str, Any] | None) -> bool:
    """True if the schema `spec` admits text only (a string type, or an enum of strings)."""
    if not spec:
        return False
    kinds = spec.get("type")
    if kinds is not None:
        return kinds == "string" or (isinstance(kinds, list) and set(kinds) == {"string"})
    values = spec.get("enum", [spec["const"]] if "const" in spec else [])
    return isinstance(values, list) and bool(values) and all(isinstance(v, str) for v in values)


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
    from memkb.records.schema import Schemas

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
    full = {"kind": kind, "schema_version": SCHEMA_VERSIONS[kind], **doc}
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
        doc = canonical_names(kind, full, _vocabulary(target.read(VOCABULARY_FILE)))
        return Edit(kind, rid, "add", {relpath: _render(kind, doc, relpath)})

    return write(root, plan, options)


def record_outcome(
    root: Path,
    fields: Mapping[str, Any],
    options: WriteOptions = WriteOptions(),
    *,
    today: date | None = None,
    brief_id: str | None = None,
) -> WriteResult:
    """Record one project outcome as kb/outcomes/<yyyy>/<date>-<slug>[-N].yaml.

    `date` defaults to today; a file name already taken gets the next free
    suffix (-2, -3, ...), never an overwrite. With `brief_id` (of a `recommend` or
    `brief` answer) the outcome's `advice` field says which of that advice the project
    followed and ignored (memkb.advice.followed). Raises RecordError if the outcome
    does not validate or the brief_id does not resolve, UsageError for a malformed
    brief_id or an `advice` field in `fields` (nothing is written then).
    """
    if "advice" in fields:  # derived, like every figure: never typed by the caller
        raise UsageError(
            "an outcome's 'advice' field is computed, not given",
            hint="pass the brief's id instead: --brief-id ID (Python: brief_id=...)",
        )
    doc: dict[str, Any] = {"kind": "outcome", "schema_version": SCHEMA_VERSIONS["outcome"]}
    doc["id"] = ""
    doc.update({k: v for k, v in fields.items() if v is not None and k not in ("kind", "id")})
    doc["schema_version"] = fields.get("schema_version", SCHEMA_VERSIONS["outcome"])
    doc.setdefault("date", (today or date.today()).isoformat())
    if brief_id is not None:
        doc["advice"] = _advice_followed(root, brief_id, doc)
    stem = f"{doc['date']}-{slugify(str(doc.get('project', '')))}"

    def plan(target: Target) -> Edit:
        rid, number = stem, 1
        while target.exists(record_relpath("outcome", rid)):
            number += 1
            rid = f"{stem}-{number}"
        doc["id"] = rid
        relpath = record_relpath("outcome", rid)
        canonical = canonical_names("outcome", doc, _vocabulary(target.read(VOCABULARY_FILE)))
        return Edit("outcome", rid, "record", {relpath: _render("outcome", canonical, relpath)})

    return write(root, plan, options)


def _advice_followed(root: Path, brief_id: str, doc: Mapping[str, Any]) -> dict[str, Any]:
    """The outcome's `advice` field: the brief recomputed at its commit, compared with the
    template, patterns and failures `doc` says the project applied and met."""
    from memkb.advice.followed import compare_advice, resolve_brief

    return compare_advice(resolve_brief(root, brief_id), doc)


def _render(kind: str, doc: Mapping[str, Any], relpath: str) -> bytes:
    from memkb.records.render import render_record

    try:
        raw = render_record(kind, doc, relpath).encode()
    except (TypeError, ValueError) as exc:  # a value YAML cannot hold; a key too long
        raise RecordError(
            f"cannot write this {kind}: {exc}",
            hint="values must be text, numbers, booleans, lists or mappings, keys short",
        ) from exc
    # The fast reader where its pre-filter proves it reads as the reference reader does
    # (a rendered record usually: no PyYAML to import), the reference reader elsewhere.
    loaded = load_bytes(raw, relpath)
    if loaded.doc is not None and loaded.doc != dict(doc):
        # Never write a file that reads back as something else than what was given.
        raise RecordError(
            f"{relpath}: this {kind} would not read back as the values given",
            hint="check the values for control characters or unusual line breaks",
        )
    return raw


# -- vocabulary names ------------------------------------------------------------------


def _vocabulary(raw: bytes | None) -> Vocabulary:
    doc = load_bytes(raw, VOCABULARY_FILE).doc if raw is not None else None
    return Vocabulary.from_doc(doc) if isinstance(doc, dict) else Vocabulary()


def canonical_names(kind: str, doc: Mapping[str, Any], vocab: Vocabulary) -> dict[str, Any]:
    """A copy of `doc` in which every droid, domain and phase named by an alias carries
    its canonical name instead (`ecommerce` -> `e-commerce`): memory stores one spelling,
    so filters and metrics see one name."""
    out = copy.deepcopy(dict(doc))
    for ref in refs_of(kind, out):
        name = _resolve(vocab, ref.target, ref.value)
        if name != ref.value:
            parent: Any = out
            for step in ref.path[:-1]:
                parent = parent[step]
            parent[ref.path[-1]] = name
    return out


def canonical_value(root: Path, kind: str, field: str, value: Any, *, item: bool) -> Any:
    """`value` for `field` (a list item of it if `item`) with vocabulary aliases replaced
    by their canonical names, by the same reference table validation uses."""
    steps = yamledit.field_steps(field)
    if not steps:
        return value
    # A one-path document holding just the value; a list index becomes a one-item list
    # (the reference table matches any item, and `phases.99999999` must not allocate).
    wrapped: Any = [value] if item else value
    for step in reversed(steps):
        wrapped = [wrapped] if isinstance(step, int) else {step: wrapped}
    vocab = _vocabulary(read_file(root / VOCABULARY_FILE))
    node: Any = canonical_names(kind, wrapped, vocab) if isinstance(wrapped, dict) else wrapped
    for step in steps:
        node = node[0 if isinstance(step, int) else step]
    return node[0] if item else node


# -- edit ------------------------------------------------------------------------------


def set_field(
    root: Path, kind: str, rid: str, field: str, value: Any, options: WriteOptions = WriteOptions()
) -> WriteResult:
    """Set `field` (dotted for nested: `prior.weight`, `phases.0.name`) to `value`."""
    value = canonical_value(root, kind, field, value, item=False)
    return _edit(
        root,
        kind,
        rid,
        field,
        options,
        f"set {field}",
        lambda parent, key: yamledit.assign(parent, key, value),
    )


def add_item(
    root: Path, kind: str, rid: str, field: str, value: Any, options: WriteOptions = WriteOptions()
) -> WriteResult:
    """Append `value` to the list `field` (created if absent); RecordError if already there."""
    value = canonical_value(root, kind, field, value, item=True)

    def change(parent: Any, key: str | int) -> None:
        items = yamledit.list_at(parent, key, create=True)
        if value in items:
            raise RecordError(f"{field} already holds {value!r}", hint="nothing to add")
        items.append(yamledit.scalar(value))

    return _edit(root, kind, rid, field, options, f"add to {field}", change)


def remove_item(
    root: Path, kind: str, rid: str, field: str, value: Any, options: WriteOptions = WriteOptions()
) -> WriteResult:
    """Remove `value` from the list `field`; RecordError if it is not there."""
    value = canonical_value(root, kind, field, value, item=True)

    def change(parent: Any, key: str | int) -> None:
        items = yamledit.list_at(parent, key, create=False)
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
        yamledit.assign(doc, "status", "deprecated")
        if superseded_by:
            yamledit.assign(doc, "superseded_by", superseded_by)

    detail = f"superseded by {superseded_by}" if superseded_by else ""
    return _edit(root, kind, rid, "", options, detail, change, action="deprecate")


def rename(kind: str, rid: str) -> None:
    """Always raises UsageError: ids are permanent (history and outcomes cite them); an
    unknown kind is named as such."""
    check_kind(kind)
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
        citing = referrers_in(target.snapshot, kind, rid)
        if citing:
            raise RecordError(
                f"{kind} '{rid}' is referred to by {len(citing)} record(s); not deleted",
                findings=list[object](citing),
                hint=f"deprecate it instead: `memkb deprecate {kind} {rid}`",
            )
        return Edit(kind, rid, "delete", {relpath: None})

    return write(root, plan, options)


def referrers_in(snapshot: Snapshot, kind: str, rid: str) -> list[str]:
    """`path: field` of every reference to record `kind`/`rid` in `snapshot`."""
    from memkb.validation.engine import validate

    found = []
    records = validate(snapshot).index.records.values()
    for record in sorted(records, key=lambda r: (r.kind, r.id)):
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
    steps = yamledit.field_steps(field)
    if steps and steps[0] in PERMANENT_FIELDS:
        if steps[0] == "id":
            rename(kind, rid)
        raise UsageError(f"'{steps[0]}' is fixed for every record", hint="edit another field")
    relpath = _relpath(kind, rid)

    def plan(target: Target) -> Edit:
        raw = target.read(relpath)
        if raw is None:
            raise _missing(kind, rid)
        edited = yamledit.edit_text(raw, relpath, steps, change)
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
