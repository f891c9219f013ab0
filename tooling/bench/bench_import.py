"""Benchmark: `memkb import-legacy DIR --extend-vocabulary` against a cold `memkb validate` of
the result, same run.

Generates (or reuses, under tooling/bench/out/) a legacy memory in the one-file-per-section
shape (legacy_synth.py: 10,000 success patterns, 1,000 failures, 200 templates), then
--runs times, each into a fresh KB (Git repository, bundled schemas and vocabulary):
  - import: `memkb import-legacy DIR --extend-vocabulary --repo KB` (subprocess);
  - validate cold: `memkb validate --repo KB` with its cache (.git/memkb/) removed.
Prints the medians and the ratio import / validate (issue 10's target: at most 2x).

Until the sections reader lands (it refuses DIR with KB601), the same entries are
imported in the seed's shape (one JSON file) instead, and the output says so.
A measurement, never a test: the target is printed as PASS/MISS for information.

    .venv/bin/python -m tooling.bench.bench_import [--patterns 10000] [--runs 3] [--profile]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

if __package__ in (None, ""):  # run as a script: make `tooling.bench` importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from tooling.bench import legacy_synth
from tooling.bench.bytecode import compile_package

HERE = Path(__file__).resolve().parent
PROJECT = HERE.parents[1]
BIN = Path(sys.executable).parent
TARGET_RATIO = 2.0
SECTIONS = "one file per section"
SEED = "seed shape, patterns and failures (this memkb has no sections reader yet)"


def memory(patterns: int, seed: int) -> tuple[Path, Path]:
    """The sections folder and the seed-shaped file of the same entries (made once)."""
    out = HERE / "out" / f"import-{patterns}-{seed}"
    sections, seed_file = out / "sections", out / "seed_shape.json"
    if not seed_file.exists():
        made = legacy_synth.generate_sections(sections, patterns, seed)
        seed_file.write_text(json.dumps(legacy_synth.seed_shape(made), indent=2) + "\n")
    return sections, seed_file


def fresh_kb(into: Path) -> Path:
    """A Git repository with the project's schemas and the bundled vocabulary, committed."""
    shutil.copytree(PROJECT / "schemas", into / "schemas")
    (into / "kb").mkdir()
    shutil.copy(PROJECT / "kb" / "vocabulary.yaml", into / "kb" / "vocabulary.yaml")
    env = {**os.environ, "GIT_AUTHOR_NAME": "bench", "GIT_AUTHOR_EMAIL": "bench@localhost",
           "GIT_COMMITTER_NAME": "bench", "GIT_COMMITTER_EMAIL": "bench@localhost"}  # fmt: skip
    for args in (["init", "-q", "-b", "main"], ["add", "-A"], ["commit", "-q", "-m", "kb"]):
        subprocess.run(["git", *args], cwd=into, check=True, env=env)
    return into


def timed(args: list[str]) -> tuple[float, subprocess.CompletedProcess[str]]:
    start = time.perf_counter()
    done = subprocess.run(args, capture_output=True, text=True, check=False)
    return time.perf_counter() - start, done


def import_args(source: Path, kb: Path) -> list[str]:
    return [str(BIN / "memkb"), "import-legacy", str(source), "--extend-vocabulary",
            "--repo", str(kb), "--json"]  # fmt: skip


def pick_source(sections: Path, seed_file: Path, scratch: Path) -> tuple[Path, str]:
    """The sections folder if this memkb reads it, else the seed-shaped file."""
    _, done = timed(import_args(sections, fresh_kb(scratch / "probe")))
    if done.returncode == 2 and "KB601" in done.stdout + done.stderr:
        return seed_file, SEED
    return sections, SECTIONS


def one_run(source: Path, kb: Path) -> tuple[float, float, dict[str, object]]:
    """Import into `kb`, then validate it cold; both wall times and the import's JSON."""
    t_import, done = timed(import_args(source, kb))
    body = json.loads(done.stdout) if done.stdout.startswith("{") else {}
    if done.returncode not in (0, 1) or not body:
        sys.exit(f"import failed (exit {done.returncode}): {done.stderr[-2000:]}")
    shutil.rmtree(kb / ".git" / "memkb", ignore_errors=True)
    t_validate, checked = timed([str(BIN / "memkb"), "validate", "--repo", str(kb)])
    if checked.returncode != 0:
        print(f"warning: validate exit {checked.returncode}: {checked.stdout[-500:]}",
              file=sys.stderr)  # fmt: skip
    return t_import, t_validate, body


def profile(source: Path, scratch: Path) -> None:
    """Where the import's time goes: cProfile of the library call, top 15 by cumulative."""
    import cProfile
    import pstats

    from memkb.legacy.importer import import_legacy

    kb = fresh_kb(scratch / "profiled")
    profiler = cProfile.Profile()
    profiler.runcall(import_legacy, kb, source, extend_vocabulary=True)
    pstats.Stats(profiler).sort_stats("cumulative").print_stats(15)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--patterns", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--profile", action="store_true", help="also profile one import")
    args = parser.parse_args(argv)
    compile_package()  # time memkb as installed, its bytecode cached
    sections, seed_file = memory(args.patterns, args.seed)
    with tempfile.TemporaryDirectory(prefix="memkb-bench-import-") as tmp:
        scratch = Path(tmp)
        source, shape = pick_source(sections, seed_file, scratch)
        imports, validates, body = [], [], {}
        for run in range(args.runs):
            t_import, t_validate, body = one_run(source, fresh_kb(scratch / f"kb{run}"))
            imports.append(t_import)
            validates.append(t_validate)
        report(args, shape, imports, validates, body)
        if args.profile:
            profile(source, scratch)
    return 0


def report(
    args: argparse.Namespace,
    shape: str,
    imports: list[float],
    validates: list[float],
    body: dict[str, object],
) -> None:
    written, added = body.get("written", []), body.get("vocabulary_added", {})
    names = sum(len(v) for v in added.values()) if isinstance(added, dict) else 0
    n_written = len(written) if isinstance(written, list) else 0
    load = os.getloadavg()[0]
    print("memkb import-legacy --extend-vocabulary vs cold memkb validate of the result")
    print(f"input: {args.patterns} patterns, {args.patterns // 10} failures, "
          f"{args.patterns // 50} templates; read as: {shape}")  # fmt: skip
    print(f"output: {n_written} records, {names} names added to the vocabulary; "
          f"{body.get('errors')} errors, {body.get('warnings')} warnings")  # fmt: skip
    print(f"{args.runs} runs each, median wall seconds; python {sys.version.split()[0]}, "
          f"{os.cpu_count()} cpus, load average {load:.1f}\n")  # fmt: skip
    mi, mv = statistics.median(imports), statistics.median(validates)
    what = "DIR" if shape == SECTIONS else "FILE"
    print(f"{f'memkb import-legacy {what} --extend-vocabulary':<48}{mi:>8.2f}")
    print(f"{'memkb validate, cold (cache removed)':<48}{mv:>8.2f}")
    ratio = mi / mv
    verdict = "PASS" if ratio <= TARGET_RATIO else "MISS"
    print(f"\nratio import / validate: {ratio:.2f}x (target <= {TARGET_RATIO:.0f}x: {verdict})")


if __name__ == "__main__":
    raise SystemExit(main())
