"""Converting the sections of a legacy memory into record drafts (see docs/import-legacy.md).

Each converter takes one legacy entry (its key, its JSON object, its place in the
file) and returns drafts: the converted document plus, for every field, the legacy
place it came from, so that any later finding (schema, reference) points at the
legacy line a person must fix. Converters report what only they can see (a key that
disagrees with its id, an unreadable timeline, a dropped derived figure) and leave
schema and reference checks to the importer.
"""

from __future__ import annotations

import difflib
import re
import unicodedata
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Protocol

from memkb.findings import Severity
from memkb.kb.index import Vocabulary
from memkb.kb.layout import SCHEMA_VERSIONS
from memkb.legacy.source import (
    DATE_KEYS,
    DERIVED_SECTIONS,
    EXPORT_FORMAT,
    EXPORT_KEYS,
    SECTIONS,
    LegacyPath,
    valid_date,
)
from memkb.records.schema import DERIVED_FIELDS


class Run(Protocol):
    """What converting needs from an import run (memkb.legacy.importer.Importer is one)."""

    today: date
    vocabulary: Vocabulary | None

    def report(
        self,
        code: str,
        message: str,
        where: LegacyPath,
        *,
        key: bool = False,
        severity: Severity = Severity.ERROR,
        hint: str | None = None,
    ) -> None:
        """Add a finding at the legacy place `where`."""

    def record_date(self, entry: dict[str, Any]) -> str:
        """The date of a legacy entry."""


# How many outcomes a declared figure is worth: enough to steer the first few
# projects, little enough that real evidence soon outweighs it (docs/metrics.md).
PRIOR_WEIGHT = 10
_TIMELINE = re.compile(
    r"^\s*(\d+(?:\.\d+)?)\s*(?:(?:-|\u2013|to)\s*(\d+(?:\.\d+)?)\s*)?weeks?\s*$", re.IGNORECASE
)

DocPath = tuple[str | int, ...]

# In a memory that memkb exported, these figures are the posterior and counts of the
# outcomes the same memory carries as project_examples: importing them as priors would
# count that evidence twice. The declared prior travels as the entry's own `prior`.
EXPORTED_DERIVED = frozenset(
    {"success_rate", "success_probability", "timeline_optimization", "occurrences", "recovery_rate"}
)


@dataclass
class Draft:
    """A converted record and, for each field, the legacy place it came from."""

    kind: str
    id: str
    doc: dict[str, Any]
    origin: LegacyPath
    fields: dict[DocPath, tuple[LegacyPath, bool]] = field(default_factory=dict)

    def legacy(self, doc_path: DocPath) -> tuple[LegacyPath, bool]:
        """The legacy place of the value at `doc_path`, and whether that place is a key.
        Falls back to the nearest mapped ancestor, then to the entry's own key."""
        for cut in range(len(doc_path), 0, -1):
            hit = self.fields.get(doc_path[:cut])
            if hit is not None:
                where, at_key = hit
                rest = doc_path[cut:]
                return ((*where, *rest), False) if rest else (where, at_key)
        return self.origin, True

    def put(self, name: str, value: Any, where: LegacyPath, *, at_key: bool = False) -> None:
        """Set a top-level field and remember where it came from."""
        self.doc[name] = value
        self.fields[(name,)] = (where, at_key)


