"""The legacy shapes orchestrators write today: detection, the mapping row by row, and
nothing lost (every input leaf ends up in a record, in `legacy`, or in a named finding)."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import PROJECT, commit_bundled_vocabulary
from legacy_shapes import success_patterns_file
from memkb.legacy.convert import snake
from memkb.legacy.importer import ImportResult, import_legacy
from memkb.legacy.mapping import RISK_LEVELS, kebab, parse_duration
from memkb.legacy.shapes import NothingImportable, Shape, is_entry
from memkb.records.load import load_bytes
from memkb.validation.engine import validate_repo

FIXTURES = PROJECT / "tests" / "fixtures" / "legacy"
MEMKB = str(Path(sys.executable).with_name("memkb"))
SHAPE_DIRS = {"sections": Shape.SECTIONS, "nested": Shape.NESTED, "entry": Shape.ENTRY}


@pytest.fixture
def repo(empty_kb_repo: Path) -> Path:
    """An empty KB holding only the bundled vocabulary, committed."""
    return commit_bundled_vocabulary(empty_kb_repo)


def write(tmp_path: Path, name: str, data: Any) -> Path:
    path = tmp_path / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
    return path


def records(result: ImportResult) -> dict[str, dict[str, Any]]:
    """id -> document of every record the (dry-run) import would write."""
    out = {}
    for relpath, text in result.contents.items():
        doc = load_bytes(text.encode(), relpath).doc
        assert isinstance(doc, dict)
        out[doc["id"]] = doc
    return out


def one(repo: Path, tmp_path: Path, entry: dict[str, Any], name: str = "memory.json") -> Any:
    """Import one entry (one-entry-per-file shape) and return (its record, the result)."""
    result = import_legacy(repo, write(tmp_path, name, entry), dry_run=True)
    docs = records(result)
    return docs[snake(entry["id"])], result


def codes(result: ImportResult) -> Counter[str]:
    return Counter(f.code for f in result.findings)


# --- detection -----------------------------------------------------------------------------
@pytest.mark.parametrize("folder", sorted(SHAPE_DIRS))
def test_each_fixture_folder_is_detected_in_its_shape(repo: Path, folder: str) -> None:
    result = import_legacy(repo, FIXTURES / folder, dry_run=True)
    shapes = {doc["legacy"]["shape"] for doc in records(result).values() if "legacy" in doc}
    assert shapes == {SHAPE_DIRS[folder].value}
    assert not [f for f in result.findings if f.code == "KB601"]


def test_a_file_in_no_shape_is_refused_saying_what_was_expected_and_seen(
    repo: Path, tmp_path: Path
) -> None:
    path = write(tmp_path, "package.json", {"name": "pkg", "version": "1.0.0"})
    with pytest.raises(NothingImportable) as caught:
        import_legacy(repo, path)
    message = caught.value.finding.message
    assert "expected the seed's shape" in message and "one-file-per-section" in message
    assert "saw an object with keys name, version in a file named package.json" in message


def test_forcing_the_wrong_shape_names_the_right_one(repo: Path) -> None:
    path = FIXTURES / "sections" / "success_patterns.json"
    with pytest.raises(NothingImportable) as caught:
        import_legacy(repo, path, shape=Shape.ENTRY)
    assert (
        "saw a `patterns` list in a file named success_patterns.json: this is the "
        "one-file-per-section shape" in caught.value.finding.message
    )
    forced = import_legacy(repo, path, shape=Shape.SECTIONS, dry_run=True)
    assert "typed_form_validation" in records(forced)


def test_a_refused_file_among_others_is_an_error_and_the_rest_imports(
    repo: Path, tmp_path: Path
) -> None:
    bad = write(tmp_path, "package.json", {"name": "pkg", "version": "1.0.0"})
    result = import_legacy(repo, [bad, FIXTURES / "entry"], dry_run=True)
    [refusal] = [f for f in result.findings if f.code == "KB601"]
    assert refusal.path == str(bad) and refusal.severity == "error"
    assert {"stale_cache_after_deploy", "optimistic_ui_updates"} <= set(records(result))


def test_a_folder_is_read_in_sorted_order_and_its_readme_is_a_warning(
    repo: Path, tmp_path: Path
) -> None:
    folder = tmp_path / "memory"
    shutil.copytree(FIXTURES / "entry", folder)
    (folder / "README.md").write_text("# my memory\n\nNotes for people.\n")
    first = import_legacy(repo, folder, dry_run=True)
    again = import_legacy(repo, folder, dry_run=True)
    assert first.contents == again.contents and first.findings == again.findings
    [readme] = [f for f in first.findings if f.path.endswith("README.md")]
    assert (readme.code, readme.severity) == ("KB601", "warning")


def test_cli_exit_two_lists_every_refused_file(repo: Path, tmp_path: Path) -> None:
    a = write(tmp_path, "a.json", {"name": "pkg"})
    b = write(tmp_path, "b.json", [1, 2])
    out = subprocess.run(
        [MEMKB, "import-legacy", str(a), str(b), "--repo", str(repo)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert out.returncode == 2, out.stderr
    assert f"{a}:1:1: error KB601" in out.stderr and f"{b}:1:1: error KB601" in out.stderr
    assert "saw a JSON list" in out.stderr and "Traceback" not in out.stderr


def test_cli_shape_option_and_paths(repo: Path) -> None:
    out = subprocess.run(
        [MEMKB, "import-legacy", str(FIXTURES / "nested"),
         str(FIXTURES / "entry"), "--shape", "nested", "--repo", str(repo), "--dry-run"],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert out.returncode == 1, out.stderr  # the entry files are refused: errors, named
    refused = [line for line in out.stdout.splitlines() if " KB601 " in line]
    assert len(refused) == 2
    assert all("--shape nested: expected the nested-by-category shape" in r for r in refused)
    assert "this is the one-entry-per-file shape" in refused[0]
    assert "--- would write kb/patterns/next_js_react_shadcn.yaml" in out.stdout


# --- the mapping, row by row (docs/import-legacy.md, "Field mapping") ------------------------
@pytest.mark.parametrize("field", ["name", "pattern", "pattern_name"])
def test_name_fields_become_the_title(repo: Path, tmp_path: Path, field: str) -> None:
    doc, _ = one(repo, tmp_path, {"id": "x", field: "The title", "success_rate": 0.5})
    assert doc["title"] == "The title"


def test_category_becomes_a_kebab_case_domain(repo: Path, tmp_path: Path) -> None:
    entry = {"id": "x", "name": "X", "category": "Mobile Apps & Web", "key_elements": ["a"]}
    doc, _ = one(repo, tmp_path, entry)
    assert doc["domains"] == ["mobile-apps-web"]


def test_nested_category_key_becomes_the_domain(repo: Path) -> None:
    result = import_legacy(repo, FIXTURES / "nested" / "failures.json", dry_run=True)
    assert records(result)["missing_error_handling"]["domains"] == ["common-mistakes"]


def test_key_elements_become_best_practices(repo: Path, tmp_path: Path) -> None:
    doc, _ = one(repo, tmp_path, {"id": "x", "name": "X", "key_elements": ["One", "Two"]})
    assert doc["best_practices"] == ["One", "Two"]


@pytest.mark.parametrize("field", ["common_issues", "symptoms", "root_cause"])
def test_issue_fields_become_common_causes(repo: Path, tmp_path: Path, field: str) -> None:
    entry = {"id": "x", "name": "X", "failure_rate": 0.1, field: "Cause A", "solution": "Fix"}
    doc, _ = one(repo, tmp_path, entry, "failure.json")
    assert doc["kind"] == "failure" and doc["common_causes"] == ["Cause A"]


def test_symptoms_and_root_cause_merge_without_repeats(repo: Path, tmp_path: Path) -> None:
    entry = {"id": "x", "pattern_name": "X", "symptoms": ["A", "B"], "root_cause": "A",
             "prevention": ["P"]}  # fmt: skip
    doc, _ = one(repo, tmp_path, entry)
    assert doc["common_causes"] == ["A", "B"]


@pytest.mark.parametrize("field", ["solutions", "solution", "prevention"])
def test_solution_fields_become_prevention_strategies(
    repo: Path, tmp_path: Path, field: str
) -> None:
    entry = {"id": "x", "name": "X", "symptoms": ["S"], field: ["Do this"]}
    doc, _ = one(repo, tmp_path, entry)
    assert doc["prevention_strategies"] == ["Do this"]


def test_warning_signs_stay_warning_signs(repo: Path, tmp_path: Path) -> None:
    entry = {"id": "x", "name": "X", "warning_signs": ["Smoke"], "solution": "Water"}
    doc, _ = one(repo, tmp_path, entry, "failures.json")
    assert doc["warning_signs"] == ["Smoke"] and doc["common_causes"] == ["X"]


def test_common_tools_become_tools(repo: Path, tmp_path: Path) -> None:
    doc, _ = one(repo, tmp_path, {"id": "x", "name": "X", "common_tools": ["zod", "vite"]})
    assert doc["tools"] == ["zod", "vite"]


def test_tech_stack_is_kept_by_layer(repo: Path) -> None:
    result = import_legacy(repo, FIXTURES / "sections" / "project_templates.json", dry_run=True)
    doc = records(result)["static_docs_site"]
    assert doc["tech_stack"] == {"frontend": ["astro", "tailwind"], "hosting": ["netlify"]}


def test_template_without_category_takes_its_stack_layers_as_domains(repo: Path) -> None:
    result = import_legacy(repo, FIXTURES / "nested" / "templates.json", dry_run=True)
    assert records(result)["expo_mobile_app"]["domains"] == ["frontend", "backend"]


@pytest.mark.parametrize(("written", "prior"), [(95, 0.95), ("95%", 0.95), (0.95, 0.95)])
def test_success_rate_becomes_the_prior(
    repo: Path, tmp_path: Path, written: Any, prior: float
) -> None:
    doc, result = one(repo, tmp_path, {"id": "x", "name": "X", "success_rate": written})
    assert doc["prior"]["success_rate"] == prior and doc["prior"]["weight"] == 10
    converted = [f for f in result.findings if f.code == "KB620"]
    assert len(converted) == (written != 0.95)
    assert all("read as a percentage: 0.95" in f.message for f in converted)


def test_template_success_rate_becomes_success_probability(repo: Path) -> None:
    result = import_legacy(repo, FIXTURES / "sections" / "project_templates.json", dry_run=True)
    assert records(result)["static_docs_site"]["prior"]["success_probability"] == 0.97


def test_failure_rate_is_kept_in_legacy_extra_not_evidence(repo: Path, tmp_path: Path) -> None:
    entry = {"id": "x", "name": "X", "failure_rate": 30, "symptoms": ["S"], "solution": "F"}
    doc, result = one(repo, tmp_path, entry)
    assert doc["legacy"]["extra"]["failure_rate"] == 30 and "prior" not in doc
    [kept] = [f for f in result.findings if f.code == "KB621"]
    assert "failure_rate (a failure's frequency is computed" in kept.message


@pytest.mark.parametrize("field", ["utility_score", "times_used", "last_used"])
def test_figures_without_evidence_go_to_legacy_extra(
    repo: Path, tmp_path: Path, field: str
) -> None:
    entry = {"id": "x", "name": "X", "success_rate": 0.5, field: 7}
    doc, result = one(repo, tmp_path, entry)
    assert doc["legacy"]["extra"] == {field: 7}
    assert field in next(f.message for f in result.findings if f.code == "KB621")


def test_named_projects_are_kept_dated_projects_become_one_outcome_each(repo: Path) -> None:
    result = import_legacy(repo, FIXTURES / "sections" / "success_patterns.json", dry_run=True)
    docs = records(result)
    names = docs["typed_form_validation"]["legacy"]["extra"]["projects"]
    assert names == ["garden-planner", "invoice-desk", "garden-planner"]
    outcomes = [d for d in docs.values() if d["kind"] == "outcome"]
    assert [o["id"] for o in outcomes] == ["2025-10-30-tide-tables"]  # cited twice, one
    assert outcomes[0]["patterns_applied"] == ["jwt_refresh_rotation_mvp_2025_11"]


@pytest.mark.parametrize(("complexity", "risk"), sorted(RISK_LEVELS.items()))
def test_complexity_becomes_risk_level(
    repo: Path, tmp_path: Path, complexity: str, risk: str
) -> None:
    entry = {"id": "x", "name": "X", "tech_stack": {"backend": ["go"]}, "complexity": complexity}
    doc, _ = one(repo, tmp_path, entry)
    assert doc["kind"] == "template" and doc["risk_level"] == risk


def test_unknown_complexity_is_kept_in_legacy_extra(repo: Path, tmp_path: Path) -> None:
    entry = {"id": "x", "name": "X", "tech_stack": {"backend": ["go"]}, "complexity": "spicy"}
    doc, _ = one(repo, tmp_path, entry)
    assert "risk_level" not in doc and doc["legacy"]["extra"]["complexity"] == "spicy"


@pytest.mark.parametrize(
    ("text", "weeks"),
    [
        ("15-30 minutes", (0.00625, 0.0125)),
        ("2 hours", (0.05, 0.05)),
        ("1-2 days", (0.2, 0.4)),
        ("3 weeks", (3, 3)),
        ("2 to 4 wks", (2, 4)),
        ("1 month", (4.33, 4.33)),
    ],
)
def test_setup_time_becomes_a_timeline_in_working_weeks(
    repo: Path, tmp_path: Path, text: str, weeks: tuple[float, float]
) -> None:
    entry = {"id": "x", "name": "X", "tech_stack": {"a": ["b"]}, "estimated_setup_time": text}
    doc, _ = one(repo, tmp_path, entry)
    assert doc["estimated_timeline"] == {"min_weeks": weeks[0], "max_weeks": weeks[1]}


def test_unreadable_setup_time_is_kept_verbatim(repo: Path, tmp_path: Path) -> None:
    entry = {"id": "x", "name": "X", "tech_stack": {"a": ["b"]}, "estimated_setup_time": "soon"}
    doc, _ = one(repo, tmp_path, entry)
    assert doc["legacy"]["extra"]["estimated_setup_time"] == "soon"
    assert parse_duration("soon") is None


def test_kebab_ids_become_snake_case_and_keep_the_original(repo: Path) -> None:
    result = import_legacy(repo, FIXTURES / "sections" / "success_patterns.json", dry_run=True)
    doc = records(result)["jwt_refresh_rotation_mvp_2025_11"]
    assert doc["legacy"]["id"] == "jwt-refresh-rotation-mvp-2025-11"
    assert "kb/patterns/jwt_refresh_rotation_mvp_2025_11.yaml" in result.contents


@pytest.mark.parametrize("folder", sorted(SHAPE_DIRS))
def test_legacy_source_and_shape_are_always_set(repo: Path, folder: str) -> None:
    result = import_legacy(repo, FIXTURES / folder, dry_run=True)
    for doc in records(result).values():
        if doc["kind"] != "outcome":  # outcomes have no legacy: (issue 11 owns their schema)
            assert doc["legacy"]["source"].endswith(".json")
            assert doc["legacy"]["shape"] == folder


def test_archived_entries_import_deprecated(repo: Path) -> None:
    result = import_legacy(repo, FIXTURES / "sections" / "success_patterns.json", dry_run=True)
    assert records(result)["session_cookies_everywhere"]["status"] == "deprecated"
    assert records(result)["typed_form_validation"].get("status", "active") == "active"


def test_derived_sections_are_named_and_their_prose_quoted(repo: Path) -> None:
    result = import_legacy(repo, FIXTURES / "sections" / "learning_metrics.json", dry_run=True)
    assert result.contents == {}
    messages = [f.message for f in result.findings]
    assert any(
        m.startswith("'recommendations' not imported")
        and '"Write the failure pattern the day it happens"' in m
        for m in messages
    )
    assert any("'global_metrics' figures not imported (total_projects" in m for m in messages)
    assert any("'project_insights.critical_success_factors'" in m for m in messages)


def test_findings_point_into_the_legacy_file(repo: Path) -> None:
    path = FIXTURES / "sections" / "success_patterns.json"
    result = import_legacy(repo, path, dry_run=True)
    [percent] = [f for f in result.findings if f.code == "KB620"]
    line = path.read_text().splitlines()[percent.line - 1]
    assert line[percent.col - 1 :].startswith("88")


def test_any_object_in_a_patterns_list_is_an_entry(repo: Path, tmp_path: Path) -> None:
    plain = {"patterns": [{"id": "plain-one", "name": "Plain", "description": "No markers."}]}
    result = import_legacy(repo, write(tmp_path, "success_patterns.json", plain), dry_run=True)
    assert records(result)["plain_one"]["title"] == "Plain"


def test_an_entry_file_type_field_chooses_the_kind(repo: Path, tmp_path: Path) -> None:
    entry = {"id": "x", "type": "failure", "name": "X", "key_elements": ["k"], "solution": "s"}
    doc, _ = one(repo, tmp_path, entry, "pattern-x.json")
    assert doc["kind"] == "failure" and doc["legacy"]["extra"]["type"] == "failure"


# --- nothing lost, and a clean validate -----------------------------------------------------
def leaves(value: Any, keys: bool, path: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    """(path, value) of every scalar under `value`; with `keys`, the key of an entry or of a
    category of entries counts as a value too (in the nested shape they are data)."""
    if isinstance(value, dict):
        for key, item in value.items():
            if keys and (
                is_entry(item)
                or (isinstance(item, dict) and all(is_entry(v) for v in item.values()))
            ):
                yield (*path, key), key
            yield from leaves(item, keys, (*path, key))
    elif isinstance(value, list):
        for i, item in enumerate(value):
            yield from leaves(item, keys, (*path, i))
    else:
        yield path, value


def kept_values(result: ImportResult) -> set[Any]:
    """Every scalar and key of every record the import writes."""
    found: set[Any] = set()
    for doc in records(result).values():
        for path, value in leaves(doc, False):
            found.update(k for k in path if isinstance(k, str))
            found.add(value)
    return found


def is_kept(value: Any, key: Any, kept: set[Any], messages: str) -> bool:
    """True when `value` is in a record (as written, or as the documented conversion of
    it), or quoted or named in a finding."""
    if isinstance(value, bool) or value is None:
        return value in kept or str(key) in messages
    if isinstance(value, int | float):
        return (
            value in kept
            or round(value / 100, 6) in kept
            or f"'{key}'" in messages
            or (str(key) in messages)
        )
    text = str(value)
    duration = parse_duration(text)
    converted = {text, snake(text), kebab(text), text.lstrip("@"), text[:10]}
    converted.add(RISK_LEVELS.get(text.lower(), text))
    if duration is not None:
        converted.update(duration.values())
    return bool(converted & kept) or text in messages


@pytest.mark.parametrize("folder", sorted(SHAPE_DIRS))
def test_nothing_in_the_input_is_lost(repo: Path, folder: str) -> None:
    result = import_legacy(repo, FIXTURES / folder, dry_run=True)
    kept = kept_values(result)
    messages = "\n".join(f.message for f in result.findings)
    lost = []
    for path in sorted((FIXTURES / folder).glob("*.json")):
        data = json.loads(path.read_text())
        for where, value in leaves(data, folder == "nested"):
            key = next((k for k in reversed(where) if isinstance(k, str)), None)
            if not is_kept(value, key, kept, messages):
                lost.append((path.name, where, value))
    assert lost == []


def test_nothing_lost_check_catches_a_dropped_value(repo: Path) -> None:
    result = import_legacy(repo, FIXTURES / "entry", dry_run=True)
    kept, messages = kept_values(result), "\n".join(f.message for f in result.findings)
    assert is_kept("Users see old prices", "symptoms", kept, messages)
    assert not is_kept("a value no fixture holds", "symptoms", kept, messages)


@pytest.mark.parametrize("folder", sorted(SHAPE_DIRS))
def test_each_shape_imports_into_a_fresh_kb_and_validates(repo: Path, folder: str) -> None:
    result = import_legacy(repo, FIXTURES / folder, extend_vocabulary=True)
    assert [f for f in result.findings if f.severity == "error"] == []
    checked = validate_repo(repo, use_cache=False)
    assert [f for f in checked.findings if f.severity == "error"] == []
    assert checked.records == len(result.added) + 1  # and the vocabulary


def test_thousands_of_generated_patterns_import_and_validate(repo: Path, tmp_path: Path) -> None:
    source = success_patterns_file(tmp_path / "success_patterns.json", 3000)
    result = import_legacy(repo, source, extend_vocabulary=True)
    assert [f for f in result.findings if f.severity == "error"] == []
    assert len(result.added) == 3000
    found = codes(result)
    assert found["KB621"] == 3000  # every generated entry has extras, each one named
    assert 0 < found["KB620"] < 3000  # percentages converted, fractions left alone
    assert "mobile-apps" in result.vocabulary_added["domain"]
    checked = validate_repo(repo, use_cache=False)
    assert [f for f in checked.findings if f.severity == "error"] == []
    doc = load_bytes((repo / "kb/patterns/generated_pattern_2999.yaml").read_bytes(), "x.yaml").doc
    assert isinstance(doc, dict) and doc["legacy"]["id"] == "generated-pattern-2999"


# --- any input in the new shapes: findings, never a traceback -------------------------------
_scalar = (
    st.none() | st.booleans() | st.integers(-200, 200) | st.floats(-5, 500) | st.text(max_size=12)
)
_value = st.recursive(
    _scalar, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(
        st.text(max_size=8), inner, max_size=3
    ), max_leaves=8,
)  # fmt: skip
_fields = st.sampled_from(
    ["id", "name", "pattern", "category", "success_rate", "failure_rate", "symptoms",
     "root_cause", "solution", "key_elements", "common_tools", "tech_stack", "complexity",
     "estimated_setup_time", "projects", "times_used", "file_structure", "status"]
)  # fmt: skip
_entry = st.dictionaries(_fields, _value, min_size=1, max_size=6)
_memories = st.one_of(
    st.fixed_dictionaries(
        {"patterns": st.lists(_entry, max_size=3)},
        optional={"insights": _value, "version": _value, "archived_patterns": _value},
    ),
    st.dictionaries(st.text(min_size=1, max_size=8), st.dictionaries(
        st.text(min_size=1, max_size=8), _entry, min_size=1, max_size=2), min_size=1, max_size=2),
    _entry,
)  # fmt: skip


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(memory=_memories, name=st.sampled_from(["failure_patterns.json", "memory.json"]))
def test_any_memory_in_the_new_shapes_is_reported_never_crashes(
    repo: Path, tmp_path: Path, memory: dict[str, Any], name: str
) -> None:
    source = write(tmp_path, name, memory)
    try:
        result = import_legacy(repo, source, dry_run=True)
    except NothingImportable as refused:  # not every random object is a memory
        assert refused.finding.code == "KB601" and "expected" in refused.finding.message
        return
    lines = len(source.read_text().splitlines())
    assert all(1 <= f.line <= lines and f.col >= 1 for f in result.findings)
    for relpath, text in result.contents.items():
        assert load_bytes(text.encode(), relpath).findings == []
