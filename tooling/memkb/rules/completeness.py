"""Rules about what a record lacks for advice: fields its schema no longer requires.

Since schema version 3 a pattern may have no phases or key_droids and a template no phases
or risk_level: the legacy memories imported into memkb rarely name them, and a user must
reach a clean validate without hand-editing hundreds of files. Such a record is valid but
weaker advice, so each gap is a warning that says what advice loses and the command that
fills it. A deprecated record is never advised, so its gaps are not reported."""

from __future__ import annotations

from collections.abc import Iterator

from memkb.findings import Severity
from memkb.rules.base import FileContext, Issue

# field -> (what advice loses without it, how to fill it: a format of kind and id).
_PATTERN_GAPS = {
    "key_droids": (
        "advice cannot staff it",
        "add some with `memkb add pattern {rid} key_droids NAME`",
    ),
    "phases": (
        "advice never matches it by phase",
        "add some with `memkb add pattern {rid} phases NAME`",
    ),
}
_TEMPLATE_GAPS = {
    "phases": (
        "it plans no phase and staffs no droid",
        "add them in order with `memkb add template {rid} phases --yaml "
        "'{{phase: NAME, name: TITLE, droids: [DROID]}}'`",
    ),
    "risk_level": (
        "the brief cannot say how risky the project is",
        "set it with `memkb set template {rid} risk_level low|medium|high|critical`",
    ),
}


def pattern_gaps(ctx: FileContext) -> Iterator[Issue]:
    """KB320: an active pattern without key_droids or phases (missing or empty): valid
    since schema version 3, but advice cannot staff it or match it by phase."""
    yield from _gaps(ctx, "pattern", "KB320", _PATTERN_GAPS)


def template_gaps(ctx: FileContext) -> Iterator[Issue]:
    """KB321: an active template without phases (missing or empty) or risk_level: valid
    since schema version 3, but it plans no work, or the brief cannot say its risk."""
    yield from _gaps(ctx, "template", "KB321", _TEMPLATE_GAPS)


def _gaps(
    ctx: FileContext, kind: str, code: str, gaps: dict[str, tuple[str, str]]
) -> Iterator[Issue]:
    doc = ctx.doc
    rid = doc.get("id")
    if doc.get("kind") != kind or doc.get("status") == "deprecated" or not isinstance(rid, str):
        return
    for field, (loss, fix) in gaps.items():
        if field in doc and doc[field] not in (None, [], ""):
            continue
        # A missing field is reported at the record's id, an empty one at its key.
        where = (field,) if field in doc else ("id",)
        state = "an empty" if field in doc else "no"
        yield Issue(
            ctx.relpath,
            where,
            code,
            f"{kind} {rid} has {state} {field}: {loss}",
            severity=Severity.WARNING,
            hint=fix.format(rid=rid),
            at_key=True,
        )
