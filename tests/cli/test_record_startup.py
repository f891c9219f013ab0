"""What a `memkb record` process loads: 8 agents writing at once spend their CPU on
imports, so a valid write loads neither `requests` (detect-secrets' plugins import it; the
scan runs their patterns from memkb.rules.secret_detectors) nor jsonschema (a valid
record is vouched for by memkb.records.plain_schema; jsonschema-rs decides what it cannot
vouch for, jsonschema only explains a rejected one), nor GitPython (the
commit is made with plain git processes). Behaviour tests
(which modules a real process loaded), never timings: those are bench_write.py's."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from conftest import git, probe_modules

NOT_FOR_A_VALID_WRITE = (
    "requests", "urllib3", "detect_secrets", "jsonschema", "referencing",
    "git", "gitdb",  # the write path runs plain git processes: GitPython cost ~45 ms
)  # fmt: skip
RECORD = [
    "record", "--project", "Probe", "--outcome", "success", "--domain", "e-commerce",
    "--droid", "security-auditor",
]  # fmt: skip


def record(repo: Path, *extra: str) -> tuple[int, str, set[str]]:
    """Exit code, stderr and the imported top-level packages of `memkb record ...`."""
    code, err, modules = record_modules(repo, *extra)
    return code, err, {m.split(".")[0] for m in modules}


def record_modules(repo: Path, *extra: str) -> tuple[int, str, set[str]]:
    """Exit code, stderr and every imported module of `memkb record ...`."""
    code, _, err, modules = probe_modules(repo, *RECORD, *extra, "--repo", str(repo))
    return code, err, set(modules)


def test_a_valid_record_loads_neither_requests_nor_jsonschema_nor_gitpython(kb_repo: Path) -> None:
    code, err, packages = record(kb_repo)
    assert code == 0, err
    assert git(kb_repo, "log", "-1", "--format=%s").startswith("memory(outcome): record")
    assert sorted(packages & set(NOT_FOR_A_VALID_WRITE)) == []
    assert "jsonschema_rs" not in packages  # ~15 ms, email.utils mostly: not needed
    _, _, modules = record_modules(kb_repo, "--project", "Probe 2")
    assert "memkb.records.plain_schema" in modules  # it was validated all the same


def test_a_rejected_record_is_still_explained_with_line_and_column(kb_repo: Path) -> None:
    head = git(kb_repo, "rev-parse", "HEAD")
    code, err, packages = record(kb_repo, "--quality", "7")
    assert code == 1
    assert git(kb_repo, "rev-parse", "HEAD") == head  # nothing committed
    assert ":10:16: error KB201 quality_score: 7 is greater than the maximum of 1" in err
    assert "jsonschema" in packages  # loaded to explain the reject, and only then
    assert "requests" not in packages


def test_a_secret_in_a_record_is_still_refused(kb_repo: Path) -> None:
    head = git(kb_repo, "rev-parse", "HEAD")
    token = "ghp_" + "a1B2" * 9
    code, err, packages = record(kb_repo, "--notes", f"deploy token {token}")
    assert code == 1, err
    assert "GitHub Token" in err and git(kb_repo, "rev-parse", "HEAD") == head
    assert "requests" not in packages and "detect_secrets" not in packages


def test_a_new_record_loads_no_change_rule(kb_repo: Path) -> None:
    # A new file has no merged version a change rule (KB405) could compare it with.
    code, err, modules = record_modules(kb_repo)
    assert code == 0, err
    assert "memkb.rules.change" not in modules and "memkb.records.changes" not in modules
    assert "memkb.validation.engine" in modules  # it was validated all the same


def test_a_record_loads_no_pyyaml(kb_repo: Path) -> None:
    # PyYAML costs a writer ~20 ms to import: an ASCII record is rendered without it
    # (memkb.records.render), read back and validated by the fast reader (its pre-filter
    # proves the reading is the reference reader's), and scanned from its document.
    code, err, modules = record_modules(kb_repo)
    assert code == 0, err
    assert sorted(m for m in modules if m.split(".")[0] == "yaml") == []
    assert "memkb.records.readers" not in modules
    assert "memkb.records.prefilter" in modules  # the record was read back all the same


def test_a_record_beyond_ascii_is_rendered_by_pyyaml(kb_repo: Path) -> None:
    code, err, packages = record(kb_repo, "--notes", "livré à temps: «merci»")
    assert code == 0, err
    assert "yaml" in packages
    shown = git(kb_repo, "show", "HEAD", "--format=", "--", "kb/outcomes")
    assert "+notes: 'livré à temps: «merci»'" in shown


def test_a_record_leaves_the_schema_audit_cached(kb_repo: Path) -> None:
    # The audit (KB211/KB212) walks every schema and compiles its regexes: done by the
    # first write, read from .git/memkb/ by the next ones while the schemas stay the same
    # (tests/unit/records/test_schema_audit_cache.py).
    cache = kb_repo / ".git/memkb/schema-audit.cache"
    assert not cache.exists()
    code, err, _ = record(kb_repo)
    assert code == 0, err
    assert cache.is_file()


# Frozen dataclasses a writer may define: a frozen dataclass compiles six methods when its
# module is imported (~3.6 million instructions, callgrind); the core's small immutable
# values are NamedTuples (docs/architecture.md). Finding is the shared data of every rule.
FROZEN_DATACLASSES = ["memkb.findings.Finding"]
FROZEN_PROBE = (
    "import dataclasses, importlib, inspect, json, sys\n"
    "found = []\n"
    "for name in sys.argv[1:]:\n"
    "    for _, cls in inspect.getmembers(importlib.import_module(name), inspect.isclass):\n"
    "        params = getattr(cls, '__dataclass_params__', None)\n"
    "        if cls.__module__ == name and params is not None and params.frozen:\n"
    "            found.append(f'{name}.{cls.__qualname__}')\n"
    "print(json.dumps(sorted(found)))\n"
)


def test_a_record_defines_no_frozen_dataclass_but_finding(kb_repo: Path) -> None:
    code, err, modules = record_modules(kb_repo)
    assert code == 0, err
    ours = sorted(m for m in modules if m.split(".")[0] == "memkb")
    done = subprocess.run(
        [sys.executable, "-c", FROZEN_PROBE, *ours], capture_output=True, text=True, check=True
    )
    assert json.loads(done.stdout) == FROZEN_DATACLASSES


# What a record imports while it holds the write lock: every other writer waits for it.
UNDER_LOCK_PROBE = (
    "import contextlib, json, sys\n"
    "from memkb.write import transaction\n"
    "real, out = transaction.write_lock, sys.argv[1]\n"
    "@contextlib.contextmanager\n"
    "def write_lock(*args, **kwargs):\n"
    "    with real(*args, **kwargs):\n"
    "        before = set(sys.modules)\n"
    "        yield\n"
    "        with open(out, 'w') as f:\n"
    "            json.dump(sorted(set(sys.modules) - before), f)\n"
    "transaction.write_lock = write_lock\n"
    "sys.argv = ['memkb', *sys.argv[2:]]\n"
    "from memkb.cli.entry import run\n"
    "run()\n"
)


def test_a_record_imports_nothing_of_its_own_while_it_holds_the_lock(
    kb_repo: Path, tmp_path: Path
) -> None:
    out = tmp_path / "under-lock.json"
    done = subprocess.run(
        [sys.executable, "-c", UNDER_LOCK_PROBE, str(out), *RECORD, "--repo", str(kb_repo)],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
    imported = json.loads(out.read_text())
    assert [m for m in imported if m.split(".")[0] in ("memkb", "re2", "yaml_rs")] == []
