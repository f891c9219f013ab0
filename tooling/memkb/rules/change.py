"""Rules about a change to memory (KB4xx): permanent ids, append-only evidence, referenced
records, hand-edited figures, schema versions and size limits.

Each rule is a small function over the change set (and the head index) with a stable
code in memkb.rules.codes; `run_rules` lists them explicitly.
"""

from __future__ import annotations

import difflib
import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from memkb.findings import Finding, error, warning
from memkb.kb.index import Index
from memkb.kb.layout import location_of
from memkb.records.schema import _inline_local_refs
from memkb.rules.base import Issue
from memkb.rules.locate import locate

if TYPE_CHECKING:
    from memkb.records.changes import FileChange

MAX_LISTED = 10  # referrers named in one message; the rest are counted
PRIOR_KINDS = ("pattern", "template", "failure")


@dataclass(frozen=True)
class Limits:
    """Size limits of a change: per file (bytes) and per change (files, total bytes)."""

    file_bytes: int = 64 * 1024
    change_files: int = 500
    change_bytes: int = 4 * 1024 * 1024


@dataclass
class Context:
    """What every change rule sees: the changes (with their parsed documents) and the
    head index."""

    changes: list[FileChange]
    index: Index
    limits: Limits


ChangeRule = Callable[[Context], Iterator[Finding]]


def run_rules(changes: list[FileChange], index: Index, limits: Limits | None) -> list[Finding]:
    """Findings of every change rule."""
    ctx = Context(changes, index, limits or Limits())
    return [finding for rule in CHANGE_RULES for finding in rule(ctx)]


# ------------------------------------------------------------------------- renames


def pair_renames(changes: list[FileChange]) -> list[FileChange]:
    """Turn a deletion plus an addition of the same record into one rename or move.

    Same record: identical bytes, identical documents apart from `id`, or (same kind)
    text at least 80% similar. Same id at a new path is a move; a new id is a rename."""
    deleted = [c for c in changes if c.status == "deleted" and c.kind is not None]
    added = [c for c in changes if c.status == "added" and c.kind is not None]
    if not (deleted and added):
        return sorted(changes, key=lambda c: c.path)
    # Each side's document once, not once per candidate pair (a change may delete and
    # add hundreds of records).
    bodies = {id(c): _body(c.old_doc) for c in deleted}
    bodies.update({id(c): _body(c.new_doc) for c in added})
    pairs: dict[int, FileChange] = {}
    used: set[int] = set()
    for gone in deleted:
        match = next((a for a in added if id(a) not in used and _same(gone, a, bodies)), None)
        if match is not None:
            used.add(id(match))
            same_id = location_of(gone.path).stem == location_of(match.path).stem
            pairs[id(gone)] = replace(
                match, status="moved" if same_id else "renamed", old_path=gone.path, old=gone.old
            )
    out = [pairs.get(id(c), c) for c in changes if id(c) not in used]
    return sorted(out, key=lambda c: c.path)


def _body(doc: dict[str, Any] | None) -> dict[str, Any] | None:
    """The document's fields other than `id` (None if missing or not a mapping)."""
    return None if doc is None else {k: v for k, v in doc.items() if k != "id"}


def _same(gone: FileChange, new: FileChange, bodies: dict[int, dict[str, Any] | None]) -> bool:
    if gone.old is None or new.new is None:
        return False
    if gone.old == new.new:
        return True
    body = bodies[id(gone)]
    if body and body == bodies[id(new)]:
        return True
    if gone.kind != new.kind:
        return False
    matcher = difflib.SequenceMatcher(None, gone.old, new.new, autojunk=False)
    return matcher.real_quick_ratio() >= 0.8 and matcher.ratio() >= 0.8


# --------------------------------------------------------------------------- rules


def permanent_ids(ctx: Context) -> Iterator[Finding]:
    """KB401: a record keeps its id (and kind) once merged: a rename is reported as one."""
    for change in ctx.changes:
        if change.status == "renamed" or (
            change.status == "moved" and change.old_kind != change.kind
        ):
            old = location_of(str(change.old_path))
            yield _at(
                change,
                ("id",),
                "KB401",
                f"{change.old_kind} '{old.stem}' ({change.old_path}) renamed to "
                f"{change.kind} '{location_of(change.path).stem}': ids are permanent",
                "keep the old record: mark it status: deprecated with superseded_by: <new id>",
            )


