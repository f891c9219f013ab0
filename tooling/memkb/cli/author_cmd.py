"""Authoring commands: new, record, set, add, remove, deprecate, rm, rename, show, list.

Each command parses options, calls one function of memkb.write.authoring (show and list:
memkb.write.read) and renders what it returns; the rules live in the library. The core is
imported inside the commands: `show` and `list` never load the write path or GitPython,
and no command pays for another's imports.
"""

# No `from __future__ import annotations` here: typer reads each option's type from the
# command's annotations, and as strings they are parsed and compiled again by every run
# (typing.get_type_hints: about 6 million instructions of a `memkb record`, callgrind); as
# objects they come compiled from the module's bytecode.
import sys
from collections.abc import Callable
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from memkb.cli.app import JSON, app, format_option, handles_errors, output_format, repo_root
from memkb.errors import UsageError
from memkb.report import reporter

if TYPE_CHECKING:
    from memkb.write.transaction import WriteOptions, WriteResult


class Format(StrEnum):
    text = "text"
    json = "json"


class ListFormat(StrEnum):
    text = "text"
    json = "json"
    markdown = "markdown"


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
FORMAT = format_option("write")

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


def _options(
    no_commit: bool, branch: str | None, push: bool, remote: str, agent: str | None
) -> "WriteOptions":
    """The write options of the shared flags: --push sends to --remote."""
    from memkb.write.transaction import WriteOptions

    return WriteOptions(
        commit=not no_commit, branch=branch, push=remote if push else None, agent=agent
    )


def _done(result: "WriteResult", command: str, fmt: str, as_json: bool) -> None:
    """Print a write's result: warnings and notes on stderr next to the text line, or
    everything in the JSON document."""
    from memkb.report.writes import render_notes

    chosen = output_format(fmt, as_json)
    if chosen == "text":
        typer.echo(render_notes(result), nl=False, err=True)
    typer.echo(reporter("write", chosen)(result, command), nl=False)


def _read_doc(source: str) -> dict[str, Any]:
    """The mapping in FILE, or on stdin for "-" (YAML or JSON)."""
    from memkb.records.load import MAX_FILE_BYTES, read_limited
    from memkb.write import authoring

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


def _fields(root: Path, kind: str, pairs: list[str]) -> dict[str, Any]:
    from memkb.write import authoring

    out = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise UsageError(f"--field wants KEY=VALUE, got '{pair}'")
        out[key.strip()] = authoring.value_from_text(root, kind, key.strip(), value)
    return out


@app.command()
@handles_errors
def new(
    kind: str = typer.Argument(..., help="pattern, failure or template."),
    record_id: str | None = typer.Argument(None, metavar="ID", help="snake_case id."),
    from_file: str | None = typer.Option(
        None, "--from", help="Whole record as YAML or JSON from FILE, or from stdin with '-'."
    ),
    title: str | None = typer.Option(None, "--title", help="One-line title."),
    description: str | None = typer.Option(
        None, "--description", help="What the pattern, failure or template is about."
    ),
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
        [],
        "--field",
        help="Any other field as KEY=VALUE (repeatable); VALUE is taken as given for a "
        "text field, read as YAML for others (12, true, [a, b]).",
    ),
    repo: Path | None = REPO,
    no_commit: bool = NO_COMMIT,
    branch: str | None = BRANCH,
    push: bool = PUSH,
    remote: str = REMOTE,
    agent: str | None = AGENT,
    fmt: Format = FORMAT,
    as_json: bool = JSON,
) -> None:
    """Create a pattern, failure or template. Missing required fields are prompted for at
    a terminal; without one, the command fails and lists them."""
    from memkb.write import authoring

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
    doc.update(_fields(root, kind, field))
    _complete(root, kind, doc, interactive=from_file != "-" and stdin_is_terminal())
    _done(
        authoring.new_record(root, kind, doc, _options(no_commit, branch, push, remote, agent)),
        "new",
        fmt,
        as_json,
    )


