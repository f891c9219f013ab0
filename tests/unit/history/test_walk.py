"""The walk on an empty cache starts `git log` at once: no listing of the whole line
first (traced with GIT_TRACE, real git processes)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from conftest import git
from memkb.errors import RepoError
from memkb.gitio.log import git_stream
from memkb.history import report


def _commands(trace: Path) -> list[str]:
    """The git subcommands the run started, from GIT_TRACE's "trace: built-in: git X"."""
    lines = trace.read_text().splitlines() if trace.exists() else []
    return [ln.split("git ", 1)[1].split()[0] for ln in lines if "built-in: git " in ln]


def test_a_cold_walk_without_progress_lists_no_revisions(
    kb_repo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    trace = tmp_path / "trace.txt"
    monkeypatch.setenv("GIT_TRACE", str(trace))
    cold = report(kb_repo, use_cache=False)
    commands = _commands(trace)
    assert "log" in commands and "rev-list" not in commands
    monkeypatch.delenv("GIT_TRACE")
    assert cold["learning_metrics"]["total_projects"] >= 1  # the bundled seed outcome


def test_a_cold_walk_with_progress_counts_the_line_and_a_warm_one_looks_back(
    kb_repo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (kb_repo / "kb" / "notes.txt").write_text("not a record\n")
    git(kb_repo, "add", "-A")
    git(kb_repo, "commit", "-q", "-m", "second")
    calls: list[tuple[str, int, int]] = []
    report(kb_repo, as_of="2099-01-01", progress=lambda *call: calls.append(call))
    walked = [call for call in calls if call[0] == "commits"]
    assert walked[-1] == ("commits", 2, 2)  # as git's output arrives, in one or two chunks
    assert {total for _, _, total in walked} == {2}  # counted with one `rev-list --count`
    (kb_repo / "kb" / "notes.txt").write_text("changed\n")
    git(kb_repo, "commit", "-q", "-am", "third")
    trace = tmp_path / "trace.txt"
    monkeypatch.setenv("GIT_TRACE", str(trace))
    calls.clear()
    report(kb_repo, progress=lambda *call: calls.append(call))
    assert ("commits", 1, 1) in calls  # only the new commit is walked
    assert _commands(trace).count("rev-list") == 1  # the short look back (-n 64)


def test_a_cold_walk_starts_git_log_before_the_yaml_readers_are_imported(kb_repo: Path) -> None:
    """git walks while the cold run imports the rest: `git log` is running when the
    module that reads records (memkb.records.load) starts to import."""
    code = (
        "import sys, subprocess\n"
        "from pathlib import Path\n"
        "started = []\n"
        "real = subprocess.Popen.__init__\n"
        "def spy(self, args, *a, **k):\n"
        "    started.append(args[1])\n"
        "    real(self, args, *a, **k)\n"
        "subprocess.Popen.__init__ = spy\n"
        "class Watch:\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name == 'memkb.records.load':\n"
        "            print('records.load imported after', started)\n"
        "        return None\n"
        "sys.meta_path.insert(0, Watch())\n"
        "from memkb.history import report\n"
        "report(Path(sys.argv[1]), use_cache=False)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code, str(kb_repo)], capture_output=True, text=True, check=True
    )
    assert "records.load imported after ['rev-parse', 'log']" in done.stdout, done.stdout


def test_a_git_stream_reports_git_s_message_and_an_unread_one_ends_git(kb_repo: Path) -> None:
    with pytest.raises(RepoError, match=r"git log failed: .*no-such-revision"):
        list(git_stream(kb_repo, "log", "no-such-revision"))
    stream = git_stream(kb_repo, "log", "--raw", "HEAD")
    stream.close()  # never read
    assert stream.proc.returncode is not None and stream.out.closed
    chunks = b"".join(git_stream(kb_repo, "log", "--format=%H", "-1"))
    assert chunks.decode().strip() == git(kb_repo, "rev-parse", "HEAD").strip()


def test_a_git_stream_read_while_git_writes_yields_all_of_its_output_in_order(
    kb_repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # git writes to a file that the stream polls: chunks cut anywhere must add up to
    # exactly what git prints, however the reads fall between git's writes.
    import memkb.gitio.log as log

    monkeypatch.setattr(log, "READ_BYTES", 7)  # many small chunks, cut mid-line
    args = ("log", "--raw", "-z", "--no-abbrev", "HEAD")
    chunks = list(git_stream(kb_repo, *args))
    assert len(chunks) > 10
    assert b"".join(chunks).decode() == git(kb_repo, *args)
