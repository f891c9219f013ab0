"""The list table of memkb.report.writes: aligned columns, a control character escaped
in its own cell only (each row is tested once for printability, then cell by cell)."""

from __future__ import annotations

from memkb.kb.index import Record
from memkb.report.writes import render_list_text


def record(rid: str, title: str, domains: list[str]) -> Record:
    doc = {"kind": "pattern", "id": rid, "title": title, "domains": domains}
    return Record("pattern", rid, f"kb/patterns/{rid}.yaml", doc)


def test_the_table_aligns_every_column_to_its_widest_cell() -> None:
    text = render_list_text([record("a", "First", ["web"]), record("longer_id", "", ["x", "y"])])
    assert text.splitlines() == [
        "KIND     ID         STATUS  DOMAINS  TITLE",
        "pattern  a          active  web      First",
        "pattern  longer_id  active  x, y",
        "2 record(s)",
    ]


def test_a_control_character_is_escaped_in_its_cell_and_nowhere_else() -> None:
    rows = [record("p", "T\x1b[2J\tx", ["d\u202e"]), record("q", "plain é", ["web"])]
    lines = render_list_text(rows).splitlines()
    assert lines[1].split("  ")[-1] == "T\\x1b[2J\\tx"
    assert "d\\u202e" in lines[1]
    assert lines[2].endswith("plain é")
    assert lines[0].index("TITLE") == lines[1].index("T\\x1b")  # escapes count in the widths


def test_an_empty_list_is_the_header_and_a_count() -> None:
    assert render_list_text([]) == "KIND  ID  STATUS  DOMAINS  TITLE\n0 record(s)\n"
