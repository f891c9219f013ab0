"""A cold validate split over processes finds exactly what one process finds."""

from __future__ import annotations

import sys
import threading
from datetime import date
from pathlib import Path

import pytest

from conftest import PROJECT, files_parsed_here
from memkb.validation import engine
from memkb.validation.engine import validate_repo

if str(PROJECT) not in sys.path:  # tooling/bench is not an installed package
    sys.path.insert(0, str(PROJECT))

from tooling.bench.synth import generate_kb

TODAY = date(2026, 1, 1)


def test_parallel_and_serial_runs_find_the_same(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    kb = generate_kb(tmp_path / "kb", 400, broken_fraction=0.2, seed=5)
    monkeypatch.setattr(engine, "_usable_cores", lambda: 2)
    monkeypatch.setattr(engine, "PARALLEL_MIN_FILES", 10**9)
    serial = validate_repo(kb.root, use_cache=False, today=TODAY)
    monkeypatch.setattr(engine, "PARALLEL_MIN_FILES", 10)
    parallel = validate_repo(kb.root, use_cache=False, today=TODAY)
    assert parallel.findings == serial.findings
    assert len(serial.findings) >= len(kb.broken)  # a broken KB: the comparison is not empty
    assert (parallel.files, parallel.records) == (serial.files, serial.records)


def test_a_worker_judges_with_the_snapshots_schemas(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The worker gets the schema bytes the parent read (an overlay's here), not disk's."""
    kb = generate_kb(tmp_path / "kb", 100, seed=6)
    schema = (kb.root / "schemas/pattern.schema.json").read_text()
    stricter = schema.replace('"properties": {', '"maxProperties": 1, "properties": {', 1)
    assert stricter != schema
    overlay = {"schemas/pattern.schema.json": stricter.encode()}
    monkeypatch.setattr(engine, "_usable_cores", lambda: 2)
    monkeypatch.setattr(engine, "PARALLEL_MIN_FILES", 10)
    result = validate_repo(kb.root, overlay=overlay, use_cache=False, today=TODAY)
    flagged = {f.path for f in result.findings if f.code == "KB201"}
    assert len(flagged) == kb.counts["pattern"]


def test_a_cold_run_gives_half_the_files_to_a_worker(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    kb = generate_kb(tmp_path / "kb", 100, seed=7)
    monkeypatch.setattr(engine, "_usable_cores", lambda: 2)
    monkeypatch.setattr(engine, "PARALLEL_MIN_FILES", 10)
    monkeypatch.setattr(threading, "active_count", lambda: 1)
    counts = files_parsed_here(monkeypatch)
    validate_repo(kb.root, use_cache=False, today=TODAY)
    assert 0 < sum(counts) < 101  # 100 records and the vocabulary: the rest went to the worker


def test_a_threaded_process_never_forks(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """fork() in a process with other threads (the MCP server) could deadlock the child."""
    kb = generate_kb(tmp_path / "kb", 100, seed=7)
    monkeypatch.setattr(engine, "_usable_cores", lambda: 2)
    monkeypatch.setattr(engine, "PARALLEL_MIN_FILES", 10)
    counts = files_parsed_here(monkeypatch)
    stop = threading.Event()
    other = threading.Thread(target=stop.wait)
    other.start()
    try:
        validate_repo(kb.root, use_cache=False, today=TODAY)
    finally:
        stop.set()
        other.join()
    assert sum(counts) == 101  # every file parsed here


@pytest.mark.parametrize("min_files", [10**9, 10])
def test_a_cold_index_holds_summaries_and_the_references_of_whole_documents(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, min_files: int
) -> None:
    """Once judged, a file's document is reduced to its summary (in one process or sent
    back by the worker): the cold peak memory held every whole document. The references
    are still those of the whole document, and the vocabulary stays whole."""
    kb = generate_kb(tmp_path / "kb", 200, seed=7)
    monkeypatch.setattr(engine, "_usable_cores", lambda: 2)
    monkeypatch.setattr(engine, "PARALLEL_MIN_FILES", min_files)
    index = validate_repo(kb.root, use_cache=False, today=TODAY).index
    whole = engine.index_of(engine.WorkTree(kb.root))
    assert index.records.keys() == whole.records.keys() and len(index.records) > 200
    for key, record in index.records.items():
        full = whole.records[key]
        expected = full.doc if record.kind == "vocabulary" else engine.summarize(full.doc)
        assert (record.doc, record.refs) == (expected, full.refs), key
    assert any(len(r.doc) < len(whole.records[k].doc) for k, r in index.records.items())
    assert sum(len(r.refs) for r in index.records.values()) > 200
