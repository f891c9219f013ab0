"""Benchmark: `memkb validate` against check-jsonschema on the same synthetic KB, same run.

Builds (or reuses, under tooling/bench/out/) a 10,000-record KB and a variant with a
few percent broken files, then times, each --runs times, reporting medians:
  - memkb cold: `memkb validate --repo DIR` with its result cache removed first;
  - memkb warm: the same command again, nothing changed: the first run after a cold one,
    so it is answered by the sealed findings, not yet express (memkb.cli.express keeps
    its output for the next one); bench_warm.py times the repeated run;
  - check-jsonschema: one `check-jsonschema --schemafile schemas/<kind>.schema.json
    FILES...` per kind over the same files (per-kind times summed into one run);
  - the broken variant: memkb must exit 1 and flag exactly the broken files;
  - `memkb rules`: the CLI's bare start-up, the yardstick of the warm run.
Peak RSS is measured per child process with os.wait4. Targets are printed as
PASS/MISS for information only: this is a measurement, never a test.

    .venv/bin/python -m tooling.bench.bench_validate [--records 10000] [--runs 5]
"""

from __future__ import annotations

import argparse
import hashlib
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

from tooling.bench import synth
from tooling.bench.bytecode import compile_package

from memkb.cachefile import cache_dir

HERE = Path(__file__).resolve().parent
BIN = Path(sys.executable).parent
# Issue 12: cold >= 15x faster than check-jsonschema, warm <= 1.3x `memkb rules`, peak
# memory of a cold run no higher than before the issue (103 MB, the last run of issue 8).
TARGET_RATIO, TARGET_WARM_VS_RULES, TARGET_RSS_MB = 15.0, 1.3, 103.0
KIND_GLOBS = {
    "vocabulary": ["kb/vocabulary.yaml"],
    "pattern": ["kb/patterns/*.yaml"],
    "failure": ["kb/failures/*.yaml"],
    "template": ["kb/templates/*.yaml"],
    "outcome": ["kb/outcomes/*/*.yaml"],
}


@dataclass
class Run:
    """One child process: wall time, peak resident memory, exit code and output."""

    seconds: float
    rss_mb: float
    code: int
    out: str


@dataclass
class Series:
    """Repeated measurements of one thing."""

    runs: list[Run] = field(default_factory=list)

    @property
    def median(self) -> float:
        return statistics.median(r.seconds for r in self.runs)

    @property
    def peak_rss_mb(self) -> float:
        return max(r.rss_mb for r in self.runs)


def run_child(argv: Sequence[str], cwd: Path | None = None) -> Run:
    """Run `argv` to completion; return its wall time, its own peak RSS and its output.

    os.wait4 gives the rusage of this child alone (RUSAGE_CHILDREN would be the max
    over every child so far). Output goes to a temporary file so a chatty child can
    never block on a full pipe.
    """
    with tempfile.TemporaryFile() as out:
        start = time.perf_counter()
        proc = subprocess.Popen(argv, cwd=cwd, stdout=out, stderr=subprocess.STDOUT)
        _, status, usage = os.wait4(proc.pid, 0)
        seconds = time.perf_counter() - start
        proc.returncode = os.waitstatus_to_exitcode(status)  # already reaped by wait4
        out.seek(0)
        text = out.read().decode("utf-8", errors="replace")
    return Run(seconds, usage.ru_maxrss / 1024, proc.returncode, text)  # ru_maxrss is KiB


def generator_fingerprint() -> str:
    """Hash of the generator and renderer sources: a reused KB must come from this code."""
    import memkb.records.render

    digest = hashlib.sha256()
    for path in (Path(synth.__file__), Path(memkb.records.render.__file__)):
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def git(root: Path, *args: str) -> str:
    """Run git in `root` and return its stdout (a benchmark's own setup; raises on failure)."""
    done = subprocess.run(["git", *args], cwd=root, capture_output=True, text=True, check=True)
    return done.stdout


def clone_kb(out: Path, n: int, name: str) -> Path:
    """A fresh clone, `out/<name>-<n>`, of the valid synthetic KB of `n` records, which a
    benchmark may commit to."""
    source = ensure_kb(out, n, 0.0, 0, fresh=False).root
    root = out / f"{name}-{n}"
    shutil.rmtree(root, ignore_errors=True)
    git(out, "clone", "-q", str(source), str(root))
    return root


