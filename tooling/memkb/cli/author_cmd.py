"""Authoring commands: new, record, set, add, remove, deprecate, rm, rename, show, list.

Each command parses options, calls one function of memkb.authoring and renders
what it returns; the rules live in the library.
"""

from __future__ import annotations

import functools
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import typer

from memkb import authoring
from memkb.cli.app import app, handles_errors, repo_root
from memkb.errors import RecordError, UsageError
from memkb.findings import Finding
from memkb.report import finding_line
from memkb.writer import WriteOptions, WriteResult
from memkb.yamlio import MAX_FILE_BYTES, read_limited

REPO = typer.Option(None, "--repo", help="Repository to write (default: the current one).")
NO_COMMIT = typer.Option(False, "--no-commit", help="Write the file only; commit nothing.")
BRANCH = typer.Option(
    None,
    "--branch",
    help="Commit on this proposal branch (created from "
    "main if needed) without switching the checkout.",
)
PUSH = typer.Option(
    False,
    "--push",
    help="Push the commit to --remote; a rejected push "
    "is replayed onto the remote's tip and retried.",
)
REMOTE = typer.Option("origin", "--remote", help="Remote for --push.")
AGENT = typer.Option(
    None,
    "--agent",
    help="Who writes, for the Memory-Agent trailer (default: $MEMKB_AGENT, else human:<login>).",
)
JSON = typer.Option(False, "--json", help="Print the result as JSON (for agents).")

# `memkb new` options: option name -> field, per kind (lists repeat the option).
NEW_LIST_FIELDS = {
    "pattern": {"domain": "domains", "phase": "phases", "droid": "key_droids"},
    "failure": {
        "domain": "domains",
        "cause": "common_causes",
        "prevention": "prevention_strategies",
        "fallback": "fallback_strategies",
    },
    "template": {"domain": "domains"},
}


