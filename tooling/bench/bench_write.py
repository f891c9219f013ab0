"""Benchmark: the cost of one memory write, and of many writers on one clone.

On a synthetic 10,000-record KB and a 100-record KB (tooling/bench/synth.py,
generated once under tooling/bench/out/ and cloned fresh for every run, so the
kept copies are never written to), it measures, --runs times each, interleaved
so both sizes see the same machine load, and reports medians:
  - `memkb record` + commit, as a process (what an agent pays, Python start included);
  - the same write through the library (`memkb.write.authoring.record_outcome`), and, as a
    diagnostic only, the same with validation stubbed out (what lock, file and Git cost);
  - the peer a user would otherwise use: write the YAML file, `git add`, `git commit`;
  - 8 writers recording outcomes into one clone at once, commits/s in total: as
    long-lived processes calling the library, and as `memkb record` processes.
Then where the CPU of one `memkb record` goes: processes that stop after Python's start,
typer, memkb's imports and the checkers, against the whole record (CPU time of each,
children included). Targets (from issue 3) are printed as PASS/MISS for information only: this is a
measurement, never a test. `--profile` prints where one library write spends its
time on the big KB. `--baseline SRC` (a `tooling/` folder of another memkb, e.g.
`git archive main tooling | tar -x -C /tmp/base`) also runs that memkb's `memkb record`,
alone and as 8 writers, in the same rounds: before and after as a ratio of one run.

    .venv/bin/python -m tooling.bench.bench_write [--runs 9] [--writers 8] [--profile]
        [--baseline /tmp/base/tooling]
"""

from __future__ import annotations

import argparse
import cProfile
import io
import os
import pstats
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path

if __package__ in (None, ""):  # run as a script: make `tooling.bench` importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from tooling.bench import synth
from tooling.bench.bytecode import compile_package

from memkb.write import transaction as writer
from memkb.write.authoring import record_outcome

HERE = Path(__file__).resolve().parent
MEMKB = Path(sys.executable).parent / "memkb"
TARGET_MS, TARGET_RATIO, TARGET_RATE = 400.0, 1.5, 10.0
FIELDS = {"outcome": "success", "domains": ["e-commerce"], "droids_used": ["security-auditor"]}
# One writer: `count` outcomes through the library (a long-lived agent process) or
# one `memkb record` process each (an agent shelling out), starting on a signal.
WRITER = """
import os, subprocess, sys
from pathlib import Path
from memkb.write import transaction as writer
from memkb.write.authoring import record_outcome
from memkb.write.transaction import WriteOptions
import resource
root, name, count, mode, memkb = Path(sys.argv[1]), sys.argv[2], int(sys.argv[3]), *sys.argv[4:]
def cpu():
    return sum(r.ru_utime + r.ru_stime for r in
               map(resource.getrusage, (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN)))
sys.stdin.readline()  # start together
start = cpu()
for n in range(count):
    if mode == "process":
        done = subprocess.run([memkb, "record", "--project", f"{name} {n}", "--outcome",
                               "success", "--domain", "e-commerce", "--droid",
                               "security-auditor", "--repo", str(root)], capture_output=True,
                              text=True, env={**os.environ, "MEMKB_LOCK_TIMEOUT": "900"})
        if done.returncode:
            sys.exit(f"memkb record exited {done.returncode}: {done.stderr}")
    else:
        record_outcome(root, {"project": f"{name} {n}", "outcome": "success",
                              "domains": ["e-commerce"], "droids_used": ["security-auditor"]},
                       WriteOptions(lock_timeout=900))
print(cpu() - start)  # CPU of the writes, this writer's own start-up left out
"""


# The console script (memkb.cli.entry.main; `run` before it had one).
ENTRY = 'import sys; from memkb.cli import entry; sys.exit(getattr(entry, "main", entry.run)())'
BASELINE_SCRIPT = """#!/bin/sh
PYTHONPATH={src} exec {python} -c '{entry}' "$@"
"""


