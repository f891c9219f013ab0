"""Fixtures: real Git repositories holding a copy of the bundled KB, with an isolated identity."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import settings

# Hypothesis loads its "ci" profile when it sees a CI variable, and that profile is
# derandomized: the same examples on every run, so a bug found one run in ten is never
# found by CI (test_arbitrary_bytes_never_raise hid one that way). CI keeps the profile's
# other settings (no deadline, no example database, print_blob to reproduce a failure)
# but draws fresh examples every run.
settings.register_profile("ci", settings.get_profile("ci"), derandomize=False)

PROJECT = Path(__file__).resolve().parents[1]
BUNDLED_KB = PROJECT / "kb"
SCHEMAS = PROJECT / "schemas"
# `memkb record` of one successful e-commerce project: the write tests' usual outcome.
RECORD = [
    "record",
    "--project",
    "Shop",
    "--outcome",
    "success",
    "--domain",
    "e-commerce",
    "--droid",
    "security-auditor",
    "--date",
    "2025-05-05",
]
LEGACY_SEED = PROJECT / "tests" / "data" / "legacy" / "seed.txt"


@pytest.fixture(autouse=True)
def isolated_git(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> Iterator[None]:
    """No test reads the developer's git config; every commit has a known identity."""
    home = tmp_path_factory.mktemp("home")
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home / ".config"))
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    for var in (
        "GIT_AUTHOR_NAME",
        "GIT_AUTHOR_EMAIL",
        "GIT_COMMITTER_NAME",
        "GIT_COMMITTER_EMAIL",
        "GIT_DIR",
        "GIT_WORK_TREE",
        "MEMKB_AGENT",
    ):
        monkeypatch.delenv(var, raising=False)
    (home / ".gitconfig").write_text(
        "[user]\n\tname = Test Person\n\temail = test@example.com\n"
        "[init]\n\tdefaultBranch = main\n[commit]\n\tgpgsign = false\n"
    )
    yield


def git(cwd: Path, *args: str, env: dict[str, str] | None = None) -> str:
    """Run a real git command in `cwd` and return its stdout (raises on failure)."""
    full_env = {**os.environ, **(env or {})}
    done = subprocess.run(
        ["git", *args], cwd=cwd, check=True, capture_output=True, text=True, env=full_env
    )
    return done.stdout


def make_kb_repo(path: Path, *, with_kb: bool = True, with_expectations: bool = False) -> Path:
    """Create a Git repository at `path` with schemas/ and (optionally) the bundled kb/.

    The bundled expectations (kb/expectations/) are left out unless asked for: most tests
    edit the bundled records on purpose, and would otherwise also move the advice those
    expectations pin; tests/unit/advice/ judges the expectations themselves."""
    path.mkdir(parents=True, exist_ok=True)
    git(path, "init", "-q", "-b", "main")
    shutil.copytree(SCHEMAS, path / "schemas")
    if with_kb:
        skip = None if with_expectations else shutil.ignore_patterns("expectations")
        shutil.copytree(BUNDLED_KB, path / "kb", ignore=skip)
    else:
        (path / "kb").mkdir()
    git(path, "add", "-A")
    git(path, "commit", "-q", "-m", "initial knowledge base", "--allow-empty")
    return path


@pytest.fixture
def kb_advice(tmp_path: Path) -> Path:
    """The bundled KB with its expectations, in a fresh Git repository."""
    return make_kb_repo(tmp_path / "repo", with_expectations=True)


@pytest.fixture
def kb_repo(tmp_path: Path) -> Path:
    """A fresh Git repository holding the bundled KB and schemas, one commit on main."""
    return make_kb_repo(tmp_path / "repo")


@pytest.fixture
def empty_kb_repo(tmp_path: Path) -> Path:
    """A fresh Git repository with schemas/ and an empty kb/."""
    return make_kb_repo(tmp_path / "repo", with_kb=False)


def commit_bundled_vocabulary(root: Path) -> Path:
    """`root` (an empty KB) with the bundled vocabulary committed, so names are checked."""
    shutil.copy(BUNDLED_KB / "vocabulary.yaml", root / "kb" / "vocabulary.yaml")
    git(root, "add", "kb/vocabulary.yaml")
    git(root, "commit", "-q", "-m", "vocabulary")
    return root


# What a run of the console script loaded: its output, then its modules on stderr (a
# behaviour, not a timing: which libraries a command pays for).
MODULES_PROBE = (
    "import json, sys\n"
    "sys.argv = ['memkb', *sys.argv[1:]]\n"
    "from memkb.cli.entry import run\n"
    "try:\n"
    "    run()\n"
    "except SystemExit as exc:\n"
    "    code = exc.code\n"
    "sys.stdout.flush()\n"
    "sys.stderr.write('\\nMODULES ' + json.dumps(sorted(sys.modules)) + '\\n')\n"
    "sys.exit(code)\n"
)


def probe_modules(cwd: Path, *args: str) -> tuple[int, str, str, list[str]]:
    """Exit code, stdout, stderr and the imported modules of `memkb ARGS` run in `cwd`."""
    done = subprocess.run(
        [sys.executable, "-c", MODULES_PROBE, *args], cwd=cwd, capture_output=True, text=True
    )
    err, _, modules = done.stderr.rpartition("\nMODULES ")
    return done.returncode, done.stdout, err, json.loads(modules)


def files_parsed_here(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """How many files each `_check_chunk` call of this process parses (a forked worker's
    calls happen in the child and are not counted)."""
    from memkb.validation import engine

    counts: list[int] = []
    real = engine._check_chunk

    def counting(items: Any, schemas: Any) -> Any:
        counts.append(len(items))
        return real(items, schemas)

    monkeypatch.setattr(engine, "_check_chunk", counting)
    return counts
