"""Benchmark: `memkb mcp` over stdio on the synthetic KB, against `memkb recommend` (a new
process per question) in the same run, and 100 sequential calls with one commit made by
another process in the middle, each answer checked for the commit it came from.

Uses a clone of tooling/bench/out/kb-<N>-seed0 (bench_validate's generator builds it if
missing), so the commit in the middle never touches the shared KB. The server is the
real console script started by the MCP SDK's stdio client; a round trip is the client's
`call_tool` (JSON-RPC out, the tool, JSON-RPC back, the SDK's output-schema check).
Series, medians reported:
  - MCP recommend, same question: the answer cache of this commit (what an orchestrator
    asking again gets);
  - MCP recommend, a new question each call (different text): ranking on the corpus
    the server keeps in memory;
  - API `memkb.advice.recommend`, a new question each call, in this process with the
    corpus in memory: what ranking costs without MCP (the server's overhead is the gap);
  - CLI `memkb recommend --format json`, same question and a new one each run, each a
    new process (start-up, import, the caches on disk).

    .venv/bin/python -m tooling.bench.bench_mcp [--records 10000] [--calls 50] [--runs 9]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as a script: make `tooling.bench` importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import anyio
from mcp import Client, StdioServerParameters
from tooling.bench.bench_advice import cli_args, query_for
from tooling.bench.bench_validate import BIN, clone_kb, git, label, run_child
from tooling.bench.bytecode import compile_package

HERE = Path(__file__).resolve().parent
TARGET_MS = 50.0
SEQUENTIAL = 100  # calls in the freshness run; the commit is made after half of them
MEMKB = str(BIN / "memkb")


def arguments(query: Any) -> dict[str, Any]:
    """The recommend tool's arguments for a Query."""
    return {
        "domains": list(query.domains),
        "phases": list(query.phases),
        "droids": list(query.droids),
        "text": query.text,
    }


async def round_trip(client: Client, args: dict[str, Any]) -> tuple[float, str]:
    """One recommend call: its wall time and the commit the answer names."""
    start = time.perf_counter()
    result = await client.call_tool("recommend", args)
    elapsed = time.perf_counter() - start
    if result.is_error or result.structured_content is None:
        raise SystemExit(f"recommend failed: {result.content[0]}")
    return elapsed, str(result.structured_content["commit"])


def record_elsewhere(root: Path) -> None:
    """A commit by another process: `memkb record` of one outcome."""
    done = run_child(
        [MEMKB, "record", "--project", "Bench MCP", "--outcome", "success",
         "--domain", query_domain(root), "--droid", query_droid(root), "--repo", str(root)]
    )  # fmt: skip
    if done.code != 0:
        raise SystemExit(f"memkb record failed:\n{done.out}")


def query_domain(root: Path) -> str:
    return query_for(root).domains[0]


def query_droid(root: Path) -> str:
    return query_for(root).droids[0]


async def measure_server(root: Path, calls: int) -> dict[str, Any]:
    """Warm series and the freshness run, on one server process."""
    params = StdioServerParameters(
        command=MEMKB, args=["mcp", "--repo", str(root)], env=dict(os.environ)
    )
    same = arguments(query_for(root))
    out: dict[str, Any] = {}
    async with Client(params) as client:
        start = time.perf_counter()
        await round_trip(client, same)  # the first call prepares (or loads) the corpus
        out["first"] = time.perf_counter() - start
        out["same"] = [(await round_trip(client, same))[0] for _ in range(calls)]
        fresh = [arguments(query_for(root, f"mcp{i}")) for i in range(calls)]
        out["new"] = [(await round_trip(client, args))[0] for args in fresh]
        out["fresh"] = await freshness(client, root, same)
    return out


async def freshness(client: Client, root: Path, args: dict[str, Any]) -> dict[str, Any]:
    """SEQUENTIAL calls, a commit by another process after half of them: how many answers
    named the commit HEAD was at when they were asked."""
    right, seen, after_commit = 0, set(), []
    for i in range(SEQUENTIAL):
        if i == SEQUENTIAL // 2:
            await anyio.to_thread.run_sync(record_elsewhere, root)
        head = git(root, "rev-parse", "HEAD").strip()
        elapsed, commit = await round_trip(client, args)
        right += commit == head
        seen.add(commit)
        if i == SEQUENTIAL // 2:
            after_commit.append(elapsed)
    return {"right": right, "commits": len(seen), "first_after_commit": after_commit[0]}


