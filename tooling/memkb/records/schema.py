"""JSON Schemas of the record kinds, compiled once per run."""

from __future__ import annotations

import hashlib
import json
import os
import re
from collections.abc import Callable, Iterator
from datetime import date
from functools import cached_property, lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

from memkb import cachefile
from memkb._version import __version__
from memkb.errors import RepoError
from memkb.findings import Finding, error, is_finding_tuple

if TYPE_CHECKING:  # jsonschema is imported when a file needs checking: warm runs skip it
    import re2
    from jsonschema import Draft202012Validator
    from jsonschema.exceptions import ValidationError
    from referencing import Registry, Resource
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


class SchemaIssue(NamedTuple):
    """One schema violation: where (path in the document), what, and whether to point at the key."""

    path: tuple[str | int, ...]
    message: str
    code: str = "KB201"
    at_key: bool = False
    hint: str | None = None


# The documents a Schemas judges with the plain validator first (a write judges one or
# two): it takes ~110 µs a record against jsonschema-rs's ~5 µs plus ~15 ms to import
# it, so past about a hundred documents (a validate) jsonschema-rs is the cheaper.
PLAIN_DOCUMENTS = 16


class Schemas:
    """The schemas of one repository, loaded lazily and compiled once."""

    def __init__(
        self,
        root: Path,
        *,
        read: Callable[[str], bytes | None] | None = None,
        fast: bool = True,
    ) -> None:
        """Schemas of the repository at `root`, read from disk, or through `read` (a
        snapshot's reader: a write on a branch or a checked revision brings its own).
        With `fast` (the default), a document is first checked by jsonschema-rs and only
        a document it rejects goes through the reference engine, which explains every
        error (see `issues`); `fast=False` uses the reference engine alone."""
        self.root = root
        self._read = read
        self._fast = fast
        self._validators: dict[str, Draft202012Validator | None] = {}
        self._fast_validators: dict[str, Any] = {}
        self._plain_validators: dict[str, Callable[[Any], bool] | None] = {}
        self._plain_budget = PLAIN_DOCUMENTS

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

    @cached_property
    def problems(self) -> dict[str, list[Finding]]:
        """Findings about the schema files themselves, by kind: invalid JSON (KB406), a
        reference that leaves schemas/ or leads nowhere (KB211), a regular expression the
        linear-time engine cannot run (KB212). A kind with problems validates nothing: its
        schema cannot be trusted to judge records (the schema's findings fail the run).

        Cached under .git/memkb/ by what the audit reads (see _audit_key): the audit
        walks six schemas and compiles their regexes with RE2, ~6 ms and RE2's import
        (~5 ms) in every writer process, for schemas that rarely change."""
        if not (self.root / ".git").exists():  # no cache folder made in a plain folder
            return {kind: list(self._audit(kind)) for kind in KINDS}
        key = self._audit_key()
        path = cachefile.cache_dir(self.root) / AUDIT_CACHE_FILE
        stored = cachefile.load(path, key)
        if _well_formed_audit(stored):
            return {kind: [Finding.from_tuple(row) for row in stored[kind]] for kind in KINDS}
        found = {kind: list(self._audit(kind)) for kind in KINDS}
        cachefile.save(path, key, {k: [f.as_tuple() for f in v] for k, v in found.items()})
        return found

    def _audit_key(self) -> str:
        """What the audit's findings depend on: memkb's version and this module's file (the
        code), every schema's bytes as read, and every file under schemas/ on disk (a
        reference to another file is followed there), by name, size and mtime."""
        digest = hashlib.sha256(f"{__version__}\0{_stat_key(Path(__file__))}\0".encode())
        for kind in KINDS:
            digest.update(kind.encode() + b"\0" + self.raw[kind] + b"\0")
        folder = self.root / SCHEMAS_DIR
        for top, dirs, names in os.walk(folder):
            dirs.sort()
            for name in sorted(names):
                entry = Path(top) / name
                digest.update(f"{entry.relative_to(folder)}\0{_stat_key(entry)}\0".encode())
        return digest.hexdigest()

    def findings(self) -> list[Finding]:
        """Every schema problem, in kind order."""
        return [finding for kind in KINDS for finding in self.problems[kind]]

    def require_usable(self) -> None:
        """Raise RepoError naming the first schema problem, for callers that cannot report
        findings on schemas (an import must not write records no schema has judged)."""
        problems = self.findings()
        if problems:
            first = problems[0]
            raise RepoError(
                f"schema {first.path}:{first.line}:{first.col}: {first.code} {first.message}",
                hint="fix the schema first (`memkb validate` lists every problem)",
            )

    def _audit(self, kind: str) -> Iterator[Finding]:
        relpath = f"{SCHEMAS_DIR}/{schema_path(self.root, kind).name}"
        raw = self.raw[kind]
        try:
            doc = json.loads(raw)
        except ValueError as exc:
            yield _json_error(relpath, exc)
            return
        yield from audit_schema(relpath, raw, doc, self.root / SCHEMAS_DIR)

    def validator(self, kind: str) -> Draft202012Validator | None:
        """The compiled validator of `kind`, or None when its schema has problems."""
        if kind not in self._validators:
            self._validators[kind] = None if self.problems[kind] else self._compile(kind)
        return self._validators[kind]

    def _compile(self, kind: str) -> Draft202012Validator:
        schema = _inline_local_refs(self.document(kind))
        cls = _linear_validator_class()
        return cls(
            schema,
            format_checker=cls.FORMAT_CHECKER,
            registry=_local_registry(self.root / SCHEMAS_DIR),
        )

    def fast_validator(self, kind: str) -> Any | None:
        """The jsonschema-rs validator of `kind`, or None when the reference engine must
        judge every document: the schema has problems, or uses something whose meaning
        in jsonschema-rs is not proven the same (see `fast_refusal`)."""
        if kind not in self._fast_validators:
            usable = self._fast and not self.problems[kind]
            self._fast_validators[kind] = _compile_fast(self.document(kind)) if usable else None
        return self._fast_validators[kind]

    def plain_validator(self, kind: str) -> Callable[[Any], bool] | None:
        """memkb.records.plain_schema's validator of `kind`: True only for a document the
        schema surely accepts. None when the schema has problems, uses a keyword that
        module does not implement, or the reference engine must judge alone (fast=False)."""
        if kind not in self._plain_validators:
            from memkb.records.plain_schema import plain_validator

            found = None
            if self._fast and not self.problems[kind]:
                found = plain_validator(self.document(kind), FAST_FORMATS, _search)
            self._plain_validators[kind] = found
        return self._plain_validators[kind]

    def issues(self, kind: str, doc: dict[str, Any]) -> list[SchemaIssue]:
        """Every schema violation of `doc` against the schema of `kind` (only the derived
        figures when the schema itself has problems: those are reported on the schema).

        A document the plain validator vouches for (memkb.records.plain_schema, for the
        first PLAIN_DOCUMENTS documents: a write's record is checked without loading
        jsonschema-rs) or jsonschema-rs accepts has no
        schema error; one it rejects (or cannot take, e.g. a non-string key) is judged
        again by the reference engine (jsonschema with RE2), whose errors carry the paths
        and messages findings are made of. So the fast engines only decide, never
        explain, and a disagreement can only cost time."""
        derived = list(_derived_issues(doc))
        if self._plain_budget > 0:
            self._plain_budget -= 1
            plain = self.plain_validator(kind)
            if plain is not None and plain(doc):
                return derived  # valid for sure: jsonschema-rs (~15 ms to import) not needed
        fast = self.fast_validator(kind)
        if fast is not None and _fast_accepts(fast, doc):
            return derived
        return self._reference_issues(kind, doc, derived)

    def _reference_issues(
        self, kind: str, doc: dict[str, Any], derived: list[SchemaIssue]
    ) -> list[SchemaIssue]:
        from referencing.exceptions import Unresolvable

        derived_keys = {issue.path[0] for issue in derived}
        validator = self.validator(kind)
        try:
            errors = list(validator.iter_errors(doc)) if validator is not None else []
        except Unresolvable as exc:  # a reference reached only at run time (e.g. via $id)
            return [*derived, SchemaIssue((), f"schema reference cannot be resolved: {exc}",
                                          code="KB211", hint=REF_HINT)]  # fmt: skip
        found = [
            issue
            for err in errors
            for issue in _explain(err)
            if not (
                issue.at_key
                and issue.path
                and issue.path[0] in derived_keys
                and len(issue.path) == 1
            )
        ]
        return derived + sorted(found, key=lambda i: [str(p) for p in i.path])