def reports_findings(func: Callable[..., Any]) -> Callable[..., Any]:
    """Render a RecordError's findings as compiler-style lines before the exit."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except RecordError as exc:
            exc.findings = [finding_line(f) if isinstance(f, Finding) else f for f in exc.findings]
            raise

    return wrapper


def _options(
    no_commit: bool, branch: str | None, push: bool, remote: str, agent: str | None
) -> WriteOptions:
    """The write options of the shared flags: --push sends to --remote."""
    return WriteOptions(
        commit=not no_commit, branch=branch, push=remote if push else None, agent=agent
    )


def _done(result: WriteResult, as_json: bool) -> None:
    edit = result.edit
    if as_json:
        typer.echo(
            json.dumps(
                {
                    "kind": edit.kind,
                    "id": edit.id,
                    "action": edit.action,
                    "paths": result.paths,
                    "commit": result.commit,
                    "branch": result.branch,
                    "pushed_to": result.pushed_to,
                    "warnings": [f.as_dict() for f in result.findings],
                    "notes": result.notes,
                }
            )
        )
        return
    for finding in result.findings:
        typer.echo(finding_line(finding), err=True)
    for note in result.notes:
        typer.echo(f"memkb: note: {note}", err=True)
    where = ", ".join(result.paths)
    if result.commit is None:
        typer.echo(f"wrote {where} (not committed)")
        return
    typer.echo(
        f"committed {result.commit[:10]} on {result.branch}: "
        f"memory({edit.kind}): {edit.action} {edit.id} ({where})"
    )
    if result.pushed_to:
        typer.echo(f"pushed to {result.pushed_to} ({result.push_attempts} attempt(s))")


def _read_doc(source: str) -> dict[str, Any]:
    """The mapping in FILE, or on stdin for "-" (YAML or JSON)."""
    name = "stdin" if source == "-" else source
    try:
        if source == "-":
            raw = read_limited(sys.stdin.buffer)
        else:
            with Path(source).open("rb") as handle:
                raw = read_limited(handle)
    except OSError as exc:
        raise UsageError(f"cannot read {source}: {exc.strerror}") from exc
    if raw is None:
        raise UsageError(
            f"{name} is larger than the limit of {MAX_FILE_BYTES} bytes",
            hint="give one record (a knowledge file has the same limit)",
        )
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise UsageError(
            f"{name} is not UTF-8 (byte 0x{exc.object[exc.start]:02x})",
            hint="save the record as UTF-8 (e.g. with iconv)",
        ) from exc
    doc = authoring.parse_value(text)
    if not isinstance(doc, dict):
        raise UsageError(
            f"{name} does not hold a mapping",
            hint='give the record as YAML or JSON fields, e.g. {"id": ...}',
        )
    return doc


def _fields(pairs: list[str]) -> dict[str, Any]:
    out = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise UsageError(f"--field wants KEY=VALUE, got '{pair}'")
        out[key.strip()] = authoring.parse_value(value)
    return out


@app.command()
@handles_errors
@reports_findings
def new(
    kind: str = typer.Argument(..., help="pattern, failure or template."),
    record_id: str | None = typer.Argument(None, metavar="ID", help="snake_case id."),
    from_file: str | None = typer.Option(
        None, "--from", help="Whole record as YAML or JSON from FILE, or from stdin with '-'."
    ),
    title: str | None = typer.Option(None, "--title"),
    description: str | None = typer.Option(None, "--description"),
    domain: list[str] = typer.Option([], "--domain", help="Domain (repeatable)."),
    phase: list[str] = typer.Option([], "--phase", help="Pattern phase (repeatable)."),
    droid: list[str] = typer.Option([], "--droid", help="Pattern key droid (repeatable)."),
    cause: list[str] = typer.Option([], "--cause", help="Failure common cause (repeatable)."),
    prevention: list[str] = typer.Option(
        [], "--prevention", help="Failure prevention strategy (repeatable)."
    ),
    fallback: list[str] = typer.Option([], "--fallback", help="Failure fallback (repeatable)."),
    risk_level: str | None = typer.Option(None, "--risk-level", help="Template risk level."),
    field: list[str] = typer.Option(
        [], "--field", help="Any other field as KEY=VALUE, VALUE read as YAML (repeatable)."
    ),
    repo: Path | None = REPO,
    no_commit: bool = NO_COMMIT,
    branch: str | None = BRANCH,
    push: bool = PUSH,
    remote: str = REMOTE,
    agent: str | None = AGENT,
    as_json: bool = JSON,
) -> None:
    """Create a pattern, failure or template. Missing required fields are prompted for at
    a terminal; without one, the command fails and lists them."""
    root = repo_root(repo)
    doc: dict[str, Any] = _read_doc(from_file) if from_file else {}
    authoring.check_same_kind(kind, doc)
    if record_id:
        doc["id"] = record_id
    lists = {
        "domain": domain,
        "phase": phase,
        "droid": droid,
        "cause": cause,
        "prevention": prevention,
        "fallback": fallback,
    }
    for option, name in NEW_LIST_FIELDS.get(kind, {}).items():
        if lists[option]:
            doc[name] = lists[option]
    extra = {"title": title, "description": description, "risk_level": risk_level}
    doc.update({k: v for k, v in extra.items() if v is not None})
    doc.update(_fields(field))
    _complete(root, kind, doc, interactive=from_file != "-" and stdin_is_terminal())
    _done(
        authoring.new_record(root, kind, doc, _options(no_commit, branch, push, remote, agent)),
        as_json,
    )


def stdin_is_terminal() -> bool:
    """True when a person can answer prompts (tests replace this)."""
    return sys.stdin.isatty()


def _complete(root: Path, kind: str, doc: dict[str, Any], *, interactive: bool) -> None:
    """Prompt for the required fields `doc` lacks, or fail listing them."""
    if kind not in NEW_LIST_FIELDS:
        return  # new_record explains which kinds can be created
    missing = [f for f in ["id", *authoring.required_fields(root, kind)] if f not in doc]
    if not missing:
        return
    if not interactive:
        raise UsageError(
            f"missing required field(s) for a new {kind}: {', '.join(missing)}",
            hint="give them as options (see `memkb new --help`), with --field "
            "KEY=VALUE, or as a whole record with --from FILE",
        )
    for name in missing:
        answer = typer.prompt(f"{name} (lists: comma-separated)" if name != "id" else name)
        doc[name] = _answer(root, kind, name, answer)


def _answer(root: Path, kind: str, name: str, answer: str) -> Any:
    from memkb.schema import Schemas

    spec = Schemas(root).document(kind).get("properties", {}).get(name, {})
    if spec.get("type") == "array":
        return [authoring.parse_value(part.strip()) for part in answer.split(",") if part.strip()]
    return authoring.parse_value(answer)


@app.command()
@handles_errors
@reports_findings
def record(
    project: str | None = typer.Option(None, "--project", help="Project name."),
    date: str | None = typer.Option(None, "--date", help="Day it finished (default today)."),
    outcome: str | None = typer.Option(None, "--outcome", help="success, partial or failure."),
    domain: list[str] = typer.Option([], "--domain", help="Domain (repeatable)."),
    template: str | None = typer.Option(None, "--template", help="Template followed."),
    pattern: list[str] = typer.Option([], "--pattern", help="Pattern applied (repeatable)."),
    droid: list[str] = typer.Option([], "--droid", help="Droid used (repeatable)."),
    failure: list[str] = typer.Option(
        [], "--failure", help="Failure met and NOT recovered: ID[:WHY] (repeatable)."
    ),
    recovered: list[str] = typer.Option(
        [], "--recovered", help="Failure met and recovered: ID[:HOW] (repeatable)."
    ),
    planned_days: float | None = typer.Option(None, "--planned-days"),
    actual_days: float | None = typer.Option(None, "--actual-days"),
    quality: float | None = typer.Option(None, "--quality", help="Quality score, 0 to 1."),
    errors: int | None = typer.Option(None, "--errors", help="Errors found after delivery."),
    satisfaction: float | None = typer.Option(None, "--satisfaction", help="0 to 1."),
    notes: str | None = typer.Option(None, "--notes"),
    from_file: str | None = typer.Option(
        None,
        "--from",
        help="Outcome fields as YAML or JSON from FILE, or stdin with '-'; options override.",
    ),
    repo: Path | None = REPO,
    no_commit: bool = NO_COMMIT,
    branch: str | None = BRANCH,
    push: bool = PUSH,
    remote: str = REMOTE,
    agent: str | None = AGENT,
    as_json: bool = JSON,
) -> None:
    """Record a finished project's outcome as kb/outcomes/<yyyy>/<date>-<slug>.yaml."""
    root = repo_root(repo)
    fields: dict[str, Any] = _read_doc(from_file) if from_file else {}
    given = {
        "project": project,
        "date": date,
        "outcome": outcome,
        "template": template,
        "domains": domain or None,
        "patterns_applied": pattern or None,
        "droids_used": droid or None,
        "quality_score": quality,
        "error_count": errors,
        "user_satisfaction": satisfaction,
        "notes": notes,
    }
    fields.update({k: _number(v) for k, v in given.items() if v is not None})
    met = [_met(spec, False) for spec in failure] + [_met(spec, True) for spec in recovered]
    if met:
        fields["failures_met"] = met
    if planned_days is not None or actual_days is not None:
        fields["timeline"] = {
            k: _number(v)
            for k, v in (("planned_days", planned_days), ("actual_days", actual_days))
            if v is not None
        }
    missing = [f for f in ("project", "outcome", "domains", "droids_used") if f not in fields]
    if missing:
        raise UsageError(
            f"missing: {', '.join(missing)}",
            hint="give --project, --outcome, --domain and --droid (or the fields in --from)",
        )
    _done(
        authoring.record_outcome(root, fields, _options(no_commit, branch, push, remote, agent)),
        as_json,
    )


