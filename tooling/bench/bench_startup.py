"""Benchmark: the start-up of every read command, and `memkb list` of 10,000 records.

Start-up, on a copy of this project's own KB (a Git repository of a dozen records, so
the time is the command's start, not its work): `memkb --help`, `--version`, `show`,
`list --kind`, `rules` and a warm `metrics`, against `python -c pass` (the interpreter)
and `python -c "import typer"` (the floor of any typer CLI), interleaved run by run so
background load hits every series alike. Issue 12's target, printed as PASS/MISS for
information: every read command within 1.5x of `import typer`.

Listing, on the synthetic KB of --records records (tooling/bench/synth.py, generated or
reused as bench_validate.py does): `memkb list` warm (the listing index under
.git/memkb/ answers), cold (the index deleted: every file parsed once), `list --kind
pattern` warm and, as the peer, `git ls-files kb` (Git's own index of the same files).

Medians of wall time and of CPU time (user + system of the child, from os.wait4: on a
busy machine CPU time says more about the work than wall time does).

    .venv/bin/python -m tooling.bench.bench_startup [--runs 11] [--records 10000]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

if __package__ in (None, ""):  # run as a script: make `tooling.bench` importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from tooling.bench.bench_validate import BIN, clone_kb, git

from memkb.cachefile import cache_dir
from memkb.kb.index import LIST_CACHE

HERE = Path(__file__).resolve().parent
PROJECT = HERE.parents[1]
PYTHON = sys.executable
MEMKB = str(BIN / "memkb")
TARGET_RATIO = 1.5


@dataclass
class Series:
    """Wall and CPU seconds of repeated runs of one command line."""

    wall: list[float] = field(default_factory=list)
    cpu: list[float] = field(default_factory=list)
    codes: set[int] = field(default_factory=set)
    out: str = ""

    def wall_ms(self) -> float:
        return statistics.median(self.wall) * 1000

    def cpu_ms(self) -> float:
        return statistics.median(self.cpu) * 1000


def run_child(argv: Sequence[str], cwd: Path, series: Series) -> None:
    """Run `argv` in `cwd`, adding its wall time, CPU time, exit code and output."""
    with tempfile.TemporaryFile() as out:
        start = time.perf_counter()
        proc = subprocess.Popen(argv, cwd=cwd, stdout=out, stderr=subprocess.STDOUT)
        _, status, usage = os.wait4(proc.pid, 0)
        series.wall.append(time.perf_counter() - start)
        series.cpu.append(usage.ru_utime + usage.ru_stime)
        series.codes.add(os.waitstatus_to_exitcode(status))
        out.seek(0)
        series.out = out.read().decode("utf-8", errors="replace")


def own_kb(into: Path) -> Path:
    """A Git repository holding this project's kb/ and schemas/ (one commit)."""
    for folder in ("kb", "schemas"):
        shutil.copytree(PROJECT / folder, into / folder)
    git(into, "init", "-q", "-b", "main")
    git(into, "add", "-A")
    git(into, "-c", "user.name=bench", "-c", "user.email=bench@invalid", "commit", "-qm", "kb")
    return into


def first_pattern(root: Path) -> str:
    return sorted((root / "kb" / "patterns").glob("*.yaml"))[0].stem


def measure(commands: dict[str, list[str]], cwd: Path, runs: int) -> dict[str, Series]:
    """Every command `runs` times, interleaved, after one unmeasured run (warms caches)."""
    series = {name: Series() for name in commands}
    for argv in commands.values():
        subprocess.run(argv, cwd=cwd, capture_output=True, check=False)
    for _ in range(runs):
        for name, argv in commands.items():
            run_child(argv, cwd, series[name])
    return series


def startup_commands(root: Path) -> dict[str, list[str]]:
    pattern = first_pattern(root)
    return {
        "python -c pass": [PYTHON, "-c", "pass"],
        'python -c "import typer"': [PYTHON, "-c", "import typer"],
        "memkb --help": [MEMKB, "--help"],
        "memkb --version": [MEMKB, "--version"],
        "memkb show pattern ID": [MEMKB, "show", "pattern", pattern],
        "memkb list --kind pattern": [MEMKB, "list", "--kind", "pattern"],
        "memkb rules": [MEMKB, "rules"],
        "memkb metrics (warm)": [MEMKB, "metrics"],
    }