# ------------------------------------------------------ the fast engine (jsonschema-rs)

# Formats the fast engine checks with the reference engine's own definition (jsonschema's
# FORMAT_CHECKER), given to jsonschema-rs as Python functions: its built-in `date`
# accepts 0000-01-01, which Python's datetime (and so the reference engine) refuses.
_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", re.ASCII)


def _is_date(value: object) -> bool:
    """jsonschema's `date` check: YYYY-MM-DD that datetime.date accepts."""
    if not isinstance(value, str) or not _DATE.fullmatch(value):
        return not isinstance(value, str)
    try:
        date.fromisoformat(value)
    except ValueError:
        return False
    return True


FAST_FORMATS: dict[str, Callable[[object], bool]] = {"date": _is_date}
# Regex syntax whose meaning differs between RE2 (the reference engine's regexes) and
# Rust's `regex` crate (jsonschema-rs with RegexOptions, also linear-time): Unicode-aware
# classes and word boundaries (\d matches ٣ in Rust), flags, and any non-ASCII text.
# A schema using any of them is judged by the reference engine alone.
_UNPROVEN_REGEX = re.compile(r"\\[dDwWsSbBpPzAQEC]|\(\?|[^\x00-\x7f]")


def fast_refusal(schema: Any) -> str | None:
    """Why jsonschema-rs may not decide for `schema` (None when it may): a reference to
    another file (the fast engine is offline and has no retriever), a format outside
    FAST_FORMATS, or a regex outside the syntax both engines read alike."""
    for ref in _keyword_values(schema, *_REF_KEYS):
        if not (isinstance(ref, str) and ref.startswith("#")):
            return f"reference {ref!r} leaves the schema"
    for name in _keyword_values(schema, "format"):
        if name not in FAST_FORMATS:
            return f"format {name!r} has no proven fast check"
    for regex in _regexes(schema):
        rust = rust_regex(regex)
        if rust is None or _UNPROVEN_REGEX.search(rust):
            return f"pattern {regex!r} may differ between RE2 and Rust regex"
    return None