def _number(value: Any) -> Any:
    return int(value) if isinstance(value, float) and value.is_integer() else value


def _met(spec: str, was_recovered: bool) -> dict[str, Any]:
    name, _, how = spec.partition(":")
    entry: dict[str, Any] = {"failure": name.strip(), "recovered": was_recovered}
    if how.strip():
        entry["how"] = how.strip()
    return entry


def _edit_command(name: str, func: Callable[..., WriteResult], doc: str) -> None:
    def command(
        kind: str = typer.Argument(..., help="pattern, failure, template or vocabulary."),
        record_id: str = typer.Argument(..., metavar="ID"),
        field: str = typer.Argument(..., help="Field, dotted for nested ones: prior.weight."),
        value: str = typer.Argument(..., help="Value, read as YAML (12, true, [a, b], text)."),
        repo: Path | None = REPO,
        no_commit: bool = NO_COMMIT,
        branch: str | None = BRANCH,
        push: bool = PUSH,
        remote: str = REMOTE,
        agent: str | None = AGENT,
        as_json: bool = JSON,
    ) -> None:
        root = repo_root(repo)
        result = func(
            root,
            kind,
            record_id,
            field,
            authoring.parse_value(value),
            _options(no_commit, branch, push, remote, agent),
        )
        _done(result, as_json)

    command.__doc__ = doc
    app.command(name)(handles_errors(reports_findings(command)))


