"""JSON Schemas of the record kinds, compiled once per run."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

from memkb.errors import RepoError

if TYPE_CHECKING:  # jsonschema is imported when a file needs checking: warm runs skip it
    from jsonschema import Draft202012Validator
    from jsonschema.exceptions import ValidationError
from memkb.kb.layout import KINDS, SCHEMAS_DIR, schema_path

# Figures that memkb derives from outcomes and Git history. Typed into a record
# they would silently compete with the evidence, so validate names their source.
DERIVED_FIELDS: dict[str, str] = {
    "success_rate": "success rates are computed by `memkb metrics` from outcome records",
    "success_probability": "realised success is computed by `memkb metrics` from outcomes",
    "last_updated": "last change dates come from Git history",
    "last_update": "last change dates come from Git history",
    "project_examples": "examples are the outcome records that cite the pattern",
    "applications": "applications are counted from outcome records",
    "total_projects": "totals are counted from outcome records",
    "recovery_rate": "recovery rates are computed from outcome records",
    "occurrences": "occurrences are counted from outcome records",
    # The rest of the figures `memkb metrics` reports (formulas: docs/metrics.md).
    "learning_effectiveness": "learning metrics are computed by `memkb metrics` from outcomes",
    "pattern_application_rate": "computed by `memkb metrics` from outcomes and Git history",
    "failure_recovery_rate": "recovery rates are computed from outcome records",
    "execution_time_improvement": "performance trends are computed from outcome timelines",
    "quality_score_improvement": "performance trends are computed from outcome quality scores",
    "error_rate_reduction": "performance trends are computed from outcome error counts",
    "observed_rate": "observed rates are computed by `memkb metrics` from outcome records",
    "posterior_mean": "posteriors are computed by `memkb metrics` from the prior and outcomes",
    "recoveries": "recoveries are counted from outcome records",
    "first_seen": "first-seen dates come from Git history",
    "last_changed": "last change dates come from Git history",
}
PRIOR_HINT = "a figure declared without evidence belongs under 'prior:' with a weight"


@dataclass(frozen=True)
class SchemaIssue:
    """One schema violation: where (path in the document), what, and whether to point at the key."""

    path: tuple[str | int, ...]
    message: str
    code: str = "KB201"
    at_key: bool = False
    hint: str | None = None


class Schemas:
    """The schemas of one repository, loaded lazily and compiled once."""

    def __init__(self, root: Path, *, read: Callable[[str], bytes | None] | None = None) -> None:
        """Schemas of the repository at `root`, read from disk, or through `read` (a
        snapshot's reader: a write on a branch or a checked revision brings its own)."""
        self.root = root
        self._read = read
        self._validators: dict[str, Draft202012Validator] = {}

    @cached_property
    def raw(self) -> dict[str, bytes]:
        """Schema file contents by kind; raise RepoError if one is missing."""
        out = {}
        for kind in KINDS:
            out[kind] = self._schema_bytes(kind)
        return out

    def _schema_bytes(self, kind: str) -> bytes:
        path = schema_path(self.root, kind)
        if self._read is not None:
            data = self._read(f"{SCHEMAS_DIR}/{kind}.schema.json")
            if data is None:
                raise RepoError(
                    f"cannot read schema {path}: no such file",
                    hint="restore schemas/ from the repository",
                )
            return data
        try:
            return path.read_bytes()
        except OSError as exc:
            raise RepoError(
                f"cannot read schema {path}: {exc.strerror}",
                hint="restore schemas/ from the repository",
            ) from exc

    @cached_property
    def fingerprint(self) -> str:
        """Hash of every schema: cached results are only valid for the same schemas."""
        digest = hashlib.sha256()
        for kind in KINDS:
            digest.update(kind.encode() + b"\0" + self.raw[kind] + b"\0")
        return digest.hexdigest()

    def document(self, kind: str) -> dict[str, Any]:
        """The parsed schema for `kind`."""
        try:
            loaded: dict[str, Any] = json.loads(self.raw[kind])
        except ValueError as exc:
            raise RepoError(
                f"schema {schema_path(self.root, kind)} is not valid JSON: {exc}"
            ) from exc
        return loaded

    def validator(self, kind: str) -> Draft202012Validator:
        if kind not in self._validators:
            from jsonschema import Draft202012Validator

            schema = _inline_local_refs(self.document(kind))
            self._validators[kind] = Draft202012Validator(
                schema, format_checker=Draft202012Validator.FORMAT_CHECKER
            )
        return self._validators[kind]

    def issues(self, kind: str, doc: dict[str, Any]) -> list[SchemaIssue]:
        """Every schema violation of `doc` against the schema of `kind`."""
        derived = list(_derived_issues(doc))
        derived_keys = {issue.path[0] for issue in derived}
        found = [
            issue
            for err in self.validator(kind).iter_errors(doc)
            for issue in _explain(err)
            if not (
                issue.at_key
                and issue.path
                and issue.path[0] in derived_keys
                and len(issue.path) == 1
            )
        ]
        return derived + sorted(found, key=lambda i: [str(p) for p in i.path])


def _inline_local_refs(schema: dict[str, Any]) -> dict[str, Any]:
    """The schema with every `#/$defs/...` reference replaced by its target.

    Same meaning, but jsonschema no longer resolves a reference for every value it
    checks, which was a quarter of a cold validate."""
    defs = schema.get("$defs", {})

    def inline(node: Any) -> Any:
        if isinstance(node, list):
            return [inline(item) for item in node]
        if not isinstance(node, dict):
            return node
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.startswith("#/$defs/") and ref[8:] in defs:
            merged = {**defs[ref[8:]], **{k: v for k, v in node.items() if k != "$ref"}}
            return inline(merged)
        return {key: inline(value) for key, value in node.items()}

    inlined: dict[str, Any] = inline(schema)
    return inlined


def _derived_issues(doc: dict[str, Any]) -> Iterator[SchemaIssue]:
    for key, source in DERIVED_FIELDS.items():
        if key in doc:
            yield SchemaIssue(
                (key,),
                f"'{key}' is a derived figure and cannot be typed: {source}",
                code="KB210",
                at_key=True,
                hint=PRIOR_HINT,
            )


def _explain(err: ValidationError) -> Iterator[SchemaIssue]:
    """Turn one jsonschema error into issues that point at the offending value or key."""
    path = tuple(err.absolute_path)
    where = _dotted(path)
    if err.validator == "additionalProperties":
        allowed = sorted(_declared(err))
        for extra in _extra_keys(err):
            yield SchemaIssue(
                (*path, extra),
                f"unknown field '{extra}'{_in(where)}",
                at_key=True,
                hint=f"allowed fields: {', '.join(allowed)}" if allowed else None,
            )
        return
    if err.validator == "required":
        yield SchemaIssue(path, f"{err.message}{_in(where)}", hint="add the missing field")
        return
    if err.validator in ("anyOf", "oneOf") and err.context:
        best = min(err.context, key=lambda e: len(e.absolute_path))
        yield from _explain(best)
        return
    yield SchemaIssue(path, f"{where or 'record'}: {_clip(err.message)}")


def _declared(err: ValidationError) -> set[str]:
    schema = err.schema if isinstance(err.schema, dict) else {}
    return set(schema.get("properties", {}))


def _clip(message: str, limit: int = 200) -> str:
    """jsonschema quotes the offending value whole; keep a finding to one readable line."""
    if len(message) <= limit:
        return message
    return f"{message[: limit // 2]} ... {message[-limit // 3 :]}"


def _extra_keys(err: ValidationError) -> list[str]:
    allowed = _declared(err)
    instance = err.instance if isinstance(err.instance, dict) else {}
    return sorted(str(k) for k in instance if k not in allowed)


def _dotted(path: tuple[Any, ...]) -> str:
    out = ""
    for step in path:
        out += f"[{step}]" if isinstance(step, int) else (f".{step}" if out else str(step))
    return out


def _in(where: str) -> str:
    return f" in '{where}'" if where else ""