# RE2's Perl classes are ASCII, Rust's (Unicode mode) are not: \s matches U+00A0 and \v
# in Rust, not in RE2. Spelled out as RE2 defines them, they mean the same in both, so a
# schema using them (the outcome's brief_id: [^:\s]) still takes the fast path.
_PERL_CLASSES = {"d": "0-9", "s": "\\t\\n\\f\\r ", "w": "0-9A-Za-z_"}


def rust_regex(regex: str) -> str | None:
    """`regex` with RE2's \\d \\s \\w (and \\D \\S \\W outside brackets) spelled out as
    RE2 defines them; None when one cannot be (a negated class or a nested bracket
    inside brackets), so that the reference engine judges."""
    out: list[str] = []
    in_class, i = False, 0
    while i < len(regex):
        char = regex[i]
        if char == "\\" and i + 1 < len(regex):
            escaped, i = regex[i + 1], i + 2
            body = _PERL_CLASSES.get(escaped.lower())
            if body is None:
                out.append(char + escaped)
            elif escaped.islower():
                out.append(body if in_class else f"[{body}]")
            elif in_class:
                return None
            else:
                out.append(f"[^{body}]")
            continue
        if char == "[" and in_class:
            return None  # [[:alpha:]] and the like: not worth parsing
        if char == "[":
            in_class, i = True, i + 1
            out.append(char)
            for literal in ("^", "]"):  # `[^]...]`: a first `]` is a literal
                if regex.startswith(literal, i):
                    out.append(literal)
                    i += 1
            continue
        in_class = in_class and char != "]"
        out.append(char)
        i += 1
    return "".join(out)


def _with_rust_regexes(node: Any) -> Any:
    """A copy of a schema whose regexes are `rust_regex`'s (fast_refusal has checked
    that every one translates)."""
    if isinstance(node, list):
        return [_with_rust_regexes(item) for item in node]
    if not isinstance(node, dict):
        return node
    out: dict[str, Any] = {}
    for key, value in node.items():
        if key in _DATA_KEYS:
            out[key] = value
        elif key == "pattern" and isinstance(value, str):
            out[key] = rust_regex(value)
        elif key == "patternProperties" and isinstance(value, dict):
            out[key] = {
                rust_regex(k) if isinstance(k, str) else k: _with_rust_regexes(v)
                for k, v in value.items()
            }
        else:
            out[key] = _with_rust_regexes(value)
    return out


