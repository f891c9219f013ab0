"""`memkb validate` end to end: the real console script on real Git repositories."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

from typer.testing import CliRunner

from conftest import probe_modules
from memkb.cachefile import cache_dir
from memkb.cli.main import app
from memkb.validation.engine import CACHE_FILE, validate_repo

MEMKB = shutil.which("memkb", path=str(Path(sys.executable).parent)) or "memkb"


def run(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([MEMKB, *args], cwd=cwd, capture_output=True, text=True, check=False)


def break_droid(repo: Path) -> None:
    path = repo / "kb/patterns/authentication_jwt_security_first.yaml"
    path.write_text(path.read_text().replace("security-auditor", "security-airditor"))


def test_clean_kb_exits_0_and_says_so(kb_repo: Path) -> None:
    done = run(kb_repo, "validate")
    assert (done.returncode, done.stdout, done.stderr) == (0, "checked 8 files: clean\n", "")


def test_runs_from_a_subdirectory(kb_repo: Path) -> None:
    assert run(kb_repo / "kb" / "patterns", "validate").returncode == 0


def test_findings_exit_1_one_line_each(kb_repo: Path) -> None:
    break_droid(kb_repo)
    (kb_repo / "kb/failures/bad.yaml").write_text("kind: failure\nid: bad\nid: again\n")
    done = run(kb_repo, "validate")
    assert done.returncode == 1
    lines = done.stdout.splitlines()
    assert (
        lines[0] == "kb/failures/bad.yaml:3:1: error KB102 duplicate key 'id'; hint: keep "
        "one entry: YAML would silently drop the first"
    )
    assert lines[1].startswith(
        "kb/patterns/authentication_jwt_security_first.yaml:7:14: error KB304 unknown droid "
        "'security-airditor' (did you mean 'security-auditor'?)"
    )
    assert lines[-1] == "checked 9 files: 2 errors, 0 warnings"
    assert "Traceback" not in done.stderr


def test_json_has_the_same_fields(kb_repo: Path) -> None:
    break_droid(kb_repo)
    done = run(kb_repo, "validate", "--format", "json")
    body = json.loads(done.stdout)
    assert done.returncode == 1 and body["ok"] is False and body["errors"] == 1
    assert body["findings"] == [
        {
            "path": "kb/patterns/authentication_jwt_security_first.yaml",
            "line": 7,
            "col": 14,
            "severity": "error",
            "code": "KB304",
            "message": "unknown droid 'security-airditor' (did you mean 'security-auditor'?)",
            "hint": "droids are defined in kb/vocabulary.yaml (droids:)",
        }
    ]


def test_repo_option_and_paths(kb_repo: Path, tmp_path: Path) -> None:
    (kb_repo / "kb/patterns/bad.yaml").write_text("kind: pattern\nid: bad\n")  # per-file
    only_vocab = run(
        tmp_path, "validate", "--repo", str(kb_repo), str(kb_repo / "kb/vocabulary.yaml")
    )
    assert only_vocab.returncode == 0, only_vocab.stdout
    folder = run(kb_repo, "validate", "kb/patterns")
    assert folder.returncode == 1 and "kb/patterns/bad.yaml:1:1: error KB201" in folder.stdout


def test_usage_and_environment_errors_exit_2(kb_repo: Path, tmp_path: Path) -> None:
    (tmp_path / "plain").mkdir()
    outside = run(tmp_path, "validate", "--repo", str(tmp_path / "plain"))
    assert outside.returncode == 2 and "has no kb/ folder" in outside.stderr
    missing = run(kb_repo, "validate", "kb/nope.yaml")
    assert missing.returncode == 2 and "no such file or folder: kb/nope.yaml" in missing.stderr
    (kb_repo / "schemas/pattern.schema.json").unlink()
    no_schema = run(kb_repo, "validate")
    assert no_schema.returncode == 2 and "cannot read schema" in no_schema.stderr
    bad_option = run(kb_repo, "validate", "--format", "xml")
    assert bad_option.returncode == 2
    for done in (outside, missing, no_schema, bad_option):
        assert "Traceback" not in done.stderr


def test_every_bad_input_in_one_run(kb_repo: Path) -> None:
    bad = {
        "kb/patterns/syntax.yaml": b"kind: pattern\nid: [unclosed\n",
        "kb/patterns/tag.yaml": b"kind: !!python/object:os.system pattern\n",
        "kb/patterns/utf8.yaml": b"kind: pattern\nid: \xff\n",
        "kb/patterns/tabs.yaml": b"kind: pattern\n\tid: tabs\n",
        "kb/patterns/empty.yaml": b"",
        "kb/patterns/list.yaml": b"- a\n",
    }
    for relpath, raw in bad.items():
        (kb_repo / relpath).write_bytes(raw)
    done = run(kb_repo, "validate", "--format", "json")
    codes = {f["path"]: f["code"] for f in json.loads(done.stdout)["findings"]}
    assert codes == {
        "kb/patterns/syntax.yaml": "KB101",
        "kb/patterns/tag.yaml": "KB103",
        "kb/patterns/utf8.yaml": "KB106",
        "kb/patterns/tabs.yaml": "KB107",
        "kb/patterns/empty.yaml": "KB108",
        "kb/patterns/list.yaml": "KB109",
    }
    assert done.returncode == 1


def test_warm_run_uses_cache_and_sees_changes(kb_repo: Path) -> None:
    assert validate_repo(kb_repo).ok
    cache_file = cache_dir(kb_repo) / CACHE_FILE
    assert cache_file.is_file() and cache_file.is_relative_to(kb_repo / ".git")
    break_droid(kb_repo)
    assert [f.code for f in validate_repo(kb_repo).findings] == ["KB304"]


def test_corrupt_or_truncated_cache_is_rebuilt(kb_repo: Path) -> None:
    validate_repo(kb_repo)
    cache_file = cache_dir(kb_repo) / CACHE_FILE
    good = cache_file.read_bytes()
    break_droid(kb_repo)
    for damaged in (b"", b"garbage", good[: len(good) // 2], good[:-1] + b"X"):
        cache_file.write_bytes(damaged)
        assert [f.code for f in validate_repo(kb_repo).findings] == ["KB304"]


def test_cache_is_not_trusted_after_a_schema_change(kb_repo: Path) -> None:
    validate_repo(kb_repo)
    schema = kb_repo / "schemas/pattern.schema.json"
    schema.write_text(schema.read_text().replace('"maxLength": 200', '"maxLength": 201'))
    text = json.loads(schema.read_text())
    text["required"].append("title")
    schema.write_text(json.dumps(text))
    assert {f.code for f in validate_repo(kb_repo).findings} == {"KB201"}


def test_rules_lists_every_code() -> None:
    result = CliRunner().invoke(app, ["rules"])
    assert result.exit_code == 0 and "KB304" in result.stdout and "KB210" in result.stdout


def test_command_table_names_every_command() -> None:
    from memkb.cli.commands import COMMAND_MODULES

    registered = {
        c.name or (c.callback.__name__ if c.callback else "") for c in app.registered_commands
    }
    assert registered == set(COMMAND_MODULES)


def test_console_script_loads_only_the_command_it_runs(kb_repo: Path) -> None:
    probe = (
        "import sys; sys.argv = ['memkb', 'validate']; from memkb.cli import commands; "
        "commands.register(sys.argv[1:]); print(sorted(m for m in sys.modules "
        "if m.startswith('memkb.cli.') and m.endswith('_cmd')))"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, cwd=kb_repo
    )
    assert done.stdout.strip() == "['memkb.cli.validate_cmd']"


def test_files_trusted_by_stat_are_still_rechecked_when_they_change(kb_repo: Path) -> None:
    old = 1_600_000_000
    for path in (kb_repo / "kb").rglob("*.yaml"):
        os.utime(path, (old, old))  # old enough for the cache to trust their stat
    assert validate_repo(kb_repo).ok
    assert validate_repo(kb_repo).ok  # served from trusted stats
    break_droid(kb_repo)  # same size? no matter: the write moves the mtime
    assert [f.code for f in validate_repo(kb_repo).findings] == ["KB304"]


# What judging a file needs and a warm run answered by the seal does not.
JUDGING = ("yaml", "yaml_rs", "jsonschema", "jsonschema_rs", "re2", "git", "memkb.records")


def judging(modules: list[str]) -> list[str]:
    return sorted(m for m in modules if any(m == n or m.startswith(f"{n}.") for n in JUDGING))


def test_a_warm_run_imports_nothing_that_judges_a_file(kb_repo: Path) -> None:
    old = 1_600_000_000
    for path in (kb_repo / "kb").rglob("*.yaml"):
        os.utime(path, (old, old))  # trusted stats: the first run seals its answer
    code, out, _, modules = probe_modules(kb_repo, "validate")
    assert (code, out) == (0, "checked 8 files: clean\n")
    assert "yaml" in judging(modules)  # the first run judged every file ...
    code, out, _, modules = probe_modules(kb_repo, "validate")
    assert (code, out) == (0, "checked 8 files: clean\n")
    assert judging(modules) == []  # ... the second was answered by the seal


def age(repo: Path) -> None:
    """Make every knowledge file old enough for its stat to be trusted (the run seals)."""
    old = 1_600_000_000
    for path in (repo / "kb").rglob("*.yaml"):
        os.utime(path, (old, old))


def test_a_warm_run_loads_neither_the_engine_nor_the_toml_reader(kb_repo: Path) -> None:
    age(kb_repo)
    code, _, _, modules = probe_modules(kb_repo, "validate")
    assert code == 0 and "memkb.validation.engine" in modules  # the first run judged
    code, out, _, modules = probe_modules(kb_repo, "validate")
    assert (code, out) == (0, "checked 8 files: clean\n")
    # No pyproject.toml, no kb/.memkb.yaml, no --ignore: nothing for the rule table to check.
    assert [m for m in ("memkb.validation.engine", "tomllib") if m in modules] == []


WARM_VARIANTS = [
    [],
    ["--format", "json"],
    ["--format", "sarif"],
    ["--format", "github"],
    ["kb/patterns"],
    ["--ignore", "KB304"],
    ["--select", "KB304", "kb/patterns/authentication_jwt_security_first.yaml"],
]


def test_a_warm_run_prints_what_a_full_run_prints(kb_repo: Path) -> None:
    break_droid(kb_repo)
    (kb_repo / "pyproject.toml").write_text(
        '[tool.memkb]\nper-file-ignores = {"kb/templates/*" = ["KB313"]}\n'
    )
    age(kb_repo)
    assert run(kb_repo, "validate").returncode == 1  # seals the answer
    for args in WARM_VARIANTS:
        full = run(kb_repo, "validate", "--no-cache", *args)
        code, out, err, modules = probe_modules(kb_repo, "validate", *args)
        assert "memkb.validation.engine" not in modules, args  # answered by the seal
        assert (code, out, err) == (full.returncode, full.stdout, full.stderr), args
    assert run(kb_repo, "validate", "--ignore", "KB304").returncode == 0


def test_a_warm_run_still_refuses_a_bad_selection_or_path(kb_repo: Path) -> None:
    age(kb_repo)
    assert run(kb_repo, "validate").returncode == 0  # seals the answer
    for args, message in (
        (["--ignore", "KB3O4"], "unknown code 'KB3O4' in --ignore"),
        (["--ignore", "KB401"], "KB401 cannot be ignored"),
        (["kb/nowhere"], "no such file or folder: kb/nowhere"),
    ):
        done = run(kb_repo, "validate", *args)
        assert done.returncode == 2 and message in done.stderr, (args, done.stderr)
        assert "Traceback" not in done.stderr


def test_a_warm_run_notices_an_edit_a_new_file_and_a_deleted_one(kb_repo: Path) -> None:
    age(kb_repo)
    assert run(kb_repo, "validate").stdout == "checked 8 files: clean\n"
    break_droid(kb_repo)  # an edit in place: only the file's own stat moves
    done = run(kb_repo, "validate")
    assert done.returncode == 1 and "KB304" in done.stdout
    shutil.copy(
        kb_repo / "kb/patterns/ecommerce_security_first.yaml", kb_repo / "kb/patterns/copy.yaml"
    )
    assert "kb/patterns/copy.yaml" in run(kb_repo, "validate").stdout
    (kb_repo / "kb/patterns/copy.yaml").unlink()
    (kb_repo / "kb/patterns/ecommerce_security_first.yaml").unlink()
    done = run(kb_repo, "validate")
    assert "checked 7 files" in done.stdout and "copy.yaml" not in done.stdout
