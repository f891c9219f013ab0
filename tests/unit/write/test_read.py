"""Reading memory (memkb.write.read): `show` reads one file, `list_records` answers from
the listing index and stays right when files change between two listings."""

from __future__ import annotations

from pathlib import Path

import memkb
from memkb.write import authoring
from memkb.write.read import list_records, show


def test_a_listing_sees_what_changed_since_the_last_one(kb_repo: Path) -> None:
    before = list_records(kb_repo, kind="pattern", domain="healthcare")
    assert "ecommerce_security_first" in [r.id for r in before]
    path = kb_repo / "kb/patterns/ecommerce_security_first.yaml"
    path.write_text(path.read_text().replace(", healthcare]", "]"))
    after = list_records(kb_repo, kind="pattern", domain="healthcare")
    assert "ecommerce_security_first" not in [r.id for r in after]
    row = next(r for r in list_records(kb_repo) if r.id == "ecommerce_security_first")
    assert row.doc["domains"] == ["e-commerce", "finance"]


def test_a_listed_record_holds_what_a_listing_shows_and_show_holds_all(kb_repo: Path) -> None:
    row = next(r for r in list_records(kb_repo) if r.id == "ecommerce_security_first")
    whole = show(kb_repo, "pattern", "ecommerce_security_first")
    assert "prior" not in row.doc and "prior" in whole.doc
    assert {k: whole.doc[k] for k in row.doc} == row.doc


def test_the_documented_homes_still_answer() -> None:
    assert authoring.show is show and authoring.list_records is list_records
    assert memkb.show is show and memkb.list_records is list_records