def append_only_outcomes(ctx: Context) -> Iterator[Finding]:
    """KB402: a merged outcome is evidence: it is never edited or deleted."""
    for change in ctx.changes:
        if change.old_kind != "outcome" or change.old is None:
            continue
        if change.status == "moved" and change.old == change.new:
            continue  # same bytes, same id, new folder: nothing the evidence says changed
        if change.status == "modified" and _only_version_raised(change.old, change.new):
            continue  # a schema migration: the evidence is the same bytes otherwise
        verb = "deleted" if change.status == "deleted" else "edited"
        yield error(
            change.path,
            "KB402",
            f"merged outcome {change.old_path} {verb}: outcomes are append-only evidence",
            line=_first_difference(change.old, change.new),
            hint="record a new outcome instead; a reviewed correction needs an entry "
            "(code: KB402, path, sha256 of the corrected file, reason, reviewer) in "
            "kb/.memkb-allow.yaml",
        )


_VERSION_LINE = re.compile(rb"(?m)^schema_version: *([0-9]+) *$")


def _only_version_raised(old: bytes, new: bytes | None) -> bool:
    """True when `new` is `old` with only its schema_version line raised: the migration
    every record of a bumped schema needs (the schema itself validates the new value)."""
    if new is None:
        return False
    was, now = _VERSION_LINE.search(old), _VERSION_LINE.search(new)
    if was is None or now is None or int(now.group(1)) <= int(was.group(1)):
        return False
    return _VERSION_LINE.sub(b"schema_version: _", old, 1) == _VERSION_LINE.sub(
        b"schema_version: _", new, 1
    )


def referenced_deletions(ctx: Context) -> Iterator[Finding]:
    """KB403: a record removed (deleted or renamed away) must not be referenced any more."""
    gone = {
        (change.old_kind, location_of(str(change.old_path)).stem): change
        for change in ctx.changes
        if change.old_kind in PRIOR_KINDS
        and (change.status == "deleted" or change.status == "renamed")
    }
    if not gone:
        return
    for (kind, rid), change in sorted(gone.items(), key=lambda kv: str(kv[0])):
        users = _referrers(ctx.index, str(kind), rid, outcomes=True)
        if users:
            yield error(
                str(change.old_path),
                "KB403",
                f"{kind} '{rid}' is removed but still referenced by {_listing(users)}",
                hint="update those records in the same change, or deprecate instead of deleting",
            )


def referenced_deprecations(ctx: Context) -> Iterator[Finding]:
    """KB404: a record deprecated in this change is no longer referred to by other knowledge
    (e.g. as another record's successor). Outcomes may keep citing it: they record what
    was applied at the time."""
    for change in ctx.changes:
        if change.kind not in PRIOR_KINDS or change.new is None:
            continue
        old, new = change.old_doc, change.new_doc
        if new is None or new.get("status") != "deprecated":
            continue
        if old is not None and old.get("status") == "deprecated":
            continue
        rid = location_of(change.path).stem
        users = _referrers(ctx.index, str(change.kind), rid, outcomes=False)
        if users:
            successor = new.get("superseded_by")
            yield _at(
                change,
                ("status",),
                "KB404",
                f"{change.kind} '{rid}' is deprecated but still used by {_listing(users)}",
                f"make them refer to '{successor}' in the same change"
                if successor
                else "update those records in the same change",
            )


def hand_edited_figures(ctx: Context) -> Iterator[Finding]:
    """KB405: a merged record's declared prior (rate, weight) is not edited by hand:
    figures move with evidence, which is what outcome records are for. A record moved
    to another folder is the same record (a rename, or a move to another kind, is KB401)."""
    for change in ctx.changes:
        same_record = change.status in ("modified", "moved") and change.old_kind == change.kind
        if not same_record or change.kind not in PRIOR_KINDS:
            continue
        old, new = change.old_doc, change.new_doc
        if old is None or new is None:
            continue
        old_prior, new_prior = _mapping(old.get("prior")), _mapping(new.get("prior"))
        for key in sorted(set(old_prior) | set(new_prior)):
            if key != "source" and old_prior.get(key) != new_prior.get(key):
                yield _at(
                    change,
                    ("prior", key) if key in new_prior else ("prior",),
                    "KB405",
                    f"prior.{key} edited by hand ({old_prior.get(key)} -> "
                    f"{new_prior.get(key)}): declared figures are fixed once merged",
                    "record outcomes to move the figure; a reviewed correction needs an "
                    "entry (code: KB405, path, sha256 of the file, reason, reviewer) in "
                    "kb/.memkb-allow.yaml",
                )


def schema_versions(ctx: Context) -> Iterator[Finding]:
    """KB406: a changed schema bumps its schema_version (records are then migrated in the
    same change: validation of the head state checks every record against it)."""
    for change in ctx.changes:
        if not change.path.startswith("schemas/") or change.old is None:
            continue
        if change.new is None:
            yield error(change.path, "KB406", "schema deleted", hint="schemas are never removed")
            continue
        old_v, new_v = _schema_version(change.old), _schema_version(change.new)
        if new_v is not None and old_v is not None and new_v > old_v:
            continue
        line = _line_of(change.new, r'"schema_version"\s*:')
        yield error(
            change.path,
            "KB406",
            f"schema changed but its schema_version did not go up (was {old_v}, now {new_v})",
            line=line,
            hint='bump "schema_version": {"const": N+1} and migrate the records in this change',
        )


