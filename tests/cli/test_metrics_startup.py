"""What a warm `memkb metrics` loads: the stored report answers, so the YAML readers, the
history walk, the replay and the formulas stay unimported (issue 12: warm start-up)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from conftest import git, probe_modules

# Modules only the building of a report needs.
BUILD_ONLY = {
    "yaml",
    "yaml_rs",
    "statistics",
    "memkb.records.load",
    "memkb.history.blobs",
    "memkb.history.readahead",
    "memkb.history.replay",
    "memkb.history.walk",
    "memkb.metrics.formulas",
    "memkb.metrics.beta",
}


@pytest.mark.parametrize("fmt", ["text", "json"])
def test_a_warm_metrics_loads_only_the_stored_report(kb_repo: Path, fmt: str) -> None:
    code, cold_out, err, cold = probe_modules(kb_repo, "metrics", "--format", fmt)
    assert code == 0, err
    assert set(cold) | {"yaml_rs"} >= BUILD_ONLY  # the cold run did build the report
    code, warm_out, err, warm = probe_modules(kb_repo, "metrics", "--format", fmt)
    assert code == 0, err
    assert warm_out == cold_out
    assert sorted(BUILD_ONLY & set(warm)) == []


def test_a_new_commit_is_not_answered_from_the_stored_report(kb_repo: Path) -> None:
    """The stored report is keyed by HEAD: after a commit the figures are built again."""
    probe_modules(kb_repo, "metrics", "--json")
    outcome = kb_repo / "kb" / "outcomes" / "2099" / "2099-01-01-late.yaml"
    outcome.parent.mkdir(parents=True)
    outcome.write_text(
        "kind: outcome\nschema_version: 2\nid: 2099-01-01-late\nproject: late\n"
        "date: 2099-01-01\noutcome: success\ndomains: [finance]\n"
    )
    git(kb_repo, "add", "-A")
    git(kb_repo, "commit", "-q", "-m", "a late outcome")
    code, out, err, modules = probe_modules(kb_repo, "metrics", "--json")
    assert code == 0, err
    assert "memkb.metrics.formulas" in modules
    assert json.loads(out)["as_of"]["commit"] == git(kb_repo, "rev-parse", "HEAD").strip()
