"""The workflows cannot drift from the CLI: the `memkb check` step is read from
.github/workflows/knowledge.yml (and action.yml) and run as written, with bash, on a real
repository whose HEAD is a pull request's merge commit, as actions/checkout leaves it."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

import pytest
import yaml

from checkcases import OUTCOME, outcome_path, outcome_text
from conftest import PROJECT, git

WORKFLOWS = PROJECT / ".github" / "workflows"
ACTION = PROJECT / "action.yml"
PINNED = re.compile(r"^[\w.-]+/[\w.-]+(/[\w./-]+)?@[0-9a-f]{40}$")


def load(path: Path) -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load(path.read_text())
    return data


def triggers(workflow: dict[str, Any]) -> dict[str, Any]:
    # YAML 1.1 reads the key `on` as the boolean true.
    found: dict[str, Any] = workflow.get("on", workflow.get(True))  # type: ignore[call-overload]
    return found


def steps_of(doc: dict[str, Any]) -> list[dict[str, Any]]:
    if "runs" in doc:
        steps: list[dict[str, Any]] = doc["runs"]["steps"]
        return steps
    return [step for job in doc["jobs"].values() for step in job["steps"]]


def check_step(doc: dict[str, Any]) -> dict[str, Any]:
    [step] = [s for s in steps_of(doc) if '/bin/memkb" check' in s.get("run", "")]
    return step


def install_step(doc: dict[str, Any]) -> dict[str, Any]:
    [step] = [s for s in steps_of(doc) if s.get("name", "").startswith("Install memkb")]
    return step


def merge_commit_repo(repo: Path, changes: dict[str, str]) -> str:
    """Leave `repo` at a merge commit of a pull-request branch into main (detached, as
    actions/checkout does for refs/pull/N/merge); return the base commit."""
    base = git(repo, "rev-parse", "main").strip()
    git(repo, "checkout", "-q", "-b", "pr")
    for path, text in changes.items():
        (repo / path).parent.mkdir(parents=True, exist_ok=True)
        (repo / path).write_text(text)
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "pull request")
    git(repo, "checkout", "-q", "--detach", "main")
    git(repo, "merge", "-q", "--no-ff", "-m", "Merge pull request", "pr")
    return base


def run_step(
    step: dict[str, Any],
    repo: Path,
    base: str,
    tmp: Path,
    inputs: dict[str, str],
    *,
    source: str = "workflow",
    extra_env: dict[str, str] | None = None,
    installed: bool = True,
) -> Any:
    """Run the step's shell command as GitHub would, with its env and working directory
    evaluated for a pull request event; returns the completed process, the summary and
    the outputs. The workflow checks the change out into $GITHUB_WORKSPACE/pr (the base
    into .../base, here this project), the action's caller into the workspace itself.
    $RUNNER_TEMP/memkb is the virtual environment the install step makes (here: the
    one running the tests)."""
    workspace, runner_temp = _layout(repo, tmp, source, installed=installed)
    context = {
        "github.workspace": str(workspace),
        "runner.temp": str(runner_temp),
        "github.action_path": str(PROJECT),
    }
    env = {**os.environ, **(extra_env or {})}
    for name, value in (step.get("env") or {}).items():
        value = str(value)
        if "base.sha" in value or "base_sha" in value:
            value = base
        value = _evaluate(value, inputs, context)
        assert "${{" not in value, f"unevaluated expression in env {name}: {value}"
        env[name] = value
    summary, outputs = tmp / "summary.md", tmp / "outputs.txt"
    env.update(
        GITHUB_WORKSPACE=str(workspace),
        RUNNER_TEMP=str(runner_temp),
        GITHUB_STEP_SUMMARY=str(summary),
        GITHUB_OUTPUT=str(outputs),
        PATH=f"{Path(sys.executable).parent}{os.pathsep}{env['PATH']}",
    )
    cwd = _evaluate(step.get("working-directory", str(workspace)), inputs, context)
    done = subprocess.run(
        ["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", step["run"]],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    read = lambda p: p.read_text() if p.exists() else ""  # noqa: E731
    return done, read(summary), read(outputs)


def _layout(repo: Path, tmp: Path, source: str, *, installed: bool = True) -> tuple[Path, Path]:
    runner_temp = tmp / "runner-temp"
    if not runner_temp.exists():
        runner_temp.mkdir()
        if installed:
            (runner_temp / "memkb").symlink_to(sys.prefix)
    if source == "action":
        return repo, runner_temp
    workspace = tmp / "workspace"
    if not workspace.exists():
        workspace.mkdir()
        (workspace / "pr").symlink_to(repo)
        (workspace / "base").symlink_to(PROJECT)
    return workspace, runner_temp


def _evaluate(value: str, inputs: dict[str, str], context: dict[str, str]) -> str:
    for key, given in inputs.items():
        value = value.replace(f"${{{{ inputs.{key} }}}}", given)
    for key, given in context.items():
        value = value.replace(f"${{{{ {key} }}}}", given)
    return value


# ------------------------------------------------------------------ the policy


def test_knowledge_workflow_triggers_and_least_privilege() -> None:
    workflow = load(WORKFLOWS / "knowledge.yml")
    on = triggers(workflow)
    assert set(on) == {"pull_request", "merge_group"}
    assert on["pull_request"]["paths"] == ["kb/**", "schemas/**"]
    assert workflow["permissions"] == {"contents": "read"}
    base, change = [
        s for s in steps_of(workflow) if s.get("uses", "").startswith("actions/checkout")
    ]
    # The checker's source is the base commit, in its own folder; the change is another.
    assert base["with"] == {
        "ref": "${{ github.event.pull_request.base.sha || github.event.merge_group.base_sha }}",
        "path": "base",
        "persist-credentials": False,
    }
    assert change["with"] == {"path": "pr", "fetch-depth": 0, "persist-credentials": False}


@pytest.mark.parametrize(
    "path", [WORKFLOWS / "knowledge.yml", WORKFLOWS / "test.yml", ACTION], ids=lambda p: p.name
)
def test_actions_are_pinned_by_commit_and_no_target_trigger(path: Path) -> None:
    doc = load(path)
    uses = [s["uses"] for s in steps_of(doc) if "uses" in s]
    assert uses, "expected at least one action"
    assert [u for u in uses if not PINNED.match(u)] == []
    assert "pull_request_target" not in path.read_text()
    if "runs" not in doc:
        assert doc["permissions"] == {"contents": "read"}


def test_test_workflow_runs_the_ci_script() -> None:
    workflow = load(WORKFLOWS / "test.yml")
    assert any(s.get("run") == "bash .ci/run" for s in steps_of(workflow))


# ----------------------------------------------------------- the commands, run


@pytest.mark.parametrize("source", ["workflow", "action"])
def test_clean_pull_request_passes_with_summary_and_risk(
    kb_repo: Path, tmp_path: Path, source: str
) -> None:
    oid = "2025-04-01-drift-check"
    base = merge_commit_repo(kb_repo, {outcome_path(oid): outcome_text(oid)})
    step, inputs = _step(source)
    done, summary, outputs = run_step(step, kb_repo, base, tmp_path, inputs, source=source)
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.endswith("risk: evidence\nchecked 9 files: clean\n")
    assert summary.startswith("## memkb check passed\n")
    assert "| added | outcome 2025-04-01-drift-check | new record |" in summary
    assert "| all projects | total_projects | 1 | 2 | +1 |" in summary
    assert outputs == "risk=evidence\nok=true\n"


@pytest.mark.parametrize("source", ["workflow", "action"])
def test_broken_pull_request_fails_with_an_annotation(
    kb_repo: Path, tmp_path: Path, source: str
) -> None:
    edited = (kb_repo / OUTCOME).read_text().replace("success", "failure")
    base = merge_commit_repo(kb_repo, {OUTCOME: edited})
    step, inputs = _step(source)
    done, summary, outputs = run_step(step, kb_repo, base, tmp_path, inputs, source=source)
    assert done.returncode == 1
    assert f"::error file={OUTCOME},line=7,col=1,title=memkb KB402::" in done.stdout
    assert summary.startswith("## memkb check failed: 1 error\n")
    assert outputs == "risk=structure\nok=false\n"


def _step(source: str) -> tuple[dict[str, Any], dict[str, str]]:
    if source == "workflow":
        return check_step(load(WORKFLOWS / "knowledge.yml")), {}
    action = load(ACTION)
    defaults = {name: str(spec.get("default", "")) for name, spec in action["inputs"].items()}
    return check_step(action), defaults


def test_workflows_and_action_pass_zizmor() -> None:
    zizmor = Path(sys.executable).parent / "zizmor"
    if not zizmor.exists():
        pytest.skip("zizmor is not installed (it is in the dev extra)")
    done = subprocess.run(
        [str(zizmor), "--offline", "--no-progress", str(WORKFLOWS), str(ACTION)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr


# ------------------------------------------------- a pull request cannot run code

# Modules a pull request could add at the root of its checkout to run its own code in
# CI: `python -m pip` would import ./pip/__main__.py first when run in the checkout.
HIJACK = """import os, pathlib
pathlib.Path(os.environ["HIJACK_MARK"]).write_text("pull request code ran")
with open(os.environ["GITHUB_OUTPUT"], "a") as out:
    out.write("risk=evidence\\nok=true\\n")