def baseline_memkb(src: Path, into: Path) -> Path:
    """An executable `memkb` that runs the memkb whose package is `src/memkb`, with this
    interpreter (the same dependencies), its bytecode compiled."""
    if not (src / "memkb" / "cli" / "entry.py").is_file():
        raise SystemExit(f"bench: {src} holds no memkb/cli/entry.py (pass a tooling/ folder)")
    compile_package(src / "memkb")
    script = into / "memkb-baseline"
    script.write_text(BASELINE_SCRIPT.format(src=src.resolve(), python=sys.executable, entry=ENTRY))
    script.chmod(0o755)
    subprocess.run([str(script), "--version"], check=True, capture_output=True)
    return script


def pristine(out: Path, n: int) -> Path:
    """A generated KB of `n` records kept under `out` (made once, as a Git repository)."""
    root = out / f"write-kb-{n}"
    if not (root / ".git").is_dir():
        shutil.rmtree(root, ignore_errors=True)
        start = time.perf_counter()
        synth.generate_kb(root, n)
        synth.git_commit_all(root)
        print(f"generated {root.name} in {time.perf_counter() - start:.1f}s", file=sys.stderr)
    return root


def fresh_clone(source: Path, into: Path) -> Path:
    """A clone of `source` to write to, its validation cache warmed as in daily use."""
    subprocess.run(["git", "clone", "-q", str(source), str(into)], check=True)
    for key, value in (("user.name", "bench"), ("user.email", "bench@invalid")):
        subprocess.run(["git", "config", key, value], cwd=into, check=True)
    subprocess.run([str(MEMKB), "validate", "--repo", str(into)], check=True, capture_output=True)
    return into


def timed(action: Callable[[Path, int], object], root: Path, n: int) -> float:
    start = time.perf_counter()
    action(root, n)
    return time.perf_counter() - start


# CPU seconds (user + system, git children included) of each `memkb record` process, by
# (executable, KB size): less swayed than wall time by other load on a shared machine.
CPU: dict[tuple[Path, int], list[float]] = {}


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def cli_write(root: Path, n: int, memkb: Path = MEMKB) -> None:
    args = [
        "record",
        "--project",
        f"cli {n}",
        "--outcome",
        "success",
        "--domain",
        "e-commerce",
        "--droid",
        "security-auditor",
        "--repo",
        str(root),
    ]
    before = _children_cpu()
    subprocess.run([str(memkb), *args], check=True, capture_output=True)
    size = int(Path(root).name.removeprefix("kb"))
    CPU.setdefault((memkb, size), []).append(_children_cpu() - before)


def git_children(root: Path, memkb: Path = MEMKB) -> int:
    """How many git processes one `memkb record` runs (counted from GIT_TRACE)."""
    with tempfile.NamedTemporaryFile(prefix="memkb-bench-trace-") as trace:
        subprocess.run(
            [str(memkb), "record", "--project", f"trace {memkb.name}", "--outcome", "success",
             "--domain", "e-commerce", "--droid", "security-auditor", "--repo", str(root)],
            check=True, capture_output=True, env={**os.environ, "GIT_TRACE": trace.name},
        )  # fmt: skip
        return Path(trace.name).read_text().count("trace: built-in: git ")


# Where the CPU of one `memkb record` goes: processes that stop after ever more of its
# work, interleaved run by run; each line is what that step adds to the one before.
CLI_IMPORTS = "import typer, memkb.cli.entry, memkb.cli.author_cmd, memkb.write.authoring"
SPLIT_STEPS = {
    "python -c pass": ["-c", "pass"],
    "import typer": ["-c", "import typer"],
    "memkb's CLI and write path imports": ["-c", CLI_IMPORTS],
    "load_checkers (engine, detectors...)": [
        "-c",
        f"{CLI_IMPORTS}; from memkb.write.transaction import load_checkers; load_checkers()",
    ],
}