_edit_command(
    "set",
    authoring.set_field,
    "Set one field of a record; every other line of the file keeps its bytes.",
)
_edit_command(
    "add",
    authoring.add_item,
    "Append a value to a list field (a best practice, a prevention strategy, a key droid...).",
)
_edit_command("remove", authoring.remove_item, "Remove a value from a list field.")


@app.command()
@handles_errors
@reports_findings
def deprecate(
    kind: str = typer.Argument(..., help="pattern, failure or template."),
    record_id: str = typer.Argument(..., metavar="ID"),
    superseded_by: str | None = typer.Option(None, "--superseded-by", help="Id replacing it."),
    repo: Path | None = REPO,
    no_commit: bool = NO_COMMIT,
    branch: str | None = BRANCH,
    push: bool = PUSH,
    remote: str = REMOTE,
    agent: str | None = AGENT,
    as_json: bool = JSON,
) -> None:
    """Mark a record deprecated (kept for history, no longer applied)."""
    result = authoring.deprecate(
        repo_root(repo),
        kind,
        record_id,
        superseded_by,
        _options(no_commit, branch, push, remote, agent),
    )
    _done(result, as_json)


@app.command("rm")
@handles_errors
@reports_findings
def remove_record(
    kind: str = typer.Argument(..., help="pattern, failure or template."),
    record_id: str = typer.Argument(..., metavar="ID"),
    repo: Path | None = REPO,
    no_commit: bool = NO_COMMIT,
    branch: str | None = BRANCH,
    push: bool = PUSH,
    remote: str = REMOTE,
    agent: str | None = AGENT,
    as_json: bool = JSON,
) -> None:
    """Delete a record no other record refers to (otherwise: deprecate it)."""
    result = authoring.delete(
        repo_root(repo),
        kind,
        record_id,
        _options(no_commit, branch, push, remote, agent),
    )
    _done(result, as_json)


@app.command()
@handles_errors
def rename(
    kind: str = typer.Argument(...),
    record_id: str = typer.Argument(..., metavar="ID"),
    new_id: str = typer.Argument(..., metavar="NEW_ID"),
    repo: Path | None = REPO,
) -> None:
    """Refused: ids are permanent. Says how to replace a record instead."""
    del new_id, repo
    authoring.rename(kind, record_id)


@app.command()
@handles_errors
@reports_findings
def show(
    kind: str = typer.Argument(...),
    record_id: str = typer.Argument(..., metavar="ID"),
    repo: Path | None = REPO,
    as_json: bool = JSON,
) -> None:
    """Print one record: its file as written, or its fields as JSON."""
    root = repo_root(repo)
    found = authoring.show(root, kind, record_id)
    if as_json:
        typer.echo(json.dumps({"path": found.relpath, **found.doc}, indent=2))
    else:
        typer.echo(f"# {found.relpath}")
        typer.echo((root / found.relpath).read_text(encoding="utf-8"), nl=False)


@app.command("list")
@handles_errors
def list_command(
    kind: str | None = typer.Option(None, "--kind"),
    domain: str | None = typer.Option(None, "--domain"),
    phase: str | None = typer.Option(None, "--phase"),
    droid: str | None = typer.Option(None, "--droid"),
    repo: Path | None = REPO,
    as_json: bool = JSON,
) -> None:
    """List records, filtered by kind, domain, phase and droid; a table, or JSON."""
    found = authoring.list_records(
        repo_root(repo), kind=kind, domain=domain, phase=phase, droid=droid
    )
    rows = [
        {
            "kind": r.kind,
            "id": r.id,
            "status": r.doc.get("status", "active"),
            "domains": r.doc.get("domains", []),
            "title": r.doc.get("title") or r.doc.get("project") or "",
            "path": r.relpath,
        }
        for r in found
    ]
    if as_json:
        typer.echo(json.dumps(rows, indent=2))
        return
    typer.echo(_table(rows))


def _table(rows: list[dict[str, Any]]) -> str:
    columns = ("kind", "id", "status", "domains", "title")
    cells = [
        [", ".join(v) if isinstance(v, list) else str(v) for v in (row[c] for c in columns)]
        for row in rows
    ]
    widths = [max([len(c), *(len(r[i]) for r in cells)]) for i, c in enumerate(columns)]
    lines = ["  ".join(c.upper().ljust(w) for c, w in zip(columns, widths, strict=True)).rstrip()]
    lines += ["  ".join(v.ljust(w) for v, w in zip(r, widths, strict=True)).rstrip() for r in cells]
    lines.append(f"{len(rows)} record(s)")
    return "\n".join(lines)