def measure_cli(root: Path, runs: int) -> dict[str, list[float]]:
    repo = ["--repo", str(root)]
    same = [MEMKB, "recommend", *cli_args(query_for(root)), "--format", "json", *repo]
    run_child(same)  # warm-up: caches on disk and the OS page cache
    out: dict[str, list[float]] = {"same": [], "new": []}
    for run in range(runs):
        out["same"].append(run_child(same).seconds)
        argv = [MEMKB, "recommend", *cli_args(query_for(root, f"cli{run}")), "--format", "json"]
        out["new"].append(run_child([*argv, *repo]).seconds)
    return out


def measure_api(root: Path, calls: int) -> list[float]:
    """New questions through the Python API, the corpus loaded once first."""
    from memkb.advice import recommend

    recommend(root, query_for(root, "api-warm-up"))
    out = []
    for i in range(calls):
        query = query_for(root, f"api{i}")
        start = time.perf_counter()
        recommend(root, query)
        out.append(time.perf_counter() - start)
    return out


def report(server: dict[str, Any], cli: dict[str, list[float]], n: int, calls: int) -> str:
    ms = {k: 1000 * statistics.median(server[k]) for k in ("same", "new")}
    cli_ms = {k: 1000 * statistics.median(v) for k, v in cli.items()}
    api_ms = 1000 * statistics.median(server["api"])
    fresh = server["fresh"]
    lines = [
        f"memkb mcp (stdio) on {n} synthetic records; {calls} calls per MCP series, "
        f"{len(cli['same'])} CLI runs; medians; python {sys.version.split()[0]}, "
        f"{os.cpu_count()} cpus",
        "",
        f"{'MCP first call (load the corpus)':52}{1000 * server['first']:9.1f} ms",
        f"{'MCP recommend, same question (warm)':52}{ms['same']:9.1f} ms",
        f"{'MCP recommend, a new question each call (warm)':52}{ms['new']:9.1f} ms",
        f"{'API recommend, a new question each call (warm)':52}{api_ms:9.1f} ms",
        f"{'CLI memkb recommend, same question':52}{cli_ms['same']:9.1f} ms",
        f"{'CLI memkb recommend, a new question each run':52}{cli_ms['new']:9.1f} ms",
        "",
        f"CLI / MCP, same question: {cli_ms['same'] / ms['same']:.1f}x; "
        f"new question: {cli_ms['new'] / ms['new']:.1f}x; MCP / API, new question: "
        f"{ms['new'] / api_ms:.2f}x",
        f"MCP warm round trip, new question: {ms['new']:.1f} ms (target < {TARGET_MS:g} ms) "
        f"{label(ms['new'] < TARGET_MS)}",
        f"{SEQUENTIAL} sequential calls, one commit by another process after "
        f"{SEQUENTIAL // 2}: {fresh['right']}/{SEQUENTIAL} answered from the right commit "
        f"({fresh['commits']} commits seen; the first call after the commit took "
        f"{1000 * fresh['first_after_commit']:.0f} ms) {label(fresh['right'] == SEQUENTIAL)}",
    ]
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    """Clone the KB, measure, print the table; 2 if an answer came from a wrong commit."""
    parser = argparse.ArgumentParser(
        prog="python -m tooling.bench.bench_mcp",
        description=__doc__.split("\n\n")[0] if __doc__ else None,
    )
    parser.add_argument("--records", type=int, default=10_000)
    parser.add_argument("--calls", type=int, default=50, help="calls per MCP series (>= 50)")
    parser.add_argument("--runs", type=int, default=9, help="CLI runs (median reported)")
    parser.add_argument("--out", type=Path, default=HERE / "out", help="where KBs are kept")
    args = parser.parse_args(argv)
    compile_package()  # time memkb as installed, its bytecode cached
    args.out.mkdir(parents=True, exist_ok=True)
    root = clone_kb(args.out, args.records, "mcp")
    server = anyio.run(measure_server, root, args.calls)
    server["api"] = measure_api(root, args.calls)
    cli = measure_cli(root, args.runs)
    print(report(server, cli, args.records, args.calls))
    return 0 if server["fresh"]["right"] == SEQUENTIAL else 2


if __name__ == "__main__":
    sys.exit(main())