def cpu_split(root: Path, runs: int) -> list[str]:
    """Median CPU (user + system, children included) of each step of SPLIT_STEPS and of a
    whole `memkb record`, with what each adds to the previous one."""
    seconds: dict[str, list[float]] = {}
    for run in range(runs):
        for step, args in SPLIT_STEPS.items():
            before = _children_cpu()
            subprocess.run([sys.executable, *args], check=True, capture_output=True)
            seconds.setdefault(step, []).append(_children_cpu() - before)
        before = _children_cpu()
        cli_write(root, 200_000 + run)
        seconds.setdefault("memkb record (+ the write, git in it)", []).append(
            _children_cpu() - before
        )
    lines, previous = [f"where the CPU of one memkb record goes (median of {runs}):"], 0.0
    for step, values in seconds.items():
        total = statistics.median(values) * 1000
        lines.append(f"  {step:38} {total:5.0f} ms  (+{total - previous:3.0f} ms)")
        previous = total
    return lines


def api_write(root: Path, n: int) -> None:
    record_outcome(root, {"project": f"api {n}", **FIELDS})


def unvalidated_write(root: Path, n: int) -> None:
    """A diagnostic, not a way to write: the library write with validation stubbed out,
    i.e. what the lock, the file and Git cost on their own (a lower bound)."""
    saved = writer.check_edit
    writer.check_edit = lambda _root, _edit, _target=None: []
    try:
        record_outcome(root, {"project": f"unvalidated {n}", **FIELDS})
    finally:
        writer.check_edit = saved


def git_write(root: Path, n: int) -> None:
    """The peer: what a person would do by hand (write the file, git add, git commit)."""
    relpath = f"kb/outcomes/2024/2024-12-31-git-{n}.yaml"
    text = (
        f"kind: outcome\nschema_version: 2\nid: 2024-12-31-git-{n}\nproject: git {n}\n"
        "date: 2024-12-31\noutcome: success\ndomains: [e-commerce]\n"
        "droids_used: [security-auditor]\n"
    )
    (root / relpath).parent.mkdir(parents=True, exist_ok=True)
    (root / relpath).write_text(text)
    subprocess.run(["git", "add", relpath], cwd=root, check=True)
    subprocess.run(["git", "commit", "-q", "-m", f"outcome git {n}"], cwd=root, check=True)


BASELINE_WAY = "  baseline memkb record"


def measure_writes(
    roots: dict[int, Path], runs: int, baseline: Path | None = None
) -> dict[tuple[str, int], list[float]]:
    """Seconds per write, by (way, KB size); sizes and ways interleaved run by run."""
    ways: dict[str, Callable[[Path, int], object]] = {
        "memkb record (process)": cli_write,
        "record_outcome (library)": api_write,
        "  same, validation stubbed out": unvalidated_write,
        "file + git add + git commit": git_write,
    }
    if baseline is not None:
        ways[BASELINE_WAY] = lambda root, n: cli_write(root, 100_000 + n, baseline)
    times: dict[tuple[str, int], list[float]] = {}
    for run in range(runs):
        for size, root in roots.items():
            for way, func in ways.items():
                times.setdefault((way, size), []).append(timed(func, root, run))
    return times


def _commit_count(root: Path) -> int:
    """Commits reachable from HEAD: how many writes landed."""
    out = subprocess.run(
        ["git", "rev-list", "--count", "HEAD"], cwd=root, capture_output=True, text=True, check=True
    ).stdout
    return int(out)


# Cores the writers kept busy (their CPU over the wall time), by (mode, KB size): close to
# all of them means CPU is the bound; well under it, the writers waited (lock, disk).
CORES_USED: dict[tuple[str, int], list[float]] = {}


