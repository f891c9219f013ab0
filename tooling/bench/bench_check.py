"""Benchmark: `memkb check` of a 10-record pull request against `memkb validate` of the
same tree, same run.

Clones the synthetic KB (tooling/bench/out/kb-<N>-seed0, built by bench_validate's
generator if missing) into tooling/bench/out/check-<N>, commits a pull-request branch
that adds 5 outcomes and teaches 5 patterns a practice, checks it out (head = the
working tree, as in CI) and times, each --runs times, interleaved, reporting medians:
  - check warm: `memkb check --base main` with its caches in place;
  - check cold: the same with .git/memkb/ (validate and history caches) removed;
  - validate cold / warm: `memkb validate` of the same tree.
With --small (default 1000) the warm check is also timed on a KB of that size with the
same 10-record change, to show how the cost grows with the KB. Targets (check warm
< 2 s; check warm within 1.5x of validate cold) are printed as PASS/MISS for information.

    .venv/bin/python -m tooling.bench.bench_check [--records 10000] [--runs 5] [--small 1000]
"""

from __future__ import annotations

import argparse
import shutil
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as a script: make `tooling.bench` importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import yaml
from tooling.bench.bench_validate import (
    BIN,
    Run,
    Series,
    clone_kb,
    git,
    label,
    run_child,
)
from tooling.bench.bytecode import compile_package

from memkb.cachefile import cache_dir
from memkb.records.render import render_record

HERE = Path(__file__).resolve().parent
TARGET_WARM_S, TARGET_RATIO = 2.0, 1.5
PR_OUTCOMES, PR_PATTERNS = 5, 5


def prepare(out: Path, n: int) -> Path:
    """A clone of the synthetic KB with branch `pr` (10 changed records) checked out."""
    root = clone_kb(out, n, "check")
    git(root, "checkout", "-q", "-B", "main")
    git(root, "checkout", "-q", "-b", "pr")
    _pull_request(root)
    env = ["-c", "user.name=bench", "-c", "user.email=bench@localhost"]
    git(root, "add", "-A")
    git(root, *env, "commit", "-q", "-m", "bench: a pull request changing 10 records")
    return root


def _pull_request(root: Path) -> None:
    outcomes = sorted((root / "kb/outcomes").glob("*/*.yaml"))[:PR_OUTCOMES]
    for number, path in enumerate(outcomes):
        doc = _load(path)
        oid = f"2025-06-15-bench-pr-{number}"
        doc.update(id=oid, date="2025-06-15", project=f"Bench PR {number}")
        relpath = f"kb/outcomes/2025/{oid}.yaml"
        (root / relpath).parent.mkdir(parents=True, exist_ok=True)
        (root / relpath).write_text(render_record("outcome", doc, relpath))
    for path in sorted((root / "kb/patterns").glob("*.yaml"))[:PR_PATTERNS]:
        doc = _load(path)
        doc["best_practices"] = [*doc.get("best_practices", []), "Review the plan with QA."]
        relpath = str(path.relative_to(root))
        path.write_text(render_record("pattern", doc, relpath))


def _load(path: Path) -> dict[str, Any]:
    doc: dict[str, Any] = yaml.load(path.read_text(), Loader=yaml.BaseLoader)  # dates as text
    return {k: _numbers(v) for k, v in doc.items()}


