"""The one-file-per-section shape of export-legacy: what current orchestrators read.

`success_patterns.json`, `failure_patterns.json`, `project_templates.json` and
`learning_metrics.json`, each `{version, last_updated, patterns | templates: [...]}` (or
`global_metrics` for the learning metrics) with the field names those orchestrators use
(issue 10, shape 1). A view, not a lossless copy: the seed shape is the one that
re-imports whole. Field by field in docs/import-legacy.md ("Exporting").
"""

from __future__ import annotations

from typing import Any

from memkb.legacy.commit_records import Records, strs, timeline_text
from memkb.metrics.formulas import DIGITS

MOST_USED = 5  # patterns listed in global_metrics.most_used_patterns


def sections_documents(
    records: Records, figures: dict[str, Any], version: str
) -> dict[str, dict[str, Any]]:
    """File name -> document of each section file."""
    rows = {
        kind: {r["id"]: r for r in figures[kind]} for kind in ("patterns", "failures", "templates")
    }
    stamp = {"version": version, "last_updated": figures["as_of"]["date"]}
    cited = records.outcomes_citing()
    patterns = [
        _pattern(doc, rows["patterns"].get(pid, {}), cited.get(pid, []))
        for pid, doc in sorted(records.of("pattern").items())
    ]
    total = figures["learning_metrics"]["total_projects"]
    failures = [
        _failure(doc, rows["failures"].get(fid, {}), total)
        for fid, doc in sorted(records.of("failure").items())
    ]
    templates = [
        _template(doc, rows["templates"].get(tid, {}))
        for tid, doc in sorted(records.of("template").items())
    ]
    return {
        "success_patterns.json": {**stamp, "patterns": patterns},
        "failure_patterns.json": {**stamp, "patterns": failures},
        "project_templates.json": {**stamp, "templates": templates},
        "learning_metrics.json": {**stamp, **_learning(records, figures)},
    }


def legacy_id(doc: dict[str, Any]) -> str:
    """The id an orchestrator knows the record by: its `legacy.id` when the import kept
    one, else the snake_case id in kebab-case."""
    legacy = doc.get("legacy")
    kept = legacy.get("id") if isinstance(legacy, dict) else None
    return kept if isinstance(kept, str) and kept else str(doc["id"]).replace("_", "-")


def _head(doc: dict[str, Any]) -> dict[str, Any]:
    domains = strs(doc.get("domains"))
    title = doc.get("title")
    return {
        "id": legacy_id(doc),
        "name": title if isinstance(title, str) else str(doc["id"]).replace("_", " ").capitalize(),
        "category": domains[0] if domains else None,
        "description": doc.get("description") if isinstance(doc.get("description"), str) else "",
    }


def _pattern(
    doc: dict[str, Any], row: dict[str, Any], outcomes: list[dict[str, Any]]
) -> dict[str, Any]:
    projects = list(dict.fromkeys(str(o.get("project")) for o in outcomes if o.get("project")))
    dates = [str(o["date"]) for o in outcomes if o.get("date")]
    return {
        **_head(doc),
        "success_rate": row.get("posterior_mean"),
        "projects": projects,
        "key_elements": strs(doc.get("best_practices")),
        "common_tools": strs(doc.get("tools")),
        "times_used": row.get("applications", 0),
        "last_used": max(dates) if dates else None,
        "domains": strs(doc.get("domains")),
        "phases": strs(doc.get("phases")),
        "key_droids": strs(doc.get("key_droids")),
        "status": doc.get("status", "active"),
    }


def _failure(doc: dict[str, Any], row: dict[str, Any], total: int) -> dict[str, Any]:
    """failure_rate: the share of all projects that met this failure (None without any)."""
    met = row.get("occurrences", 0)
    return {
        **_head(doc),
        "failure_rate": round(met / total, DIGITS) if total else None,
        "common_issues": strs(doc.get("common_causes")),
        "warning_signs": strs(doc.get("warning_signs")),
        "solutions": strs(doc.get("prevention_strategies")),
        "occurrences": met,
        "recovery_rate": row.get("recovery_rate"),
        "domains": strs(doc.get("domains")),
        "phases": strs(doc.get("phases")),
        "status": doc.get("status", "active"),
    }


def _template(doc: dict[str, Any], row: dict[str, Any]) -> dict[str, Any]:
    timeline = doc.get("estimated_timeline")
    tech = doc.get("tech_stack")
    return {
        **_head(doc),
        "success_rate": row.get("posterior_mean"),
        "complexity": doc.get("risk_level"),
        "estimated_setup_time": timeline_text(timeline) if timeline is not None else None,
        "tech_stack": tech if isinstance(tech, dict) else {},
        "times_used": row.get("uses", 0),
        "status": doc.get("status", "active"),
    }


def _learning(records: Records, figures: dict[str, Any]) -> dict[str, Any]:
    """global_metrics in the orchestrators' names, then memkb's own two tables."""
    learning = figures["learning_metrics"]
    outcomes = records.of("outcome").values()
    days = [
        o["timeline"]["actual_days"]
        for o in outcomes
        if isinstance(o.get("timeline"), dict) and _is_num(o["timeline"].get("actual_days"))
    ]
    used = sorted(
        (r for r in figures["patterns"] if r.get("applications")),
        key=lambda r: (-r["applications"], r["id"]),
    )
    ids = {pid: legacy_id(doc) for pid, doc in records.of("pattern").items()}
    return {
        "global_metrics": {
            "total_projects": learning["total_projects"],
            "successful_projects": sum(1 for o in outcomes if o.get("outcome") == "success"),
            "failed_projects": sum(1 for o in outcomes if o.get("outcome") == "failure"),
            "success_rate": learning["success_rate"],
            "average_project_duration": round(sum(days) / len(days), DIGITS) if days else None,
            "most_used_patterns": [ids.get(r["id"], r["id"]) for r in used[:MOST_USED]],
            "learning_velocity": learning["learning_effectiveness"],
        },
        "learning_metrics": learning,
        "performance_metrics": figures["performance_metrics"],
    }


def _is_num(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)
