"""Inputs that used to crash memkb: each is a finding or a clear error, never a traceback.

Commands run as real processes (the console script) on real Git repositories, because
the bugs were in what a process sees: argv bytes, stdin, exit codes."""

from __future__ import annotations

import hashlib
import json
import marshal
import resource
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from conftest import BUNDLED_KB, SCHEMAS, git
from memkb.cachefile import MAGIC, cache_dir
from memkb.errors import RecordError, UsageError
from memkb.history.store import CACHE_NAME, JOURNAL_NAME, _seal, _unseal
from memkb.legacy.source import MAX_LEGACY_BYTES
from memkb.records.load import MAX_FILE_BYTES, MAX_INT, load_bytes
from memkb.validation.engine import CACHE_FILE, validate_repo
from memkb.write import authoring

MEMKB = shutil.which("memkb", path=str(Path(sys.executable).parent)) or "memkb"
OUTCOME = "kb/outcomes/2025/2025-01-20-shumica-marketplace.yaml"
PATTERN_ID = "ecommerce_security_first"


def run(
    cwd: Path, *args: str | bytes, stdin: bytes | None = None
) -> subprocess.CompletedProcess[str]:
    """The real console script; stdout and stderr decoded leniently for the asserts."""
    done = subprocess.run(
        [MEMKB, *args], cwd=cwd, input=stdin, capture_output=True, check=False, timeout=120
    )
    return subprocess.CompletedProcess(
        done.args,
        done.returncode,
        done.stdout.decode("utf-8", "replace"),
        done.stderr.decode("utf-8", "replace"),
    )


def commit_all(repo: Path, message: str) -> None:
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", message)


# -- a top level that is not a mapping, with a tab -------------------------------------


@pytest.mark.parametrize("text", [b"- a\t\n", b"a\t\n", b"[1,\t2]\n"])
def test_a_non_mapping_with_a_tab_is_not_a_document(text: bytes) -> None:
    loaded = load_bytes(text, "kb/patterns/bad.yaml")
    assert loaded.doc is None
    assert "KB107" in [f.code for f in loaded.findings]


@pytest.mark.parametrize("command", [["validate"], ["list"], ["check", "--base", "HEAD~1"]])
def test_a_list_with_a_tab_is_a_finding_in_every_command(kb_repo: Path, command: list[str]) -> None:
    (kb_repo / "kb/patterns/bad.yaml").write_bytes(b"- a\t\n")
    commit_all(kb_repo, "a list with a tab")
    done = run(kb_repo, *command)
    assert "Traceback" not in done.stderr, done.stderr
    if command[0] == "list":  # list reads the records it can; the bad file is not one
        assert done.returncode == 0 and PATTERN_ID in done.stdout
    else:
        assert done.returncode == 1
        assert "kb/patterns/bad.yaml:1:4: error KB107 tab character" in done.stdout


# -- integers beyond the bound ---------------------------------------------------------


HUGE = "1" + "0" * 5000


@pytest.mark.parametrize(
    "value", [HUGE, "-" + HUGE, str(MAX_INT + 1), "0x" + "f" * 14, "1_" * 30 + "1", "1:" * 40 + "1"]
)
def test_an_integer_beyond_the_bound_is_a_finding_at_its_place(value: str) -> None:
    loaded = load_bytes(f"kind: outcome\nerror_count: {value}\n".encode(), "f.yaml")
    assert loaded.doc is None
    assert [(f.code, f.line, f.col) for f in loaded.findings] == [("KB112", 2, 14)]
    assert str(MAX_INT) in loaded.findings[0].message


@pytest.mark.parametrize("value", [str(MAX_INT), str(-MAX_INT), "0" * 80 + "7", "0x1f", "1:30"])
def test_integers_within_the_bound_load(value: str) -> None:
    loaded = load_bytes(f"kind: outcome\nerror_count: {value}\n".encode(), "f.yaml")
    assert loaded.findings == [] and isinstance(loaded.doc["error_count"], int)


def test_a_huge_integer_is_a_finding_in_validate_and_check(kb_repo: Path) -> None:
    path = kb_repo / OUTCOME
    path.write_text(path.read_text() + f"error_count: {HUGE}\n")
    commit_all(kb_repo, "a huge number")
    for command in (["validate"], ["check", "--base", "HEAD~1"]):
        done = run(kb_repo, *command)
        assert "Traceback" not in done.stderr, done.stderr
        assert done.returncode == 1
        assert f"{OUTCOME}:11:14: error KB112 integer" in done.stdout


def test_a_huge_integer_through_set_or_new_is_refused(kb_repo: Path) -> None:
    head = git(kb_repo, "rev-parse", "HEAD")
    attempts = [
        ["set", "pattern", PATTERN_ID, "prior.weight", HUGE],
        ["new", "pattern", "huge_one", "--title", "T", "--field", f"notes={HUGE}"],
        ["new", "pattern", "huge_two", "--title", "T", "--field", f"prior={{weight: {HUGE}}}"],
    ]
    for args in attempts:
        done = run(kb_repo, *args)
        assert "Traceback" not in done.stderr, done.stderr
        assert done.returncode == 2, (args, done.stdout, done.stderr)
        assert "KB112" in done.stderr and str(MAX_INT) in done.stderr
    assert git(kb_repo, "rev-parse", "HEAD") == head
    assert git(kb_repo, "status", "--porcelain", "--untracked-files=all") == ""


