"""Which legacy files to read, and in which shape each one is written.

Orchestrators of this family write their memory in one of four shapes
(docs/import-legacy.md, "Shapes"): the seed's (one document with `success_patterns`,
`failure_patterns`, `project_templates` objects keyed by id), one file per section
(`success_patterns.json` holding a `patterns` list...), entries nested by category
(`{frontend: {next.js-react: {...}}}`), and one entry per file. `classify` reads every
file, tells its shape (or takes the forced one) and refuses, with a KB601 saying what it
expected and what it saw, a file in none of them.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any

from memkb.findings import Finding, Severity, error
from memkb.legacy.mapping import KIND_MARKERS, TITLE_FIELDS
from memkb.legacy.source import (
    DERIVED_SECTIONS,
    SECTIONS,
    LegacySource,
    UnreadableLegacy,
    read_legacy,
)

__all__ = [
    "LegacyFile",
    "NothingImportable",
    "Shape",
    "classify",
    "detect",
    "is_entry",
    "kind_hint",
    "memory_files",
]

MEMORY_SUFFIXES = (".json", ".md")
# Lists of entries in the one-file-per-section shape, and the file-level header fields.
ENTRY_LISTS = ("patterns", "templates", "core_patterns", "archived_patterns")
HEADER_FIELDS = ("version", "last_updated", "last_update")
# Sections of learning_metrics.json: derived figures with some prose, never entries.
METRICS_SECTIONS = (
    "global_metrics",
    "technology_metrics",
    "pattern_effectiveness",
    "project_insights",
    "recommendations",
)


class Shape(StrEnum):
    """The four shapes of legacy memory (the values are `legacy.shape` of the records)."""

    SEED = "seed"
    SECTIONS = "sections"
    NESTED = "nested"
    ENTRY = "entry"


SHAPE_NAMES: Mapping[Shape, str] = {
    Shape.SEED: "the seed's shape (success_patterns / failure_patterns / project_templates "
    "objects keyed by id)",
    Shape.SECTIONS: "the one-file-per-section shape (a `patterns` or `templates` list)",
    Shape.NESTED: "the nested-by-category shape ({category: {id: entry}})",
    Shape.ENTRY: "the one-entry-per-file shape (one object with an `id` and a name)",
}


class NothingImportable(UnreadableLegacy):
    """No file given holds importable memory: every refusal, nothing written (exit 2)."""

    def __init__(self, findings: list[Finding]) -> None:
        super().__init__(findings[0])
        self.findings = findings


@dataclass(frozen=True)
class LegacyFile:
    """One legacy file to import: its text and blocks, its shape, and the record kind its
    name announces (None when the name says nothing)."""

    source: LegacySource
    shape: Shape
    name: str
    kind: str | None


def memory_files(paths: Sequence[Path]) -> list[tuple[Path, bool]]:
    """(file, found in a directory) for every path: a file as given, a directory as every
    *.json / *.md under it, sorted, hidden folders skipped. Order is deterministic."""
    out: list[tuple[Path, bool]] = []
    for path in paths:
        if not path.is_dir():
            out.append((path, False))
            continue
        found = (
            p
            for p in path.rglob("*")
            if p.suffix.lower() in MEMORY_SUFFIXES
            and p.is_file()
            and not any(part.startswith(".") for part in p.relative_to(path).parts)
        )
        out.extend((p, True) for p in sorted(found))
    return out


def kind_hint(name: str) -> str | None:
    """The record kind a file name announces: failure_patterns.json -> failure, ..."""
    stem = Path(name).stem.lower()
    if "fail" in stem or "mistake" in stem:
        return "failure"
    if "template" in stem:
        return "template"
    if "pattern" in stem or "success" in stem:
        return "pattern"
    return None


def classify(
    paths: Sequence[Path], shape: Shape | None = None, display: str | None = None
) -> tuple[list[LegacyFile], list[Finding]]:
    """Read every memory file of `paths` and tell its shape (`shape` forces one).

    Returns the importable files and a finding for each file refused. Raises
    NothingImportable (exit 2) when no file is importable. `display` names a single file
    in findings (default: the path as given)."""
    files: list[LegacyFile] = []
    refused: list[Finding] = []
    listed = memory_files(paths)
    for path, in_folder in listed:
        name = display if display is not None and len(listed) == 1 else str(path)
        try:
            source = read_legacy(path, name)
        except UnreadableLegacy as exc:
            refused.append(_demoted(exc.finding) if in_folder else exc.finding)
            continue
        found, why = _shape_of(source, shape, path.name)
        if found is None:
            refused.append(error(name, "KB601", why, hint=_hint(shape)))
        else:
            files.append(LegacyFile(source, found, path.name, kind_hint(path.name)))
    if not files:
        if not refused:
            refused.append(
                error(display or ", ".join(map(str, paths)), "KB601", "no memory file found",
                      hint="pass memory files, or folders holding *.json / *.md files")
            )  # fmt: skip
        raise NothingImportable(refused)
    return files, refused


def _demoted(finding: Finding) -> Finding:
    """In a folder, a file without JSON (a README) is not memory: a warning, not a refusal."""
    if "no JSON" not in finding.message:
        return finding
    return Finding(
        finding.path,
        finding.line,
        finding.col,
        Severity.WARNING,
        "KB601",
        "no JSON in this file of the folder; skipped",
        finding.hint,
    )


def _hint(shape: Shape | None) -> str:
    if shape is not None:
        return "pass --shape with the shape named above, or leave it out to detect it"
    return "see docs/import-legacy.md for the shapes memkb reads; pass --shape to force one"


def _shape_of(source: LegacySource, forced: Shape | None, name: str) -> tuple[Shape | None, str]:
    """(shape, "") for an importable file, else (None, what was expected and seen)."""
    parsed = [b.data for b in source.blocks if b.data is not None]
    if not parsed:
        return forced or Shape.SEED, ""  # every block failed to parse: KB602 says why
    seen = [detect(data) for data in parsed]
    found = next((s for s in seen if s is not None), None)
    if forced is None:
        if found is not None:
            return found, ""
        return None, (
            "no memory sections in the legacy file: expected "
            + "; or ".join(SHAPE_NAMES.values())
            + f"; saw {describe(parsed[0])} in a file named {name}"
        )
    if found in (None, forced):
        return forced, ""  # the reader reports what in it does not fit
    what = f"this is {SHAPE_NAMES[found]}" if found else "in no shape memkb reads"
    return None, (
        f"--shape {forced}: expected {SHAPE_NAMES[forced]}; saw {describe(parsed[0])} "
        f"in a file named {name}: {what}"
    )


def detect(data: Any) -> Shape | None:
    """The shape of one parsed JSON document, or None if it is in none of them."""
    if not isinstance(data, dict) or not data:
        return None
    if any(k in data for k in (*SECTIONS, *DERIVED_SECTIONS)):
        return Shape.SEED
    if any(isinstance(data.get(k), list) for k in ENTRY_LISTS) or any(
        k in data for k in METRICS_SECTIONS
    ):
        return Shape.SECTIONS
    if is_entry(data) and ("id" in data or any(k in data for k in TITLE_FIELDS)):
        return Shape.ENTRY
    body = [v for k, v in data.items() if k not in HEADER_FIELDS]
    if body and all(_is_category_or_entry(v) for v in body):
        return Shape.NESTED
    return None


def is_entry(value: Any) -> bool:
    """True for an object that reads as one pattern, failure or template: it has a field
    only entries have (KIND_MARKERS), or a name and a category; and some value that is not
    an object. A package.json (name, description, version) is not one."""
    if not isinstance(value, dict):
        return False
    keys = value.keys()
    marked = bool(_MARKERS & keys) or ("category" in keys and bool(set(TITLE_FIELDS) & keys))
    return marked and any(not isinstance(v, dict) for v in value.values())


_MARKERS = frozenset().union(*KIND_MARKERS.values())


def _is_category_or_entry(value: Any) -> bool:
    if is_entry(value):
        return True
    return isinstance(value, dict) and bool(value) and all(is_entry(v) for v in value.values())


def describe(data: Any) -> str:
    """What a document looks like, for a refusal: 'a `patterns` list', 'an object with
    keys name, version', 'a JSON list'."""
    if isinstance(data, list):
        return "a JSON list"
    if not isinstance(data, dict):
        return f"a JSON {type(data).__name__}"
    lists = [k for k in ENTRY_LISTS if isinstance(data.get(k), list)]
    if lists:
        return f"a `{lists[0]}` list"
    return f"an object with keys {_names(data)}" if data else "an empty object"


def _names(data: Iterable[str], limit: int = 6) -> str:
    names = list(data)
    shown = ", ".join(names[:limit])
    return shown + (f" and {len(names) - limit} more" if len(names) > limit else "")
