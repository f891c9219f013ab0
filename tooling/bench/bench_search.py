"""Benchmark: `memkb search` on the 10,000-record synthetic KB, against `memkb rules`.

Clones the synthetic KB (tooling/bench/synth.py, reused under tooling/bench/out/ as
bench_validate does) and measures, reporting medians:
  - cold index build: memkb.search.run() with .git/memkb/search.sqlite3 removed first;
  - warm search through the Python API (nothing changed since the last search);
  - warm `memkb search` as a process, against `memkb rules` (the CLI's bare start-up)
    in the same rounds, and their ratio;
  - the first search after a commit changing 1, 10 and 100 records, against the same
    search warm right after: the difference is the index update, which should grow with
    the change, not with the KB.
Targets (warm API < 50 ms, CLI within 1.5x of `memkb rules`) are printed as PASS/MISS for
information: this is a measurement, never a test.

    .venv/bin/python -m tooling.bench.bench_search [--records 10000] [--runs 7]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

if __package__ in (None, ""):  # run as a script: make `tooling.bench` importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from tooling.bench.bench_validate import BIN, clone_kb, git, run_child
from tooling.bench.bytecode import compile_package

from memkb.search import index_path, run

HERE = Path(__file__).resolve().parent
TARGET_API_S, TARGET_CLI_RATIO = 0.050, 1.5
QUERIES = ("timeout", "security first checkout", "gateway api_first", "data loss outage")
IDENT = ["-c", "user.name=bench", "-c", "user.email=bench@invalid", "-c", "commit.gpgsign=false"]


def prepare(out: Path, n: int) -> Path:
    """A clone of the synthetic KB that this benchmark may commit to (and reset)."""
    root = clone_kb(out, n, "search")
    return root


def timed(func: Callable[[], object]) -> float:
    start = time.perf_counter()
    func()
    return time.perf_counter() - start


def change_records(root: Path, count: int, round_no: int) -> None:
    """Commit a change to the title (or first line) of `count` pattern records."""
    files = sorted((root / "kb" / "patterns").glob("*.yaml"))[:count]
    for path in files:
        text = path.read_text()
        path.write_text(text.replace("\ntitle: ", f"\ntitle: revised{round_no} ", 1))
    git(root, "add", "-A")
    git(root, *IDENT, "commit", "-q", "-m", f"bench: change {count} records")


def cold(root: Path, runs: int) -> tuple[list[float], int]:
    times, total = [], 0
    for _ in range(runs):
        index_path(root).unlink(missing_ok=True)
        start = time.perf_counter()
        result = run(root, QUERIES[0])
        times.append(time.perf_counter() - start)
        assert result.index.rebuilt, "the cold run did not rebuild"
        total = result.index.total
    return times, total


def warm_api(root: Path, runs: int) -> dict[str, list[float]]:
    run(root, QUERIES[0])
    return {q: [timed(lambda q=q: run(root, q)) for _ in range(runs)] for q in QUERIES}  # type: ignore[misc]


def warm_cli(root: Path, runs: int) -> tuple[list[float], list[float], int]:
    """`memkb search` and `memkb rules` as processes, interleaved so both see the same load."""
    search_argv = [str(BIN / "memkb"), "search", QUERIES[1], "--json", "--repo", str(root)]
    rules_argv = [str(BIN / "memkb"), "rules", "--json"]
    first = run_child(search_argv)  # warms the index and the OS file cache
    searches, rules = [], []
    for _ in range(runs):
        searches.append(run_child(search_argv).seconds)
        rules.append(run_child(rules_argv).seconds)
    return searches, rules, first.code


def updates(
    root: Path, runs: int, sizes: Sequence[int]
) -> dict[int, tuple[list[float], list[float], int]]:
    """Per size: the first search after committing a change to `size` records, the same
    search right after (warm, for comparison), and the files the update re-indexed."""
    run(root, QUERIES[0])
    found: dict[int, tuple[list[float], list[float], int]] = {}
    for size in sizes:
        after, warm, indexed = [], [], 0
        for round_no in range(runs):
            change_records(root, size, round_no)
            start = time.perf_counter()
            result = run(root, QUERIES[0])
            after.append(time.perf_counter() - start)
            warm.append(timed(lambda: run(root, QUERIES[0])))
            indexed = result.index.indexed
        found[size] = (after, warm, indexed)
    return found


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f} ms"


def label(ok: bool) -> str:
    return "PASS" if ok else "MISS"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--out", type=Path, default=HERE / "out")
    args = parser.parse_args(argv)
    compile_package()  # time memkb as installed, its bytecode cached
    args.out.mkdir(parents=True, exist_ok=True)
    root = prepare(args.out, args.records)
    med = statistics.median

    cold_times, total = cold(root, max(3, args.runs // 2))
    print(f"search benchmark: {total} records indexed, {args.runs} runs, medians")
    print(f"  cold index build + first search (API): {ms(med(cold_times))}")
    api = warm_api(root, args.runs * 3)
    for query, times in api.items():
        print(f"  warm search, API, {query!r}: {ms(med(times))}")
    worst = max(med(t) for t in api.values())
    print(f"    slowest query {ms(worst)} ({label(worst < TARGET_API_S)}: target < 50 ms)")
    searches, rules, code = warm_cli(root, args.runs)
    ratio = med(searches) / med(rules)
    print(f"  warm `memkb search` (process, exit {code}): {ms(med(searches))}")
    print(f"  `memkb rules` (bare start-up), same rounds: {ms(med(rules))}")
    print(
        f"    ratio search / rules: {ratio:.2f}x "
        f"({label(ratio <= TARGET_CLI_RATIO)}: target <= {TARGET_CLI_RATIO}x)"
    )
    for size, (after, warm, indexed) in updates(root, args.runs, (1, 10, 100)).items():
        cost = med(after) - med(warm)
        print(
            f"  first search after a commit changing {size} records: {ms(med(after))} "
            f"(warm {ms(med(warm))}: the update costs {ms(cost)}, {indexed} files re-indexed)"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