def _compile_fast(schema: dict[str, Any]) -> Any | None:
    """A jsonschema-rs draft 2020-12 validator of `schema`, or None when it may not decide
    (fast_refusal) or cannot compile the schema. Offline, so nothing is ever fetched; its
    regexes run on Rust's linear-time `regex` crate (RegexOptions), never fancy-regex."""
    if fast_refusal(schema) is not None:
        return None
    import jsonschema_rs

    try:
        return jsonschema_rs.Draft202012Validator(
            _with_rust_regexes(schema),
            formats=dict(FAST_FORMATS),
            validate_formats=True,
            ignore_unknown_formats=False,
            offline=True,
            pattern_options=jsonschema_rs.RegexOptions(),
        )
    except (ValueError, jsonschema_rs.ValidationError, jsonschema_rs.ReferencingError):
        return None  # the reference engine reports what is wrong, or judges alone


def _fast_accepts(validator: Any, doc: dict[str, Any]) -> bool:
    """Whether jsonschema-rs accepts `doc`; False when it cannot take it (a key that is
    not a string, say), so the reference engine judges."""
    try:
        return bool(validator.is_valid(doc))
    except (ValueError, TypeError, OverflowError):
        return False


def _inline_local_refs(schema: dict[str, Any]) -> dict[str, Any]:
    """The schema with every `#/$defs/...` reference replaced by its target.

    Same meaning, but jsonschema no longer resolves a reference for every value it
    checks, which was a quarter of a cold validate. A recursive definition keeps its
    reference (inlining it would never end)."""
    defs = schema.get("$defs", {})

    def inline(node: Any, inlining: frozenset[str] = frozenset()) -> Any:
        if isinstance(node, list):
            return [inline(item, inlining) for item in node]
        if not isinstance(node, dict):
            return node
        ref = node.get("$ref")
        name = ref[8:] if isinstance(ref, str) and ref.startswith("#/$defs/") else None
        if name is not None and isinstance(defs.get(name), dict) and name not in inlining:
            merged = {**defs[name], **{k: v for k, v in node.items() if k != "$ref"}}
            return inline(merged, inlining | {name})
        return {key: inline(value, inlining) for key, value in node.items()}

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
    if err.validator == "const" and path == ("schema_version",):
        yield _version_issue(err.instance, err.validator_value)
        return
    if err.validator in ("anyOf", "oneOf") and err.context:
        best = min(err.context, key=lambda e: len(e.absolute_path))
        yield from _explain(best)
        return
    yield SchemaIssue(path, f"{where or 'record'}: {_clip(err.message)}")


def _version_issue(found: Any, expected: Any) -> SchemaIssue:
    """A record written for another schema version: say which, and how to migrate it."""
    older = isinstance(found, int) and isinstance(expected, int) and found < expected
    return SchemaIssue(
        ("schema_version",),
        f"schema_version {found!r} is {'older than' if older else 'not'} this schema's "
        f"version {expected!r}",
        hint=f"migrate the record to version {expected}: docs/validation.md (schema versions) "
        "says what changed and how",
    )


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


# ------------------------------------------------------ schemas that cannot hurt

REF_HINT = (
    "refer to a definition in the same schema (#/$defs/...) or to another file in schemas/; "
    "memkb never fetches a schema from the network or from outside schemas/"
)
REGEX_HINT = (
    "schema regexes run on RE2 (linear time): no backreferences, lookahead or lookbehind; "
    "rewrite the pattern without them"
)
_REF_KEYS = ("$ref", "$dynamicRef")
_DATA_KEYS = ("const", "enum", "default", "examples")  # values that are data, not schemas


AUDIT_CACHE_FILE = "schema-audit.cache"


def _stat_key(path: Path) -> str:
    try:
        st = path.stat()
    except OSError:
        return "missing"
    return f"{st.st_size}:{st.st_mtime_ns}"


def _well_formed_audit(stored: dict[str, Any]) -> bool:
    return set(stored) == set(KINDS) and all(
        isinstance(rows, list) and all(is_finding_tuple(row) for row in rows)
        for rows in stored.values()
    )


def _json_error(relpath: str, exc: ValueError) -> Finding:
    line, col = getattr(exc, "lineno", 1), getattr(exc, "colno", 1)
    reason = getattr(exc, "msg", str(exc))
    return error(
        relpath,
        "KB406",
        f"schema is not valid JSON: {reason}",
        line=line,
        col=col,
        hint="fix the JSON syntax (a schema is a JSON document, draft 2020-12)",
    )


