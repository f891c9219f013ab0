"""Benchmark: a warm `memkb validate` (nothing changed) against `memkb rules`, same run.

Clones the valid synthetic KB (built or reused as bench_validate.py does), seals its answer
with one run, then times, --runs times and interleaved so background load hits every
series alike:
  - memkb warm: `memkb validate --repo CLONE`, the same command line again on the unchanged
    KB: answered express (memkb.cli.express, `.git/memkb/validate.output`) before typer
    loads, from the second timed round on (the first keeps the output);
  - memkb warm, sealed answer: the same, but with an environment variable that changes every
    run (MEMKB_BENCH_ROUND), so no output is ever kept for it: answered by typer and the
    sealed findings (`.git/memkb/validate.answer`), as every warm run was before the express;
  - memkb rules: the CLI's bare start-up, the yardstick (issue 12: warm <= 1.3x rules);
  - the scan alone: `memkb.kb.discover.scan` of the clone, timed inside a `python -c`
    process: the stat of every file, which any sound answer must pay;
  - with --baseline SRC (a `tooling/` folder of another memkb, e.g. main exported with
    `git archive main tooling | tar -x -C /tmp/base`): the same two commands run with
    PYTHONPATH=SRC, on a clone of their own (the answer's key holds the code's paths).
Wall and CPU (user + sys of the child, from os.wait4) medians are printed, and the ratio
and gap to `memkb rules`; under load, read the CPU columns. A measurement, never a test.

    .venv/bin/python -m tooling.bench.bench_warm [--records 10000] [--runs 15]
        [--baseline /tmp/base/tooling]
"""

from __future__ import annotations

import argparse
import contextlib
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

if __package__ in (None, ""):  # run as a script: make `tooling.bench` importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from tooling.bench.bench_validate import HERE, TARGET_WARM_VS_RULES, clone_kb
from tooling.bench.bench_write import ENTRY
from tooling.bench.bytecode import compile_package

from memkb.kb.discover import RACY_NS
from memkb.validation.warm import answer_path

BIN = Path(sys.executable).parent
MEMKB = str(BIN / "memkb")
SEALED = "memkb validate, sealed answer"
ROUND = "MEMKB_BENCH_ROUND"  # a new value every run: a command line no output is kept for
# The scan timed inside its process (CPU of the call alone, printed in ms), so imports
# and interpreter start-up stay out of it.
SCAN = (
    "import sys, time; from pathlib import Path; from memkb.kb.scan import scan; "
    "t = time.process_time(); scan(Path(sys.argv[1])); print((time.process_time() - t) * 1e3)"
)


@dataclass
class Series:
    """Repeated runs of one command: wall and CPU seconds, exit codes, the first output."""

    wall: list[float] = field(default_factory=list)
    cpu: list[float] = field(default_factory=list)
    codes: set[int] = field(default_factory=set)
    out: bytes | None = None
    printed: list[float] = field(default_factory=list)  # what the child printed, as a number

    def ms(self) -> tuple[float, float]:
        return statistics.median(self.wall) * 1e3, statistics.median(self.cpu) * 1e3


