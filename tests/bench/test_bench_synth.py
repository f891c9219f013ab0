"""The benchmark's KB generator: valid KBs validate clean, broken ones break exactly as reported."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from conftest import PROJECT, git
from memkb.validation.engine import validate_repo

if str(PROJECT) not in sys.path:  # tooling/bench is not an installed package
    sys.path.insert(0, str(PROJECT))

from tooling.bench.synth import BREAKAGES, GeneratedKB, generate_kb, main


def tree(root: Path) -> dict[str, bytes]:
    """Every file under root/kb, by relative path."""
    return {
        p.relative_to(root).as_posix(): p.read_bytes()
        for p in sorted((root / "kb").rglob("*"))
        if p.is_file()
    }


def test_valid_kb_has_no_findings(tmp_path: Path) -> None:
    kb = generate_kb(tmp_path / "kb", 300, seed=1)
    result = validate_repo(kb.root, use_cache=False)
    assert result.findings == []
    assert result.files == 301  # the records plus kb/vocabulary.yaml
    assert kb.counts == {"pattern": 60, "failure": 30, "template": 15, "outcome": 195}
    assert kb.n_records == 300 and kb.broken == []


def test_kinds_live_in_their_folders_and_outcomes_under_their_year(tmp_path: Path) -> None:
    kb = generate_kb(tmp_path / "kb", 100, seed=2)
    outcomes = list((kb.root / "kb" / "outcomes").rglob("*.yaml"))
    assert len(outcomes) == kb.counts["outcome"]
    assert all(p.parent.name == p.name[:4] and p.name[:4] <= "2025" for p in outcomes)
    assert len(list((kb.root / "kb" / "patterns").glob("*.yaml"))) == kb.counts["pattern"]


def test_broken_variant_breaks_exactly_the_reported_files(tmp_path: Path) -> None:
    kb = generate_kb(tmp_path / "kb", 400, broken_fraction=0.05, seed=3)
    result = validate_repo(kb.root, use_cache=False)
    assert len(kb.broken) == 20
    assert {f.path for f in result.findings} == {b.relpath for b in kb.broken}
    assert set(kb.breakages) == set(BREAKAGES)
    assert not result.ok


@pytest.mark.parametrize("how", BREAKAGES)
def test_each_way_of_breaking_yields_a_finding_in_that_file(tmp_path: Path, how: str) -> None:
    kb = generate_kb(tmp_path / "kb", 200, broken_fraction=0.2, seed=4)
    result = validate_repo(kb.root, use_cache=False)
    paths = {f.path for f in result.findings}
    victims = [b.relpath for b in kb.broken if b.how == how]
    assert victims and all(v in paths for v in victims)


def test_same_seed_same_kb_other_seed_other_kb(tmp_path: Path) -> None:
    first = generate_kb(tmp_path / "a", 150, broken_fraction=0.1, seed=7)
    again = generate_kb(tmp_path / "b", 150, broken_fraction=0.1, seed=7)
    other = generate_kb(tmp_path / "c", 150, broken_fraction=0.1, seed=8)
    assert tree(first.root) == tree(again.root)
    assert first.broken == again.broken
    assert tree(first.root) != tree(other.root)


def test_manifest_round_trips(tmp_path: Path) -> None:
    kb = generate_kb(tmp_path / "kb", 50, broken_fraction=0.1, seed=5)
    back = GeneratedKB.from_json(kb.to_json())
    assert back == kb and back.breakages == kb.breakages


def test_refuses_a_non_empty_directory_and_bad_arguments(tmp_path: Path) -> None:
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "keep.txt").write_text("mine")
    with pytest.raises(FileExistsError):
        generate_kb(tmp_path / "full", 10)
    with pytest.raises(ValueError, match="broken_fraction"):
        generate_kb(tmp_path / "x", 10, broken_fraction=1.5)
    assert (tmp_path / "full" / "keep.txt").read_text() == "mine"
    assert main([str(tmp_path / "full"), "--records", "10"]) == 2


def test_cli_with_git_makes_one_clean_commit(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "repo"
    assert main([str(out), "--records", "40", "--broken", "0.1", "--git"]) == 0
    printed = capsys.readouterr().out
    assert "wrote 40 records" in printed and "broke 4 files" in printed
    assert git(out, "rev-list", "--count", "HEAD").strip() == "1"
    assert git(out, "status", "--porcelain") == ""
    tracked = git(out, "ls-files").split()
    assert "kb/vocabulary.yaml" in tracked and "schemas/pattern.schema.json" in tracked