def audit_schema(relpath: str, raw: bytes, doc: Any, folder: Path) -> Iterator[Finding]:
    """KB211/KB212 findings of one parsed schema: references that leave `folder` or lead
    nowhere, and regular expressions RE2 cannot compile. Reads files only inside `folder`."""
    text = raw.decode("utf-8", "replace")
    ids = {v for v in _keyword_values(doc, "$id") if isinstance(v, str)}
    for ref in _keyword_values(doc, *_REF_KEYS):
        problem = _ref_problem(ref, doc, folder, ids) if isinstance(ref, str) else "not a string"
        if problem is not None:
            line, col = _position(text, ref)
            yield error(relpath, "KB211", f"schema reference {ref!r}: {problem}",
                        line=line, col=col, hint=REF_HINT)  # fmt: skip
    for regex in _regexes(doc):
        problem = _regex_problem(regex)
        if problem is not None:
            line, col = _position(text, regex)
            yield error(relpath, "KB212", f"pattern {regex!r} cannot run in linear time: "
                        f"{problem}", line=line, col=col, hint=REGEX_HINT)  # fmt: skip
    if any(True for _ in _keyword_values(doc, "unevaluatedProperties")) and any(
        True for _ in _keyword_values(doc, "patternProperties")
    ):
        # jsonschema matches patternProperties for unevaluatedProperties with Python's
        # backtracking `re` (not through a keyword memkb can replace): refuse the pair.
        yield error(relpath, "KB212", "patternProperties together with unevaluatedProperties "
                    "cannot run in linear time", hint=REGEX_HINT)  # fmt: skip


def _keyword_values(node: Any, *keys: str) -> Iterator[Any]:
    """Values of the keywords `keys` anywhere in a schema, skipping data (const, enum...)."""
    if isinstance(node, list):
        for item in node:
            yield from _keyword_values(item, *keys)
    elif isinstance(node, dict):
        for key, value in node.items():
            if key in keys:
                yield value
            if key not in _DATA_KEYS:
                yield from _keyword_values(value, *keys)


def _regexes(doc: Any) -> Iterator[str]:
    yield from (p for p in _keyword_values(doc, "pattern") if isinstance(p, str))
    for props in _keyword_values(doc, "patternProperties"):
        yield from (p for p in props if isinstance(p, str)) if isinstance(props, dict) else ()


def _ref_problem(ref: str, doc: Any, folder: Path, ids: set[str]) -> str | None:
    """Why `ref` may not be followed (None when it resolves inside schemas/)."""
    if ref.startswith("#"):  # the usual case, and no urllib import on a warm run
        return _fragment_problem(doc, ref[1:])
    from urllib.parse import unquote, urlsplit

    parts = urlsplit(ref)
    base = ref.split("#", 1)[0]
    if base in ids:  # the schema's own $id, e.g. urn:memkb:schemas:pattern#/$defs/x
        return _fragment_problem(doc, parts.fragment)
    if parts.scheme or parts.netloc:
        return "remote or absolute references are not followed"
    if not base:
        return _fragment_problem(doc, parts.fragment)
    target = _local_file(folder, unquote(parts.path))
    if target is None:
        return "no such file in schemas/ (references never leave schemas/)"
    try:
        other = json.loads(target.read_bytes())
    except (OSError, ValueError):
        return f"{target.name} is not a readable JSON schema"
    return _fragment_problem(other, parts.fragment)


def _local_file(folder: Path, relative: str) -> Path | None:
    """The file `relative` names inside `folder`, or None if it leaves it or is missing."""
    root = folder.resolve()
    target = (root / relative).resolve()
    return target if target.is_relative_to(root) and target.is_file() else None


def _fragment_problem(doc: Any, fragment: str) -> str | None:
    if not fragment.startswith("/"):
        anchors = set(_keyword_values(doc, "$anchor", "$dynamicAnchor"))
        return None if not fragment or fragment in anchors else f"no anchor {fragment!r}"
    if "%" in fragment:
        from urllib.parse import unquote

        fragment = unquote(fragment)
    node = doc
    for token in fragment.split("/")[1:]:
        step = token.replace("~1", "/").replace("~0", "~")
        if isinstance(node, dict) and step in node:
            node = node[step]
        elif isinstance(node, list) and step.isdigit() and int(step) < len(node):
            node = node[int(step)]
        else:
            return f"nothing at {fragment!r}"
    return None


def _position(text: str, value: str) -> tuple[int, int]:
    """1-based line and column of the JSON string `value` in `text` ((1, 1) if not found)."""
    at = text.find(json.dumps(value)[1:-1])
    if at < 0:
        return 1, 1
    return text.count("\n", 0, at) + 1, at - (text.rfind("\n", 0, at) + 1)


