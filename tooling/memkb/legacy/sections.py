"""The one-file-per-section shape: success_patterns.json, failure_patterns.json,
project_templates.json and learning_metrics.json, each `{version, last_updated, <list>}`.

`patterns` / `templates` list the entries; `core_patterns` and `archived_patterns` list
more of them (full entries import, archived ones as deprecated records) or name them by
id (reported); every other section (`insights`, the learning metrics) is derived and
reported by name with its prose quoted (memkb.legacy.derived).
"""

from __future__ import annotations

from typing import Any

from memkb.findings import Severity
from memkb.legacy.convert import Draft, Run
from memkb.legacy.derived import report_header, report_section
from memkb.legacy.mapping import convert_entry, guess_kind
from memkb.legacy.shapes import ENTRY_LISTS, HEADER_FIELDS, LegacyFile, Shape
from memkb.legacy.source import EXPORT_FORMAT, LegacyPath

__all__ = ["read_sections"]

# In a file memkb exported (`format`: EXPORT_FORMAT), these figures are derived from the
# exporting KB's outcomes (posteriors, counts, dates): as priors or extras they would
# count that evidence again, so they are left out (one KB607 names them).
EXPORTED_FIGURES = frozenset(
    {"success_rate", "failure_rate", "times_used", "last_used", "projects", "occurrences",
     "recovery_rate"}
)  # fmt: skip


def read_sections(run: Run, block: int, data: Any, file: LegacyFile) -> list[Draft]:
    """Drafts for every entry of one section file's document (reported: the rest)."""
    if not isinstance(data, dict):
        run.report("KB605", "a section file must be a JSON object; not imported", (block,))
        return []
    header = {k: v for k, v in data.items() if k in HEADER_FIELDS}
    if header:
        report_header(run, header, (block, next(iter(header))))
    exported = data.get("format") == EXPORT_FORMAT
    drafts: list[Draft] = []
    for name, value in data.items():
        where: LegacyPath = (block, name)
        if name in HEADER_FIELDS:
            continue
        if exported and name == "format":
            _exported_note(run, where)
        elif name in ENTRY_LISTS and isinstance(value, list):
            if exported:
                value = [_without_figures(item) for item in value]
            drafts += _entries(run, name, value, where, file)
        else:
            report_section(run, name, value, where)
    return drafts


def _exported_note(run: Run, where: LegacyPath) -> None:
    run.report(
        "KB607",
        f"file exported by memkb ({EXPORT_FORMAT}): its {', '.join(sorted(EXPORTED_FIGURES))} "
        "are derived from the exporting memory's outcomes and are not imported",
        where,
        key=True,
        severity=Severity.WARNING,
    )


def _without_figures(item: Any) -> Any:
    if not isinstance(item, dict):
        return item
    return {k: v for k, v in item.items() if k not in EXPORTED_FIGURES}


def _entries(
    run: Run, section: str, items: list[Any], where: LegacyPath, file: LegacyFile
) -> list[Draft]:
    """The entries of one list; ids (strings) in it are reported together."""
    hint = "template" if section == "templates" else file.kind
    drafts: list[Draft] = []
    named: list[str] = []
    for i, item in enumerate(items):
        at: LegacyPath = (*where, i)
        if not isinstance(item, dict):  # in an entry list, any object is an entry
            if isinstance(item, str):
                named.append(item)
            else:
                run.report("KB605", f"an item of '{section}' is not an entry; not imported", at)
            continue
        legacy_id = item.get("id")
        if not isinstance(legacy_id, str) or not legacy_id:
            run.report(
                "KB605",
                f"an entry of '{section}' has no id; not imported",
                at,
                hint='add "id": "<kebab-case or snake_case id>"',
            )
            continue
        drafts += convert_entry(
            run,
            guess_kind(item, hint),
            item,
            at,
            legacy_id=legacy_id,
            category=None,
            source=file.name,
            shape=Shape.SECTIONS.value,
            deprecated=section == "archived_patterns",
        )
    if named:
        run.report(
            "KB622",
            f"'{section}' names entries by id, not imported as records: "
            f"{', '.join(named)} (advice ranks patterns by their evidence)",
            where,
            key=True,
            severity=Severity.WARNING,
        )
    return drafts
