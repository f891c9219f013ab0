"""The express answer (memkb.cli.express): a `memkb validate` command line already answered
on an unchanged KB prints the same bytes again before typer loads, and anything that could
change its output is a miss. Real processes of the console script, real Git repositories."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from typer.testing import CliRunner

from memkb.cachefile import cache_dir
from memkb.cli.express import CONFIG_FILES
from memkb.cli.main import app
from memkb.rules.selection import KB_CONFIG, PYPROJECT
from memkb.validation.seal import OUTPUT_FILE

MEMKB = shutil.which("memkb", path=str(Path(sys.executable).parent)) or "memkb"
OLD = 1_600_000_000  # an mtime old enough for every stat to be trusted (the run seals)
PATTERN = "kb/patterns/authentication_jwt_security_first.yaml"


def run(cwd: Path, *args: str, env: dict[str, str] | None = None) -> tuple[int, str, bool]:
    """Exit code and stdout of the console script's `memkb ARGS` in `cwd`, and whether it
    was answered before typer was imported (-X importtime lists every module imported)."""
    done = subprocess.run(
        [sys.executable, "-X", "importtime", MEMKB, *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, **(env or {})},
    )
    imported = [line.rsplit("|", 1)[-1].strip() for line in done.stderr.splitlines()]
    assert "Traceback" not in done.stderr
    return done.returncode, done.stdout, "typer" not in imported


def full(cwd: Path, *args: str) -> tuple[int, str]:
    """What the command prints when it judges every file (no cache, no seal, no express)."""
    done = subprocess.run(
        [MEMKB, *args, "--no-cache"], cwd=cwd, capture_output=True, text=True, check=False
    )
    return done.returncode, done.stdout


def age(repo: Path) -> None:
    for path in (repo / "kb").rglob("*.yaml"):
        os.utime(path, (OLD, OLD))


def kept(repo: Path, *args: str, cwd: Path | None = None) -> tuple[int, str]:
    """Run `memkb ARGS` until it is answered express and return that run's exit code and
    output: the first run judges and seals (unless an earlier command line sealed the KB),
    the one answered by the seal keeps its output, and the next is express."""
    where = cwd or repo
    first, second, third = (run(where, *args) for _ in range(3))
    assert not first[2] and third[2], args
    assert first[:2] == second[:2] == third[:2], args
    return third[:2]


@pytest.fixture
def broken_kb(kb_repo: Path) -> Path:
    """The bundled KB with one error (an unknown droid) and a per-file ignore, aged."""
    path = kb_repo / PATTERN
    path.write_text(path.read_text().replace("security-auditor", "security-airditor"))
    (kb_repo / "pyproject.toml").write_text(
        '[tool.memkb]\nper-file-ignores = {"kb/templates/*" = ["KB313"]}\n'
    )
    age(kb_repo)
    return kb_repo


@pytest.mark.parametrize(
    "args",
    [
        [],
        ["--json"],
        ["--format", "sarif"],
        ["--format=github"],
        ["--format", "markdown"],
        ["--ignore", "KB304"],
        ["--select=KB304", "--format", "json"],
    ],
)
def test_the_express_answer_prints_the_same_bytes_as_a_full_run(
    broken_kb: Path, args: list[str]
) -> None:
    assert kept(broken_kb, "validate", *args) == full(broken_kb, "validate", *args)


def test_another_repository_and_another_directory_are_kept_apart(
    broken_kb: Path, tmp_path: Path
) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    by_repo = kept(elsewhere, "validate", "--repo", str(broken_kb))
    assert by_repo == full(elsewhere, "validate", "--repo", str(broken_kb))
    assert by_repo[0] == 1 and "KB304" in by_repo[1]
    inside = broken_kb / "kb" / "patterns"
    assert kept(broken_kb, "validate", cwd=inside) == full(inside, "validate")


def edit_in_place(repo: Path) -> None:
    path = repo / PATTERN
    path.write_text(path.read_text() + "# reviewed\n")


def add_a_file(repo: Path) -> None:
    shutil.copy(repo / PATTERN, repo / "kb/patterns/copy.yaml")


def delete_a_file(repo: Path) -> None:
    (repo / "kb/patterns/ecommerce_security_first.yaml").unlink()


def edit_a_schema(repo: Path) -> None:
    schema = repo / "schemas/pattern.schema.json"
    schema.write_text(schema.read_text().replace('"maxLength": 200', '"maxLength": 201'))


def edit_the_config(repo: Path) -> None:
    (repo / "pyproject.toml").write_text('[tool.memkb]\nignore = ["KB304"]\n')


def add_a_kb_config(repo: Path) -> None:
    (repo / "kb/.memkb.yaml").write_text("ignore: [KB304]\n")


@pytest.mark.parametrize(
    "change",
    [edit_in_place, add_a_file, delete_a_file, edit_a_schema, edit_the_config, add_a_kb_config],
)
def test_a_change_to_anything_the_output_depends_on_is_a_miss(
    broken_kb: Path, change: Callable[[Path], None]
) -> None:
    kept(broken_kb, "validate")
    change(broken_kb)
    code, out, express = run(broken_kb, "validate")
    assert not express
    assert (code, out) == full(broken_kb, "validate")


def test_another_environment_is_a_miss(broken_kb: Path) -> None:
    kept(broken_kb, "validate", "--json")
    assert run(broken_kb, "validate", "--json", env={"MEMKB_LOCK_TIMEOUT": "5"})[2] is False
    assert run(broken_kb, "validate", "--json", env={"NO_COLOR": "1"})[2] is False
    assert run(broken_kb, "validate", "--json")[2] is True  # the kept one is still there


@pytest.mark.parametrize(
    "args",
    [
        ["kb/patterns"],  # a path: its own existence is not in the keys
        ["--no-cache"],
        ["--format"],  # an option without its value: the run reports it
        ["--ignore", "KB3O4"],  # refused by the run: nothing to keep
        ["--verbose"],
    ],
)
def test_command_lines_that_cannot_be_kept_always_run(broken_kb: Path, args: list[str]) -> None:
    results = [run(broken_kb, "validate", *args) for _ in range(3)]
    assert [express for _, _, express in results] == [False, False, False]
    assert results[0][:2] == results[2][:2]


def test_a_recently_changed_kb_is_never_answered_express(kb_repo: Path) -> None:
    edit_in_place(kb_repo)  # written now: its stat cannot be trusted for two seconds
    results = [run(kb_repo, "validate") for _ in range(3)]
    assert [express for _, _, express in results] == [False, False, False]
    assert not (cache_dir(kb_repo) / OUTPUT_FILE).exists()


@pytest.mark.parametrize("damage", [b"", b"memkb-cache-v2\n" + b"\0" * 40, b"not a cache"])
def test_a_damaged_store_is_a_miss_and_is_rewritten(broken_kb: Path, damage: bytes) -> None:
    expected = kept(broken_kb, "validate")
    (cache_dir(broken_kb) / OUTPUT_FILE).write_bytes(damage)
    code, out, express = run(broken_kb, "validate")
    assert (code, out, express) == (*expected, False)
    assert run(broken_kb, "validate") == (*expected, True)


def test_memkb_inside_another_program_keeps_nothing(broken_kb: Path) -> None:
    for _ in range(3):
        result = CliRunner().invoke(app, ["validate", "--repo", str(broken_kb)])
        assert result.exit_code == 1 and "KB304" in result.stdout
    assert not (cache_dir(broken_kb) / OUTPUT_FILE).exists()


def test_the_configuration_files_are_the_ones_the_selection_reads() -> None:
    assert (PYPROJECT, KB_CONFIG) == CONFIG_FILES


# The console script with every scan of kb/ counted on stderr.
COUNTED_SCANS = """
import sys
from memkb.cli import entry, express
from memkb.kb import scan as scanning
from memkb.validation import warm

real = scanning.scan

def counted(root):
    sys.stderr.write("SCANNED\\n")
    return real(root)

scanning.scan = warm.scan = express.scan = counted
sys.argv = ["memkb", *sys.argv[1:]]
entry.main()
"""


def test_a_miss_scans_the_kb_once(broken_kb: Path) -> None:
    scans = []
    for _ in range(3):  # judged and sealed, answered by the seal, answered express
        done = subprocess.run(
            [sys.executable, "-c", COUNTED_SCANS, "validate"],
            cwd=broken_kb,
            capture_output=True,
            text=True,
            check=False,
        )
        assert done.returncode == 1 and "KB304" in done.stdout
        scans.append(done.stderr.count("SCANNED"))
    assert scans == [1, 1, 1]
    assert (cache_dir(broken_kb) / OUTPUT_FILE).exists()
