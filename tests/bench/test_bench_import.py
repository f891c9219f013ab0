"""The import benchmark's memory generator (tooling/bench/legacy_synth.py): the documented
one-file-per-section shape, repeatable, and its seed-shaped twin imports clean."""

from __future__ import annotations

import json
import re
import shutil
import sys
from pathlib import Path

from conftest import BUNDLED_KB, PROJECT, git
from memkb.legacy.importer import import_legacy
from memkb.validation.engine import validate_repo

if str(PROJECT) not in sys.path:  # tooling/bench is not an installed package
    sys.path.insert(0, str(PROJECT))

from tooling.bench.legacy_synth import generate_sections, main, seed_shape

KEBAB = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*$")
PATTERN_KEYS = {
    "id",
    "name",
    "category",
    "description",
    "success_rate",
    "projects",
    "key_elements",
    "common_tools",
    "times_used",
    "last_used",
    "utility_score",
}
FAILURE_KEYS = {
    "id",
    "name",
    "category",
    "description",
    "failure_rate",
    "common_issues",
    "warning_signs",
    "solutions",
}
TEMPLATE_KEYS = {
    "id",
    "name",
    "category",
    "description",
    "success_rate",
    "complexity",
    "estimated_setup_time",
    "tech_stack",
}


def load(folder: Path, name: str) -> dict[str, object]:
    data = json.loads((folder / name).read_text())
    assert isinstance(data, dict)
    return data


def test_files_have_the_one_file_per_section_shape(tmp_path: Path) -> None:
    memory = generate_sections(tmp_path / "m", patterns=200, seed=3)
    assert sorted(p.name for p in (tmp_path / "m").iterdir()) == [
        "failure_patterns.json",
        "project_templates.json",
        "success_patterns.json",
    ]
    assert memory.counts == {
        "success_patterns.json": 200,
        "failure_patterns.json": 20,
        "project_templates.json": 4,
    }
    success = load(tmp_path / "m", "success_patterns.json")
    assert {"version", "last_updated", "patterns", "core_patterns", "insights"} == set(success)
    patterns = success["patterns"]
    assert isinstance(patterns, list)
    for p in patterns:
        assert set(p) == PATTERN_KEYS
        assert KEBAB.match(p["id"]) and 0 <= p["success_rate"] <= 1
        assert all(isinstance(x, str) for x in p["projects"] + p["key_elements"])
        assert isinstance(p["times_used"], int) and isinstance(p["utility_score"], float)
    assert len({p["id"] for p in patterns}) == len(patterns)
    failures = load(tmp_path / "m", "failure_patterns.json")["patterns"]
    assert isinstance(failures, list) and all(set(f) == FAILURE_KEYS for f in failures)
    templates = load(tmp_path / "m", "project_templates.json")["templates"]
    assert isinstance(templates, list)
    for t in templates:
        assert set(t) == TEMPLATE_KEYS
        assert all(isinstance(v, list) for v in t["tech_stack"].values())


def test_output_depends_only_on_size_and_seed(tmp_path: Path) -> None:
    main([str(tmp_path / "a"), "--patterns", "50", "--seed", "7"])
    main([str(tmp_path / "b"), "--patterns", "50", "--seed", "7"])
    main([str(tmp_path / "c"), "--patterns", "50", "--seed", "8"])
    read = {d: (tmp_path / d / "success_patterns.json").read_bytes() for d in "abc"}
    assert read["a"] == read["b"] != read["c"]


def test_seed_shaped_twin_imports_clean_with_extend_vocabulary(empty_kb_repo: Path) -> None:
    shutil.copy(BUNDLED_KB / "vocabulary.yaml", empty_kb_repo / "kb" / "vocabulary.yaml")
    git(empty_kb_repo, "add", "-A")
    git(empty_kb_repo, "commit", "-q", "-m", "vocabulary")
    memory = generate_sections(empty_kb_repo.parent / "m", patterns=100, seed=1)
    source = empty_kb_repo.parent / "seed_shape.json"
    source.write_text(json.dumps(seed_shape(memory)))
    result = import_legacy(empty_kb_repo, source, extend_vocabulary=True)
    assert result.ok, [f for f in result.findings if f.severity == "error"][:3]
    assert len(result.added) == 110  # 100 patterns, 10 failures
    assert result.vocabulary_added  # new categories and the new droid and phase
    assert not validate_repo(empty_kb_repo).findings