"""
HIJACKERS = {
    **{f"{name}/__main__.py": HIJACK for name in ("pip", "venv", "ensurepip", "memkb")},
    **{f"{name}/__init__.py": HIJACK for name in ("pip", "venv", "memkb", "yaml", "typer")},
    "sitecustomize.py": HIJACK,
    "usercustomize.py": HIJACK,
}


@pytest.mark.parametrize("source", ["workflow", "action"])
def test_a_pull_request_adding_pip_main_cannot_hijack_the_install(
    kb_repo: Path, tmp_path: Path, source: str
) -> None:
    base = merge_commit_repo(kb_repo, HIJACKERS)
    doc = load(WORKFLOWS / "knowledge.yml") if source == "workflow" else load(ACTION)
    mark = tmp_path / "hijacked"
    # Offline (no index, no local config): pip itself starts and fails to download,
    # which is all this test needs: any code of the pull request would run before that.
    offline = {
        "HIJACK_MARK": str(mark),
        "PIP_NO_INDEX": "1",
        "PIP_CONFIG_FILE": os.devnull,
        "PIP_FIND_LINKS": "",
    }
    done, _, outputs = run_step(
        install_step(doc),
        kb_repo,
        base,
        tmp_path,
        {},
        source=source,
        extra_env=offline,
        installed=False,
    )
    assert not mark.exists(), done.stdout + done.stderr
    assert "ok=true" not in outputs
    # The real pip ran, and failed offline at the first locked dependency.
    assert "No matching distribution found for annotated-doc==" in done.stderr


@pytest.mark.parametrize("source", ["workflow", "action"])
def test_a_pull_request_adding_modules_cannot_hijack_the_check(
    kb_repo: Path, tmp_path: Path, source: str
) -> None:
    base = merge_commit_repo(kb_repo, HIJACKERS)
    mark = tmp_path / "hijacked"
    step, inputs = _step(source)
    done, _, outputs = run_step(
        step, kb_repo, base, tmp_path, inputs, source=source, extra_env={"HIJACK_MARK": str(mark)}
    )
    assert not mark.exists(), done.stdout + done.stderr
    assert done.stdout.endswith("checked 8 files: clean\n"), done.stdout + done.stderr
    assert outputs.count("ok=") == 1  # memkb's own line, nothing appended


def test_every_python_in_ci_steps_is_isolated() -> None:
    """Beyond the attacks tried above: `python` without -I puts the working directory
    (python -m) or the script's folder on sys.path and honours PYTHON* variables, so
    every Python the checker's steps start must be isolated."""
    script = PROJECT / ".github" / "scripts" / "install-memkb.sh"
    runs = [
        s["run"]
        for doc in (load(WORKFLOWS / "knowledge.yml"), load(ACTION))
        for s in steps_of(doc)
        if "run" in s
    ]
    commands = " ".join([*runs, script.read_text()])
    pythons = re.findall(r"(python3?\"?)(\s+\S+)", commands)
    assert pythons, "expected Python invocations"
    assert [p for p in pythons if p[1].strip() != "-I"] == []


