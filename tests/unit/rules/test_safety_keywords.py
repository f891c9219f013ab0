"""The keyword pre-filter of the safety scan: every pattern's keywords are literal strings
one of which occurs in every text the pattern matches (so a text holding none of them is
not searched, and the pattern need not even be compiled). The keywords are data in
memkb.rules.safety and memkb.rules.secret_detectors; this file derives them again from
the regular expressions' parse trees and holds the tables equal to what it derives, then
checks the claim itself on the safety corpus and on Hypothesis' texts."""

from __future__ import annotations

import re
import sys
from collections.abc import Callable, Iterator
from re import _constants as sre  # type: ignore[attr-defined]
from re import _parser as sre_parse  # type: ignore[attr-defined]
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from conftest import PROJECT
from memkb.rules import safety, secret_detectors

if str(PROJECT) not in sys.path:  # tooling/bench is not an installed package
    sys.path.insert(0, str(PROJECT))

from tooling.bench.safety_corpus import CATEGORIES, CORPUS, load

# A product of alternatives (`(?:r|s)k_live_`) larger than this is not spelled out.
MAX_ALTERNATIVES = 64
MAX_CLASS = 12  # a character class of more characters is not a keyword


def _exact(items: Any) -> set[str] | None:
    """Every string the subpattern `items` can match, when that is a small finite set."""
    out = {""}
    for op, av in items:
        alternatives = _exact_one(op, av)
        if alternatives is None:
            return None
        out = {a + b for a in out for b in alternatives}
        if len(out) > MAX_ALTERNATIVES:
            return None
    return out


def _exact_one(op: Any, av: Any) -> set[str] | None:
    if op is sre.LITERAL:
        return {chr(av)}
    if op is sre.IN:
        chars: set[str] = set()
        for inner_op, inner_av in av:
            if inner_op is sre.LITERAL:
                chars.add(chr(inner_av))
            elif inner_op is sre.RANGE and inner_av[1] - inner_av[0] < MAX_CLASS:
                chars.update(chr(c) for c in range(inner_av[0], inner_av[1] + 1))
            elif inner_op is sre.CATEGORY and inner_av is sre.CATEGORY_DIGIT:
                chars.update("0123456789")  # ASCII digits: the filter runs on ASCII only
            else:
                return None
        return chars if len(chars) <= MAX_CLASS else None
    if op is sre.SUBPATTERN:
        return _exact(av[3])
    if op is sre.BRANCH:
        return _union(av[1], _exact)
    return None


def _union(branches: Any, of: Callable[[Any], set[str] | None]) -> set[str] | None:
    """The strings of every branch of an alternation by `of`; None if one has none."""
    out: set[str] = set()
    for branch in branches:
        found = of(branch)
        if found is None:
            return None
        out |= found
    return out


def _score(keywords: set[str]) -> tuple[int, int]:
    """Better keywords are longer (rarer in text), then fewer."""
    return min(map(len, keywords)), -len(keywords)


def _required(items: Any) -> set[str] | None:
    """Strings one of which every match of the sequence `items` contains (None: unknown)."""
    candidates, run = [], {""}
    for op, av in items:
        exact = _exact_one(op, av)
        if exact is not None and len(joined := {a + b for a in run for b in exact}) <= (
            MAX_ALTERNATIVES
        ):
            run = joined
            continue
        repeated = _repeated(op, av)
        if repeated is not None:
            # `\d{8,10}:`: the match holds one of the set right before what follows.
            candidates.append({a + b for a in run for b in repeated})
            run = repeated
            continue
        candidates.append(run)
        run = {""}
        candidates.append(_required_one(op, av) or {""})
    candidates.append(run)
    usable = [c for c in candidates if "" not in c]
    return max(usable, key=_score) if usable else None


def _repeated(op: Any, av: Any) -> set[str] | None:
    """The strings one repetition of a repeat done at least once can match (a small set)."""
    if op not in (sre.MAX_REPEAT, sre.MIN_REPEAT, sre.POSSESSIVE_REPEAT) or av[0] < 1:
        return None
    found = _exact(av[2])
    return found if found is not None and len(found) <= MAX_CLASS else None


def _required_one(op: Any, av: Any) -> set[str] | None:
    if op is sre.SUBPATTERN:
        return _required(av[3])
    if op is sre.ATOMIC_GROUP:
        return _required(av)
    if op is sre.BRANCH:
        return _union(av[1], _required)
    if op in (sre.MAX_REPEAT, sre.MIN_REPEAT, sre.POSSESSIVE_REPEAT):
        low, _high, inner = av
        return _required(inner) if low >= 1 else None
    return None  # anchors, lookarounds, back references: they promise no literal


