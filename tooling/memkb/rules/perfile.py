"""Rules about one file's place: folder, file name, outcome year, schema modeline."""

from __future__ import annotations

import re
from collections.abc import Iterator

from memkb.findings import Severity
from memkb.kb.layout import FOLDERS, KINDS, VOCABULARY_FILE, modeline, record_relpath
from memkb.rules.base import FileContext, Issue


def kind_matches_folder(ctx: FileContext) -> Iterator[Issue]:
    """KB202/KB302: the record declares a known kind, and lives in that kind's folder."""
    declared = ctx.doc.get("kind")
    if declared not in KINDS:
        yield Issue(
            ctx.relpath,
            ("kind",),
            "KB202",
            f"unknown kind {declared!r}" if "kind" in ctx.doc else "missing 'kind'",
            hint=f"use one of: {', '.join(KINDS)}",
        )
        return
    expected_place = VOCABULARY_FILE if declared == "vocabulary" else f"kb/{FOLDERS[declared]}/"
    if ctx.folder_kind != declared:
        yield Issue(
            ctx.relpath,
            ("kind",),
            "KB302",
            f"a record of kind '{declared}' must live in {expected_place}",
            hint="move the file or fix its kind",
        )


# C0 and C1 controls, DEL, and the Unicode line and paragraph separators: in a report a
# file name holding one can start a new line (a forged workflow command or heading).
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]")


def file_name(ctx: FileContext) -> Iterator[Issue]:
    """KB311/KB314: the file's name, judged whatever its content (also for a file that does
    not load): a knowledge file ends in `.yaml` exactly (not .yml, .YAML, .Yaml), and no
    path holds a control character."""
    relpath = ctx.relpath
    if not relpath.endswith(".yaml"):
        suffix = relpath.rsplit(".", 1)[-1]
        yield Issue(relpath, (), "KB311", f"knowledge files end in .yaml, not .{suffix}",
                    hint="rename the file to .yaml")  # fmt: skip
    bad = sorted({f"U+{ord(c):04X}" for c in _CONTROL.findall(relpath)})
    if bad:
        yield Issue(relpath, (), "KB314", f"file name holds control characters: {', '.join(bad)}",
                    hint="rename the file (ids are snake_case)")  # fmt: skip


def id_matches_file_name(ctx: FileContext) -> Iterator[Issue]:
    """KB301: the id equals the file name without its suffix."""
    if ctx.doc.get("kind") == "vocabulary" or "id" not in ctx.doc:
        return
    stem = ctx.relpath.rsplit("/", 1)[-1].rsplit(".", 1)[0]
    if str(ctx.doc["id"]) != stem:
        yield Issue(
            ctx.relpath,
            ("id",),
            "KB301",
            f"id '{ctx.doc['id']}' does not match the file name '{stem}'",
            hint="ids are permanent: rename the file to match, or fix a typo in the id",
        )


def outcome_placement(ctx: FileContext) -> Iterator[Issue]:
    """KB308: an outcome lives under kb/outcomes/<year>/ and its id starts with its date."""
    doc = ctx.doc
    if doc.get("kind") != "outcome" or ctx.folder_kind != "outcome":
        return
    date, rid = doc.get("date"), doc.get("id")
    if not isinstance(date, str) or not isinstance(rid, str):
        return
    if not rid.startswith(date + "-"):
        yield Issue(
            ctx.relpath,
            ("id",),
            "KB308",
            f"outcome id '{rid}' does not start with its date {date}",
            hint=f"name it {date}-<project-slug>",
        )
    elif ctx.relpath.rsplit("/", 1)[0] != record_relpath("outcome", rid).rsplit("/", 1)[0]:
        yield Issue(
            ctx.relpath,
            ("date",),
            "KB308",
            f"outcome of {date} belongs in kb/outcomes/{date[:4]}/",
            hint=f"move it to {record_relpath('outcome', rid)}",
        )


def schema_modeline(ctx: FileContext) -> Iterator[Issue]:
    """KB313: the file starts with the modeline that lets an editor validate it as you type."""
    kind = ctx.doc.get("kind")
    if kind not in KINDS or ctx.folder_kind != kind:
        return
    expected = modeline(kind, ctx.relpath)
    if expected not in ctx.text.splitlines()[:3]:
        yield Issue(
            ctx.relpath,
            (),
            "KB313",
            "missing or wrong schema modeline",
            severity=Severity.WARNING,
            hint=f"make the first line: {expected}",
        )