def run_child(argv: Sequence[str], env: dict[str, str], into: Series, keep: bool) -> None:
    """Run `argv` to completion; add its wall time and its own CPU time to `into`."""
    start = time.perf_counter()
    proc = subprocess.Popen(argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    out = proc.stdout.read() if proc.stdout else b""
    _, status, usage = os.wait4(proc.pid, 0)  # this child's rusage alone
    wall = time.perf_counter() - start
    if proc.stdout:
        proc.stdout.close()
    into.codes.add(os.waitstatus_to_exitcode(status))
    if into.out is None:
        into.out = out
    with contextlib.suppress(ValueError):
        into.printed.append(float(out))
    if keep:
        into.wall.append(wall)
        into.cpu.append(usage.ru_utime + usage.ru_stime)


def environment(pythonpath: Path | None) -> dict[str, str]:
    """The children's environment: bytecode written and read (as an installed memkb has
    it), and PYTHONPATH only when a baseline is run."""
    env = {
        k: v for k, v in os.environ.items() if k not in ("PYTHONDONTWRITEBYTECODE", "PYTHONPATH")
    }
    if pythonpath is not None:
        env["PYTHONPATH"] = str(pythonpath)
    return env


def commands(
    clone: Path, base_clone: Path | None, baseline: Path | None
) -> dict[str, tuple[list[str], dict[str, str]]]:
    own = environment(None)
    found = {
        "memkb validate, warm": ([MEMKB, "validate", "--repo", str(clone)], own),
        SEALED: ([MEMKB, "validate", "--repo", str(clone)], {**own, ROUND: "0"}),
        "memkb rules": ([MEMKB, "rules"], own),
        "the scan (in-process)": ([sys.executable, "-c", SCAN, str(clone)], own),
    }
    if baseline is not None and base_clone is not None:
        theirs = environment(baseline)
        memkb = [sys.executable, "-c", ENTRY]  # its own entry point, not our console script
        found["baseline validate, warm"] = ([*memkb, "validate", "--repo", str(base_clone)], theirs)
        found["baseline rules"] = ([*memkb, "rules"], theirs)
    return found


def measure(todo: dict[str, tuple[list[str], dict[str, str]]], runs: int) -> dict[str, Series]:
    """Every command `runs` times, interleaved; a first untimed round seals the answers and
    writes the bytecode."""
    series = {name: Series() for name in todo}
    for round_ in range(runs + 1):
        for name, (argv, env) in todo.items():
            env = {**env, ROUND: str(round_)} if ROUND in env else env
            run_child(argv, env, series[name], keep=round_ > 0)
    return series


def report(series: dict[str, Series], runs: int) -> list[str]:
    lines = [f"median of {runs} runs", "", f"{'command':28} {'wall ms':>8} {'cpu ms':>8}"]
    lines += [f"{name:28} {s.ms()[0]:8.1f} {s.ms()[1]:8.1f}" for name, s in series.items()]
    lines.append("")
    pairs = [("memkb validate, warm", "memkb rules", "this memkb")]
    pairs.append((SEALED, "memkb rules", "this memkb, sealed answer only (no express)"))
    if "baseline rules" in series:
        pairs.append(("baseline validate, warm", "baseline rules", "baseline"))
    for warm_name, rules_name, who in pairs:
        (ww, wc), (rw, rc) = series[warm_name].ms(), series[rules_name].ms()
        verdict = "PASS" if ww / rw <= TARGET_WARM_VS_RULES else "MISS"
        lines.append(
            f"{who}: warm / rules {ww / rw:.2f}x wall, {wc / rc:.2f}x cpu "
            f"(target <= {TARGET_WARM_VS_RULES}x) {verdict}; gap {ww - rw:+.1f} ms wall, "
            f"{wc - rc:+.1f} ms cpu"
        )
    scan = statistics.median(series["the scan (in-process)"].printed)
    lines.append(f"the scan alone (memkb.kb.scan.scan, cpu inside its process): {scan:.1f} ms")
    return lines


def problems(series: dict[str, Series]) -> list[str]:
    """What voids the timings: a failed command, or warm outputs that differ."""
    found = [f"{n}: exit codes {sorted(s.codes)}" for n, s in series.items() if s.codes != {0}]
    if "baseline validate, warm" in series:
        ours, theirs = series["memkb validate, warm"].out, series["baseline validate, warm"].out
        if ours != theirs:
            found.append(f"warm outputs differ: {ours!r} vs {theirs!r}")
    return found


def main(argv: Sequence[str] | None = None) -> int:
    """Measure and print; 0, or 2 when a run misbehaved (timings void)."""
    parser = argparse.ArgumentParser(
        prog="python -m tooling.bench.bench_warm",
        description=__doc__.split("\n\n")[0] if __doc__ else None,
    )
    parser.add_argument("--records", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=15, help="repetitions (median reported)")
    parser.add_argument("--out", type=Path, default=HERE / "out", help="where KBs are kept")
    parser.add_argument("--baseline", type=Path, help="a tooling/ folder of another memkb")
    args = parser.parse_args(argv)
    compile_package()  # time memkb as installed, its bytecode cached
    args.out.mkdir(parents=True, exist_ok=True)
    clone = clone_kb(args.out, args.records, "warm")
    base_clone = clone_kb(args.out, args.records, "warm-baseline") if args.baseline else None
    # A file checked out just now is too recent for its stat to be trusted: the sealing
    # round must come after RACY_NS, or no answer is stored and every run is a miss.
    time.sleep(RACY_NS / 1e9 + 0.5)
    load_before = os.getloadavg()[0]
    series = measure(commands(clone, base_clone, args.baseline), args.runs)
    if not answer_path(clone).is_file():
        print("bench: warning: no sealed answer: the warm runs were misses", file=sys.stderr)
    lines = report(series, args.runs)
    lines.append(f"1-minute load average: {load_before:.2f} before, {os.getloadavg()[0]:.2f} after")
    print("\n".join(lines))
    bad = problems(series)
    for problem in bad:
        print(f"bench: warning: {problem}", file=sys.stderr)
    return 2 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
