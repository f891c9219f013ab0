"""memkb.startup: a console-script process starts with Python's cycle collector off and
runs its command with it on, the start-up's objects frozen; a library caller's collector
is left alone. Each case runs in its own interpreter: gc.freeze cannot be undone."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from conftest import git

STATES = (
    "import gc, json, sys\n"
    "from memkb import startup\n"
    "seen = []\n"
    "def state(): seen.append([gc.isenabled(), gc.get_freeze_count() > 0])\n"
)


def run_states(body: str) -> list[list[bool]]:
    """[collector enabled, anything frozen] at each `state()` of `body`, run in a fresh
    interpreter."""
    script = STATES + body + "\nprint(json.dumps(seen))\n"
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_the_start_up_runs_without_the_collector_and_the_command_with_it() -> None:
    body = (
        "state(); startup.hold_collector(); state()\n"
        "startup.release_collector(); state()\n"
        "gc.disable(); startup.release_collector(); state()  # released once, not again\n"
    )
    assert run_states(body) == [[True, False], [False, False], [True, True], [False, True]]


def test_imports_a_running_command_makes_are_paused_then_frozen() -> None:
    body = (
        "startup.hold_collector(); startup.release_collector(); gc.unfreeze()\n"
        "with startup.importing():\n"
        "    state(); import json.tool\n"
        "state()\n"
    )
    assert run_states(body) == [[False, False], [True, True]]


def test_a_library_caller_keeps_its_collector_as_it_was() -> None:
    body = (
        "with startup.importing():\n"
        "    state(); import json.tool\n"
        "state(); gc.disable()\n"
        "with startup.importing():\n"
        "    state()\n"
        "state()\n"
    )
    assert run_states(body) == [[True, False], [True, False], [False, False], [False, False]]


# The console script's own path: main() holds the collector, the command releases it, and
# the write's checkers (memkb.write.transaction.load_checkers) are imported paused.
CONSOLE = (
    "import gc, json, sys\n"
    "from memkb.write import transaction\n"
    "real, seen = transaction.check_edit, sys.argv[1]\n"
    "def check_edit(*args, **kwargs):\n"
    "    with open(seen, 'w') as out:\n"
    "        json.dump([gc.isenabled(), gc.get_freeze_count() > 0], out)\n"
    "    return real(*args, **kwargs)\n"
    "transaction.check_edit = check_edit\n"
    "sys.argv = ['memkb', *sys.argv[2:]]\n"
    "from memkb.cli.entry import main\n"
    "main()\n"
)


def test_a_memkb_record_process_writes_with_the_collector_on(kb_repo: Path, tmp_path: Path) -> None:
    seen = tmp_path / "seen.json"
    args = ["record", "--project", "gc", "--outcome", "success", "--domain", "e-commerce"]
    args += ["--droid", "security-auditor"]
    done = subprocess.run(
        [sys.executable, "-c", CONSOLE, str(seen), *args, "--repo", str(kb_repo)],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(seen.read_text()) == [True, True]
    assert git(kb_repo, "log", "-1", "--format=%s").startswith("memory(outcome): record")
