"""Every corpus case the scanner is sure about is classified as its file says (one test
each, not a rate): attacks are caught, benign look-alikes pass."""

from __future__ import annotations

import sys

import pytest

from conftest import PROJECT

if str(PROJECT) not in sys.path:  # tooling/bench is not an installed package
    sys.path.insert(0, str(PROJECT))

from tooling.bench.safety_corpus import (
    CATEGORIES,
    CORPUS,
    Category,
    Entry,
    codes_of,
    is_right,
    load,
    main,
)

CASES = [
    pytest.param(category, entry, id=f"{category.file.removesuffix('.yaml')}:{entry.id}")
    for category in CATEGORIES
    for entry in load(CORPUS / category.file)
    if entry.sure
]


@pytest.mark.parametrize(("category", "entry"), CASES)
def test_corpus_entry_is_classified_as_expected(category: Category, entry: Entry) -> None:
    assert is_right(category, entry), (entry.document, sorted(codes_of(entry)))


def test_each_category_has_cases() -> None:
    assert {c.file for c, _ in (p.values for p in CASES)} == {c.file for c in CATEGORIES}
    assert len(CASES) >= 90


def test_script_prints_the_three_rates(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([]) == 0
    out = capsys.readouterr().out
    for label in ("injections caught", "secrets caught", "benign texts flagged"):
        assert label in out
