"""`memkb export-legacy`: stdout or --output, the summary, bad options (exit 2, a clear
message), and a real pipeline export -> import-legacy in subprocesses."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

from typer.testing import CliRunner

from conftest import BUNDLED_KB, git, make_kb_repo
from memkb.cli.main import app
from memkb.legacy.export import EXPORT_FORMAT, export_legacy
from memkb.report import reporter

runner = CliRunner()
MEMKB = str(Path(sys.executable).parent / "memkb")


def test_stdout_is_the_seed_document_of_the_api(kb_repo: Path) -> None:
    done = runner.invoke(app, ["export-legacy", "--repo", str(kb_repo)])
    assert done.exit_code == 0, done.output
    body = export_legacy(kb_repo).documents["memory.json"]
    assert done.stdout == reporter("export-legacy-document", "json")(body)
    assert json.loads(done.stdout)["format"] == EXPORT_FORMAT


def test_output_file_and_summary(kb_repo: Path, tmp_path: Path) -> None:
    out = tmp_path / "memory.json"
    done = runner.invoke(app, ["export-legacy", "--repo", str(kb_repo), "--output", str(out)])
    assert done.exit_code == 0, done.output
    assert done.stdout.splitlines()[0] == f"wrote {out}"
    assert "exported the seed shape of commit" in done.stdout
    assert json.loads(out.read_text())["success_patterns"]


def test_sections_into_a_directory_with_a_json_summary(kb_repo: Path, tmp_path: Path) -> None:
    out = tmp_path / "legacy"
    args = ["export-legacy", "--repo", str(kb_repo), "--shape", "sections", "--output", str(out)]
    done = runner.invoke(app, [*args, "--json"])
    assert done.exit_code == 0, done.output
    summary = json.loads(done.stdout)
    assert summary["format"] == "memkb.export-legacy-written/1"
    assert sorted(Path(p).name for p in summary["written"]) == [
        "failure_patterns.json", "learning_metrics.json", "project_templates.json",
        "success_patterns.json",
    ]  # fmt: skip
    assert (out / "success_patterns.json").is_file()


def test_bad_output_is_exit_2_with_a_clear_message(kb_repo: Path, tmp_path: Path) -> None:
    cases = [
        (["--output", str(kb_repo / "kb" / "x.json")], "inside kb/"),
        (["--output", str(tmp_path / "no" / "such" / "x.json")], "does not exist"),
        (["--shape", "sections"], "needs --output DIR"),
        (["--shape", "sections", "--output", str(BUNDLED_KB / "vocabulary.yaml")], "is a file"),
        (["--as-of", "2025-13-45"], "is not a date"),
        (["--as-of", "nonsense-rev"], "is not a commit"),
    ]
    before = git(kb_repo, "status", "--porcelain")
    for extra, message in cases:
        done = runner.invoke(app, ["export-legacy", "--repo", str(kb_repo), *extra])
        assert done.exit_code == 2, (extra, done.output)
        assert message in done.stderr, (extra, done.stderr)
        assert "Traceback" not in done.output
    assert git(kb_repo, "status", "--porcelain") == before  # nothing written into kb/


def test_bad_output_with_json_is_an_error_document(kb_repo: Path) -> None:
    args = ["export-legacy", "--repo", str(kb_repo), "--output", str(kb_repo / "kb"), "--json"]
    done = runner.invoke(app, args)
    assert done.exit_code == 2
    error = json.loads(done.stdout)
    assert error["format"] == "memkb.error/1" and "inside kb/" in error["error"]["message"]


def test_export_piped_into_import_in_real_processes(kb_repo: Path, tmp_path: Path) -> None:
    """What a user runs: export one KB, import the file into an empty one; same records."""
    exported = subprocess.run(
        [MEMKB, "export-legacy", "--repo", str(kb_repo)], capture_output=True, check=True
    )
    (tmp_path / "memory.json").write_bytes(exported.stdout)
    target = make_kb_repo(tmp_path / "target", with_kb=False)
    shutil.copy(BUNDLED_KB / "vocabulary.yaml", target / "kb" / "vocabulary.yaml")
    imported = subprocess.run(
        [MEMKB, "import-legacy", str(tmp_path / "memory.json"), "--repo", str(target)],
        capture_output=True,
        text=True,
    )
    assert imported.returncode == 0, imported.stdout + imported.stderr
    assert "memory exported by memkb" in imported.stdout
    for path in (kb_repo / "kb").rglob("*.yaml"):
        rel = path.relative_to(kb_repo)
        if "expectations" not in rel.parts:
            assert (target / rel).read_bytes() == path.read_bytes(), rel


def test_two_runs_write_byte_identical_files_with_or_without_the_cache(
    kb_repo: Path, tmp_path: Path
) -> None:
    outputs = []
    for i, extra in enumerate(([], [], ["--no-cache"])):
        out = tmp_path / f"run{i}"
        args = ["export-legacy", "--repo", str(kb_repo), "--shape", "sections"]
        done = runner.invoke(app, [*args, "--output", str(out), *extra])
        assert done.exit_code == 0, done.output
        seed = runner.invoke(app, ["export-legacy", "--repo", str(kb_repo), *extra])
        files = {p.name: p.read_bytes() for p in sorted(out.iterdir())}
        outputs.append((files, seed.stdout))
    assert outputs[0] == outputs[1] == outputs[2]
    assert len(outputs[0][0]) == 4