def listing(root: Path, runs: int) -> dict[str, Series]:
    """Warm and cold unfiltered listings, a filtered one and `git ls-files`, interleaved."""
    names = ("memkb list (warm)", "memkb list (cold)", "memkb list --kind pattern", "peer")
    series = {name: Series() for name in names}
    subprocess.run([MEMKB, "list"], cwd=root, capture_output=True, check=False)
    for _ in range(runs):
        run_child([MEMKB, "list"], root, series["memkb list (warm)"])
        (cache_dir(root) / LIST_CACHE).unlink(missing_ok=True)
        run_child([MEMKB, "list"], root, series["memkb list (cold)"])
        run_child([MEMKB, "list", "--kind", "pattern"], root, series["memkb list --kind pattern"])
        run_child(["git", "ls-files", "kb"], root, series["peer"])
    return series


def row(name: str, s: Series, base: Series) -> str:
    return (
        f"{name:40} {s.wall_ms():8.1f} {s.cpu_ms():8.1f} "
        f"{s.wall_ms() / base.wall_ms():7.2f}x {s.cpu_ms() / base.cpu_ms():7.2f}x"
    )


def startup_report(series: dict[str, Series], runs: int) -> list[str]:
    typer_s = series['python -c "import typer"']
    lines = [
        f"start-up on this project's KB: median of {runs} runs, {os.cpu_count()} cpus",
        "",
        f"{'command':40} {'wall ms':>8} {'cpu ms':>8} {'wall/typer':>8} {'cpu/typer':>8}",
    ]
    lines += [row(name, s, typer_s) for name, s in series.items()]
    lines += ["", f"target: every read command <= {TARGET_RATIO}x `import typer` (wall, median)"]
    for name, s in list(series.items())[2:]:
        ratio = s.wall_ms() / typer_s.wall_ms()
        verdict = "PASS" if ratio <= TARGET_RATIO else "MISS"
        cpu = s.cpu_ms() / typer_s.cpu_ms()
        lines.append(f"  {name:40} {ratio:5.2f}x {verdict} (cpu {cpu:.2f}x)")
    return lines


def listing_report(series: dict[str, Series], records: int, runs: int) -> list[str]:
    peer = series["peer"]
    lines = [
        "",
        f"listing {records} records: median of {runs} runs",
        "",
        f"{'command':40} {'wall ms':>8} {'cpu ms':>8} {'wall/git':>8} {'cpu/git':>8}",
    ]
    lines += [
        row("git ls-files kb" if name == "peer" else name, s, peer) for name, s in series.items()
    ]
    return lines


def problems(startup: dict[str, Series], lists: dict[str, Series], records: int) -> list[str]:
    """What makes the timings meaningless: a failed command, a listing that is short."""
    found = [
        f"{name}: exit codes {sorted(s.codes)}"
        for name, s in {**startup, **lists}.items()
        if s.codes != {0}
    ]
    for name in ("memkb list (warm)", "memkb list (cold)"):
        count = sum(1 for line in lists[name].out.splitlines()[1:-1] if line.strip())
        if count != records:
            found.append(f"{name} listed {count} records, not {records}")
    return found


def main(argv: Sequence[str] | None = None) -> int:
    """Measure and print both tables; 0, or 2 when a run misbehaved (timings void)."""
    parser = argparse.ArgumentParser(
        prog="python -m tooling.bench.bench_startup",
        description=__doc__.split("\n\n")[0] if __doc__ else None,
    )
    parser.add_argument("--runs", type=int, default=11, help="repetitions (median reported)")
    parser.add_argument("--records", type=int, default=10_000, help="records of the listed KB")
    parser.add_argument("--out", type=Path, default=HERE / "out", help="where KBs are kept")
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    load_before = os.getloadavg()[0]
    big = clone_kb(args.out, args.records, "startup")
    with tempfile.TemporaryDirectory(prefix="memkb-bench-startup-") as tmp:
        small = own_kb(Path(tmp) / "kb")
        startup = measure(startup_commands(small), small, args.runs)
    lists = listing(big, args.runs)
    lines = startup_report(startup, args.runs) + listing_report(lists, args.records, args.runs)
    load_after = os.getloadavg()[0]
    lines.append(f"\n1-minute load average: {load_before:.2f} before, {load_after:.2f} after")
    print("\n".join(lines))
    bad = problems(startup, lists, args.records)
    for problem in bad:
        print(f"bench: warning: {problem}", file=sys.stderr)
    return 2 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
