"""Exit codes through the real console script: the same condition gives the same code in
every command (0 ok, 1 findings or refused, 2 usage or environment, 3 unexpected, 130
interrupted), and with --json the failure is a JSON error object on stdout."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

MEMKB = str(Path(sys.executable).parent / "memkb")


def memkb(
    repo: Path, *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """Run the installed console script in `repo`."""
    return subprocess.run(
        [MEMKB, *args],
        cwd=repo,
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
        timeout=60,
    )


def error_doc(done: subprocess.CompletedProcess[str]) -> dict[str, Any]:
    doc: dict[str, Any] = json.loads(done.stdout)
    assert doc["format"] == "memkb.error/1", doc
    return doc["error"]


def test_ok_is_0_and_findings_are_1(kb_repo: Path) -> None:
    assert memkb(kb_repo, "validate").returncode == 0
    path = kb_repo / "kb/patterns/ecommerce_security_first.yaml"
    path.write_text(path.read_text() + "unknown_field: 1\n")
    done = memkb(kb_repo, "validate")
    assert done.returncode == 1, done.stderr


@pytest.mark.parametrize(
    "args",
    [
        ["show", "pattern", "no_such_pattern"],
        ["history", "pattern", "no_such_pattern"],
        ["set", "pattern", "no_such_pattern", "title", "x"],
        ["rm", "pattern", "no_such_pattern"],
        ["deprecate", "pattern", "no_such_pattern"],
    ],
)
def test_a_missing_record_is_a_usage_error_in_every_command(kb_repo: Path, args: list[str]) -> None:
    done = memkb(kb_repo, *args)
    assert done.returncode == 2, (done.stdout, done.stderr)
    assert "no pattern 'no_such_pattern'" in done.stderr and "Traceback" not in done.stderr
    as_json = memkb(kb_repo, *args, "--json")
    assert as_json.returncode == 2
    error = error_doc(as_json)
    assert "no_such_pattern" in error["message"] and error["hint"]
    assert error["code"] == "not-found"


def test_a_refused_write_is_1_with_its_findings_as_json(kb_repo: Path) -> None:
    args = ["set", "pattern", "ecommerce_security_first", "key_droids", "[no-such-droid]"]
    text = memkb(kb_repo, *args)
    assert text.returncode == 1 and "KB304" in text.stderr
    done = memkb(kb_repo, *args, "--json")
    assert done.returncode == 1
    error = error_doc(done)
    assert error["code"] == "refused"
    assert [f["code"] for f in error["findings"]] == ["KB304"]
    assert error["findings"][0]["path"] == "kb/patterns/ecommerce_security_first.yaml"


def test_a_usage_error_is_2_as_json_on_stdout(kb_repo: Path) -> None:
    done = memkb(kb_repo, "metrics", "--since", "yesterday", "--json")
    assert done.returncode == 2
    assert error_doc(done)["code"] == "usage"
    assert "not a date" in error_doc(done)["message"]


def test_outside_a_repository_is_2(tmp_path: Path) -> None:
    done = memkb(tmp_path, "list", "--json")
    assert done.returncode == 2
    assert error_doc(done)["code"] == "environment"


# A core function that fails the way a bug would; the console script runs unchanged.
BUGGY = (
    "import sys, memkb.write.read as a\n"
    "def boom(*args, **kwargs):\n"
    "    raise ZeroDivisionError('division by zero')\n"
    "a.list_records = boom\n"
    "from memkb.cli.entry import run\n"
    "sys.argv = ['memkb', *sys.argv[1:]]\n"
    "run()\n"
)


def test_an_unexpected_error_is_3_with_a_hint_and_no_traceback(kb_repo: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "MEMKB_DEBUG"}
    done = subprocess.run(
        [sys.executable, "-c", BUGGY, "list"], cwd=kb_repo, capture_output=True, text=True, env=env
    )
    assert done.returncode == 3, done.stderr
    assert "Traceback" not in done.stderr
    assert "ZeroDivisionError: division by zero" in done.stderr
    assert "--debug" in done.stderr and "report" in done.stderr
    as_json = subprocess.run(
        [sys.executable, "-c", BUGGY, "list", "--json"],
        cwd=kb_repo, capture_output=True, text=True, env=env,
    )  # fmt: skip
    assert as_json.returncode == 3 and error_doc(as_json)["code"] == "internal"


@pytest.mark.parametrize(
    ("args", "env"), [(["--debug", "list"], {}), (["list"], {"MEMKB_DEBUG": "1"})]
)
def test_debug_shows_the_traceback(kb_repo: Path, args: list[str], env: dict[str, str]) -> None:
    done = subprocess.run(
        [sys.executable, "-c", BUGGY, *args],
        cwd=kb_repo, capture_output=True, text=True, env={**os.environ, **env},
    )  # fmt: skip
    assert done.returncode == 3
    assert "Traceback" in done.stderr and "ZeroDivisionError" in done.stderr


def default_sigint() -> None:
    """In the child: SIGINT's default action, whatever pytest inherited. A job started in
    the background by a shell without job control ignores SIGINT, its children too, and
    Python then installs no KeyboardInterrupt: the signal would be lost."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def test_interrupted_is_130(kb_repo: Path) -> None:
    # `record --from -` waits on stdin: a real SIGINT arrives while it reads.
    proc = subprocess.Popen(
        [MEMKB, "record", "--from", "-"],
        cwd=kb_repo, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        text=True, preexec_fn=default_sigint,
    )  # fmt: skip
    time.sleep(1.5)  # let it start and block on the read
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 130 and "interrupted" in err and "Traceback" not in err


