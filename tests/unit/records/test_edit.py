"""memkb.records.edit: round-trip edits keep every line they do not change."""

from __future__ import annotations

from typing import Any

from memkb.records.edit import edit_text


def test_lines_added_after_a_line_ruamel_rewrites_land_there_not_at_the_top() -> None:
    # ruamel re-emits `b: null` as `b:`; the line after it had no original line to anchor
    # on, and the new key used to be spliced in at the top of the file.
    raw = b"kind: vocabulary  # the names\ndroids:\n  b: null\n"

    def add(doc: Any, _key: str | int) -> None:
        doc["droids"]["c"] = "x"

    out = edit_text(raw, "kb/vocabulary.yaml", [], add).decode()
    assert out.startswith("kind: vocabulary  # the names\ndroids:\n")
    assert out.endswith("  c: x\n")
