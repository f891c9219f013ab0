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
busy machine CPU time says more about the work than wall time does). Children run with
bytecode caching on (PYTHONDONTWRITEBYTECODE removed from their environment), as an
installed memkb runs: without it every run compiles memkb's sources again.

With `--baseline SRC` (the `tooling/` folder of another memkb, e.g. `git archive main
tooling | tar -x -C /tmp/base`), every memkb series is also run with that memkb, in
the same rounds, and the ratio to it is printed: a change judged against its base under
the same load.

    .venv/bin/python -m tooling.bench.bench_startup [--runs 11] [--records 10000]
        [--baseline /tmp/base/tooling]
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
from tooling.bench.bytecode import compile_package

from memkb.cachefile import cache_dir
from memkb.kb.index import LIST_CACHE

HERE = Path(__file__).resolve().parent
PROJECT = HERE.parents[1]
PYTHON = sys.executable
MEMKB = str(BIN / "memkb")
TARGET_RATIO = 1.5
# The console script's own line (memkb.cli.entry.main; `run` before it had one), for a
# baseline memkb run with this interpreter.
ENTRY = 'import sys; from memkb.cli import entry; sys.exit(getattr(entry, "main", entry.run)())'
BASELINE = "  baseline"  # the name prefix of a series run with --baseline's memkb
# What the children see: bytecode cached as for an installed package.
CHILD_ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}


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


@dataclass(frozen=True)
class Memkb:
    """How to start a memkb: the console script, or a baseline's package run with this
    interpreter (PYTHONPATH=SRC, so both use the same dependencies)."""

    argv: tuple[str, ...] = (MEMKB,)
    env: tuple[tuple[str, str], ...] = ()

    def __call__(self, *args: str) -> list[str]:
        return [*self.argv, *args]

    def environment(self) -> dict[str, str]:
        return {**CHILD_ENV, **dict(self.env)}


def baseline_memkb(src: Path) -> Memkb:
    """The memkb whose package is `src/memkb`; SystemExit if `src` holds none."""
    if not (src / "memkb" / "cli" / "entry.py").is_file():
        raise SystemExit(f"bench: {src} holds no memkb/cli/entry.py (pass a tooling/ folder)")
    return Memkb((PYTHON, "-c", ENTRY), (("PYTHONPATH", str(src.resolve())),))


OURS = Memkb()


def run_child(
    argv: Sequence[str], cwd: Path, series: Series, env: dict[str, str] | None = None
) -> None:
    """Run `argv` in `cwd`, adding its wall time, CPU time, exit code and output."""
    with tempfile.TemporaryFile() as out:
        start = time.perf_counter()
        proc = subprocess.Popen(
            argv, cwd=cwd, stdout=out, stderr=subprocess.STDOUT, env=env or CHILD_ENV
        )
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


Command = tuple[list[str], dict[str, str]]  # argv and environment


def measure(commands: dict[str, Command], cwd: Path, runs: int) -> dict[str, Series]:
    """Every command `runs` times, interleaved, after one unmeasured run (warms caches
    and writes bytecode)."""
    series = {name: Series() for name in commands}
    for argv, env in commands.values():
        subprocess.run(argv, cwd=cwd, capture_output=True, check=False, env=env)
    for _ in range(runs):
        for name, (argv, env) in commands.items():
            run_child(argv, cwd, series[name], env)
    return series


def memkb_args(root: Path) -> dict[str, list[str]]:
    """The read commands timed, by name: their arguments."""
    pattern = first_pattern(root)
    return {
        "memkb --help": ["--help"],
        "memkb --version": ["--version"],
        "memkb show pattern ID": ["show", "pattern", pattern],
        "memkb list --kind pattern": ["list", "--kind", "pattern"],
        "memkb rules": ["rules"],
        "memkb metrics (warm)": ["metrics"],
    }


def startup_commands(root: Path, baseline: Memkb | None = None) -> dict[str, Command]:
    """The peers, then each read command, followed by its baseline run when there is one."""
    commands: dict[str, Command] = {
        "python -c pass": ([PYTHON, "-c", "pass"], CHILD_ENV),
        'python -c "import typer"': ([PYTHON, "-c", "import typer"], CHILD_ENV),
    }
    for name, args in memkb_args(root).items():
        commands[name] = (OURS(*args), OURS.environment())
        if baseline is not None:
            commands[f"{BASELINE} {name.removeprefix('memkb ')}"] = (
                baseline(*args),
                baseline.environment(),
            )
    return commands


def listing(root: Path, runs: int, baseline: Memkb | None = None) -> dict[str, Series]:
    """Warm and cold unfiltered listings, a filtered one and `git ls-files`, interleaved;
    with a baseline, its warm listings too (both read the same index: its format is
    named by memkb's version, so neither rewrites the other's)."""
    warm = {
        "memkb list (warm)": ["list"],
        "memkb list --kind pattern": ["list", "--kind", "pattern"],
    }
    ways = [(name, OURS, args) for name, args in warm.items()]
    if baseline is not None:
        ways += [(f"{BASELINE} {n.removeprefix('memkb ')}", baseline, a) for n, a in warm.items()]
    series = {name: Series() for name in (*warm, "memkb list (cold)", "peer")}
    series.update({name: Series() for name, _, _ in ways})
    subprocess.run(OURS("list"), cwd=root, capture_output=True, check=False, env=CHILD_ENV)
    for _ in range(runs):
        (cache_dir(root) / LIST_CACHE).unlink(missing_ok=True)
        run_child(OURS("list"), root, series["memkb list (cold)"], OURS.environment())
        for name, memkb, args in ways:
            run_child(memkb(*args), root, series[name], memkb.environment())
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
        if name.startswith(BASELINE):
            continue
        ratio = s.wall_ms() / typer_s.wall_ms()
        verdict = "PASS" if ratio <= TARGET_RATIO else "MISS"
        cpu = s.cpu_ms() / typer_s.cpu_ms()
        lines.append(f"  {name:40} {ratio:5.2f}x {verdict} (cpu {cpu:.2f}x)")
    return lines + against_baseline(series)


def against_baseline(series: dict[str, Series]) -> list[str]:
    """Each memkb series over its baseline's (wall and CPU), if the baseline ran."""
    pairs = [
        (name, series[f"{BASELINE} {name.removeprefix('memkb ')}"], s)
        for name, s in series.items()
        if f"{BASELINE} {name.removeprefix('memkb ')}" in series
    ]
    if not pairs:
        return []
    lines = ["", "this memkb / the baseline (median wall, median CPU)"]
    for name, base, ours in pairs:
        wall, cpu = ours.wall_ms() / base.wall_ms(), ours.cpu_ms() / base.cpu_ms()
        lines.append(f"  {name:40} {wall:5.2f}x (cpu {cpu:.2f}x)")
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
    return lines + against_baseline(series)


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
    parser.add_argument(
        "--baseline", type=Path, help="a tooling/ folder of another memkb to compare with"
    )
    args = parser.parse_args(argv)
    compile_package()  # time memkb as installed, its bytecode cached
    baseline = baseline_memkb(args.baseline) if args.baseline else None
    args.out.mkdir(parents=True, exist_ok=True)
    load_before = os.getloadavg()[0]
    big = clone_kb(args.out, args.records, "startup")
    with tempfile.TemporaryDirectory(prefix="memkb-bench-startup-") as tmp:
        small = own_kb(Path(tmp) / "kb")
        startup = measure(startup_commands(small, baseline), small, args.runs)
    lists = listing(big, args.runs, baseline)
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
