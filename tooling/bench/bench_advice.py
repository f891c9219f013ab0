"""Benchmark: `memkb recommend` on the synthetic KB, through the Python API and the CLI,
against `memkb rules` (the CLI's bare start-up) in the same run.

Uses tooling/bench/out/kb-<N>-seed0 (built by bench_validate's generator if missing) and a
query naming one domain, one phase, three droids and a few words of text. Two caches sit
under .git/memkb/advice/: the prepared corpus of a commit, and finished answers (the same
question at the same commit). Series, medians reported:
  - API cold: `memkb.advice.recommend` after removing .git/memkb/advice/ (parse every
    record at the commit, prepare and cache the corpus), in this process;
  - API repeated: the same question again, from disk (a new process's first call:
    nothing in memory) and in the same process: the answer cache;
  - API new question: a question not asked before (its text differs), the corpus cache
    on disk / in memory: what ranking itself costs;
  - CLI: `memkb recommend|brief ... --repo KB` repeated, `memkb recommend` with a new
    question each run, and `memkb rules`, the bare start-up they are compared with
    (target: within 1.5x), each a new process, interleaved.

    .venv/bin/python -m tooling.bench.bench_advice [--records 10000] [--runs 7]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

if __package__ in (None, ""):  # run as a script: make `tooling.bench` importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import yaml
from tooling.bench.bench_validate import BIN, Series, ensure_kb, label, run_child
from tooling.bench.bytecode import compile_package

from memkb.advice import make_query, recommend
from memkb.advice.load import forget
from memkb.advice.query import Query
from memkb.cachefile import cache_dir

HERE = Path(__file__).resolve().parent
TARGET_API_S, TARGET_RATIO = 0.050, 1.5


def query_for(root: Path, extra: str = "") -> Query:
    """The first domain and phase, three droids and some text of the synthetic vocabulary;
    `extra` words make a question not asked before."""
    vocab = yaml.safe_load((root / "kb/vocabulary.yaml").read_text())
    return make_query(
        domains=sorted(vocab["domains"])[:1],
        phases=sorted(vocab["phases"])[:1],
        droids=sorted(vocab["droids"])[:3],
        text=f"timeout during payments regression {extra}".strip(),
    )


def cli_args(query: Query) -> list[str]:
    args = [f"--domain={d}" for d in query.domains] + [f"--phase={p}" for p in query.phases]
    args += [f"--droid={d}" for d in query.droids]
    return [*args, f"--text={query.text}"]


def timed(func: Callable[[], object]) -> float:
    start = time.perf_counter()
    func()
    return time.perf_counter() - start


def measure_api(root: Path, query: Query, runs: int) -> dict[str, list[float]]:
    out: dict[str, list[float]] = {k: [] for k in ("cold", "disk", "warm", "new_disk", "new")}
    for run in range(runs):
        shutil.rmtree(cache_dir(root) / "advice", ignore_errors=True)
        forget()
        out["cold"].append(timed(lambda: recommend(root, query)))
        forget()
        out["disk"].append(timed(lambda: recommend(root, query)))
        out["warm"].append(min(timed(lambda: recommend(root, query)) for _ in range(3)))
        forget()
        fresh = query_for(root, f"bench{run}a")
        out["new_disk"].append(timed(lambda q=fresh: recommend(root, q)))
        fresh = query_for(root, f"bench{run}b")
        out["new"].append(timed(lambda q=fresh: recommend(root, q)))
    return out


def measure_cli(root: Path, query: Query, runs: int) -> dict[str, Series]:
    memkb = str(BIN / "memkb")
    repo = ["--repo", str(root)]
    commands = {
        "rules": lambda _: [memkb, "rules"],
        "recommend": lambda _: [memkb, "recommend", *cli_args(query), "--format", "json", *repo],
        "brief": lambda _: [memkb, "brief", *cli_args(query), *repo],
        "new": lambda run: [memkb, "recommend", *cli_args(query_for(root, f"cli{run}")),
                            "--format", "json", *repo],
    }  # fmt: skip
    series = {name: Series() for name in commands}
    for argv in commands.values():  # warm-up: caches and the OS page cache
        run_child(argv(-1))
    for run in range(runs):
        for name, argv in commands.items():
            series[name].runs.append(run_child(argv(run)))
    return series


def report(api: dict[str, list[float]], cli: dict[str, Series], n: int, runs: int) -> str:
    warm = statistics.median(api["new"])
    ratio = cli["recommend"].median / cli["rules"].median
    ms = {k: 1000 * statistics.median(v) for k, v in api.items()}
    cli_ms = {k: 1000 * s.median for k, s in cli.items()}
    rows = [
        ("API cold (parse the commit, prepare, cache)", ms["cold"]),
        ("API repeated question, from disk", ms["disk"]),
        ("API repeated question, same process", ms["warm"]),
        ("API new question, corpus cache on disk", ms["new_disk"]),
        ("API new question, corpus in memory", ms["new"]),
        ("CLI memkb rules (bare start-up)", cli_ms["rules"]),
        ("CLI memkb recommend --format json, repeated", cli_ms["recommend"]),
        ("CLI memkb brief, repeated", cli_ms["brief"]),
        ("CLI memkb recommend, a new question each run", cli_ms["new"]),
    ]
    lines = [
        f"memkb recommend on {n} synthetic records; {runs} runs, medians; python "
        f"{sys.version.split()[0]}, {os.cpu_count()} cpus",
        "",
    ]
    lines += [f"{name:48}{value:9.1f} ms" for name, value in rows]
    new_ratio = cli["new"].median / cli["rules"].median
    brief_ratio = cli["brief"].median / cli["rules"].median
    lines += [
        "",
        f"API new question, corpus in memory: {1000 * warm:.1f} ms (target < "
        f"{1000 * TARGET_API_S:g} ms) {label(warm < TARGET_API_S)}",
        f"CLI recommend repeated / rules: {ratio:.2f}x (target <= {TARGET_RATIO}x) "
        f"{label(ratio <= TARGET_RATIO)}",
        f"CLI brief repeated / rules: {brief_ratio:.2f}x {label(brief_ratio <= TARGET_RATIO)}",
        f"CLI recommend new question / rules: {new_ratio:.2f}x "
        f"{label(new_ratio <= TARGET_RATIO)}",
    ]  # fmt: skip
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    """Build or reuse the KB, measure, print the table; 2 if a CLI run failed, else 0."""
    parser = argparse.ArgumentParser(
        prog="python -m tooling.bench.bench_advice",
        description=__doc__.split("\n\n")[0] if __doc__ else None,
    )
    parser.add_argument("--records", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=7, help="repetitions (median reported)")
    parser.add_argument("--out", type=Path, default=HERE / "out", help="where KBs are kept")
    args = parser.parse_args(argv)
    compile_package()  # time memkb as installed, its bytecode cached
    args.out.mkdir(parents=True, exist_ok=True)
    root = ensure_kb(args.out, args.records, 0.0, 0, fresh=False).root
    query = query_for(root)
    api = measure_api(root, query, max(1, args.runs // 2))
    cli = measure_cli(root, query, args.runs)
    print(report(api, cli, args.records, args.runs))
    failed = [r for s in cli.values() for r in s.runs if r.code != 0]
    for run in failed[:1]:
        print(f"a CLI run failed (exit {run.code}):\n{run.out}", file=sys.stderr)
    return 2 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
