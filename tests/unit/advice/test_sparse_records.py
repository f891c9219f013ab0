"""Advice copes with what schema version 3 no longer requires: a pattern without phases or
key_droids, a template without phases or risk_level (legacy imports). Nothing crashes; a
bare record is still advised on its domain, below a record that matches more of the query."""

from __future__ import annotations

import shutil
from pathlib import Path

from conftest import BUNDLED_KB, git, make_kb_repo
from memkb.advice import make_query, recommend
from memkb.advice.brief import brief

HEAD = "# yaml-language-server: $schema=../../schemas/{kind}.schema.json\n"
FULL = """kind: pattern
schema_version: 3
id: full_pattern
domains: [e-commerce]
phases: [security_first]
key_droids: [security-auditor]
prior:
  success_rate: 0.8
  weight: 10
"""
BARE = """kind: pattern
schema_version: 3
id: bare_pattern
domains: [e-commerce]
tools: [stripe]
prior:
  success_rate: 0.8
  weight: 10
legacy:
  id: bare-pattern
"""
BARE_TEMPLATE = """kind: template
schema_version: 3
id: bare_template
domains: [e-commerce]
tech_stack:
  backend: [node]
"""


def sparse_kb(root: Path) -> Path:
    repo = make_kb_repo(root, with_kb=False)
    shutil.copy(BUNDLED_KB / "vocabulary.yaml", repo / "kb" / "vocabulary.yaml")
    for kind, rid, text in (("pattern", "full_pattern", FULL), ("pattern", "bare_pattern", BARE),
                            ("template", "bare_template", BARE_TEMPLATE)):  # fmt: skip
        (repo / "kb" / f"{kind}s").mkdir(exist_ok=True)
        (repo / "kb" / f"{kind}s" / f"{rid}.yaml").write_text(HEAD.format(kind=kind) + text)
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "sparse records")
    return repo


def test_bare_pattern_ranks_below_one_matching_phase_and_droid(tmp_path: Path) -> None:
    repo = sparse_kb(tmp_path / "repo")
    query = make_query(domains=["e-commerce"], phases=["security_first"],
                       droids=["security-auditor"])  # fmt: skip
    advice = recommend(repo, query, use_cache=False)
    assert [i.id for i in advice.patterns] == ["full_pattern", "bare_pattern"]
    full, bare = advice.patterns
    assert full.score > bare.score > 0
    assert [i.id for i in advice.templates] == ["bare_template"]


def test_brief_of_bare_records_says_none_where_nothing_is_named(tmp_path: Path) -> None:
    repo = sparse_kb(tmp_path / "repo")
    text = brief(repo, make_query(domains=["e-commerce"]), use_cache=False).markdown
    assert "### `bare_pattern`" in text
    bare = text.split("### `bare_pattern`", 1)[1].split("###", 1)[0]
    assert "Key droids: none" in bare
    template = text.split("### `bare_template`", 1)[1].split("###", 1)[0]
    assert "Phases: none recorded" in template
