"""One legacy entry of the newer shapes (sections, nested, entry) into a record draft.

The three shapes differ only in where their entries sit; an entry's fields mean the same
in each, so one table maps them (docs/import-legacy.md, "Field mapping"). Whatever the
schema cannot hold is kept verbatim in the record's `legacy.extra` and named in a KB621
warning, so nothing in the input is dropped without a finding naming it.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

from memkb.findings import Severity
from memkb.kb.layout import SCHEMA_VERSIONS
from memkb.legacy.convert import PRIOR_WEIGHT, Draft, Run, project_outcomes, snake
from memkb.legacy.source import LegacyPath

__all__ = ["RISK_LEVELS", "convert_entry", "guess_kind", "kebab", "parse_duration"]

# Fields that name the entry, in the order they win: the first present is the title.
TITLE_FIELDS = ("name", "pattern", "pattern_name", "title")
# Field -> record field, per kind (lists are merged in input order, repeats dropped).
LISTS: Mapping[str, Mapping[str, str]] = {
    "pattern": {"key_elements": "best_practices", "best_practices": "best_practices"},
    "failure": {
        "common_issues": "common_causes",
        "symptoms": "common_causes",
        "root_cause": "common_causes",
        "common_causes": "common_causes",
        "solutions": "prevention_strategies",
        "solution": "prevention_strategies",
        "prevention": "prevention_strategies",
        "prevention_strategies": "prevention_strategies",
        "warning_signs": "warning_signs",
        "fallback_strategies": "fallback_strategies",
    },
    "template": {},
}
# Names the newer shapes share with the records: copied as they are (the schema judges).
SAME = ("description", "domains", "phases", "key_droids", "guards", "risk_level", "status")
# complexity -> risk_level (docs/import-legacy.md, "Complexity").
RISK_LEVELS: Mapping[str, str] = {
    "low": "low", "simple": "low", "easy": "low", "basic": "low", "beginner": "low",
    "medium": "medium", "moderate": "medium", "intermediate": "medium",
    "high": "high", "complex": "high", "hard": "high", "advanced": "high",
    "critical": "critical", "very high": "critical", "very complex": "critical",
}  # fmt: skip
# Working time, so that "2 days" of setup is 2 of a week's 5 working days.
WEEKS_PER_UNIT: Mapping[str, float] = {
    "minute": 1 / (40 * 60), "hour": 1 / 40, "day": 1 / 5, "week": 1.0, "month": 52 / 12,
}  # fmt: skip
_UNIT = re.compile(r"(min(?:ute)?|h(?:ou)?r|h|day|w(?:ee)?k|month)s?", re.IGNORECASE)
_DURATION = re.compile(
    r"^\s*(\d+(?:\.\d+)?)\s*(?:(?:-|\u2013|to)\s*(\d+(?:\.\d+)?)\s*)?([a-z]+)\.?\s*$",
    re.IGNORECASE,
)
_PERCENT = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*%\s*$")
# Content that tells an entry's kind when the file name does not (guess_kind).
KIND_MARKERS: Mapping[str, frozenset[str]] = {
    "failure": frozenset(
        {"failure_rate", "common_issues", "symptoms", "root_cause", "solutions", "solution",
         "prevention", "warning_signs", "problem", "common_causes"}
    ),
    "template": frozenset(
        {"tech_stack", "estimated_setup_time", "initial_commands", "complexity", "template_id"}
    ),
    "pattern": frozenset({"success_rate", "key_elements", "common_tools", "times_used"}),
}  # fmt: skip
# Why each kind of leftover field is not a record field (shown in the KB621 warning).
NOT_EVIDENCE = {
    "projects": "project names without a date and result are not outcomes",
    "times_used": "a count without the projects behind it is not evidence",
    "failure_rate": "a failure's frequency is computed from outcomes' failures_met",
}


def guess_kind(entry: Mapping[str, Any], hint: str | None) -> str:
    """The record kind of an entry: the file name's hint if any, else the kind whose marker
    fields it has most of (a success pattern when none)."""
    if hint is not None:
        return hint
    scores = {kind: len(markers & entry.keys()) for kind, markers in KIND_MARKERS.items()}
    best = max(scores.values())
    if not best:
        return "pattern"
    return next(k for k in ("failure", "template", "pattern") if scores[k] == best)


def kebab(text: str) -> str:
    """kebab-case of a category, the vocabulary's form of a domain: 'Auth & Security' ->
    'auth-security'."""
    return snake(text).replace("_", "-")


def parse_duration(text: str) -> dict[str, float] | None:
    """'15-30 minutes' / '2 hours' / '1-2 days' / '3 weeks' -> {min_weeks, max_weeks} in
    working weeks (8-hour days, 5-day weeks) to 3 significant digits; None if unreadable."""
    match = _DURATION.match(text)
    unit = _UNIT.fullmatch(match.group(3)) if match else None
    if match is None or unit is None:
        return None
    name = unit.group(1).lower()
    factor = WEEKS_PER_UNIT[_canonical_unit(name)]
    low = float(match.group(1))
    high = float(match.group(2)) if match.group(2) else low
    return {"min_weeks": _sig3(low * factor), "max_weeks": _sig3(high * factor)}


def _canonical_unit(name: str) -> str:
    if name.startswith("min"):
        return "minute"
    if name.startswith("h"):
        return "hour"
    if name.startswith("w"):
        return "week"
    return name  # day, month


def _sig3(value: float) -> float:
    rounded = float(f"{value:.3g}")
    return int(rounded) if rounded.is_integer() else rounded


class EntryMapper:
    """Maps one legacy entry into a Draft: one method per family of fields."""

    def __init__(self, run: Run, draft: Draft, entry: dict[str, Any], where: LegacyPath) -> None:
        self.run, self.draft, self.entry, self.where = run, draft, entry, where
        self.kind = draft.kind
        self.extra: dict[str, Any] = {}

    def at(self, name: str) -> LegacyPath:
        return (*self.where, name)

    def keep(self, name: str) -> None:
        """Keep field `name` verbatim in legacy.extra."""
        self.extra[name] = self.entry[name]
        self.draft.fields[("legacy", "extra", name)] = (self.at(name), False)

    def add_to_list(self, target: str, name: str) -> None:
        """Append the entry's `name` (a string or a list) to the record's list `target`."""
        value = self.entry[name]
        items = value if isinstance(value, list) else [value]
        current = self.draft.doc.setdefault(target, [])
        self.draft.fields.setdefault((target,), (self.at(name), False))
        for i, item in enumerate(items):
            if item in current:
                continue  # one cause named as symptom and root cause is still one cause
            self.draft.fields[(target, len(current))] = (
                (self.at(name), False) if items is not value else ((*self.at(name), i), False)
            )
            current.append(item)

    def rate(self, name: str) -> Any:
        """The entry's rate `name` as a fraction: a percentage (95, "95%") is divided by 100
        with a KB620 warning; anything else is returned as it is, for the schema to judge."""
        value = self.entry[name]
        percent = _PERCENT.match(value) if isinstance(value, str) else None
        number = float(percent.group(1)) if percent else value
        if isinstance(number, bool) or not isinstance(number, int | float):
            return value
        if percent is None and not 1 < number <= 100:
            return value
        fraction = round(number / 100, 6)
        self.run.report(
            "KB620",
            f"{name} {value!r} read as a percentage: {fraction}",
            self.at(name),
            severity=Severity.WARNING,
            hint="write rates as fractions between 0 and 1",
        )
        return fraction


def convert_entry(
    run: Run,
    kind: str,
    entry: dict[str, Any],
    where: LegacyPath,
    *,
    legacy_id: str,
    category: str | None,
    source: str,
    shape: str,
    deprecated: bool = False,
) -> list[Draft]:
    """The drafts of one entry: its record, plus an outcome per dated project it cites.

    `legacy_id` is the id as the memory wrote it (the entry's `id`, or its key);
    `category` the category it is nested under, if any."""
    rid = snake(legacy_id)
    head = {"kind": kind, "schema_version": SCHEMA_VERSIONS[kind], "id": rid}
    draft = Draft(kind, rid, head, where)
    mapper = EntryMapper(run, draft, entry, where)
    id_at = mapper.at("id") if "id" in entry else where
    draft.fields[("id",)] = (id_at, "id" not in entry)
    outcomes: list[Draft] = []
    title = next((name for name in TITLE_FIELDS if isinstance(entry.get(name), str)), None)
    for name in entry:
        if name == "id":
            continue
        if name == title:
            draft.put("title", entry[name], mapper.at(name))
        elif name == "projects" and kind == "pattern" and _dated_projects(entry[name]):
            outcomes = project_outcomes(run, draft, entry[name], mapper.at(name))
        else:
            _map_field(mapper, name)
    if category is not None and "domains" not in draft.doc:
        draft.put("domains", [kebab(category)], where, at_key=True)
    if "domains" not in draft.doc and isinstance(draft.doc.get("tech_stack"), dict):
        _domains_from_stack(draft)
    if kind == "failure" and "common_causes" not in draft.doc and title is not None:
        # A nested "common_mistakes" entry names its cause and nothing else: the mistake
        # ("Missing error handling") is the one cause the memory knows.
        draft.put("common_causes", [entry[title]], mapper.at(title))
    if deprecated:
        draft.doc["status"] = "deprecated"
    _legacy(mapper, legacy_id, source, shape)
    return [draft, *outcomes]


def _map_field(mapper: EntryMapper, name: str) -> None:
    """Route one field of the entry to its record field, its prior, or legacy.extra."""
    draft, kind, value = mapper.draft, mapper.kind, mapper.entry[name]
    handler = _HANDLERS.get(name)
    if handler is not None and handler(mapper, name):
        return
    if name in LISTS[kind]:
        mapper.add_to_list(LISTS[kind][name], name)
    elif name == "problem" and kind == "failure" and "description" not in mapper.entry:
        draft.put("description", value, mapper.at(name))
    elif name in SAME and name not in draft.doc:
        draft.put(name, value, mapper.at(name))
    else:
        mapper.keep(name)


def _category(mapper: EntryMapper, name: str) -> bool:
    value = mapper.entry[name]
    names = value if isinstance(value, list) else [value]
    if not all(isinstance(v, str) for v in names) or "domains" in mapper.entry:
        return False
    mapper.draft.put("domains", [kebab(v) for v in names], mapper.at(name))
    return True


def _tools(mapper: EntryMapper, name: str) -> bool:
    if mapper.kind == "failure":
        return False
    mapper.add_to_list("tools", name)
    return True


def _tech_stack(mapper: EntryMapper, name: str) -> bool:
    value = mapper.entry[name]
    if mapper.kind != "template" or not isinstance(value, dict):
        return False
    stack: dict[str, Any] = {}
    for layer, tools in value.items():
        # Two layers that snake_case alike ("Front end", "front-end") keep their own
        # names: the schema then shows both instead of one silently replacing the other.
        key = snake(layer) or layer
        key = layer if key in stack else key
        stack[key] = tools
        mapper.draft.fields[("tech_stack", key)] = ((*mapper.at(name), layer), False)
    mapper.draft.put("tech_stack", stack, mapper.at(name))
    return True


def _success_rate(mapper: EntryMapper, name: str) -> bool:
    """success_rate is the pattern's prior success_rate, the template's prior
    success_probability (docs/metrics.md: a prior worth PRIOR_WEIGHT outcomes)."""
    figure = {"pattern": "success_rate", "template": "success_probability"}.get(mapper.kind)
    if figure is None or "prior" in mapper.entry:
        return False
    source = f"legacy memory, {mapper.run.record_date(mapper.entry)}"
    prior = {figure: mapper.rate(name), "weight": PRIOR_WEIGHT, "source": source}
    mapper.draft.put("prior", prior, mapper.where, at_key=True)
    mapper.draft.fields[("prior", figure)] = (mapper.at(name), False)
    return True


def _failure_rate(mapper: EntryMapper, name: str) -> bool:
    """Kept in legacy.extra as written: a failure has no prior (NOT_EVIDENCE)."""
    mapper.keep(name)
    return True


def _complexity(mapper: EntryMapper, name: str) -> bool:
    value = mapper.entry[name]
    level = RISK_LEVELS.get(value.strip().lower()) if isinstance(value, str) else None
    if mapper.kind != "template" or level is None or "risk_level" in mapper.entry:
        return False
    mapper.draft.put("risk_level", level, mapper.at(name))
    return True


def _setup_time(mapper: EntryMapper, name: str) -> bool:
    value = mapper.entry[name]
    weeks = parse_duration(value) if isinstance(value, str) else None
    if mapper.kind != "template" or weeks is None or "estimated_timeline" in mapper.draft.doc:
        return False
    mapper.draft.put("estimated_timeline", weeks, mapper.at(name))
    return True


_HANDLERS: Mapping[str, Callable[[EntryMapper, str], bool]] = {
    "category": _category,
    "common_tools": _tools,
    "tools": _tools,
    "tech_stack": _tech_stack,
    "success_rate": _success_rate,
    "failure_rate": _failure_rate,
    "complexity": _complexity,
    "estimated_setup_time": _setup_time,
    "estimated_timeline": _setup_time,
}


def _dated_projects(value: Any) -> bool:
    """True when `projects` lists project examples (objects), the evidence path; a list of
    bare names stays in legacy.extra."""
    return isinstance(value, list) and any(isinstance(item, dict) for item in value)


def _domains_from_stack(draft: Draft) -> None:
    """A template without a category is for the layers its tech stack names."""
    layers = [kebab(layer) for layer in draft.doc["tech_stack"]]
    draft.put("domains", list(dict.fromkeys(layers)), draft.fields[("tech_stack",)][0])


def _legacy(mapper: EntryMapper, legacy_id: str, source: str, shape: str) -> None:
    """legacy: {id, source, shape, extra}; KB621 names what went into extra, and why."""
    draft = mapper.draft
    legacy: dict[str, Any] = {"id": legacy_id, "source": source, "shape": shape}
    if mapper.extra:
        legacy["extra"] = mapper.extra
    draft.doc["legacy"] = legacy
    draft.fields[("legacy",)] = (draft.fields[("id",)][0], draft.fields[("id",)][1])
    if not mapper.extra:
        return
    names = [f"{n} ({NOT_EVIDENCE[n]})" if n in NOT_EVIDENCE else n for n in mapper.extra]
    mapper.run.report(
        "KB621",
        f"{draft.kind} '{draft.id}': kept verbatim in legacy.extra, no record field holds "
        f"them: {', '.join(names)}",
        draft.fields[("id",)][0],
        key=draft.fields[("id",)][1],
        severity=Severity.WARNING,
        hint="move what matters into record fields by hand; legacy.extra is not advice",
    )