def _ignores_case(pattern: str, flags: int) -> bool:
    tree = sre_parse.parse(pattern, flags)
    return bool(tree.state.flags & re.IGNORECASE) or "(?i" in pattern


def derived_keywords(pattern: str, flags: int) -> tuple[str, ...]:
    """The keywords of `pattern`, lower-cased if it ignores case anywhere; () if none
    can be promised (the pattern then runs on every text)."""
    found = _required(list(sre_parse.parse(pattern, flags)))
    if found is None:
        return ()
    if _ignores_case(pattern, flags):
        found = {k.lower() for k in found}
    # A keyword holding another is implied by it.
    return tuple(sorted(k for k in found if not any(o != k and o in k for o in found)))


def table_patterns() -> Iterator[tuple[str, str, int, tuple[str, ...], bool]]:
    """(what, pattern, flags, keywords in the table, ignore case in the table)."""
    for rule in safety.PATTERNS:
        yield (
            rule.name,
            rule.regex.source,
            rule.regex.flags,
            rule.regex.keywords,
            (rule.regex.ignore_case),
        )
    for name, regexes in secret_detectors.plugin_regexes():
        for each in regexes:
            yield name, each.source, each.flags, each.keywords, each.ignore_case
    for each, _group in secret_detectors.keyword_regexes():
        yield "keyword", each.source, each.flags, each.keywords, each.ignore_case


def test_the_tables_hold_the_keywords_derived_from_each_pattern() -> None:
    wrong = [
        (name, derived_keywords(pattern, flags), _ignores_case(pattern, flags))
        for name, pattern, flags, keywords, ignore in table_patterns()
        if (keywords, ignore) != (derived_keywords(pattern, flags), _ignores_case(pattern, flags))
    ]
    assert not wrong, f"set these keywords (and ignore_case): {wrong}"


def test_no_pattern_runs_without_keywords_but_those_that_promise_none() -> None:
    # The pre-filter is worth little if a common pattern has no keyword: say which.
    unfiltered = [name for name, _, _, keywords, _ in table_patterns() if not keywords]
    assert unfiltered == []


def _corpus_texts() -> list[str]:
    """Every string the scan searches in the corpus: each piece, and what is visible of it."""
    texts = [
        text
        for category in CATEGORIES
        for entry in load(CORPUS / category.file)
        for piece in safety.pieces(entry.document)
        for text in (piece.text, safety.visible(piece.text))
    ]
    return sorted(set(texts))


def _fragments() -> list[str]:
    words = [k for *_, keywords, _ in table_patterns() for k in keywords]
    return [*words, *(w.upper() for w in words), " ", ":", "=", "-", "_", "'", '"', "/", "."]


TEXT = st.lists(
    st.one_of(st.sampled_from(_fragments()), st.text(alphabet=st.characters(max_codepoint=127))),
    max_size=12,
).map("".join)


def _assert_filter_never_hides_a_match(text: str) -> None:
    for rule in safety.PATTERNS:
        for candidate in (text, safety.normalize(text)):
            if rule.regex.compiled.search(candidate):
                assert rule.regex.may_match(candidate), (rule.name, candidate)
    for name, regexes in secret_detectors.plugin_regexes():
        for each in regexes:
            if each.compiled.search(text):
                assert each.may_match(text), (name, text)
    for each, _group in secret_detectors.keyword_regexes():
        if each.compiled.search(text):
            assert each.may_match(text), text


@pytest.mark.parametrize("text", _corpus_texts())
def test_the_filter_passes_every_corpus_text_a_pattern_matches(text: str) -> None:
    _assert_filter_never_hides_a_match(text)


@settings(max_examples=300, deadline=None)
@given(TEXT)
def test_the_filter_passes_every_text_a_pattern_matches(text: str) -> None:
    _assert_filter_never_hides_a_match(text)


def test_a_benign_record_needs_few_patterns() -> None:
    texts = ["kind", "outcome", "project", "Shop", "notes", "shipped on time", "e-commerce"]
    needed = [
        rule.name
        for rule in safety.PATTERNS
        if any(rule.regex.may_match(t) or rule.regex.may_match(safety.normalize(t)) for t in texts)
    ]
    assert len(needed) <= 3, needed