# -- ids that are not UTF-8 ------------------------------------------------------------


@pytest.mark.parametrize(
    "args",
    [
        [b"show", b"pattern", b"\xff\xfe"],
        [b"set", b"pattern", b"\xff\xfe", b"title", b"x"],
        [b"rm", b"pattern", b"\xff"],
        [b"deprecate", b"pattern", b"\xfe"],
    ],
)
def test_an_id_that_is_not_utf8_is_a_usage_error(kb_repo: Path, args: list[bytes]) -> None:
    done = run(kb_repo, *args)
    assert "Traceback" not in done.stderr, done.stderr
    assert done.returncode == 2
    assert "not UTF-8" in done.stderr


# -- a cache with a good checksum and bad entries --------------------------------------


# Each replaces part of a real entry (blob id and stat kept, so the entry is a hit).
BAD_ENTRIES = {
    "not a tuple": lambda _: "not a tuple",
    "short": lambda e: e[:2],
    "summary not a mapping": lambda e: (e[0], "summary", *e[2:]),
    "summary key not text": lambda e: (e[0], {1: 2}, *e[2:]),
    "refs not a tuple": lambda e: (*e[:2], "refs", *e[3:]),
    "ref of two parts": lambda e: (*e[:2], (("droid", "x"),), *e[3:]),
    "finding too short": lambda e: (*e[:3], (("f.yaml", 1),), e[4]),
    "unknown severity": lambda e: (*e[:3], (("f.yaml", 1, 1, "fatal", "KB1", "m", None),), e[4]),
    "stat not a list": lambda e: (*e[:4], "stat"),
}


@pytest.mark.parametrize("damage", BAD_ENTRIES.values(), ids=BAD_ENTRIES.keys())
def test_a_malformed_cache_entry_is_a_miss(kb_repo: Path, damage: Any) -> None:
    assert run(kb_repo, "validate").returncode == 0
    cache_file = cache_dir(kb_repo) / CACHE_FILE
    stored = marshal.loads(cache_file.read_bytes()[len(MAGIC) + 32 :])
    stored["entries"] = {path: damage(e) for path, e in stored["entries"].items()}
    payload = marshal.dumps(stored)
    cache_file.write_bytes(MAGIC + hashlib.sha256(payload).digest() + payload)
    done = run(kb_repo, "validate")
    assert (done.returncode, done.stdout, done.stderr) == (0, "checked 8 files: clean\n", "")


HISTORY_DAMAGE = {
    "pack not a tuple": lambda d: {**d, "blobs": dict.fromkeys(d["blobs"], "x")},
    "pack empty": lambda d: {**d, "blobs": dict.fromkeys(d["blobs"], ())},
    "commit fields": lambda d: {**d, "commits": dict.fromkeys(d["commits"], (None, "t", "c"))},
    "change of one part": lambda d: {
        **d,
        "commits": dict.fromkeys(d["commits"], (None, 1, (("kb/x.yaml",),))),
    },
    "applied not a count": lambda d: {**d, "applied": dict.fromkeys(d["applied"], "n")},
    "section missing": lambda d: {k: v for k, v in d.items() if k != "tips"},
    "not a mapping": lambda _: [1],
}


@pytest.mark.parametrize("damage", HISTORY_DAMAGE.values(), ids=HISTORY_DAMAGE.keys())
def test_a_malformed_history_cache_is_rebuilt(kb_repo: Path, damage: Any) -> None:
    clean = run(kb_repo, "metrics", "--json")
    assert clean.returncode == 0
    path = cache_dir(kb_repo) / CACHE_NAME
    _seal(path, damage(_unseal(path)))
    path.with_name(JOURNAL_NAME).unlink(missing_ok=True)
    shutil.rmtree(cache_dir(kb_repo) / "reports")  # finished reports would skip the cache
    done = run(kb_repo, "metrics", "--json")
    assert (done.returncode, done.stderr) == (0, "")
    assert json.loads(done.stdout) == json.loads(clean.stdout)


# -- inputs are read up to the size limit of a knowledge file --------------------------


def _at_most_1_gib() -> None:
    """Run the child with 1 GiB of address space: an unbounded read of /dev/zero then
    fails fast (MemoryError) instead of taking the machine's memory, even on old code."""
    resource.setrlimit(resource.RLIMIT_AS, (1 << 30, 1 << 30))


def run_bounded(
    cwd: Path, *args: str, stdin: bytes | None = None
) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(
        [MEMKB, *args],
        cwd=cwd,
        input=stdin,
        capture_output=True,
        check=False,
        timeout=120,
        preexec_fn=_at_most_1_gib,
    )
    return subprocess.CompletedProcess(
        done.args, done.returncode, done.stdout.decode("utf-8", "replace"), done.stderr.decode()
    )


