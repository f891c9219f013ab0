"""Benchmark: `memkb export-legacy` of the synthetic KB against a cold `memkb metrics`.

On the valid synthetic KB (tooling/bench/out/kb-<N>-seed0, a Git repository with one
commit, built by bench_validate's generator if missing), times as new processes, each
--runs times, interleaved so background load hits every series alike, and reports
medians:
  - peer: `memkb metrics --json` with .git/memkb/ removed first (cold);
  - export-legacy --shape seed, cold (.git/memkb/ removed first), into a file;
  - export-legacy --shape seed, warm (right after the cold one: the finished export
    cached under .git/memkb/);
  - export-legacy --shape sections, cold, into a directory;
  - memkb metrics, warm.
The ratio cold seed export / cold metrics is printed against the issue's target (1.5x)
as PASS/MISS, for information: this is a measurement, never a test. The runs are checked
(exit 0, the export names every pattern) and the script exits 2 if they misbehaved.

    .venv/bin/python -m tooling.bench.bench_export [--records 10000] [--runs 5]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

if __package__ in (None, ""):  # run as a script: make `tooling.bench` importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from tooling.bench.bench_validate import BIN, Run, Series, ensure_kb, label, run_child
from tooling.bench.bytecode import compile_package

from memkb.cachefile import cache_dir

HERE = Path(__file__).resolve().parent
TARGET_RATIO = 1.5
MEMKB = str(BIN / "memkb")


def cold(root: Path, argv: list[str]) -> Callable[[], Run]:
    """`argv` run after removing the repository's caches (history, reports)."""

    def run() -> Run:
        shutil.rmtree(cache_dir(root), ignore_errors=True)
        return run_child(argv)

    return run


def warm(argv: list[str]) -> Callable[[], Run]:
    return lambda: run_child(argv)


def cases(root: Path, out: Path) -> dict[str, Callable[[], Run]]:
    repo = ["--repo", str(root)]
    seed = [MEMKB, "export-legacy", *repo, "--output", str(out / "memory.json")]
    sections = [MEMKB, "export-legacy", *repo, "--shape", "sections", "--output", str(out / "s")]
    metrics = [MEMKB, "metrics", "--json", *repo]
    return {
        "memkb metrics, cold (peer)": cold(root, metrics),
        "export-legacy --shape seed, cold": cold(root, seed),
        "export-legacy --shape seed, warm": warm(seed),
        "export-legacy --shape sections, cold": cold(root, sections),
        "memkb metrics, warm": warm(metrics),
    }


def measure(todo: dict[str, Callable[[], Run]], runs: int) -> dict[str, Series]:
    """Each case `runs` times, round robin (each warm case runs right after the cold one
    that fills its cache)."""
    series = {name: Series() for name in todo}
    for _ in range(runs):
        for name, run in todo.items():
            series[name].runs.append(run())
    return series


def sanity(series: dict[str, Series], out: Path, patterns: int) -> list[str]:
    problems = [
        f"{name}: exit {r.code}: {r.out[:200]}"
        for name, s in series.items()
        for r in s.runs
        if r.code != 0
    ]
    exported = json.loads((out / "memory.json").read_text())
    if len(exported["success_patterns"]) != patterns:
        problems.append(f"export holds {len(exported['success_patterns'])} of {patterns} patterns")
    return problems


def report(series: dict[str, Series], counts: dict[str, int], runs: int, size: int) -> str:
    total = sum(counts.values())
    kinds = ", ".join(f"{n} {k}s" for k, n in counts.items())
    lines = [
        f"memkb export-legacy vs memkb metrics: {total} records ({kinds})",
        f"{runs} runs each, median wall seconds; python {sys.version.split()[0]}, "
        f"{os.cpu_count()} cpus",
        "",
        f"{'':40}{'median s':>10}{'peak RSS MB':>13}",
    ]
    for name, s in series.items():
        lines.append(f"{name:40}{s.median:10.2f}{s.peak_rss_mb:13.0f}")
    peer = series["memkb metrics, cold (peer)"].median
    ratio = series["export-legacy --shape seed, cold"].median / peer
    sections = series["export-legacy --shape sections, cold"].median / peer
    lines += [
        "",
        f"ratio export (seed, cold) / metrics (cold): {ratio:.2f}x "
        f"(target <= {TARGET_RATIO}x) {label(ratio <= TARGET_RATIO)}",
        f"ratio export (sections, cold) / metrics (cold): {sections:.2f}x",
        f"seed document: {size / 1e6:.1f} MB",
        f"1-minute load average after: {os.getloadavg()[0]:.2f}",
    ]
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args(argv)
    compile_package()  # time memkb as installed, its bytecode cached
    kb = ensure_kb(HERE / "out", args.records, 0.0, 0, fresh=False)
    out = HERE / "out" / f"export-{args.records}"
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    series = measure(cases(kb.root, out), args.runs)
    problems = sanity(series, out, kb.counts["pattern"])
    print(report(series, kb.counts, args.runs, (out / "memory.json").stat().st_size))
    for problem in problems:
        print(f"warning: {problem}", file=sys.stderr)
    return 2 if problems else 0


if __name__ == "__main__":
    raise SystemExit(main())