def schema_widening(ctx: Context) -> Iterator[Finding]:
    """KB412 (warning): a changed schema accepts more than before, field by field (const or
    enum widened, required shrunk, additionalProperties opened, a bound relaxed, a type
    widened), even with schema_version bumped: the change is `structure` risk."""
    for change in ctx.changes:
        if not change.path.startswith("schemas/") or change.old is None or change.new is None:
            continue
        for where, what in schema_widenings(change.old, change.new):
            # The field's key, or for the top level the keyword that changed.
            key = where.rsplit(".", 1)[-1] if where != "schema" else what.split()[0]
            yield warning(
                change.path,
                "KB412",
                f"{where}: {what}",
                line=_line_of(change.new, rf'"{re.escape(key)}"\s*:'),
                hint="the schema now accepts records it rejected: review what it lets in",
            )


def schema_widenings(old_raw: bytes, new_raw: bytes) -> list[tuple[str, str]]:
    """(where, what) for every way the new schema accepts more than the old one; [] when
    either is not valid JSON (that is a finding of its own). Local $defs are inlined
    first, so a widened definition is reported at every field that uses it."""
    try:
        old, new = json.loads(old_raw), json.loads(new_raw)
    except ValueError:
        return []
    if not (isinstance(old, dict) and isinstance(new, dict)):
        return []
    found = list(_widened(_inline_local_refs(old), _inline_local_refs(new), ""))
    if "properties" not in new:  # a file of shared definitions that other schemas refer to
        old_defs, new_defs = _mapping(old.get("$defs")), _mapping(new.get("$defs"))
        for name in sorted(set(old_defs) & set(new_defs)):
            found += _widened(old_defs[name], new_defs[name], f"$defs.{name}")
    return found


_LOWER_BOUNDS = ("minimum", "exclusiveMinimum", "minLength", "minItems", "minProperties")
_UPPER_BOUNDS = ("maximum", "exclusiveMaximum", "maxLength", "maxItems", "maxProperties")
_VERSION_FIELD = "properties.schema_version"  # a version bump is KB406's business


def _widened(old: Any, new: Any, where: str) -> Iterator[tuple[str, str]]:
    if where == _VERSION_FIELD or old is True or old == {}:
        return
    at = where or "schema"
    if new is True or new == {}:
        yield at, "now accepts any value"
        return
    if not (isinstance(old, dict) and isinstance(new, dict)):
        return
    yield from ((at, what) for what in _widened_values(old, new))
    yield from ((at, what) for what in _relaxed_bounds(old, new))
    yield from _widened_object(old, new, where)
    if isinstance(old.get("items"), dict | bool) and "items" in old:
        yield from _widened(old["items"], new.get("items", True), _join(where, "items"))


def _widened_values(old: dict[str, Any], new: dict[str, Any]) -> Iterator[str]:
    """const, enum and type: the values and types the schema allows."""
    if "const" in old and new.get("const") != old["const"]:
        if "const" in new:
            yield f"const {_show(old['const'])} changed to {_show(new['const'])}"
        elif "enum" in new:
            yield f"const {_show(old['const'])} widened to enum {_show(new['enum'])}"
        else:
            yield f"const {_show(old['const'])} removed"
    if isinstance(old.get("enum"), list):
        added = [v for v in new.get("enum", []) if v not in old["enum"]]
        if "enum" not in new and "const" not in new:
            yield f"enum {_show(old['enum'])} removed"
        elif added:
            yield f"enum {_show(old['enum'])} widened to {_show(new['enum'])}"
    old_types, new_types = _types(old), _types(new)
    if old_types is not None and (new_types is None or new_types - old_types):
        shown = "removed" if new_types is None else f"widened to {_show(new['type'])}"
        yield f"type {_show(old['type'])} {shown}"
    for key in ("pattern", "format"):
        if key in old and new.get(key) != old[key]:
            after = f"changed to {_show(new[key])}" if key in new else "removed"
            yield f"{key} {_show(old[key])} {after}"
    if old.get("uniqueItems") is True and new.get("uniqueItems") is not True:
        yield "uniqueItems no longer required"


def _relaxed_bounds(old: dict[str, Any], new: dict[str, Any]) -> Iterator[str]:
    for keys, sign in ((_LOWER_BOUNDS, -1), (_UPPER_BOUNDS, 1)):
        for key in keys:
            before, after = old.get(key), new.get(key)
            if not isinstance(before, int | float):
                continue
            if after is None:
                yield f"{key} {_show(before)} removed"
            elif isinstance(after, int | float) and (after - before) * sign > 0:
                yield f"{key} {_show(before)} relaxed to {_show(after)}"