def measure_writers(
    root: Path,
    writers: int,
    each: int,
    mode: str,
    memkb: Path = MEMKB,
    key: tuple[str, int] | None = None,
) -> float:
    """Commits per second of `writers` processes writing `each` outcomes into `root`."""
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", WRITER, str(root), f"w{i}", str(each), mode, str(memkb)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        for i in range(writers)
    ]
    time.sleep(1.0)  # let every interpreter start and import before the gun
    before = _commit_count(root)
    start = time.perf_counter()
    for proc in procs:
        assert proc.stdin is not None
        proc.stdin.write("go\n")
        proc.stdin.flush()
    codes = [proc.wait() for proc in procs]
    seconds = time.perf_counter() - start
    cpu = sum(float((proc.stdout.read() if proc.stdout else "") or 0) for proc in procs)
    if key is not None:
        CORES_USED.setdefault(key, []).append(cpu / seconds)
    after = _commit_count(root)
    if any(codes) or after - before != writers * each:
        raise SystemExit(
            f"bench: writers failed: exit codes {codes}, "
            f"{after - before} commits of {writers * each}"
        )
    return (after - before) / seconds


def profile_one(root: Path) -> str:
    """Where one library write spends its time (top 25 by cumulative time)."""
    profiler = cProfile.Profile()
    profiler.runcall(api_write, root, 10_000)
    out = io.StringIO()
    pstats.Stats(profiler, stream=out).sort_stats("cumulative").print_stats(25)
    return out.getvalue()


def verdict(ok: bool) -> str:
    return "PASS" if ok else "MISS"