def convert_block(run: Run, index: int, data: Any) -> list[Draft]:
    """Drafts for every entry of every section of one parsed JSON block."""
    if not isinstance(data, dict):
        run.report(
            "KB611",
            "this JSON block is not an object of memory sections; ignored",
            (index,),
            severity=Severity.WARNING,
        )
        return []
    out: list[Draft] = []
    exported = data.get("format") == EXPORT_FORMAT
    for name, section in data.items():
        where: LegacyPath = (index, name)
        if exported and name in EXPORT_KEYS:
            if name == "format":
                _exported_note(run, where)
        elif name in DERIVED_SECTIONS:
            run.report(
                "KB607",
                f"'{name}' not imported: these figures are derived, and "
                "`memkb metrics` computes them from outcome records",
                where,
                key=True,
                severity=Severity.WARNING,
            )
        elif name in CONVERTERS:
            if not isinstance(section, dict):
                run.report("KB605", f"'{name}' must be a JSON object keyed by id", where)
                continue
            for key, entry in section.items():
                if exported and isinstance(entry, dict):
                    entry = {k: v for k, v in entry.items() if k not in EXPORTED_DERIVED}
                out.extend(CONVERTERS[name](run, key, entry, (*where, key)))
        else:
            close = difflib.get_close_matches(name, (*SECTIONS, *DERIVED_SECTIONS), n=1)
            guess = f" (did you mean '{close[0]}'?)" if close else ""
            run.report(
                "KB611",
                f"unknown section '{name}' ignored{guess}",
                where,
                key=True,
                severity=Severity.WARNING,
                hint=f"sections read: {', '.join(SECTIONS)}",
            )
    return out


def _exported_note(run: Run, where: LegacyPath) -> None:
    """One warning for the figures an export carries and the import leaves out."""
    run.report(
        "KB607",
        f"memory exported by memkb ({EXPORT_FORMAT}): its "
        f"{', '.join(sorted(EXPORTED_DERIVED))} and last_updated are derived from the "
        "outcomes it carries (project_examples) and are not imported; each entry's "
        "declared `prior` is imported as it stands",
        where,
        key=True,
        severity=Severity.WARNING,
    )


def _pattern(run: Run, key: str, entry: Any, where: LegacyPath) -> list[Draft]:
    if not _is_object(run, "success pattern", key, entry, where):
        return []
    draft = _draft("pattern", key, where)
    _check_declared_id(run, entry, ("pattern_id",), key, where)
    prior = ("success_rate", "timeline_optimization")
    _copy(
        run,
        draft,
        entry,
        where,
        {"domain": "domains", "applicable_phases": "phases"},
        skip={"pattern_id", "project_examples", *prior},
    )
    _prior(run, draft, entry, where, prior)
    examples = (*where, "project_examples")
    return [draft, *_outcomes(run, draft, entry.get("project_examples"), examples)]


def _failure(run: Run, key: str, entry: Any, where: LegacyPath) -> list[Draft]:
    if not _is_object(run, "failure pattern", key, entry, where):
        return []
    draft = _draft("failure", key, where)
    _check_declared_id(run, entry, ("pattern_id", "failure_id"), key, where)
    _copy(run, draft, entry, where, {"domain": "domains"}, skip={"pattern_id", "failure_id"})
    return [draft]


def _template(run: Run, key: str, entry: Any, where: LegacyPath) -> list[Draft]:
    """A template is keyed by its domain ("e-commerce") and named by template_id."""
    if not _is_object(run, "project template", key, entry, where):
        return []
    tid = entry.get("template_id")
    if not isinstance(tid, str) or not tid:
        run.report(
            "KB605",
            f"project template '{key}' has no template_id; not imported",
            where,
            key=True,
            hint='add "template_id": "<snake_case id>"',
        )
        return []
    draft = _draft("template", tid, where)
    draft.fields[("id",)] = ((*where, "template_id"), False)
    draft.put("domains", [key], where, at_key=True)
    draft.fields[("domains", 0)] = (where, True)
    special = ("phases", "estimated_timeline", "success_probability")
    _copy(run, draft, entry, where, {"domain": "domains"}, skip={"template_id", *special})
    if "phases" in entry:
        _phases(draft, entry["phases"], (*where, "phases"))
    if "estimated_timeline" in entry:
        _timeline(run, draft, entry["estimated_timeline"], (*where, "estimated_timeline"))
    _prior(run, draft, entry, where, ("success_probability",))
    return [draft]


CONVERTERS: Mapping[str, Callable[[Run, str, Any, LegacyPath], list[Draft]]] = {
    "success_patterns": _pattern,
    "failure_patterns": _failure,
    "project_templates": _template,
}