def stdin_is_terminal() -> bool:
    """True when a person can answer prompts (tests replace this)."""
    return sys.stdin.isatty()


def _complete(root: Path, kind: str, doc: dict[str, Any], *, interactive: bool) -> None:
    """Prompt for the required fields `doc` lacks, or fail listing them."""
    from memkb.write import authoring

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
    from memkb.records.schema import Schemas
    from memkb.write import authoring

    schema = Schemas(root).document(kind)
    spec = schema.get("properties", {}).get(name, {})
    ref = spec.get("$ref", "")
    if isinstance(ref, str) and ref.startswith("#/$defs/"):  # e.g. a failure's sentences
        spec = {**schema.get("$defs", {}).get(ref[len("#/$defs/") :], {}), **spec}
    if spec.get("type") == "array":
        parts = [part.strip() for part in answer.split(",") if part.strip()]
        return [authoring.value_from_text(root, kind, name, p, item=True) for p in parts]
    return authoring.value_from_text(root, kind, name, answer)


@app.command()
@handles_errors
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
    planned_days: float | None = typer.Option(
        None, "--planned-days", help="Days the project was planned to take."
    ),
    actual_days: float | None = typer.Option(None, "--actual-days", help="Days it took."),
    quality: float | None = typer.Option(None, "--quality", help="Quality score, 0 to 1."),
    errors: int | None = typer.Option(None, "--errors", help="Errors found after delivery."),
    satisfaction: float | None = typer.Option(None, "--satisfaction", help="0 to 1."),
    notes: str | None = typer.Option(None, "--notes", help="Free text: what to remember."),
    brief_id: str | None = typer.Option(
        None,
        "--brief-id",
        help="brief_id of the recommend/brief answer the project was given: the outcome "
        "then records which advice was followed or ignored (docs/advice.md).",
    ),
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
    fmt: Format = FORMAT,
    as_json: bool = JSON,
) -> None:
    """Record a finished project's outcome as kb/outcomes/<yyyy>/<date>-<slug>.yaml."""
    from memkb.write import authoring

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
        authoring.record_outcome(
            root, fields, _options(no_commit, branch, push, remote, agent), brief_id=brief_id
        ),
        "record",
        fmt,
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


def _edit_command(name: str, func_name: str, doc: str) -> None:
    """Register `name`, the edit command calling memkb.write.authoring.<func_name>."""

    def command(
        kind: str = typer.Argument(..., help="pattern, failure, template or vocabulary."),
        record_id: str = typer.Argument(..., metavar="ID", help="The record's id (its file name)."),
        field: str = typer.Argument(..., help="Field, dotted for nested ones: prior.weight."),
        value: str = typer.Argument(
            ...,
            help="Value: taken as given for a text field (or a text item of a list), read "
            "as YAML for other fields (12, true, [a, b]).",
        ),
        as_yaml: bool = typer.Option(
            False, "--yaml", help="Read VALUE as YAML even for a text field ('quoted')."
        ),
        repo: Path | None = REPO,
        no_commit: bool = NO_COMMIT,
        branch: str | None = BRANCH,
        push: bool = PUSH,
        remote: str = REMOTE,
        agent: str | None = AGENT,
        fmt: Format = FORMAT,
        as_json: bool = JSON,
    ) -> None:
        from memkb.write import authoring

        root = repo_root(repo)
        parsed = authoring.value_from_text(
            root, kind, field, value, item=name != "set", as_yaml=as_yaml
        )
        func: Callable[..., WriteResult] = getattr(authoring, func_name)
        result = func(
            root, kind, record_id, field, parsed, _options(no_commit, branch, push, remote, agent)
        )
        _done(result, name, fmt, as_json)

    command.__doc__ = doc
    app.command(name)(handles_errors(command))


_edit_command(
    "set",
    "set_field",
    "Set one field of a record; every other line of the file keeps its bytes.",
)
_edit_command(
    "add",
    "add_item",
    "Append a value to a list field (a best practice, a prevention strategy, a key droid...).",
)
_edit_command("remove", "remove_item", "Remove a value from a list field.")