def _pins(lock: Path) -> dict[str, str]:
    """name -> version of every `name==version` line of a pip-compile lock."""
    found = re.findall(r"^([A-Za-z0-9._-]+)==(\S+)", lock.read_text(), flags=re.MULTILINE)
    return {re.sub(r"[-_.]+", "-", name).lower(): version for name, version in found}


def _names(requirements: list[str]) -> set[str]:
    return {re.sub(r"[-_.]+", "-", re.split(r"[<>=!~\[; ]", r)[0]).lower() for r in requirements}


@pytest.mark.parametrize(("lock", "extras"), [("check.txt", []), ("test.txt", ["dev"])])
def test_ci_locks_pin_every_dependency_with_hashes(lock: str, extras: list[str]) -> None:
    """The CI installs use --require-hashes --no-deps, so a lock missing a dependency of
    pyproject.toml (e.g. after adding one) would only fail in CI: fail here first."""
    project = tomllib.loads((PROJECT / "pyproject.toml").read_text())["project"]
    wanted = _names(project["dependencies"]) | {"setuptools"}
    for extra in extras:
        wanted |= _names(project["optional-dependencies"][extra])
    path = PROJECT / ".github" / "requirements" / lock
    assert wanted - set(_pins(path)) == set()
    entries = [e for e in re.split(r"\n(?=[A-Za-z0-9])", path.read_text()) if "==" in e]
    assert len(entries) == len(_pins(path))
    assert all("--hash=sha256:" in e for e in entries)


def test_ci_script_installs_only_from_the_lock() -> None:
    script = (PROJECT / ".ci" / "run").read_text()
    assert "--require-hashes --no-deps -r .github/requirements/test.txt" in script
    assert "--no-deps --no-build-isolation -e ." in script
    assert "'.[dev]'" not in script  # an unpinned install of the extra