def _draft(kind: str, rid: str, where: LegacyPath) -> Draft:
    head = {"kind": kind, "schema_version": SCHEMA_VERSIONS[kind], "id": rid}
    draft = Draft(kind, rid, head, where)
    draft.fields[("id",)] = (where, True)
    return draft


def _is_object(run: Run, what: str, key: str, entry: Any, where: LegacyPath) -> bool:
    if isinstance(entry, dict):
        return True
    run.report("KB605", f"{what} '{key}' must be a JSON object; not imported", where)
    return False


def _check_declared_id(
    run: Run, entry: dict[str, Any], names: tuple[str, ...], key: str, where: LegacyPath
) -> None:
    """KB603: the key is what the orchestrator looked the entry up by, so it wins."""
    for name in names:
        declared = entry.get(name)
        if declared is not None and declared != key:
            run.report(
                "KB603",
                f"key '{key}' and {name} '{declared}' disagree; imported with id '{key}'",
                (*where, name),
                hint=f"make {name} equal the key, or drop {name}",
            )


def _copy(
    run: Run,
    draft: Draft,
    entry: dict[str, Any],
    where: LegacyPath,
    renames: Mapping[str, str],
    *,
    skip: Collection[str],
) -> None:
    """Copy the remaining fields (renamed where the record calls them otherwise);
    unknown fields go through so the schema check names them."""
    for name, value in entry.items():
        if name in skip or name in DATE_KEYS:
            continue  # dates are Git history now; they only date the prior's source
        if name in DERIVED_FIELDS:
            run.report(
                "KB607",
                f"'{name}' not imported: {DERIVED_FIELDS[name]}",
                (*where, name),
                key=True,
                severity=Severity.WARNING,
            )
            continue
        target = renames.get(name, name)
        if target == "domains" and isinstance(value, str):
            value = [value]  # a single legacy domain written as a string
            draft.fields[("domains", 0)] = ((*where, name), False)
        draft.put(target, value, (*where, name))


def _prior(
    run: Run, draft: Draft, entry: dict[str, Any], where: LegacyPath, names: tuple[str, ...]
) -> None:
    """Declared figures become a weighted prior that evidence gradually outweighs."""
    declared = {name: entry[name] for name in names if name in entry}
    if not declared or "prior" in entry:
        return
    source = f"legacy memory, {run.record_date(entry)}"
    draft.put("prior", {**declared, "weight": PRIOR_WEIGHT, "source": source}, where, at_key=True)
    for name in declared:
        draft.fields[("prior", name)] = ((*where, name), False)


def _phases(draft: Draft, phases: Any, where: LegacyPath) -> None:
    """phase_name -> name, and phase = its snake_case ('Database & API' -> database_api)."""
    draft.put("phases", phases, where)
    if not isinstance(phases, list):
        return  # the schema reports the wrong shape
    converted: list[Any] = []
    for i, item in enumerate(phases):
        if not isinstance(item, dict):
            converted.append(item)
            continue
        new: dict[str, Any] = {}
        for name, value in item.items():
            if name != "phase_name":
                new[name] = value
                continue
            new["name"] = value
            draft.fields[("phases", i, "name")] = ((*where, i, name), False)
            if "phase" not in item and isinstance(value, str):
                new["phase"] = snake(value)
                draft.fields[("phases", i, "phase")] = ((*where, i, name), False)
        converted.append(new)
    draft.doc["phases"] = converted


def _timeline(run: Run, draft: Draft, value: Any, where: LegacyPath) -> None:
    if isinstance(value, str):
        parsed = parse_timeline(value)
        if parsed is None:
            run.report(
                "KB605",
                f"template '{draft.id}': cannot read estimated_timeline '{value}'; not imported",
                where,
                hint='write it as weeks, e.g. "2-4 weeks" or "3 weeks"',
            )
            return
        value = parsed
    draft.put("estimated_timeline", value, where)