def ensure_kb(out: Path, n: int, fraction: float, seed: int, fresh: bool) -> synth.GeneratedKB:
    """The KB for these parameters under `out`, generated (as a Git repo) unless reusable."""
    name = f"kb-{n}-seed{seed}" + (f"-broken{fraction:g}" if fraction else "")
    root, manifest = out / name, out / f"{name}.json"
    stamp = out / f"{name}.generator"
    fingerprint = generator_fingerprint()
    reusable = (
        not fresh
        and manifest.is_file()
        and stamp.is_file()
        and stamp.read_text() == fingerprint
        and (root / ".git").is_dir()
    )
    if reusable:
        return synth.GeneratedKB.from_json(manifest.read_text())
    shutil.rmtree(root, ignore_errors=True)
    start = time.perf_counter()
    kb = synth.generate_kb(root, n, broken_fraction=fraction, seed=seed)
    synth.git_commit_all(root)
    print(f"generated {name} in {time.perf_counter() - start:.1f}s", file=sys.stderr)
    manifest.write_text(kb.to_json())
    stamp.write_text(fingerprint)
    return kb


def memkb_run(root: Path, *, cold: bool) -> Run:
    """`memkb validate --repo root`, with the result cache removed first when `cold`."""
    if cold:
        shutil.rmtree(cache_dir(root), ignore_errors=True)
    return run_child([str(BIN / "memkb"), "validate", "--repo", str(root)])


def rules_run() -> Run:
    """`memkb rules`: start-up, one small table, exit; what a warm validate is held to."""
    return run_child([str(BIN / "memkb"), "rules"])


def checkjsonschema_run(root: Path) -> Run:
    """check-jsonschema over every file, one invocation (or argv-sized batch) per kind.

    Returns one Run: times summed, peak RSS the max, exit code the worst.
    """
    parts = []
    for kind, globs in KIND_GLOBS.items():
        files = sorted(str(p.relative_to(root)) for g in globs for p in root.glob(g))
        schema = f"schemas/{kind}.schema.json"
        for batch in _batches(files):
            argv = [str(BIN / "check-jsonschema"), "--schemafile", schema, *batch]
            parts.append(run_child(argv, cwd=root))
    return Run(
        sum(p.seconds for p in parts),
        max(p.rss_mb for p in parts),
        max(p.code for p in parts),
        "".join(p.out for p in parts),
    )


