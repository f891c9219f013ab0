"""Rules over the whole KB: uniqueness, references, supersession, dates."""

from __future__ import annotations

import difflib
from collections.abc import Iterator
from datetime import date

from memkb.findings import Severity
from memkb.kb.index import Index
from memkb.kb.layout import VOCABULARY_FILE
from memkb.kb.refs import VOCABULARY_TARGETS, Ref
from memkb.rules.base import Issue, RunContext

WHERE_DEFINED = {
    "droid": "kb/vocabulary.yaml (droids:)",
    "domain": "kb/vocabulary.yaml (domains:)",
    "phase": "kb/vocabulary.yaml (phases:)",
    "pattern": "kb/patterns/",
    "failure": "kb/failures/",
    "template": "kb/templates/",
}


def missing_vocabulary(index: Index, ctx: RunContext) -> Iterator[Issue]:  # noqa: ARG001
    """KB312: the vocabulary file exists (without it no droid, domain or phase resolves)."""
    if not index.has_vocabulary and index.records:
        yield Issue(
            VOCABULARY_FILE,
            (),
            "KB312",
            "kb/vocabulary.yaml is missing",
            hint="restore it: every droid, domain and phase must be declared there",
        )


def duplicate_ids(index: Index, ctx: RunContext) -> Iterator[Issue]:  # noqa: ARG001
    """KB303: no two records of one kind share an id."""
    for (kind, rid), records in index.by_key.items():
        if len(records) < 2:
            continue
        paths = sorted(r.relpath for r in records)
        for record in records:
            others = ", ".join(p for p in paths if p != record.relpath)
            yield Issue(
                record.relpath,
                ("id",),
                "KB303",
                f"{kind} id '{rid}' is also used by {others}",
                hint="ids are unique within a kind: give one record a new id",
            )


def references(index: Index, ctx: RunContext) -> Iterator[Issue]:  # noqa: ARG001
    """KB304/KB305: every referenced name exists; aliases are flagged with the real name."""
    known = {
        target: index.ids(target)
        for target in (*VOCABULARY_TARGETS, "pattern", "failure", "template")
    }
    if not index.has_vocabulary:
        known.update({t: set() for t in VOCABULARY_TARGETS})
    for record in index.records.values():
        for target, value, path in record.refs:
            if value in known[target]:
                continue
            if target in VOCABULARY_TARGETS and not index.has_vocabulary:
                continue  # KB312 already explains why nothing resolves
            yield _unresolved(index, record.relpath, Ref(target, value, path), known[target])


def _unresolved(index: Index, relpath: str, ref: Ref, known: set[str]) -> Issue:
    canonical = index.vocabulary.aliases.get(ref.target, {}).get(ref.value)
    if canonical is not None:
        return Issue(
            relpath,
            ref.path,
            "KB305",
            f"'{ref.value}' is an alias of {ref.target} '{canonical}'",
            severity=Severity.WARNING,
            hint=f"write '{canonical}'",
        )
    close = difflib.get_close_matches(ref.value, sorted(known), n=1, cutoff=0.75)
    guess = f" (did you mean '{close[0]}'?)" if close else ""
    return Issue(
        relpath,
        ref.path,
        "KB304",
        f"unknown {ref.target} '{ref.value}'{guess}",
        hint=f"{ref.target}s are defined in {WHERE_DEFINED[ref.target]}",
    )


def supersession(index: Index, ctx: RunContext) -> Iterator[Issue]:  # noqa: ARG001
    """KB310: superseded_by only on a deprecated record, and never pointing at itself."""
    for record in index.records.values():
        status, successor = record.doc.get("status"), record.doc.get("superseded_by")
        if successor is not None and (status != "deprecated" or successor == record.id):
            yield Issue(
                record.relpath,
                ("superseded_by",),
                "KB310",
                "superseded_by needs status: deprecated and another record's id",
                hint="set status: deprecated, or remove superseded_by",
            )


def deprecated_references(index: Index, ctx: RunContext) -> Iterator[Issue]:  # noqa: ARG001
    """KB309: knowledge that refers to a deprecated record is flagged with its successor.
    Outcomes are exempt: they record what was applied at the time, which stays true."""
    deprecated = {key for key, r in index.records.items() if r.doc.get("status") == "deprecated"}
    if not deprecated:
        return
    for record in index.records.values():
        if record.kind == "outcome":
            continue
        for ref in map(Ref._make, record.refs):
            if ref.path == ("superseded_by",) or (ref.target, ref.value) not in deprecated:
                continue
            target = index.records[(ref.target, ref.value)].doc.get("superseded_by")
            yield Issue(
                record.relpath,
                ref.path,
                "KB309",
                f"{ref.target} '{ref.value}' is deprecated",
                severity=Severity.WARNING,
                hint=f"use '{target}' instead" if target else "stop referring to it",
            )


def future_outcomes(index: Index, ctx: RunContext) -> Iterator[Issue]:
    """KB306: an outcome's date is not after today (outcomes record finished projects)."""
    for record in index.of_kind("outcome"):
        value = record.doc.get("date")
        if not isinstance(value, str):
            continue
        try:
            when = date.fromisoformat(value)
        except ValueError:
            continue  # the schema reports malformed dates
        if when > ctx.today:
            yield Issue(
                record.relpath,
                ("date",),
                "KB306",
                f"outcome date {value} is in the future (today is {ctx.today})",
                hint="record an outcome once the project has finished",
            )
