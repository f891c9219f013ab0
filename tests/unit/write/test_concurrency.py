"""Many writers at once, as real processes: on one clone, and on clones sharing a bare remote."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from conftest import git, make_kb_repo
from memkb.validation.engine import validate_repo

# One writer process: N outcomes, one per project name, plus one "Shared Shop"
# that every writer records on the same day (so names clash on purpose).
WRITER = """
import sys
from pathlib import Path
from memkb.write.authoring import record_outcome
from memkb.write.transaction import WriteOptions

root, name, count, remote = Path(sys.argv[1]), sys.argv[2], int(sys.argv[3]), sys.argv[4]
options = WriteOptions(agent=name, push=remote or None, lock_timeout=120)
for number in ["shared", *range(count)]:
    project = "Shared Shop" if number == "shared" else f"{name} project {number}"
    result = record_outcome(root, {"project": project, "outcome": "success",
                                   "date": "2025-04-01", "domains": ["e-commerce"],
                                   "droids_used": ["security-auditor"]}, options)
    print(result.push_attempts, flush=True)
"""


def start_writer(root: Path, name: str, count: int, remote: str = "") -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-c", WRITER, str(root), name, str(count), remote],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ},
    )


def wait_all(writers: list[subprocess.Popen[str]]) -> list[int]:
    """Wait for every writer; the push attempts each write took."""
    attempts = []
    for writer in writers:
        out, err = writer.communicate(timeout=240)
        assert writer.returncode == 0, err
        attempts += [int(n) for n in out.split()]
    return attempts


def outcome_projects(repo: Path, rev: str) -> list[str]:
    paths = git(repo, "ls-tree", "-r", "--name-only", rev, "kb/outcomes/2025").split()
    return [
        line.split(": ", 1)[1]
        for path in paths
        for line in git(repo, "show", f"{rev}:{path}").splitlines()
        if line.startswith("project: ")
    ]


def test_eight_writers_on_one_clone_lose_nothing(kb_repo: Path) -> None:
    writers = [start_writer(kb_repo, f"writer{i}", 10) for i in range(8)]
    wait_all(writers)

    projects = outcome_projects(kb_repo, "HEAD")
    expected = {f"writer{i} project {n}" for i in range(8) for n in range(10)}
    assert expected <= set(projects)
    assert projects.count("Shared Shop") == 8  # eight files, suffixes -2..-8, none overwritten
    assert git(kb_repo, "rev-list", "--count", "HEAD").strip() == str(1 + 8 * 11)
    assert git(kb_repo, "rev-list", "--merges", "--count", "HEAD").strip() == "0"
    assert git(kb_repo, "status", "--porcelain", "--untracked-files=all") == ""
    assert validate_repo(kb_repo, use_cache=False).ok
    agents = git(kb_repo, "log", "--format=%(trailers:key=Memory-Agent,valueonly)").split()
    assert sorted(set(agents)) == [f"writer{i}" for i in range(8)]


def test_four_clones_pushing_to_one_remote_all_land(tmp_path: Path) -> None:
    seed = make_kb_repo(tmp_path / "seed")
    remote = tmp_path / "remote.git"
    git(tmp_path, "clone", "-q", "--bare", str(seed), str(remote))
    clones = [tmp_path / f"clone{i}" for i in range(4)]
    for clone in clones:
        git(tmp_path, "clone", "-q", str(remote), str(clone))

    writers = [start_writer(clone, f"clone{i}", 10, "origin") for i, clone in enumerate(clones)]
    attempts = wait_all(writers)
    print(f"push attempts per write: max {max(attempts)}, total {sum(attempts)}")
    assert len(attempts) == 44 and min(attempts) >= 1

    projects = outcome_projects(remote, "main")
    expected = {f"clone{i} project {n}" for i in range(4) for n in range(10)}
    assert expected <= set(projects)
    assert projects.count("Shared Shop") == 4
    assert git(remote, "rev-list", "--count", "main").strip() == str(1 + 4 * 11)
    assert git(remote, "rev-list", "--merges", "--count", "main").strip() == "0"  # linear
    checkout = tmp_path / "check"
    git(tmp_path, "clone", "-q", str(remote), str(checkout))
    assert validate_repo(checkout, use_cache=False).ok
    for clone in clones:  # every clone ends clean, its checkout on a commit of the remote
        assert git(clone, "status", "--porcelain", "--untracked-files=all") == ""
        assert (
            git(remote, "cat-file", "-t", git(clone, "rev-parse", "HEAD").strip()).strip()
            == "commit"
        )


EDITOR = """
import sys
from pathlib import Path
from memkb.write.authoring import add_item
from memkb.write.transaction import WriteOptions

add_item(Path(sys.argv[1]), "pattern", "ecommerce_security_first", "best_practices",
         f"Practice from editor {sys.argv[2]}", WriteOptions(lock_timeout=120))
"""


def test_concurrent_edits_of_one_record_are_all_kept(kb_repo: Path) -> None:
    # Each edit reads the file under the lock, so no read-modify-write is lost.
    editors = [
        subprocess.Popen(
            [sys.executable, "-c", EDITOR, str(kb_repo), str(i)], stderr=subprocess.PIPE, text=True
        )
        for i in range(8)
    ]
    for editor in editors:
        _, err = editor.communicate(timeout=120)
        assert editor.returncode == 0, err
    text = git(kb_repo, "show", "HEAD:kb/patterns/ecommerce_security_first.yaml")
    assert sorted(line.strip() for line in text.splitlines() if "editor" in line) == [
        f"- Practice from editor {i}" for i in range(8)
    ]
    assert git(kb_repo, "status", "--porcelain") == ""


# Which heavy modules a writer process holds when it takes the lock: the checkers must be
# loaded already, so that concurrent writers load them side by side, not under the lock.
LOCK_PROBE = """
import contextlib, json, sys
from pathlib import Path
from memkb.write import transaction
seen = []
real = transaction.write_lock
@contextlib.contextmanager
def probed(path, timeout=None):
    with real(path, timeout):
        seen.append(sorted(sys.modules))
        yield
transaction.write_lock = probed
from memkb.write.authoring import record_outcome
record_outcome(Path(sys.argv[1]), {"project": "Probe", "outcome": "success",
               "domains": ["e-commerce"], "droids_used": ["security-auditor"]})
print(json.dumps(seen[0]))
"""


def test_a_writer_loads_its_checkers_before_taking_the_lock(kb_repo: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-c", LOCK_PROBE, str(kb_repo)], capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    loaded = set(json.loads(done.stdout))
    # The validation engine, the plain schema validator, the fast YAML reader and the
    # safety scan; neither jsonschema (it only explains a rejected record), jsonschema-rs
    # (a record the plain validator vouches for does not need it) nor detect-secrets (its
    # patterns are data) is needed.
    checkers = {"memkb.validation.engine", "memkb.records.plain_schema", "memkb.rules.safety"}
    assert checkers | {"yaml_rs"} <= loaded
    packages = {m.split(".")[0] for m in loaded}
    assert not {"jsonschema", "jsonschema_rs", "detect_secrets", "requests"} & packages
    assert git(kb_repo, "log", "-1", "--format=%s").startswith("memory(outcome): record")