def _batches(files: list[str]) -> list[list[str]]:
    """Split `files` into argv-sized batches (normally one: relative paths are short)."""
    limit = min(os.sysconf("SC_ARG_MAX") // 2, 1_000_000)
    batches: list[list[str]] = [[]]
    size = 0
    for name in files:
        if batches[-1] and size + len(name) + 1 > limit:
            batches.append([])
            size = 0
        batches[-1].append(name)
        size += len(name) + 1
    return batches


def flagged_files(output: str) -> set[str]:
    """Paths named by finding lines (`path:line:col: ...`) in memkb's text output."""
    return {line.split(":", 1)[0] for line in output.splitlines() if line.startswith("kb/")}


def label(ok: bool) -> str:
    return "PASS" if ok else "MISS"


def measure(kb: Path, broken: Path, runs: int) -> dict[str, Series]:
    """Every series, interleaved run by run so background load hits all of them alike."""
    series = {name: Series() for name in ("cold", "warm", "cjs", "broken_cold", "rules")}
    for number in range(1, runs + 1):
        series["cold"].runs.append(memkb_run(kb, cold=True))
        series["warm"].runs.append(memkb_run(kb, cold=False))
        series["cjs"].runs.append(checkjsonschema_run(kb))
        series["broken_cold"].runs.append(memkb_run(broken, cold=True))
        series["rules"].runs.append(rules_run())
        print(f"run {number}/{runs} done", file=sys.stderr)
    return series


def sanity(series: dict[str, Series], broken: synth.GeneratedKB) -> list[str]:
    """Problems that would make the timings meaningless (wrong exit codes, missed files)."""
    problems = []
    for name, want in (("cold", 0), ("warm", 0), ("cjs", 0), ("broken_cold", 1), ("rules", 0)):
        for number, run in enumerate(series[name].runs, start=1):
            if run.code != want:
                tail = " | ".join(run.out.strip().splitlines()[-3:])
                problems.append(f"{name} run {number}: exit {run.code}, expected {want}: {tail}")
    expected = {b.relpath for b in broken.broken}
    for run in series["broken_cold"].runs:
        if flagged_files(run.out) != expected:
            problems.append("broken variant: memkb flagged other files than the broken ones")
            break
    return problems


def report(
    series: dict[str, Series], kb: synth.GeneratedKB, broken: synth.GeneratedKB, runs: int
) -> str:
    """The results table, with the targets labelled PASS/MISS for information."""
    cold, warm, cjs, bad, rules = (
        series[k] for k in ("cold", "warm", "cjs", "broken_cold", "rules")
    )
    ratio = cjs.median / cold.median
    warm_ratio = warm.median / rules.median
    last = bad.runs[-1].out.strip().splitlines()
    findings = sum(1 for line in last if line.startswith("kb/"))
    kinds = ", ".join(f"{n} {k}s" for k, n in kb.counts.items())
    return "\n".join(
        [
            f"memkb validate vs check-jsonschema: {kb.n_records} records ({kinds}) + vocabulary",
            f"{runs} runs each, median wall seconds; python {sys.version.split()[0]}, "
            f"{os.cpu_count()} cpus",
            "",
            f"{'':42}{'median s':>10}{'peak RSS MB':>13}",
            _row("memkb validate, cold (cache removed)", cold),
            _row("memkb validate, warm (nothing changed)", warm),
            _row(f"check-jsonschema, {len(KIND_GLOBS)} calls summed", cjs),
            _row("memkb validate, broken variant, cold", bad),
            _row("memkb rules (bare start-up)", rules),
            "",
            f"ratio check-jsonschema / memkb cold: {ratio:.2f}x "
            f"(target >= {TARGET_RATIO:g}x) {label(ratio >= TARGET_RATIO)}",
            f"ratio first warm / memkb rules: {warm_ratio:.2f}x (target <= "
            f"{TARGET_WARM_VS_RULES:g}x, held to bench_warm's repeated run) "
            f"{label(warm_ratio <= TARGET_WARM_VS_RULES)}",
            f"peak RSS, memkb cold: {cold.peak_rss_mb:.0f} MB (target <= {TARGET_RSS_MB:g} MB) "
            f"{label(cold.peak_rss_mb <= TARGET_RSS_MB)}",
            f"broken variant: {len(broken.broken)} of {broken.n_records} files broken "
            f"({', '.join(f'{h} {n}' for h, n in sorted(broken.breakages.items()))}); "
            f"memkb exit {bad.runs[-1].code}, {findings} findings in "
            f"{len(flagged_files(bad.runs[-1].out))} files",
        ]
    )


def _row(name: str, series: Series) -> str:
    return f"{name:42}{series.median:10.2f}{series.peak_rss_mb:13.0f}"


def main(argv: Sequence[str] | None = None) -> int:
    """Build or reuse the KBs, measure, print the table; 2 if a run misbehaved, else 0."""
    parser = argparse.ArgumentParser(
        prog="python -m tooling.bench.bench_validate",
        description=__doc__.split("\n\n")[0] if __doc__ else None,
    )
    parser.add_argument("--records", type=int, default=10_000)
    parser.add_argument("--broken", type=float, default=0.03, help="fraction broken")
    parser.add_argument("--runs", type=int, default=5, help="repetitions (median reported)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=HERE / "out", help="where KBs are kept")
    parser.add_argument("--regenerate", action="store_true", help="do not reuse KBs")
    args = parser.parse_args(argv)
    compile_package()  # time memkb as installed, its bytecode cached
    args.out.mkdir(parents=True, exist_ok=True)
    kb = ensure_kb(args.out, args.records, 0.0, args.seed, args.regenerate)
    broken = ensure_kb(args.out, args.records, args.broken, args.seed, args.regenerate)
    load_before = os.getloadavg()[0]
    series = measure(kb.root, broken.root, args.runs)
    print(report(series, kb, broken, args.runs))
    # Other work on the machine inflates every series; the ratio is the robust figure.
    print(f"1-minute load average: {load_before:.2f} before, {os.getloadavg()[0]:.2f} after")
    problems = sanity(series, broken)
    for problem in problems:
        print(f"bench: warning: {problem}", file=sys.stderr)
    return 2 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
