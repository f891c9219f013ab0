"""Benchmark: `memkb metrics` / `memkb history` over a long history, against `git log`.

Builds (or reuses, under tooling/bench/out/) a repository whose main has --commits
commits over a --records-record KB (tooling/bench/synth.py), written with one
`git fast-import` stream: a first commit with the vocabulary, templates, failures
and a quarter of the patterns, then one commit per remaining record (outcomes in
date order) with pattern revisions in between, dated so they follow the outcomes.
Then times, each --runs times, reporting medians:
  - peer: `git log --name-status` over the whole history (stdout discarded);
  - memkb metrics cold: the history cache under .git/memkb/ removed first;
  - memkb metrics warm: same command again, nothing changed;
  - memkb metrics after one new commit (one outcome added with plumbing; undone after);
  - memkb history of one much-revised pattern, and `git log --follow` of its file;
  - `memkb rules` (the CLI's bare start-up), the yardstick of a warm run.
Targets (issue 12: cold within 2x of git log, warm under `memkb rules` + 100 ms; and new
commit < 0.5 s, history < 1 s) are printed as PASS/MISS for information: this is a
measurement, never a test. Each case's CPU time (user + system of the process and its
git children, from os.wait4) is printed next to its wall time: on a busy machine it
says more about the work than wall time does.

`--baseline SRC` (a `tooling/` folder of another memkb, e.g. main's from `git archive
main tooling | tar -x -C /tmp/base`) adds that memkb's cold and warm metrics to the same
rounds, and their ratios to this one.

    .venv/bin/python -m tooling.bench.bench_history [--records 10000] [--commits 10000]
        [--runs 5] [--baseline /tmp/base/tooling]
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

if __package__ in (None, ""):  # run as a script: make `tooling.bench` importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from tooling.bench import synth
from tooling.bench.bench_write import baseline_memkb
from tooling.bench.bytecode import compile_package

HERE = Path(__file__).resolve().parent
MEMKB = str(Path(sys.executable).parent / "memkb")
START = 1_546_387_200  # 2019-01-02T00:00:00Z: the first commit of the synthetic history
IDENT = "memkb bench <bench@invalid>"


def _run(args: Sequence[str], cwd: Path) -> float:
    """Run `args` in `cwd` (output discarded); its CPU seconds, git children included."""
    proc = subprocess.Popen(
        list(args), cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise subprocess.CalledProcessError(proc.returncode, list(args))
    return usage.ru_utime + usage.ru_stime


def _events(kb: Path, n_commits: int, rng: random.Random) -> tuple[list[str], list[list[str]]]:
    """Paths of the first commit, and the paths each later commit writes (in order)."""
    rel = sorted(str(p.relative_to(kb.parent)) for p in kb.rglob("*.yaml"))
    patterns = [p for p in rel if p.startswith("kb/patterns/")]
    outcomes = sorted(
        (p for p in rel if p.startswith("kb/outcomes/")), key=lambda p: p.rsplit("/", 1)[-1]
    )
    first = [p for p in rel if not p.startswith(("kb/patterns/", "kb/outcomes/"))]
    first += patterns[: len(patterns) // 4]
    later = [[p] for p in outcomes]  # outcomes in date order, as projects finish
    for path in patterns[len(patterns) // 4 :]:
        later.insert(rng.randrange(len(later) + 1), [path])
    hot = patterns[:20]  # a few patterns get revised again and again
    for _ in range(max(0, n_commits - 1 - len(later))):
        later.insert(rng.randrange(len(later) + 1), [f"rev:{rng.choice(hot)}"])
    return first, later[: n_commits - 1]


def _data(payload: bytes) -> bytes:
    return b"data %d\n" % len(payload) + payload + b"\n"


def _commit(n: int, ts: int, files: dict[str, bytes]) -> bytes:
    head = (
        f"commit refs/heads/main\nmark :{n}\nauthor {IDENT} {ts} +0000\n"
        f"committer {IDENT} {ts} +0000\n"
    ).encode()
    body = _data(f"memory: commit {n}\n\nMemory-Agent: bench-agent-{n % 7}\n".encode())
    parent = f"from :{n - 1}\n".encode() if n > 1 else b""
    return (
        head
        + body
        + parent
        + b"".join(
            f"M 100644 inline {path}\n".encode() + _data(text) for path, text in files.items()
        )
    )


def build(repo: Path, n_records: int, n_commits: int) -> None:
    """Write the synthetic history with one `git fast-import`, then check out main."""
    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp) / "kb-src"
        synth.generate_kb(src, n_records)
        rng = random.Random(1)
        first, later = _events(src / "kb", n_commits, rng)
        texts = {
            p: (src / p).read_bytes()
            for p in first + [e[0] for e in later if not e[0].startswith("rev:")]
        }
        _run(["git", "init", "-q", "-b", "main", str(repo)], Path(tmp))
        step = (1_767_225_600 - START) // max(1, len(later) + 1)  # spread up to 2026-01-01
        stream = [_commit(1, START, {p: texts[p] for p in first})]
        for n, (path,) in enumerate(later, start=2):
            if path.startswith("rev:"):
                path = path[4:]
                texts[path] = texts[path].replace(b"\ntitle: ", b"\ntitle: revised ", 1)
            stream.append(_commit(n, START + (n - 1) * step, {path: texts[path]}))
        subprocess.run(
            ["git", "fast-import", "--quiet"],
            cwd=repo,
            check=True,
            input=b"".join(stream) + b"done\n",
            stderr=subprocess.PIPE,
        )
        shutil.copytree(src / "schemas", repo / "schemas")
        _run(["git", "checkout", "-q", "-f", "main"], repo)


@dataclass
class Case:
    """One timed command: what runs, what runs untimed before it, and its times."""

    name: str
    run: Callable[[], float | None]  # returns the CPU seconds it measured, if it did
    before: Callable[[], None] | None = None
    times: list[float] = field(default_factory=list)
    cpu: list[float] = field(default_factory=list)

    @property
    def median(self) -> float:
        return statistics.median(self.times)

    @property
    def cpu_median(self) -> float | None:
        return statistics.median(self.cpu) if self.cpu else None


def round_robin(cases: list[Case], runs: int) -> None:
    """Time every case once per round, `runs` rounds: a peer and memkb see the same load
    (the machine is shared), which a ratio of two separate series would not."""
    for _ in range(runs):
        for case in cases:
            if case.before is not None:
                case.before()
            start = time.perf_counter()
            cpu = case.run()
            case.times.append(time.perf_counter() - start)
            if cpu is not None:
                case.cpu.append(cpu)


class NewCommit:
    """Adds one outcome commit on main with plumbing (worktree untouched) and undoes it."""

    def __init__(self, repo: Path) -> None:
        self.repo, self.n = repo, 0
        self.orig = self._git("rev-parse", "HEAD").strip()

    def _git(self, *args: str, stdin: bytes | None = None) -> str:
        env = {
            **os.environ,
            "GIT_AUTHOR_NAME": "bench",
            "GIT_AUTHOR_EMAIL": "b@invalid",
            "GIT_COMMITTER_NAME": "bench",
            "GIT_COMMITTER_EMAIL": "b@invalid",
        }
        return subprocess.run(
            ["git", *args], cwd=self.repo, check=True, input=stdin, capture_output=True, env=env
        ).stdout.decode()

    def add(self) -> None:
        self.n += 1
        oid = f"2025-12-31-bench-new-{self.n}"
        text = (
            f"kind: outcome\nschema_version: 2\nid: {oid}\nproject: new\n"
            f"date: 2025-12-31\noutcome: success\ndomains: [finance]\n"
            f"droids_used: [security-auditor]\n"
        ).encode()
        blob = self._git("hash-object", "-w", "--stdin", stdin=text).strip()
        self._git(
            "update-index", "--add", "--cacheinfo", f"100644,{blob},kb/outcomes/2025/{oid}.yaml"
        )
        tree = self._git("write-tree").strip()
        head = self._git("rev-parse", "HEAD").strip()
        sha = self._git("commit-tree", tree, "-p", head, "-m", "new outcome").strip()
        self._git("update-ref", "refs/heads/main", sha)

    def undo(self) -> None:
        self._git("update-ref", "refs/heads/main", self.orig)
        self._git("read-tree", self.orig)


def _cases(repo: Path, newc: NewCommit, baseline: Path | None = None) -> list[Case]:
    """The timed commands, in round order: each memkb case follows its peer (the
    baseline's cold and warm metrics, if given, last)."""
    cache = repo / ".git" / "memkb"
    metrics = [MEMKB, "metrics", "--json", "--repo", str(repo)]
    hot = sorted((repo / "kb" / "patterns").glob("*.yaml"))[0]  # among the most revised
    history = [MEMKB, "history", "pattern", hot.stem, "--json", "--repo", str(repo)]
    follow = ["git", "log", "--follow", "--format=%H", "--", f"kb/patterns/{hot.name}"]
    return [
        Case("git log --name-status (peer)", lambda: _run(["git", "log", "--name-status"], repo)),
        Case("memkb metrics, cold", lambda: _run(metrics, repo),
             before=lambda: shutil.rmtree(cache, ignore_errors=True)),
        Case("memkb metrics, warm", lambda: _run(metrics, repo)),
        Case("memkb metrics, after 1 new commit", lambda: _run(metrics, repo), before=newc.add),
        Case("git log --follow one pattern (peer)", lambda: _run(follow, repo)),
        Case(f"memkb history pattern ({_revisions(repo, hot)} commits)",
             lambda: _run(history, repo)),
        Case("memkb rules (bare start-up)", lambda: _run([MEMKB, "rules"], repo)),
        *_baseline_cases(repo, baseline),
    ]  # fmt: skip


def _baseline_cases(repo: Path, baseline: Path | None) -> list[Case]:
    """The baseline's cold and warm `memkb metrics` (it keeps its own report and cache
    under .git/memkb/: its cold run removes them, as ours does)."""
    if baseline is None:
        return []
    cache = repo / ".git" / "memkb"
    metrics = [str(baseline), "metrics", "--json", "--repo", str(repo)]
    return [
        Case("baseline metrics, cold", lambda: _run(metrics, repo),
             before=lambda: shutil.rmtree(cache, ignore_errors=True)),
        Case("baseline metrics, warm", lambda: _run(metrics, repo)),
    ]  # fmt: skip


def _revisions(repo: Path, path: Path) -> str:
    rel = str(path.relative_to(repo))
    return subprocess.run(
        ["git", "rev-list", "--count", "HEAD", "--", rel],
        cwd=repo,
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()


def _verdicts(cases: list[Case]) -> dict[str, tuple[str, str]]:
    """Ratio to the peer (medians) and the issue's target, per memkb case."""
    peer, cold, warm, after, follow, hist, rules = (c.median for c in cases[:7])
    out = {
        cases[1].name: (f"{cold / peer:.2f}x git log", _mark(cold <= 2 * peer)),
        cases[2].name: (f"rules + {(warm - rules) * 1000:.0f} ms", _mark(warm < rules + 0.1)),
        cases[3].name: (f"{after / peer:.2f}x git log", _mark(after < 0.5)),
        cases[5].name: (f"{hist / follow:.2f}x git log --follow", _mark(hist < 1.0)),
    }
    if len(cases) == 9:  # the baseline's cold and warm, against the same peers
        base_cold, base_warm = cases[7].median, cases[8].median
        out[cases[7].name] = (f"{base_cold / peer:.2f}x git log; ours {cold / base_cold:.2f}x", "")
        out[cases[8].name] = (f"rules + {(base_warm - rules) * 1000:.0f} ms", "")
    return out


def main(argv: Sequence[str] | None = None) -> int:
    """Build or reuse the repository, time every case, print medians and ratios."""
    parser = argparse.ArgumentParser(prog="python -m tooling.bench.bench_history")
    parser.add_argument("--records", type=int, default=10_000)
    parser.add_argument("--commits", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument(
        "--baseline", type=Path, help="a tooling/ folder of another memkb to compare with"
    )
    args = parser.parse_args(argv)
    compile_package()  # time memkb as installed, its bytecode cached
    repo = HERE / "out" / f"history-{args.records}-{args.commits}"
    if not (repo / ".git").is_dir():
        print(f"building {repo} ...", file=sys.stderr)
        start = time.perf_counter()
        build(repo, args.records, args.commits)
        print(f"built in {time.perf_counter() - start:.1f} s", file=sys.stderr)
    count = subprocess.run(
        ["git", "rev-list", "--count", "HEAD"], cwd=repo, check=True, capture_output=True, text=True
    ).stdout.strip()
    newc = NewCommit(repo)
    with tempfile.TemporaryDirectory() as tmp:
        baseline = baseline_memkb(args.baseline, Path(tmp)) if args.baseline else None
        cases = _cases(repo, newc, baseline)
        load = os.getloadavg()[0]
        try:
            round_robin(cases, args.runs)
        finally:
            newc.undo()
    verdicts = _verdicts(cases)
    print(
        f"history: {count} commits, {args.records} records; {args.runs} rounds, cases "
        f"interleaved; load average {load:.1f} -> {os.getloadavg()[0]:.1f}"
    )
    print(f"  {'case':<40} {'median':>8}  {'min':>8}  {'cpu':>8}  {'ratio (medians)':<36} target")
    for case in cases:
        ratio, mark = verdicts.get(case.name, ("", ""))
        cpu = case.cpu_median
        print(
            f"  {case.name:<40} {case.median * 1000:6.0f} ms {min(case.times) * 1000:6.0f} ms"
            f" {'' if cpu is None else f'{cpu * 1000:6.0f} ms':>9}  {ratio:<36} {mark}"
        )
    peer_cpu, cold_cpu = cases[0].cpu_median, cases[1].cpu_median
    if peer_cpu and cold_cpu:
        print(f"  cold CPU / git log CPU: {cold_cpu / peer_cpu:.2f}x")
    return 0


def _mark(ok: bool) -> str:
    return "PASS" if ok else "MISS"


if __name__ == "__main__":
    raise SystemExit(main())
