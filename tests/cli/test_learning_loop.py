"""The learning loop through the real console script, one process per step as an
orchestrator runs it: ask for advice, record the outcome with the brief_id, read the
figures (docs/advice.md, docs/metrics.md)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from conftest import RECORD, git

MEMKB = str(Path(sys.executable).parent / "memkb")
ADVICE = ["--domain", "ecommerce", "--phase", "security_first"]  # an alias, on purpose


def memkb(repo: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([MEMKB, *args], cwd=repo, capture_output=True, text=True,
                          env=dict(os.environ), timeout=120)  # fmt: skip


def test_advice_then_outcome_then_figures(kb_repo: Path) -> None:
    asked = memkb(kb_repo, "brief", *ADVICE, "--json")
    assert asked.returncode == 0, asked.stderr
    brief_id = json.loads(asked.stdout)["brief_id"]
    assert f"- brief_id: {brief_id}\n" in json.loads(asked.stdout)["markdown"]
    done = memkb(kb_repo, *RECORD, "--pattern", "ecommerce_security_first", "--brief-id", brief_id)
    assert done.returncode == 0, done.stderr
    figures = json.loads(memkb(kb_repo, "metrics", "--json").stdout)["advice"]
    # Advised: template ecommerce_standard (not applied: ignored), patterns
    # ecommerce_security_first (applied) and authentication_jwt_security_first (not);
    # no failure met, so both guards are not_met: 1 of 3 followed, by a success.
    assert (figures["advised"], figures["followed"], figures["followed_rate"]) == (3, 1, 0.333333)
    assert (figures["success_when_followed"], figures["success_when_ignored"]) == (1.0, 1.0)
    chart = memkb(kb_repo, "metrics", "--series", "month", "--format", "markdown").stdout
    assert "```mermaid\nxychart-beta\n" in chart
    assert "    line [0.333]\n" in chart


def test_an_unresolved_brief_id_is_refused_with_exit_1_and_nothing_written(kb_repo: Path) -> None:
    before = git(kb_repo, "rev-parse", "HEAD")
    done = memkb(kb_repo, *RECORD, "--brief-id", "0123456789abcdef.0123456789ab:limit=5", "--json")
    assert done.returncode == 1
    error = json.loads(done.stdout)
    assert error["format"] == "memkb.error/1"
    assert "which this repository does not have" in error["error"]["message"]
    assert git(kb_repo, "rev-parse", "HEAD") == before
    assert git(kb_repo, "status", "--porcelain") == ""
