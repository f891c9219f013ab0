"""What the authoring commands print: the result of a write (new, record, set, add,
remove, deprecate, rm), one record (show) and a list of records (list)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from memkb.kb.index import Record
from memkb.report import json_document
from memkb.report.findings import finding_line, markdown_cell, printable

if TYPE_CHECKING:  # show and list render records: they must not load the write path (Git)
    from memkb.write.transaction import WriteResult

LIST_COLUMNS = ("kind", "id", "status", "domains", "title")


def render_notes(result: WriteResult) -> str:
    """The warnings and notes of a write, for stderr next to the text result."""
    lines = [finding_line(f) for f in result.findings]
    lines += [f"memkb: note: {note}" for note in result.notes]
    return "".join(f"{line}\n" for line in lines)


def render_text(result: WriteResult, command: str) -> str:
    """`committed <sha> on <branch>: memory(kind): action id (paths)`, or `wrote ...`."""
    del command  # the line names the action, which says more than the command
    edit, where = result.edit, ", ".join(result.paths)
    if result.commit is None:
        return f"wrote {where} (not committed)\n"
    out = (
        f"committed {result.commit[:10]} on {result.branch}: "
        f"memory({edit.kind}): {edit.action} {edit.id} ({where})\n"
    )
    if result.pushed_to:
        out += f"pushed to {result.pushed_to} ({result.push_attempts} attempt(s))\n"
    return out


def render_json(result: WriteResult, command: str) -> str:
    """The `memkb.<command>/1` document: what was written, committed and pushed."""
    edit = result.edit
    body = {
        "kind": edit.kind,
        "id": edit.id,
        "action": edit.action,
        "paths": result.paths,
        "commit": result.commit,
        "branch": result.branch,
        "pushed_to": result.pushed_to,
        "warnings": [f.as_dict() for f in result.findings],
        "notes": result.notes,
    }
    return json_document(command, body)


def render_show_text(found: Record, text: str, asked: str | None = None) -> str:
    """The record's file as written, under a `# path` line that also says which record a
    legacy id (`asked`, when it is not the record's id) resolved to."""
    via = f" (legacy id '{asked}' is {found.kind} {found.id})" if _resolved(found, asked) else ""
    return f"# {found.relpath}{via}\n{text}"


def render_show_json(found: Record, text: str, asked: str | None = None) -> str:
    """The `memkb.show/1` document: the path, the legacy id it was found by
    (`resolved_from`, null when asked by its own id) and the parsed fields under `record`
    (so a field can never clash with `format` or `path`)."""
    del text
    resolved_from = asked if _resolved(found, asked) else None
    body = {"path": found.relpath, "resolved_from": resolved_from, "record": found.doc}
    return json_document("show", body)


def _resolved(found: Record, asked: str | None) -> bool:
    return asked is not None and asked != found.id


def list_rows(found: Sequence[Record]) -> list[dict[str, Any]]:
    """One plain row per record; a record without a title or project has title null."""
    return [
        {
            "kind": r.kind,
            "id": r.id,
            "status": r.doc.get("status", "active"),
            "domains": r.doc.get("domains", []),
            "title": r.doc.get("title") or r.doc.get("project") or None,
            "path": r.relpath,
        }
        for r in found
    ]


def _cells(found: Sequence[Record]) -> list[list[str]]:
    """Each row's LIST_COLUMNS as text on one line (controls escaped by `printable`)."""
    rows = []
    for row in list_rows(found):
        cells = [
            ", ".join(v) if isinstance(v, list) else str(v or "")
            for v in map(row.get, LIST_COLUMNS)
        ]
        # One test per row, not per cell: nearly every row is printable as it is, and
        # 10,000 rows make 50,000 cells (a fifth of a warm `memkb list`'s rendering).
        rows.append(cells if "".join(cells).isprintable() else [printable(c) for c in cells])
    return rows


def render_list_text(found: Sequence[Record]) -> str:
    """An aligned table (KIND ID STATUS DOMAINS TITLE), then `N record(s)`."""
    cells = _cells(found)
    columns = list(zip(*cells, strict=True)) or [()] * len(LIST_COLUMNS)
    widths = [max([len(c), *map(len, col)]) for c, col in zip(LIST_COLUMNS, columns, strict=True)]
    line = "  ".join(f"{{:{w}}}" for w in widths)  # str.ljust of each cell, in one call a row
    lines = [line.format(*(c.upper() for c in LIST_COLUMNS)).rstrip()]
    lines += [line.format(*r).rstrip() for r in cells]
    lines.append(f"{len(cells)} record(s)")
    return "\n".join(lines) + "\n"


def render_list_markdown(found: Sequence[Record]) -> str:
    """A GitHub markdown table of the records."""
    lines = ["| " + " | ".join(LIST_COLUMNS) + " |", "|" + "---|" * len(LIST_COLUMNS)]
    lines += ["| " + " | ".join(map(markdown_cell, row)) + " |" for row in _cells(found)]
    return "\n".join([*lines, "", f"{len(found)} record(s)"]) + "\n"


def render_list_json(found: Sequence[Record]) -> str:
    """The `memkb.list/1` document: the rows under `records`."""
    return json_document("list", {"records": list_rows(found)})