def _outcomes(run: Run, pattern: Draft, examples: Any, where: LegacyPath) -> list[Draft]:
    """One outcome record per project example: the evidence behind the pattern."""
    if examples is None:
        return []
    if not isinstance(examples, list):
        run.report("KB605", "project_examples must be a list of projects", where)
        return []
    drafts = [_outcome(run, pattern, example, (*where, i)) for i, example in enumerate(examples)]
    return [d for d in drafts if d is not None]


def project_outcomes(run: Run, pattern: Draft, examples: Any, where: LegacyPath) -> list[Draft]:
    """One outcome per project example of `pattern` (the shape readers' `projects` too)."""
    return _outcomes(run, pattern, examples, where)


def _outcome(run: Run, pattern: Draft, example: Any, where: LegacyPath) -> Draft | None:
    if not isinstance(example, dict):
        run.report("KB605", "a project example must be a JSON object; not imported", where)
        return None
    project, when = example.get("project"), example.get("date")
    slug = slugify(project) if isinstance(project, str) else ""
    if not slug:
        run.report(
            "KB605",
            "project example has no 'project' name; not imported",
            (*where, "project"),
            hint='add "project": "<name>"',
        )
        return None
    if not (isinstance(when, str) and valid_date(when[:10])):
        run.report(
            "KB605",
            f"project example '{project}' has no valid 'date'; not imported",
            (*where, "date"),
            hint='add "date": "YYYY-MM-DD" (the day it finished)',
        )
        return None
    if when[:10] > run.today.isoformat():
        run.report(
            "KB605",
            f"project example '{project}' is dated {when[:10]}, after today "
            f"({run.today}); not imported",
            (*where, "date"),
            hint="an outcome records a finished project: fix the date",
        )
        return None
    # An exported example names its outcome (outcome_id); a legacy one is named for its
    # date and project.
    declared = example.get("outcome_id")
    rid = declared if isinstance(declared, str) and declared else f"{when[:10]}-{slug}"
    draft = _draft("outcome", rid, where)
    named_by = "outcome_id" if rid == declared else "project"
    draft.fields[("id",)] = ((*where, named_by), False)
    draft.put("date", when[:10], (*where, "date"))
    _copy(run, draft, example, where, {"domain": "domains"}, skip={"date", "outcome_id"})
    if "domains" not in draft.doc:
        _primary_domain(run, pattern, draft)
    if "patterns_applied" not in draft.doc:
        draft.put("patterns_applied", [pattern.id], pattern.origin, at_key=True)
    return draft


def _primary_domain(run: Run, pattern: Draft, draft: Draft) -> None:
    """A project has one domain: the pattern's first that the vocabulary knows (or its
    first). The pattern's other domains say where it applies, not where this project was."""
    domains = pattern.doc.get("domains")
    if not isinstance(domains, list):
        return
    names = [(i, d) for i, d in enumerate(domains) if isinstance(d, str)]
    vocab = run.vocabulary
    known = [(i, d) for i, d in names if vocab is None or d in vocab.names["domain"]]
    for index, domain in known or names[:1]:
        draft.put("domains", [domain], pattern.legacy(("domains", index))[0])
        return


def slugify(text: str) -> str:
    """ASCII kebab-case of a project name: 'Shumica Marketplace' -> 'shumica-marketplace'."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")


def snake(text: str) -> str:
    """snake_case of a phase name, '&' dropped: 'Database & API' -> 'database_api'."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "_", ascii_text.lower()).strip("_")


def parse_timeline(text: str) -> dict[str, float | int] | None:
    """'2-4 weeks' -> {min_weeks: 2, max_weeks: 4}; '3 weeks' -> 3 to 3; None if unreadable."""
    match = _TIMELINE.match(text)
    if not match:
        return None
    low = _number(match.group(1))
    high = _number(match.group(2)) if match.group(2) else low
    return {"min_weeks": low, "max_weeks": high}


def _number(text: str) -> float | int:
    value = float(text)
    return int(value) if value.is_integer() else value