def over_the_limit(limit: int = MAX_FILE_BYTES) -> bytes:
    """A valid YAML mapping one byte over `limit` (so only the size is wrong)."""
    head = b"project: big\nnotes: "
    return head + b"x" * (limit + 1 - len(head) - 1) + b"\n"


def assert_refused_for_size(done: subprocess.CompletedProcess[str], name: str, limit: int) -> None:
    assert "Traceback" not in done.stderr, done.stderr[-2000:]
    assert done.returncode == 2, (done.stdout[-500:], done.stderr[-500:])
    said = done.stderr + done.stdout
    assert name in said and f"larger than the limit of {limit} bytes" in said


# A record is one knowledge file; a legacy memory holds many (MAX_LEGACY_BYTES).
READERS = [
    (["record", "--from"], "stdin", MAX_FILE_BYTES),
    (["new", "pattern", "--from"], "stdin", MAX_FILE_BYTES),
    (["import-legacy"], "/dev/stdin", MAX_LEGACY_BYTES),
]


@pytest.mark.parametrize(("args", "_name", "limit"), READERS)
def test_an_endless_input_is_refused_at_the_limit(
    kb_repo: Path, args: list[str], _name: str, limit: int
) -> None:
    assert_refused_for_size(run_bounded(kb_repo, *args, "/dev/zero"), "/dev/zero", limit)


@pytest.mark.parametrize(("args", "name", "limit"), READERS)
def test_stdin_over_the_limit_is_refused(
    kb_repo: Path, args: list[str], name: str, limit: int
) -> None:
    head = git(kb_repo, "rev-parse", "HEAD")
    stdin_arg = "-" if name == "stdin" else name
    done = run_bounded(kb_repo, *args, stdin_arg, stdin=over_the_limit(limit))
    assert_refused_for_size(done, name, limit)
    assert git(kb_repo, "rev-parse", "HEAD") == head
    assert git(kb_repo, "status", "--porcelain", "--untracked-files=all") == ""


def test_stdin_at_the_limit_is_read(kb_repo: Path) -> None:
    text = over_the_limit()[1:]  # exactly MAX_FILE_BYTES: read, then judged as a record
    done = run_bounded(kb_repo, "new", "pattern", "--from", "-", stdin=text)
    assert "larger than the limit" not in done.stderr
    assert "missing required field(s) for a new pattern" in done.stderr


# -- open inputs: ids and paths --------------------------------------------------------

# Any text a shell can pass: printable, control characters, and undecodable argv bytes
# (which Python hands over as lone surrogates).
ARGV_TEXT = st.one_of(
    st.text(max_size=40),
    st.binary(max_size=40).map(lambda raw: raw.decode("utf-8", "surrogateescape")),
)


@pytest.fixture(scope="module")
def plain_kb(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The bundled KB and schemas in a plain folder (these reads need no Git)."""
    root = tmp_path_factory.mktemp("plain") / "repo"
    shutil.copytree(SCHEMAS, root / "schemas")
    shutil.copytree(BUNDLED_KB, root / "kb", ignore=shutil.ignore_patterns("expectations"))
    return root


@settings(max_examples=300, deadline=None)
@given(kind=st.sampled_from(["pattern", "failure", "template", "outcome"]), rid=ARGV_TEXT)
def test_any_id_is_found_or_refused_cleanly(plain_kb: Path, kind: str, rid: str) -> None:
    try:
        record = authoring.show(plain_kb, kind, rid)
    except (UsageError, RecordError) as exc:
        assert exc.message
    else:
        assert record.id == rid and (plain_kb / record.relpath).is_file()


@settings(max_examples=300, deadline=None)
@given(path=ARGV_TEXT)
def test_any_path_argument_is_validated_or_refused_cleanly(plain_kb: Path, path: str) -> None:
    try:
        result = validate_repo(plain_kb, [path], use_cache=False)
    except UsageError as exc:
        assert exc.message
    else:
        assert result.files == 8


def test_a_huge_integer_in_legacy_memory_is_a_finding(kb_repo: Path, tmp_path: Path) -> None:
    legacy = tmp_path / "legacy.json"
    legacy.write_text(
        '{"success_patterns": {"p": {"pattern_id": "p", "success_rate": ' + HUGE + "}}}"
    )
    done = run(kb_repo, "import-legacy", str(legacy), "--dry-run")
    assert "Traceback" not in done.stderr, done.stderr[-2000:]
    assert done.returncode == 1
    assert "KB605" in done.stdout and "success_rate" in done.stdout


@pytest.mark.parametrize("command", [["validate"], ["show", "pattern", "huge"]])
def test_a_huge_knowledge_file_is_refused_without_reading_it(
    kb_repo: Path, command: list[str]
) -> None:
    with (kb_repo / "kb/patterns/huge.yaml").open("wb") as handle:
        handle.truncate(4 << 30)  # 4 GiB, sparse: no disk used, but read() would take it
    done = run_bounded(kb_repo, *command)
    assert "Traceback" not in done.stderr, done.stderr[-2000:]
    assert done.returncode == 1
    assert "kb/patterns/huge.yaml:1:1: error KB105 file is larger than the limit" in (
        done.stdout + done.stderr
    )