@pytest.mark.parametrize("asks", [["--json"], ["--format", "json"]])
def test_a_bad_option_value_is_2_and_a_json_error_with_json(kb_repo: Path, asks: list[str]) -> None:
    text = memkb(kb_repo, "validate", "--format", "bogus")
    assert text.returncode == 2 and "Invalid value for '--format'" in text.stderr
    done = memkb(kb_repo, "list", "--no-such-option", *asks)
    assert done.returncode == 2
    error = error_doc(done)
    assert error["code"] == "usage" and "--no-such-option" in error["message"]
    assert error["hint"] == "see `memkb list --help`"


def test_a_closed_pipe_ends_quietly(kb_repo: Path) -> None:
    """`memkb rules | head -0`: the reader is gone before memkb writes; not a bug."""
    proc = subprocess.Popen(
        [MEMKB, "rules"], cwd=kb_repo, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    assert proc.stdout is not None and proc.stderr is not None
    proc.stdout.close()
    err = proc.stderr.read().decode()
    # typer's click ends an EPIPE itself, quietly, with 1 (before the fix: 3 and a hint
    # to report a bug, since handles_errors took the BrokenPipeError for one)
    assert proc.wait(timeout=60) == 1, err
    assert "unexpected" not in err and "Traceback" not in err


def test_ctrl_c_at_a_prompt_is_130_not_refused(kb_repo: Path) -> None:
    """`memkb new pattern` at a terminal prompts for the missing fields; Ctrl-C there is
    an interrupt (130), not an unanswered prompt (1)."""
    import pty

    controller, terminal = pty.openpty()
    proc = subprocess.Popen(
        [MEMKB, "new", "pattern"], cwd=kb_repo, stdin=terminal, stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, text=True, preexec_fn=default_sigint,
    )  # fmt: skip
    assert proc.stdout is not None
    assert proc.stdout.read(2) == "id"  # the first prompt is up
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=30)
    os.close(controller)
    os.close(terminal)
    assert proc.returncode == 130, err
    assert "interrupted" in err and "Traceback" not in err


def into_full_disk(repo: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """`memkb ARGS` with stdout on /dev/full: every write to it fails with ENOSPC."""
    with open("/dev/full", "w") as full:  # noqa: PTH123 - a device, not a path to build
        return subprocess.run(
            [MEMKB, *args], cwd=repo, stdout=full, stderr=subprocess.PIPE, text=True, timeout=60
        )


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="needs /dev/full (Linux)")
@pytest.mark.parametrize(
    "args",
    [
        ["rules"],
        ["rules", "--json"],
        ["list", "--kind", "pattern"],
        ["show", "pattern", "authentication_jwt_security_first"],
    ],
)
def test_an_output_stdout_refuses_is_an_environment_error(kb_repo: Path, args: list[str]) -> None:
    done = into_full_disk(kb_repo, *args)
    assert done.returncode == 2, done.stderr
    assert "memkb: error: cannot write the output: No space left on device" in done.stderr
    assert "Traceback" not in done.stderr and "unexpected" not in done.stderr


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="needs /dev/full (Linux)")
def test_an_express_answer_stdout_refuses_is_an_environment_error(kb_repo: Path) -> None:
    for path in (kb_repo / "kb").rglob("*.yaml"):
        os.utime(path, (1_600_000_000, 1_600_000_000))  # trusted stats: the run seals
    for _ in range(2):  # judged and sealed, then answered by the seal: its output kept
        assert memkb(kb_repo, "validate").returncode == 0
    done = into_full_disk(kb_repo, "validate")  # answered express
    assert done.returncode == 2, done.stderr
    assert done.stderr.count("cannot write the output: No space left on device") == 1
    assert "Traceback" not in done.stderr