def _local_registry(folder: Path) -> Registry[Any]:
    """A registry that retrieves only JSON files inside `folder`: a remote, `file:` or
    escaping reference is Unretrievable, so nothing is ever fetched."""
    from urllib.parse import unquote, urlsplit

    from referencing import Registry, Resource
    from referencing.jsonschema import DRAFT202012

    def retrieve(uri: str) -> Resource[Any]:
        parts = urlsplit(uri)
        target = None if parts.scheme or parts.netloc else _local_file(folder, unquote(parts.path))
        if target is None:
            raise LookupError(f"{uri} is outside schemas/")
        return Resource.from_contents(json.loads(target.read_bytes()), DRAFT202012)

    return Registry(retrieve=retrieve)  # type: ignore[call-arg]


# RE2 matches in time linear in the input: a schema's pattern cannot hang validation
# (Python's backtracking `re` takes minutes on `^(a+)+$` and 35 characters). RE2's `$`
# also matches only at the very end, never before a final newline.
def _options() -> re2.Options:
    import re2

    options = re2.Options()
    options.log_errors = False  # RE2 would print its own message on stderr
    return options


@lru_cache(maxsize=512)
def _matcher(regex: str) -> re2.Set:
    """A one-pattern RE2 set: it answers match or no match without building a match
    object, as fast as Python's re.search on our patterns (re2.compile().search is 6x
    slower); raises re2.error when RE2 cannot run `regex`."""
    import re2

    matcher = re2.Set.SearchSet(_options())
    matcher.Add(regex)
    matcher.Compile()
    return matcher


def _regex_problem(regex: str) -> str | None:
    """Why RE2 cannot run `regex` (None when it can)."""
    import re2

    try:
        re2.compile(regex, _options())
    except re2.error as exc:
        return exc.args[0].decode() if exc.args and isinstance(exc.args[0], bytes) else str(exc)
    return None


def _search(regex: str, text: str) -> bool | None:
    """Whether `regex` matches somewhere in `text`; None when RE2 cannot run it."""
    try:
        return _matcher(regex).Match(text) is not None
    except Exception:  # re2.error; the audit has already reported it as KB212
        return None


@lru_cache(maxsize=1)
def _linear_validator_class() -> type[Draft202012Validator]:
    """Draft 2020-12 with every keyword that runs a schema regex on a key or value
    (pattern, patternProperties, additionalProperties) matching with RE2."""
    from jsonschema import Draft202012Validator, validators

    cls: type[Draft202012Validator] = validators.extend(  # type: ignore[no-untyped-call]
        Draft202012Validator,
        {
            "pattern": _pattern,
            "patternProperties": _pattern_properties,
            "additionalProperties": _additional_properties,
        },
    )
    return cls


def _pattern(validator: Any, regex: str, instance: Any, _schema: Any) -> Iterator[ValidationError]:
    if validator.is_type(instance, "string") and not _search(regex, instance):
        from jsonschema.exceptions import ValidationError  # only on a miss: this runs a lot

        yield ValidationError(f"{instance!r} does not match {regex!r}")


def _pattern_properties(
    validator: Any, patterns: dict[str, Any], instance: Any, _schema: Any
) -> Iterator[ValidationError]:
    if not validator.is_type(instance, "object"):
        return
    for regex, subschema in patterns.items():
        for key, value in instance.items():
            if _search(regex, key):
                yield from validator.descend(value, subschema, path=key, schema_path=regex)


def _additional_properties(
    validator: Any, allowed: Any, instance: Any, schema: Any
) -> Iterator[ValidationError]:
    if not validator.is_type(instance, "object"):
        return
    declared = schema.get("properties", {})
    patterns = schema.get("patternProperties", {})
    extras = [
        key
        for key in instance
        if key not in declared and not any(_search(regex, key) for regex in patterns)
    ]
    if validator.is_type(allowed, "object"):
        for extra in extras:
            yield from validator.descend(instance[extra], allowed, path=extra)
    elif not allowed and extras:
        from jsonschema.exceptions import ValidationError

        if patterns:
            listed = ", ".join(repr(each) for each in sorted(extras))
            regexes = ", ".join(repr(each) for each in sorted(patterns))
            yield ValidationError(f"{listed} do(es) not match any of the regexes: {regexes}")
        else:
            listed = ", ".join(repr(each) for each in sorted(extras, key=str))
            verb = "was" if len(extras) == 1 else "were"
            yield ValidationError(
                f"Additional properties are not allowed ({listed} {verb} unexpected)"
            )
