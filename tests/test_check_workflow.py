"""The workflows cannot drift from the CLI: the `memkb check` step is read from
.github/workflows/knowledge.yml (and action.yml) and run as written, with bash, on a real
repository whose HEAD is a pull request's merge commit, as actions/checkout leaves it."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from conftest import PROJECT, git
from test_check import OUTCOME, outcome_path, outcome_text

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
    [step] = [s for s in steps_of(doc) if "memkb check" in s.get("run", "")]
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


def run_step(step: dict[str, Any], repo: Path, base: str, tmp: Path, inputs: dict[str, str]) -> Any:
    """Run the step's shell command as GitHub would, with its env evaluated for a pull
    request event; returns the completed process, the summary and the outputs."""
    env = dict(os.environ)
    for name, value in (step.get("env") or {}).items():
        value = str(value)
        if "base.sha" in value or "base_sha" in value:
            value = base
        for key, given in inputs.items():
            value = value.replace(f"${{{{ inputs.{key} }}}}", given)
        assert "${{" not in value, f"unevaluated expression in env {name}: {value}"
        env[name] = value
    summary, outputs = tmp / "summary.md", tmp / "outputs.txt"
    env.update(
        GITHUB_STEP_SUMMARY=str(summary),
        GITHUB_OUTPUT=str(outputs),
        PATH=f"{Path(sys.executable).parent}{os.pathsep}{env['PATH']}",
    )
    done = subprocess.run(
        ["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", step["run"]],
        cwd=repo,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    read = lambda p: p.read_text() if p.exists() else ""  # noqa: E731
    return done, read(summary), read(outputs)


# ------------------------------------------------------------------ the policy


def test_knowledge_workflow_triggers_and_least_privilege() -> None:
    workflow = load(WORKFLOWS / "knowledge.yml")
    on = triggers(workflow)
    assert set(on) == {"pull_request", "merge_group"}
    assert on["pull_request"]["paths"] == ["kb/**", "schemas/**"]
    assert workflow["permissions"] == {"contents": "read"}
    [checkout] = [s for s in steps_of(workflow) if s.get("uses", "").startswith("actions/checkout")]
    assert checkout["with"] == {"fetch-depth": 0, "persist-credentials": False}
    # The checker is installed from the base commit, never from the pull request.
    [install] = [s for s in steps_of(workflow) if "pip install" in s.get("run", "")]
    assert 'git archive "$BASE_SHA"' in install["run"]
    assert "pip install ." not in install["run"]


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
    done, summary, outputs = run_step(step, kb_repo, base, tmp_path, inputs)
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
    done, summary, outputs = run_step(step, kb_repo, base, tmp_path, inputs)
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