@app.command()
@handles_errors
def deprecate(
    kind: str = typer.Argument(..., help="pattern, failure or template."),
    record_id: str = typer.Argument(..., metavar="ID", help="The record's id (its file name)."),
    superseded_by: str | None = typer.Option(None, "--superseded-by", help="Id replacing it."),
    repo: Path | None = REPO,
    no_commit: bool = NO_COMMIT,
    branch: str | None = BRANCH,
    push: bool = PUSH,
    remote: str = REMOTE,
    agent: str | None = AGENT,
    fmt: Format = FORMAT,
    as_json: bool = JSON,
) -> None:
    """Mark a record deprecated (kept for history, no longer applied)."""
    from memkb.write import authoring

    result = authoring.deprecate(
        repo_root(repo),
        kind,
        record_id,
        superseded_by,
        _options(no_commit, branch, push, remote, agent),
    )
    _done(result, "deprecate", fmt, as_json)


@app.command("rm")
@handles_errors
def remove_record(
    kind: str = typer.Argument(..., help="pattern, failure or template."),
    record_id: str = typer.Argument(..., metavar="ID", help="The record's id (its file name)."),
    repo: Path | None = REPO,
    no_commit: bool = NO_COMMIT,
    branch: str | None = BRANCH,
    push: bool = PUSH,
    remote: str = REMOTE,
    agent: str | None = AGENT,
    fmt: Format = FORMAT,
    as_json: bool = JSON,
) -> None:
    """Delete a record no other record refers to (otherwise: deprecate it)."""
    from memkb.write import authoring

    result = authoring.delete(
        repo_root(repo),
        kind,
        record_id,
        _options(no_commit, branch, push, remote, agent),
    )
    _done(result, "rm", fmt, as_json)


@app.command()
@handles_errors
def rename(
    kind: str = typer.Argument(..., help="pattern, failure or template."),
    record_id: str = typer.Argument(..., metavar="ID", help="The record's id (its file name)."),
    new_id: str = typer.Argument(..., metavar="NEW_ID", help="The id it would get."),
    repo: Path | None = REPO,
    fmt: Format = FORMAT,
    as_json: bool = JSON,
) -> None:
    """Refused: ids are permanent. Says how to replace a record instead."""
    del new_id, repo, fmt, as_json  # fmt and as_json shape the refusal (handles_errors)
    from memkb.write import authoring

    authoring.rename(kind, record_id)


@app.command()
@handles_errors
def show(
    kind: str = typer.Argument(..., help="pattern, failure, template or outcome."),
    record_id: str = typer.Argument(
        ...,
        metavar="ID",
        help="The record's id (its file name), or the id a legacy memory gave it (legacy.id).",
    ),
    repo: Path | None = REPO,
    fmt: Format = format_option("show"),
    as_json: bool = JSON,
) -> None:
    """Print one record: its file as written, or its fields as JSON."""
    from memkb.write.read import show as read_record

    root = repo_root(repo)
    found = read_record(root, kind, record_id)
    text = (root / found.relpath).read_text(encoding="utf-8")
    render = reporter("show", output_format(fmt, as_json))
    typer.echo(render(found, text, asked=record_id), nl=False)


@app.command("list")
@handles_errors
def list_command(
    kind: str | None = typer.Option(
        None, "--kind", help="Only this kind: pattern, failure, template or outcome."
    ),
    domain: str | None = typer.Option(None, "--domain", help="Only records of this domain."),
    phase: str | None = typer.Option(None, "--phase", help="Only patterns of this phase."),
    droid: str | None = typer.Option(None, "--droid", help="Only records naming this droid."),
    repo: Path | None = REPO,
    fmt: ListFormat = format_option("list"),
    as_json: bool = JSON,
) -> None:
    """List records, filtered by kind, domain, phase and droid; a table, or JSON."""
    from memkb.write.read import list_records

    found = list_records(repo_root(repo), kind=kind, domain=domain, phase=phase, droid=droid)
    typer.echo(reporter("list", output_format(fmt, as_json))(found), nl=False)