def _numbers(value: Any) -> Any:
    """BaseLoader reads every scalar as text: give back the numbers the schema expects."""
    if isinstance(value, dict):
        return {k: _numbers(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_numbers(v) for v in value]
    if isinstance(value, str) and value.replace(".", "", 1).isdigit():
        return float(value) if "." in value else int(value)
    if value in ("true", "false"):
        return value == "true"
    return value


def check_run(root: Path, *, cold: bool) -> Run:
    if cold:
        shutil.rmtree(cache_dir(root), ignore_errors=True)
    return run_child([str(BIN / "memkb"), "check", "--base", "main", "--repo", str(root)])


def validate_run(root: Path, *, cold: bool) -> Run:
    if cold:
        shutil.rmtree(cache_dir(root), ignore_errors=True)
    return run_child([str(BIN / "memkb"), "validate", "--repo", str(root)])


def measure(root: Path, small: Path | None, runs: int) -> dict[str, Series]:
    """Every series, interleaved run by run so background load hits all of them alike."""
    names = ("check_warm", "check_cold", "validate_cold", "validate_warm", "small_warm")
    series = {name: Series() for name in names}
    check_run(root, cold=False)  # warm the caches once
    if small is not None:
        check_run(small, cold=False)
    for number in range(1, runs + 1):
        series["check_cold"].runs.append(check_run(root, cold=True))
        series["check_warm"].runs.append(check_run(root, cold=False))
        series["validate_cold"].runs.append(validate_run(root, cold=True))
        series["validate_warm"].runs.append(validate_run(root, cold=False))
        check_run(root, cold=False)  # validate cold removed .git/memkb: warm the caches again
        if small is not None:
            series["small_warm"].runs.append(check_run(small, cold=False))
        print(f"run {number}/{runs} done", file=sys.stderr)
    return series


def sanity(series: dict[str, Series]) -> list[str]:
    """Runs that did not exit 0 make the timings meaningless."""
    return [
        f"{name} run {i}: exit {run.code}: {' | '.join(run.out.strip().splitlines()[-3:])}"
        for name, s in series.items()
        for i, run in enumerate(s.runs, start=1)
        if run.code != 0
    ]


def report(series: dict[str, Series], n: int, small_n: int | None, runs: int) -> str:
    warm, cold = series["check_warm"], series["check_cold"]
    vcold, vwarm = series["validate_cold"], series["validate_warm"]
    ratio = warm.median / vcold.median
    lines = [
        f"memkb check (a pull request changing {PR_OUTCOMES + PR_PATTERNS} records) vs "
        f"memkb validate: {n} records, {runs} runs each, median wall seconds",
        "",
        f"{'':46}{'median s':>10}{'peak RSS MB':>13}",
        _row("memkb check, warm", warm),
        _row("memkb check, cold (.git/memkb removed)", cold),
        _row("memkb validate, cold (cache removed)", vcold),
        _row("memkb validate, warm", vwarm),
    ]
    if small_n is not None and series["small_warm"].runs:
        small = series["small_warm"]
        lines.append(_row(f"memkb check, warm, {small_n}-record KB", small))
    lines += [
        "",
        f"check warm: {warm.median:.2f} s (target < {TARGET_WARM_S:g} s) "
        f"{label(warm.median < TARGET_WARM_S)}",
        f"ratio check warm / validate cold: {ratio:.2f}x (target <= {TARGET_RATIO:g}x) "
        f"{label(ratio <= TARGET_RATIO)}",
        f"ratio check cold / validate cold: {cold.median / vcold.median:.2f}x",
    ]
    if small_n is not None and series["small_warm"].runs:
        growth = warm.median / series["small_warm"].median
        scale = n // small_n
        lines.append(f"check warm {n} / {small_n} records: {growth:.2f}x for {scale}x the KB")
    return "\n".join(lines)


def _row(name: str, series: Series) -> str:
    return f"{name:46}{series.median:10.2f}{series.peak_rss_mb:13.0f}"


def main(argv: Sequence[str] | None = None) -> int:
    """Prepare, measure, print the table; 2 if a run misbehaved, else 0."""
    parser = argparse.ArgumentParser(prog="python -m tooling.bench.bench_check")
    parser.add_argument("--records", type=int, default=10_000)
    parser.add_argument("--small", type=int, default=1_000, help="0 to skip the small KB")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--out", type=Path, default=HERE / "out")
    args = parser.parse_args(argv)
    compile_package()  # time memkb as installed, its bytecode cached
    args.out.mkdir(parents=True, exist_ok=True)
    root = prepare(args.out, args.records)
    small = prepare(args.out, args.small) if args.small else None
    series = measure(root, small, args.runs)
    problems = sanity(series)
    print(report(series, args.records, args.small or None, args.runs))
    for problem in problems:
        print(f"PROBLEM: {problem}", file=sys.stderr)
    return 2 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
