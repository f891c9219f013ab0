"""`export_legacy`: memory in the legacy JSON shapes that orchestrators still read.

Knowledge fields come from the records of one commit (HEAD, or the one `--as-of` names,
resolved by memkb.history); figures are the derived ones: Beta posterior success rates
and the learning / performance metrics of `memkb metrics`, `last_updated` the last commit
that changed the record, `project_examples` the outcome records. Two shapes
(docs/import-legacy.md, "Exporting"):

- `seed`: one document with the seed's sections keyed by id and the seed's field names,
  lossless: `memkb import-legacy` of it into an empty KB gives the same records. Its
  `format` key (EXPORT_FORMAT) tells the importer that its rates are derived, so they do
  not re-import as priors on top of the outcomes they came from.
- `sections`: one document per file (`success_patterns.json`, ...), each
  `{version, last_updated, patterns | templates: [...]}`: the view current orchestrators
  read, not meant to be lossless.

Nothing here writes into kb/ or prints: `write_export` writes the rendered files where
the user asked, `check_output` refuses a bad destination before any work is done.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from memkb.errors import RepoError, UsageError
from memkb.kb.layout import KB_DIR
from memkb.legacy.commit_records import Records, read_records, strs, timeline_text
from memkb.legacy.export_sections import sections_documents
from memkb.legacy.source import EXPORT_FORMAT

__all__ = ["EXPORT_FORMAT", "SHAPES", "Export", "check_output", "export_legacy", "write_export"]

# EXPORT_FORMAT, the `format` key of a seed-shape export, is the importer's sign that the
# figures in it are derived (memkb.legacy.convert.EXPORTED_DERIVED);
# memkb.report.json_document writes it as the first key, and a test keeps the two equal.
SHAPES = ("seed", "sections")
SEED_FILE = "memory.json"  # the seed shape's file name when --output is a directory
SECTION_FILES = {
    "success_patterns": "success_patterns.json",
    "failure_patterns": "failure_patterns.json",
    "project_templates": "project_templates.json",
    "learning_metrics": "learning_metrics.json",
}
SECTIONS_VERSION = "1.0"  # the version the one-file-per-section shape writes in its files
_HEAD = ("kind", "schema_version", "id")

# Field order of the seed's entries; a record's other fields follow, sorted by name.
_PATTERN_ORDER = (
    "pattern_id",
    "domain",
    "success_rate",
    "applicable_phases",
    "key_droids",
    "timeline_optimization",
    "quality_improvements",
    "best_practices",
    "learned_techniques",
)
_FAILURE_ORDER = ("pattern_id", "domain", "common_causes", "prevention_strategies")
_TEMPLATE_ORDER = (
    "template_id",
    "domain",
    "phases",
    "risk_level",
    "estimated_timeline",
    "success_probability",
)
_EXAMPLE_ORDER = ("outcome_id", "project", "date", "outcome", "droids_used", "domain")
_TAIL = ("last_updated", "project_examples")


@dataclass
class Export:
    """An export: `documents` maps a file name to its JSON body (without the `format`
    key, which the renderer adds), in the order they are written."""

    shape: str
    commit: str | None
    documents: dict[str, dict[str, Any]]
    omitted: list[str] = field(default_factory=list)  # outcomes no section can hold
    unreadable: list[str] = field(default_factory=list)  # record files that did not load


def export_legacy(
    root: Path, *, shape: str = "seed", as_of: str | None = None, use_cache: bool = True
) -> Export:
    """Memory at HEAD (or `as_of`: YYYY-MM-DD or a revision) in the legacy `shape`.

    A finished export is kept under .git/memkb/ by tip commit, request and code (as
    `memkb metrics` keeps its reports), so exporting an unchanged repository again reads
    one file instead of every record. Raise UsageError for an unknown shape or a bad
    `as_of`, RepoError outside a Git repository with commits. Deterministic: the same
    commit gives the same documents."""
    from memkb import history  # imported here: only this command needs the history walk

    if shape not in SHAPES:
        raise UsageError(f"unknown shape '{shape}'", hint=f"use one of: {', '.join(SHAPES)}")
    if as_of is not None and history.DATE_RE.fullmatch(as_of):
        history.end_of_day(as_of)  # validates the date before any cache is consulted
    key = "\0".join(
        ("export-legacy", shape, as_of or "", history.tip_of(root, as_of), _fingerprint())
    )
    hit = history.cached_report(root, key) if use_cache else None
    if hit is not None and set(hit) == {f.name for f in fields(Export)}:
        return Export(**hit)
    export = _build(root, shape, as_of, use_cache)
    if use_cache:
        # Shallow: dataclasses.asdict deep-copies every document (10 s on 10,000 records).
        history.store_report(root, key, {f.name: getattr(export, f.name) for f in fields(Export)})
    return export


def _build(root: Path, shape: str, as_of: str | None, use_cache: bool) -> Export:
    from memkb import history

    parsed: dict[str, Any] = {}
    figures = history.report(root, as_of=as_of, use_cache=use_cache, docs=parsed)
    commit = figures["as_of"]["commit"]
    records = read_records(root, commit, parsed)
    build = _seed if shape == "seed" else _sections
    omitted = sorted(
        oid for oid, doc in records.of("outcome").items() if not strs(doc.get("patterns_applied"))
    )
    return Export(shape, commit, build(records, figures), omitted, records.unreadable)


def _fingerprint() -> str:
    """The figures' code (memkb.history.code_fingerprint) and the export's own modules: a
    changed mapping is a new export, never a stale one from the cache."""
    from memkb import history

    digest = hashlib.sha256(history.code_fingerprint().encode())
    for module in ("export.py", "export_sections.py", "commit_records.py"):
        digest.update((Path(__file__).parent / module).read_bytes())
    return digest.hexdigest()[:16]


# ------------------------------------------------------------------------ seed shape


def _seed(records: Records, figures: dict[str, Any]) -> dict[str, dict[str, Any]]:
    rows = {kind: {r["id"]: r for r in figures[kind]} for kind in _FIGURE_TABLES}
    # One example per outcome, shared by every pattern it applied (built once, not once
    # per pattern: outcomes apply one to three patterns each).
    examples = {oid: _example(doc) for oid, doc in records.of("outcome").items()}
    cited = {
        pid: [examples[str(o["id"])] for o in outcomes]
        for pid, outcomes in records.outcomes_citing().items()
    }
    body = {
        "as_of": figures["as_of"],
        "success_patterns": {
            pid: _seed_pattern(doc, rows["patterns"].get(pid, {}), cited.get(pid, []))
            for pid, doc in sorted(records.of("pattern").items())
        },
        "failure_patterns": {
            fid: _seed_failure(doc, rows["failures"].get(fid, {}))
            for fid, doc in sorted(records.of("failure").items())
        },
        "project_templates": _seed_templates(records.of("template"), rows["templates"]),
        "learning_metrics": figures["learning_metrics"],
        "performance_metrics": figures["performance_metrics"],
    }
    return {SEED_FILE: body}


_FIGURE_TABLES = ("patterns", "failures", "templates")


def _seed_pattern(
    doc: dict[str, Any], row: dict[str, Any], examples: list[dict[str, Any]]
) -> dict[str, Any]:
    entry = _renamed(doc, {"domains": "domain", "phases": "applicable_phases"})
    entry["pattern_id"] = doc["id"]
    entry["success_rate"] = row.get("posterior_mean")
    prior = doc.get("prior")
    if isinstance(prior, dict) and "timeline_optimization" in prior:
        entry["timeline_optimization"] = prior["timeline_optimization"]
    entry["last_updated"] = row.get("last_changed")
    entry["project_examples"] = examples
    return _ordered(entry, _PATTERN_ORDER)


def _seed_failure(doc: dict[str, Any], row: dict[str, Any]) -> dict[str, Any]:
    entry = _renamed(doc, {"domains": "domain"})
    entry["pattern_id"] = doc["id"]
    entry["occurrences"] = row.get("occurrences", 0)
    entry["recovery_rate"] = row.get("recovery_rate")
    entry["last_updated"] = row.get("last_changed")
    return _ordered(entry, _FAILURE_ORDER)


def _seed_templates(
    docs: dict[str, dict[str, Any]], rows: dict[str, dict[str, Any]]
) -> dict[str, dict[str, Any]]:
    """Templates keyed by domain, as the seed has them ("e-commerce": {...}). A domain
    key goes to the template with the best posterior among those whose first domain it
    is; the others are keyed "<domain>/<template id>". Every entry carries its domains, so
    the importer never relies on the key."""

    def rank(tid: str) -> tuple[float, str]:
        mean = rows.get(tid, {}).get("posterior_mean")
        return (-(mean if isinstance(mean, int | float) else -1.0), tid)

    out: dict[str, dict[str, Any]] = {}
    for tid in sorted(docs, key=rank):
        doc = docs[tid]
        domains = strs(doc.get("domains"))
        key = domains[0] if domains else tid
        if key in out:
            key = f"{key}/{tid}"
        out[key] = _seed_template(doc, rows.get(tid, {}))
    return dict(sorted(out.items()))


def _seed_template(doc: dict[str, Any], row: dict[str, Any]) -> dict[str, Any]:
    entry = _renamed(doc, {"domains": "domain"})
    entry["template_id"] = doc["id"]
    if isinstance(doc.get("phases"), list):
        entry["phases"] = [_seed_phase(p) for p in doc["phases"]]
    if "estimated_timeline" in doc:
        entry["estimated_timeline"] = timeline_text(doc["estimated_timeline"])
    entry["success_probability"] = row.get("posterior_mean")
    entry["last_updated"] = row.get("last_changed")
    return _ordered(entry, _TEMPLATE_ORDER)


def _seed_phase(phase: Any) -> Any:
    """{phase, name, ...} -> {phase_name, ...}; `phase` kept unless the importer would
    derive the same one from the name."""
    from memkb.legacy.convert import snake

    if not isinstance(phase, dict) or not isinstance(phase.get("name"), str):
        return phase
    out = {"phase_name": phase["name"]}
    out.update((k, v) for k, v in phase.items() if k != "name")
    if out.get("phase") == snake(phase["name"]):
        del out["phase"]
    return out


def _example(outcome: dict[str, Any]) -> dict[str, Any]:
    """An outcome record as a project example: every field, so it re-imports whole."""
    entry = _renamed(outcome, {"domains": "domain"})
    entry["outcome_id"] = outcome["id"]
    return _ordered(entry, _EXAMPLE_ORDER, tail=())


def _renamed(doc: dict[str, Any], names: Mapping[str, str]) -> dict[str, Any]:
    return {names.get(k, k): v for k, v in doc.items() if k not in _HEAD}


def _ordered(
    entry: dict[str, Any], order: Iterable[str], tail: Iterable[str] = _TAIL
) -> dict[str, Any]:
    """The seed's fields in its order, the record's others sorted by name, then `tail`."""
    first, last = list(order), list(tail)
    rest = sorted(k for k in entry if k not in first and k not in last)
    return {k: entry[k] for k in (*first, *rest, *last) if k in entry}


# -------------------------------------------------------------------- sections shape


def _sections(records: Records, figures: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return sections_documents(records, figures, SECTIONS_VERSION)


# ------------------------------------------------------------------------- writing


def check_output(root: Path, output: Path | None, shape: str) -> Path | None:
    """Where the export goes: `output` checked before any work is done (None: stdout).

    Raise UsageError (exit 2) for a destination inside kb/, a missing parent folder, a
    file given for the sections shape (it needs a directory), or a path that is neither
    file nor directory."""
    if output is None:
        return None
    target = output.resolve()
    if target == (root / KB_DIR).resolve() or (root / KB_DIR).resolve() in target.parents:
        raise UsageError(
            f"--output {output} is inside {KB_DIR}/: the export never writes into the "
            "knowledge base",
            hint="write it outside kb/, e.g. --output legacy/",
        )
    if shape == "sections" and target.exists() and not target.is_dir():
        raise UsageError(
            f"--output {output} is a file; --shape sections writes one file per section",
            hint="pass a directory (created if missing)",
        )
    if target.exists() and not (target.is_dir() or target.is_file()):
        raise UsageError(f"--output {output} is not a regular file or directory")
    if not target.parent.is_dir():
        raise UsageError(
            f"--output {output}: folder {output.parent} does not exist",
            hint="create it first, or choose another path",
        )
    return target


def destinations(target: Path, shape: str, names: Iterable[str]) -> dict[str, Path]:
    """File name -> path: into the directory `target` (the sections shape, or an existing
    directory), else `target` itself for the seed shape's one file."""
    names = list(names)
    if shape == "seed" and not target.is_dir():
        return {names[0]: target}
    return {name: target / name for name in names}


def write_export(target: Path, shape: str, texts: Mapping[str, str]) -> list[Path]:
    """Write each rendered document atomically; return the paths written.

    Raise RepoError if one cannot be written (the files written before it are put back
    as they were)."""
    from memkb.write.journal import read_file, write_file

    paths = destinations(target, shape, texts)
    done: list[tuple[Path, bytes | None]] = []
    for name, path in paths.items():
        try:
            if shape == "sections":
                target.mkdir(exist_ok=True)
            previous = read_file(path)
            write_file(path, texts[name].encode("utf-8"))
        except OSError as exc:
            for written, old in reversed(done):
                write_file(written, old)
            raise RepoError(
                f"cannot write {path}: {exc.strerror or exc}; nothing was changed",
                hint="check that the --output folder is writable",
            ) from exc
        done.append((path, previous))
    return [path for path, _ in done]


# ---------------------------------------------------------------------------- small
