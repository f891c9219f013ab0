"""Switching codes off: `validate --ignore`, [tool.memkb] in pyproject.toml, kb/.memkb.yaml
and per-file ignores; `memkb check` never drops the codes that protect the orchestrator."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from conftest import git
from memkb.cli.main import app
from memkb.errors import UsageError
from memkb.findings import error
from memkb.rules.selection import Selection, load_selection
from memkb.validation.check import run_check

JWT = "kb/patterns/authentication_jwt_security_first.yaml"
SHOP = "kb/patterns/ecommerce_security_first.yaml"
OUTCOME = "kb/outcomes/2025/2025-01-20-shumica-marketplace.yaml"


def drop_modeline(repo: Path, relpath: str) -> None:
    """Make `relpath` raise KB313 (a warning)."""
    path = repo / relpath
    path.write_text(path.read_text().split("\n", 1)[1])


def misspell_droid(repo: Path, relpath: str) -> None:
    """Make `relpath` raise KB304 (an error)."""
    path = repo / relpath
    path.write_text(path.read_text().replace("security-auditor", "security-airditor", 1))


def validate(repo: Path, *args: str) -> Any:
    return CliRunner().invoke(app, ["validate", "--repo", str(repo), "--format", "json", *args])


def codes_of(result: Any) -> list[tuple[str, str]]:
    assert result.exit_code in (0, 1), result.output
    return [(f["path"], f["code"]) for f in json.loads(result.stdout)["findings"]]


def test_ignore_option_switches_a_code_off(kb_repo: Path) -> None:
    drop_modeline(kb_repo, JWT)
    assert codes_of(validate(kb_repo)) == [(JWT, "KB313")]
    assert codes_of(validate(kb_repo, "--ignore", "KB313")) == []


def test_ignoring_an_error_code_changes_the_exit_code(kb_repo: Path) -> None:
    misspell_droid(kb_repo, SHOP)
    drop_modeline(kb_repo, JWT)
    assert validate(kb_repo).exit_code == 1
    result = validate(kb_repo, "--ignore", "KB304", "--ignore", "kb313")
    assert result.exit_code == 0 and codes_of(result) == []


def test_select_reports_only_the_chosen_codes_and_ignores_still_apply(kb_repo: Path) -> None:
    misspell_droid(kb_repo, SHOP)
    drop_modeline(kb_repo, JWT)
    assert codes_of(validate(kb_repo, "--select", "KB313")) == [(JWT, "KB313")]
    both = validate(kb_repo, "--select", "KB313", "--select", "KB304", "--ignore", "KB313")
    assert codes_of(both) == [(SHOP, "KB304")]
    assert validate(kb_repo, "--select", "KB999").exit_code == 2


def test_ignore_in_pyproject(kb_repo: Path) -> None:
    drop_modeline(kb_repo, JWT)
    (kb_repo / "pyproject.toml").write_text(
        '[project]\nname = "x"\n\n[tool.memkb]\nignore = ["KB313"]\n'
    )
    assert codes_of(validate(kb_repo)) == []


def test_ignore_in_kb_config(kb_repo: Path) -> None:
    drop_modeline(kb_repo, JWT)
    (kb_repo / "kb/.memkb.yaml").write_text("ignore: [KB313]\n")
    assert codes_of(validate(kb_repo)) == []


def test_per_file_ignores_only_match_their_glob(kb_repo: Path) -> None:
    drop_modeline(kb_repo, JWT)
    drop_modeline(kb_repo, SHOP)
    (kb_repo / "kb/.memkb.yaml").write_text('per-file-ignores:\n  "kb/patterns/auth*": [KB313]\n')
    assert codes_of(validate(kb_repo)) == [(SHOP, "KB313")]


def test_sources_add_up(kb_repo: Path) -> None:
    misspell_droid(kb_repo, SHOP)
    drop_modeline(kb_repo, JWT)
    (kb_repo / "pyproject.toml").write_text('[tool.memkb]\nignore = ["KB313"]\n')
    (kb_repo / "kb/.memkb.yaml").write_text("ignore: [KB305]\n")
    assert codes_of(validate(kb_repo)) == [(SHOP, "KB304")]
    assert codes_of(validate(kb_repo, "--ignore", "KB304")) == []


def test_unknown_code_on_the_command_line_is_a_usage_error(kb_repo: Path) -> None:
    result = validate(kb_repo, "--ignore", "KB399")
    assert result.exit_code == 2
    # --format json: the error is a JSON object on stdout
    assert "unknown code 'KB399' in --ignore (did you mean" in result.stdout
    assert "Traceback" not in result.output


def test_unknown_code_in_config_names_the_file_line_and_column(kb_repo: Path) -> None:
    (kb_repo / "pyproject.toml").write_text('[tool.memkb]\nignore = ["KB313", "KB399"]\n')
    result = validate(kb_repo)
    assert result.exit_code == 2
    assert "pyproject.toml:2:21: unknown code 'KB399' in ignore" in result.stdout
    (kb_repo / "pyproject.toml").unlink()
    (kb_repo / "kb/.memkb.yaml").write_text("ignore:\n  - KB31\n")
    result = validate(kb_repo)
    assert result.exit_code == 2 and "kb/.memkb.yaml:2:5: unknown code 'KB31'" in result.stdout


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("ignroe: [KB313]\n", "kb/.memkb.yaml:1:1: unknown setting 'ignroe'"),
        ("ignore: KB313\n", "ignore must be a list of codes"),
        ("- KB313\n", "kb/.memkb.yaml:1:1: a record must be a mapping"),
        ("ignore: [KB313\n", "kb/.memkb.yaml:2:1:"),
        ("per-file-ignores: [KB313]\n", "per-file-ignores maps globs to codes"),
    ],
)
def test_malformed_kb_config_is_a_usage_error(kb_repo: Path, text: str, message: str) -> None:
    (kb_repo / "kb/.memkb.yaml").write_text(text)
    result = validate(kb_repo)
    assert result.exit_code == 2 and message in result.stdout, result.stdout
    assert "Traceback" not in result.output


def test_empty_kb_config_means_no_settings(kb_repo: Path) -> None:
    (kb_repo / "kb/.memkb.yaml").write_text("# nothing ignored yet\n")
    assert load_selection(kb_repo) == Selection()


def test_bad_toml_is_a_usage_error(kb_repo: Path) -> None:
    (kb_repo / "pyproject.toml").write_text("[tool.memkb\n")
    result = validate(kb_repo)
    assert result.exit_code == 2 and "pyproject.toml: " in result.stdout


@pytest.mark.parametrize("code", ["KB402", "KB501", "KB503"])
def test_codes_that_protect_the_orchestrator_cannot_be_ignored(kb_repo: Path, code: str) -> None:
    result = validate(kb_repo, "--ignore", code)
    assert result.exit_code == 2 and "protects the orchestrator" in result.stdout
    (kb_repo / "kb/.memkb.yaml").write_text(f"ignore: [{code}]\n")
    with pytest.raises(UsageError, match=r"kb/\.memkb\.yaml:1:10: .* cannot be ignored"):
        load_selection(kb_repo)


def test_import_codes_cannot_be_ignored_by_validate(kb_repo: Path) -> None:
    with pytest.raises(UsageError, match="KB608 cannot be ignored: it is not reported"):
        load_selection(kb_repo, ["KB608"])


def test_a_selection_built_in_python_still_keeps_protected_codes() -> None:
    selection = Selection(frozenset({"KB402", "KB304"}), (("kb/*", frozenset({"KB501"})),))
    kept = error(OUTCOME, "KB402", "edited"), error(OUTCOME, "KB501", "secret")
    assert selection.apply([*kept, error(SHOP, "KB304", "unknown")]) == list(kept)


# -------------------------------------------------------------------- memkb check


def commit_on_branch(repo: Path, name: str) -> None:
    git(repo, "checkout", "-q", "-b", name)
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", name)
    git(repo, "checkout", "-q", "main")


def test_check_honours_the_base_config_for_validation_codes(kb_repo: Path) -> None:
    (kb_repo / "kb/.memkb.yaml").write_text("ignore: [KB313]\n")
    git(kb_repo, "add", "-A")
    git(kb_repo, "commit", "-q", "-m", "config")
    drop_modeline(kb_repo, JWT)
    commit_on_branch(kb_repo, "head")
    assert [f.code for f in run_check(kb_repo, "main", "head", with_metrics=False).findings] == []


def test_check_ignores_a_config_that_the_change_itself_adds(kb_repo: Path) -> None:
    # A pull request cannot silence the gate that judges it: the config is read at base.
    misspell_droid(kb_repo, SHOP)
    (kb_repo / "kb/.memkb.yaml").write_text("ignore: [KB304]\n")
    commit_on_branch(kb_repo, "head")
    result = run_check(kb_repo, "main", "head", with_metrics=False)
    assert "KB304" in {f.code for f in result.findings} and not result.ok


def test_check_keeps_change_codes_whatever_the_config(kb_repo: Path) -> None:
    (kb_repo / "kb/.memkb.yaml").write_text("ignore: [KB313]\n")
    git(kb_repo, "add", "-A")
    git(kb_repo, "commit", "-q", "-m", "config")
    path = kb_repo / OUTCOME
    path.write_text(path.read_text().replace("outcome: success", "outcome: failure"))
    drop_modeline(kb_repo, OUTCOME)
    commit_on_branch(kb_repo, "head")
    result = run_check(kb_repo, "main", "head", with_metrics=False)
    assert {f.code for f in result.findings} == {"KB402"}