def _widened_object(
    old: dict[str, Any], new: dict[str, Any], where: str
) -> Iterator[tuple[str, str]]:
    """required, additionalProperties and every declared property."""
    at = where or "schema"
    dropped = sorted(set(_strings(old.get("required"))) - set(_strings(new.get("required"))))
    if dropped:
        yield at, f"required no longer lists {', '.join(dropped)}"
    closed = old.get("additionalProperties", True)
    opened = new.get("additionalProperties", True)
    if closed is not True and closed != {} and (opened is True or opened == {}):
        yield at, f"additionalProperties {_show(closed)} opened to {_show(opened)}"
    old_props, new_props = _mapping(old.get("properties")), _mapping(new.get("properties"))
    for name in sorted(new_props):
        field = _join(where, f"properties.{name}")
        if name in old_props:
            yield from _widened(old_props[name], new_props[name], field)
        elif closed is False:
            yield field, "new field accepted"


def _types(schema: dict[str, Any]) -> set[str] | None:
    declared = schema.get("type")
    if declared is None:
        return None
    return {declared} if isinstance(declared, str) else set(_strings(declared))


def _strings(value: Any) -> list[str]:
    return [v for v in value if isinstance(v, str)] if isinstance(value, list) else []


def _join(where: str, step: str) -> str:
    return f"{where}.{step}" if where else step


def _show(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)


def size_limits(ctx: Context) -> Iterator[Finding]:
    """KB410/KB411: one file, and the whole change, stay within the size limits."""
    limits = ctx.limits
    grown = [c for c in ctx.changes if c.new is not None]
    for change in grown:
        size = len(change.new or b"")
        if size > limits.file_bytes:
            yield error(
                change.path,
                "KB410",
                f"file is {size} bytes, over the per-file limit of {limits.file_bytes}",
                hint="split the record, or shorten its text",
            )
    total = sum(len(c.new or b"") for c in grown)
    if len(ctx.changes) > limits.change_files or total > limits.change_bytes:
        first = ctx.changes[0].path
        yield error(
            first,
            "KB411",
            f"change touches {len(ctx.changes)} files and {total} bytes; the limits are "
            f"{limits.change_files} files and {limits.change_bytes} bytes",
            hint="split the pull request into smaller ones",
        )


CHANGE_RULES: tuple[ChangeRule, ...] = (
    permanent_ids,
    append_only_outcomes,
    referenced_deletions,
    referenced_deprecations,
    hand_edited_figures,
    schema_versions,
    schema_widening,
    size_limits,
)


# ------------------------------------------------------------------------- helpers


def _referrers(index: Index, kind: str, rid: str, *, outcomes: bool) -> list[str]:
    """Paths of the records (at head) that refer to (kind, rid), outcomes only if asked.
    A supersession link counts: a successor that disappears leaves a dead end."""
    found = []
    for record in index.records.values():
        if (record.kind == "outcome" and not outcomes) or (kind, rid) == (record.kind, record.id):
            continue
        if any(t == kind and v == rid for t, v, _ in record.refs):
            found.append(record.relpath)
    return sorted(found)


def _listing(paths: list[str]) -> str:
    shown = ", ".join(paths[:MAX_LISTED])
    more = len(paths) - MAX_LISTED
    return shown + (f" and {more} more" if more > 0 else "")


def _at(change: FileChange, path: tuple[str | int, ...], code: str, msg: str, hint: str) -> Finding:
    """An error at the key `path` in the change's new content (line 1 when there is none)."""
    issue = Issue(change.path, path, code, msg, hint=hint, at_key=True)
    return locate([issue], {change.path: change.new}.get)[0]


def _first_difference(old: bytes, new: bytes | None) -> int:
    """1-based number of the first line that differs (1 when the file is gone)."""
    if new is None:
        return 1
    old_lines, new_lines = old.splitlines(), new.splitlines()
    pairs = zip(old_lines, new_lines, strict=False)
    same = min(len(old_lines), len(new_lines)) + 1  # one file extends the other
    return next((n for n, (a, b) in enumerate(pairs, start=1) if a != b), same)


def _mapping(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _schema_version(raw: bytes) -> int | None:
    try:
        doc = json.loads(raw)
        spec = doc["properties"]["schema_version"]
    except (ValueError, KeyError, TypeError):
        return None
    if isinstance(spec, dict) and isinstance(spec.get("const"), int):
        return int(spec["const"])
    values = spec.get("enum") if isinstance(spec, dict) else None
    ints = [v for v in values or [] if isinstance(v, int)]
    return max(ints) if ints else None


def _line_of(raw: bytes, needle: str) -> int:
    """1-based line of the first match of regex `needle` in `raw` (1 if none)."""
    text = raw.decode("utf-8", "replace")
    match = re.search(needle, text)
    return text.count("\n", 0, match.start()) + 1 if match else 1