def report(
    times: dict[tuple[str, int], list[float]],
    big: int,
    small: int,
    rates: dict[tuple[str, int], float],
    runs: int,
    writers: int,
    children: dict[str, int] | None = None,
) -> str:
    med = {key: statistics.median(v) * 1000 for key, v in times.items()}
    lines = [
        f"memkb write benchmark: median of {runs} runs, {os.cpu_count()} cores",
        "",
        f"{'write':30} {f'{small} records':>13} {f'{big} records':>14} {'ratio':>7}",
    ]
    for way in dict.fromkeys(w for w, _ in times):
        lines.append(
            f"{way:30} {med[way, small]:10.0f} ms {med[way, big]:11.0f} ms "
            f"{med[way, big] / med[way, small]:6.2f}x"
        )
    cli_big, cli_small = med["memkb record (process)", big], med["memkb record (process)", small]
    peer = med["file + git add + git commit", big]
    lines += [
        "",
        f"memkb record vs hand-made git commit on {big} records: "
        f"{cli_big / peer:.1f}x ({cli_big:.0f} ms vs {peer:.0f} ms)",
        "",
    ]
    for (mode, size), rate in rates.items():
        lines.append(
            f"{writers} concurrent writers ({mode}) on one clone, {size} records: "
            f"{rate:.1f} commits/s"
        )
    for (memkb, size), seconds in sorted(CPU.items(), key=lambda kv: (str(kv[0][0]), kv[0][1])):
        who = "memkb record" if memkb == MEMKB else "baseline memkb record"
        cpu = statistics.median(seconds)
        # With every core busy, writers cannot beat cores / CPU of one write: the measured
        # commits/s against this ceiling says what the waiting (lock, I/O) costs on top.
        lines.append(
            f"CPU of one {who} process (git included), {size} records: "
            f"{cpu * 1000:.0f} ms (ceiling on {os.cpu_count()} cores: "
            f"{(os.cpu_count() or 1) / cpu:.1f} commits/s)"
        )
    for (mode, size), used in CORES_USED.items():
        lines.append(
            f"{writers} writers ({mode}), {size} records: their CPU kept "
            f"{statistics.median(used):.2f} of {os.cpu_count()} cores busy"
        )
    for who, count in (children or {}).items():
        lines.append(f"git processes run by one {who}: {count}")
    if (BASELINE_WAY, big) in med:
        lines.append(
            f"memkb record vs baseline on {big} records: {cli_big / med[BASELINE_WAY, big]:.2f}x"
            " the wall time"
        )
        baseline = next(m for m, _ in CPU if m != MEMKB)
        for size in (small, big):
            ours, theirs = (statistics.median(CPU[m, size]) for m in (MEMKB, baseline))
            lines.append(f"  CPU, {size} records: {ours / theirs:.2f}x the baseline's")
    for (mode, size), rate in rates.items():
        if mode == "process, baseline":
            lines.append(
                f"{writers} writers, memkb record vs baseline, {size} records: "
                f"{rates['process', size] / rate:.2f}x the commits/s"
            )
    lines += [
        "",
        "targets (issue 3):",
        f"  record + commit on {big} records < {TARGET_MS:.0f} ms: "
        f"{verdict(cli_big < TARGET_MS)} ({cli_big:.0f} ms)",
        f"  {big} vs {small} records <= {TARGET_RATIO}x: "
        f"{verdict(cli_big / cli_small <= TARGET_RATIO)} ({cli_big / cli_small:.2f}x)",
    ]
    lines += [
        f"  {writers} writers ({mode}) >= {TARGET_RATE:.0f} commits/s ({size} records): "
        f"{verdict(rate >= TARGET_RATE)} ({rate:.1f})"
        for (mode, size), rate in rates.items()
    ]
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    """Build or reuse the KBs, measure, print the table; always 0 (a measurement)."""
    parser = argparse.ArgumentParser(
        prog="python -m tooling.bench.bench_write",
        description=__doc__.split("\n\n")[0] if __doc__ else None,
    )
    parser.add_argument("--records", type=int, default=10_000, help="the big KB")
    parser.add_argument("--small", type=int, default=100, help="the small KB")
    parser.add_argument("--runs", type=int, default=9, help="repetitions (median reported)")
    parser.add_argument("--writers", type=int, default=8)
    parser.add_argument("--each", type=int, default=10, help="outcomes per writer")
    parser.add_argument("--out", type=Path, default=HERE / "out", help="where KBs are kept")
    parser.add_argument("--profile", action="store_true", help="profile one library write")
    parser.add_argument(
        "--writer-rounds", type=int, default=1, help="rounds of the writers (median reported)"
    )
    parser.add_argument(
        "--baseline", type=Path, help="a tooling/ folder of another memkb to compare with"
    )
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    compile_package(Path(writer.__file__).resolve().parents[1])
    sources = {n: pristine(args.out, n) for n in (args.records, args.small)}
    with tempfile.TemporaryDirectory(prefix="memkb-bench-write-") as tmp:
        baseline = baseline_memkb(args.baseline, Path(tmp)) if args.baseline else None
        roots = {n: fresh_clone(src, Path(tmp) / f"kb{n}") for n, src in sources.items()}
        times = measure_writes(roots, args.runs, baseline)
        modes = {"library": MEMKB, "process": MEMKB}
        if baseline is not None:
            modes["process, baseline"] = baseline
        # Rounds alternate the modes, so that a burst of other load hits each alike.
        samples: dict[tuple[str, int], list[float]] = {}
        for round_ in range(args.writer_rounds):
            for mode, memkb in modes.items():
                for n, src in sorted(sources.items()):
                    clone = Path(tmp) / f"writers-{mode.replace(', ', '-')}-{n}-{round_}"
                    rate = measure_writers(
                        fresh_clone(src, clone),
                        args.writers,
                        args.each,
                        mode.split(",")[0],
                        memkb,
                        key=(mode, n),
                    )
                    samples.setdefault((mode, n), []).append(rate)
                    shutil.rmtree(clone)
        rates = {key: statistics.median(values) for key, values in samples.items()}
        children = {"memkb record": git_children(roots[args.records])}
        if baseline is not None:
            children["baseline memkb record"] = git_children(roots[args.records], baseline)
        print(report(times, args.records, args.small, rates, args.runs, args.writers, children))
        print("\n".join(["", *cpu_split(roots[args.records], max(args.runs, 5))]))
        if args.profile:
            print("\none library write on the big KB, by cumulative time:")
            print(profile_one(roots[args.records]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
