"""The sealed answer of an unchanged work tree (memkb.validation.warm): served while nothing
the findings depend on changed, and never after a file, a schema, the vocabulary, the code
or the date did.

Most tests plant a marker finding in the stored answer (under the right key): a run that
reports the marker was answered from the seal, one that does not judged the KB again."""

from __future__ import annotations

import hashlib
import json
import marshal
import os
import shutil
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest

from conftest import files_parsed_here
from memkb.cachefile import MAGIC
from memkb.findings import Finding, Severity
from memkb.kb.snapshot import GitTree, WorkTree
from memkb.validation import engine, seal, warm
from memkb.validation.engine import validate, validate_repo

TODAY = date(2026, 1, 1)
OLD = 1_600_000_000  # an mtime far enough in the past for every stat to be trusted
MARKER = Finding("kb/vocabulary.yaml", 1, 1, Severity.WARNING, "KB999", "planted in the seal")
PATTERN = "kb/patterns/authentication_jwt_security_first.yaml"
SIGNATURE = seal.code_signature  # the cached function, even while a test replaces it


@pytest.fixture(autouse=True)
def fresh_code_signature() -> Iterator[None]:
    """Tests that fake the version must not leave their signature cached for others."""
    SIGNATURE.cache_clear()
    yield
    SIGNATURE.cache_clear()


def age(repo: Path) -> None:
    """Make every knowledge file old enough for its stat to be trusted."""
    for path in (repo / "kb").rglob("*.yaml"):
        os.utime(path, (OLD, OLD))


def key_of(repo: Path, today: date = TODAY) -> str:
    key = warm.probe(repo, today).key
    assert key is not None
    return key


def plant(repo: Path) -> None:
    """Seal the aged KB, then add MARKER to its stored answer, and check it is served."""
    age(repo)
    validate_repo(repo, today=TODAY)
    key = key_of(repo)
    answer = warm.load_answer(repo, key)
    assert answer is not None, "a full run over trusted stats stores its answer"
    warm.save_answer(repo, key, answer._replace(collection=(*answer.collection, MARKER)))
    assert MARKER in validate_repo(repo, today=TODAY).findings


def codes(findings: list[Finding]) -> list[str]:
    return [f.code for f in findings]


def no_per_file_work(monkeypatch: pytest.MonkeyPatch) -> None:
    """From here on, loading the per-file results is an error."""

    def refuse(*_: Any, **__: Any) -> Any:
        raise AssertionError("the per-file results were loaded")

    monkeypatch.setattr(engine, "_load_all", refuse)


# -- served while nothing changed ------------------------------------------------------


def test_an_unchanged_kb_is_answered_without_loading_a_file(
    kb_repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    age(kb_repo)
    cold = validate_repo(kb_repo, today=TODAY)
    no_per_file_work(monkeypatch)
    warm_run = validate_repo(kb_repo, today=TODAY)
    assert (warm_run.findings, warm_run.files, warm_run.records) == (
        cold.findings,
        cold.files,
        cold.records,
    )
    assert warm_run.ok and warm_run.files == 8


def test_the_index_of_a_sealed_run_is_built_on_first_use(kb_repo: Path) -> None:
    plant(kb_repo)
    result = validate_repo(kb_repo, today=TODAY)
    assert MARKER in result.findings  # answered from the seal ...
    full = validate_repo(kb_repo, today=TODAY, use_cache=False)
    assert result.index.records.keys() == full.index.records.keys()  # ... yet has its index
    assert len(result.index.records) == result.records


def test_a_run_over_some_files_is_answered_like_a_full_judgement(
    kb_repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = kb_repo / PATTERN
    path.write_text(path.read_text().replace("security-auditor", "security-airditor"))
    template = kb_repo / "kb/templates/ecommerce_standard.yaml"
    template.write_text(template.read_text().replace("payment_webhook_timeout", "payment_x"))
    age(kb_repo)
    validate_repo(kb_repo, today=TODAY)  # seals the answer
    selections = [None, [PATTERN], ["kb/templates"], ["kb/patterns", "kb/vocabulary.yaml"]]
    expected = {
        str(p): validate_repo(kb_repo, p, today=TODAY, use_cache=False).findings for p in selections
    }
    assert {f.path for f in expected["None"]} == {PATTERN, "kb/templates/ecommerce_standard.yaml"}
    no_per_file_work(monkeypatch)
    for paths in selections:
        assert validate_repo(kb_repo, paths, today=TODAY).findings == expected[str(paths)]


# -- noticed: every input of the findings ----------------------------------------------


def test_a_changed_file_is_noticed(kb_repo: Path) -> None:
    plant(kb_repo)
    path = kb_repo / PATTERN
    path.write_text(path.read_text().replace("security-auditor", "security-airditor"))
    assert codes(validate_repo(kb_repo, today=TODAY).findings) == ["KB304"]


def test_a_changed_file_of_the_same_size_is_noticed(kb_repo: Path) -> None:
    plant(kb_repo)
    path = kb_repo / PATTERN
    text = path.read_text()
    path.write_text(text.replace("security-auditor", "security-auditxr"))
    assert len(path.read_text()) == len(text)
    assert codes(validate_repo(kb_repo, today=TODAY).findings) == ["KB304"]


def test_an_added_file_is_noticed(kb_repo: Path) -> None:
    plant(kb_repo)
    shutil.copy(kb_repo / PATTERN, kb_repo / "kb/patterns/copy_of_jwt.yaml")
    result = validate_repo(kb_repo, today=TODAY)
    assert MARKER not in result.findings
    assert result.files == 9  # the copy is judged: a wrong file name, a duplicate id
    assert "kb/patterns/copy_of_jwt.yaml" in {f.path for f in result.findings}


def test_a_deleted_file_is_noticed(kb_repo: Path) -> None:
    plant(kb_repo)
    (kb_repo / "kb/patterns/ecommerce_security_first.yaml").unlink()
    result = validate_repo(kb_repo, today=TODAY)
    assert MARKER not in result.findings and result.files == 7
    assert "KB304" in codes(result.findings)  # an outcome cites the deleted pattern


def test_a_changed_schema_is_noticed(kb_repo: Path) -> None:
    plant(kb_repo)
    schema = kb_repo / "schemas/pattern.schema.json"
    doc = json.loads(schema.read_text())
    doc["required"].append("title")  # the bundled patterns have none
    schema.write_text(json.dumps(doc))
    result = validate_repo(kb_repo, today=TODAY)
    assert MARKER not in result.findings and "KB201" in codes(result.findings)


def test_a_new_file_under_schemas_is_noticed(kb_repo: Path) -> None:
    plant(kb_repo)
    (kb_repo / "schemas/common.schema.json").write_text("{}")
    assert MARKER not in validate_repo(kb_repo, today=TODAY).findings


def test_a_changed_vocabulary_is_noticed(kb_repo: Path) -> None:
    plant(kb_repo)
    vocabulary = kb_repo / "kb/vocabulary.yaml"
    vocabulary.write_text(vocabulary.read_text().replace("  security-auditor:", "  auditor:"))
    result = validate_repo(kb_repo, today=TODAY)
    assert MARKER not in result.findings and "KB304" in codes(result.findings)


def test_another_version_of_memkb_is_noticed(
    kb_repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    plant(kb_repo)
    monkeypatch.setattr(seal, "__version__", "999.0")
    seal.code_signature.cache_clear()
    assert MARKER not in validate_repo(kb_repo, today=TODAY).findings


def test_edited_code_is_noticed_by_the_seal_and_the_per_file_cache(
    kb_repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    plant(kb_repo)
    parsed = files_parsed_here(monkeypatch)
    monkeypatch.setattr(seal, "code_signature", lambda: "edited")
    assert MARKER not in validate_repo(kb_repo, today=TODAY).findings
    assert sum(parsed) == 8  # every file judged again: no result of the old code is kept


def test_the_signature_moves_when_a_module_changes(tmp_path: Path) -> None:
    package = tmp_path / "pkg"
    (package / "sub").mkdir(parents=True)
    module = package / "sub" / "rule.py"
    module.write_text("X = 1\n")
    os.utime(module, (OLD, OLD))
    sign = seal.code_signature.__wrapped__  # the uncached function
    before = sign(package)
    assert sign(package) == before  # stable while nothing moves
    module.write_text("X = 22\n")
    edited = sign(package)
    assert edited != before
    (package / "new.py").write_text("")
    assert sign(package) not in (before, edited)


def test_another_day_is_noticed(kb_repo: Path) -> None:
    plant(kb_repo)
    assert MARKER not in validate_repo(kb_repo, today=TODAY + timedelta(days=1)).findings
    assert key_of(kb_repo) != key_of(kb_repo, TODAY + timedelta(days=1))


# -- not sealed, not served ------------------------------------------------------------


def test_no_answer_is_stored_while_a_file_is_too_recent_to_trust(kb_repo: Path) -> None:
    path = warm.answer_path(kb_repo)
    os.utime(kb_repo / PATTERN)  # just written
    validate_repo(kb_repo, today=TODAY)
    assert not path.exists()
    age(kb_repo)
    validate_repo(kb_repo, today=TODAY)
    assert path.is_file()


def test_a_recently_changed_file_is_judged_on_every_run(kb_repo: Path) -> None:
    plant(kb_repo)
    path = kb_repo / PATTERN
    path.write_text(path.read_text().replace("security-auditor", "security-airditor"))
    for _ in range(2):  # the first run cannot seal the new content: the second judges too
        assert codes(validate_repo(kb_repo, today=TODAY).findings) == ["KB304"]


def test_a_kb_with_a_symlink_is_never_sealed(kb_repo: Path) -> None:
    (kb_repo / "kb/patterns/link.yaml").symlink_to(kb_repo / PATTERN)
    age(kb_repo)
    validate_repo(kb_repo, today=TODAY)
    assert warm.probe(kb_repo, TODAY).key is None
    assert not warm.answer_path(kb_repo).exists()


def test_no_cache_ignores_the_seal(kb_repo: Path) -> None:
    plant(kb_repo)
    assert MARKER not in validate_repo(kb_repo, today=TODAY, use_cache=False).findings


def test_pending_changes_and_trees_are_not_answered_from_the_seal(kb_repo: Path) -> None:
    plant(kb_repo)
    raw = (kb_repo / PATTERN).read_bytes().replace(b"security-auditor", b"security-airditor")
    pending = validate_repo(kb_repo, overlay={PATTERN: raw}, today=TODAY)
    assert codes(pending.findings) == ["KB304"]
    deleted = validate_repo(
        kb_repo, overlay={"kb/patterns/ecommerce_security_first.yaml": None}, today=TODAY
    )
    assert MARKER not in deleted.findings and "KB304" in codes(deleted.findings)
    tree = validate(GitTree(kb_repo, "HEAD"), today=TODAY)
    assert MARKER not in tree.findings and tree.ok
    assert MARKER in validate_repo(kb_repo, today=TODAY).findings  # the seal itself stays


# -- a damaged answer is a miss --------------------------------------------------------


def test_a_damaged_answer_file_is_a_miss(kb_repo: Path) -> None:
    plant(kb_repo)
    path = warm.answer_path(kb_repo)
    good = path.read_bytes()
    for damaged in (b"", b"garbage", good[: len(good) // 2], good[:-1] + b"X"):
        path.write_bytes(damaged)
        result = validate_repo(kb_repo, today=TODAY, use_cache=True)
        assert (result.findings, result.files) == ([], 8)


MALFORMED = {
    "not a mapping": lambda _: ["x"],
    "by_file not a mapping": lambda d: {**d, "by_file": ()},
    "finding too short": lambda d: {**d, "collection": (("kb/x.yaml", 1),)},
    "unknown severity": lambda d: {
        **d,
        "collection": (("kb/x.yaml", 1, 1, "fatal", "KB1", "m", None),),
    },
    "path not text": lambda d: {**d, "by_file": {1: ()}},
    "count not a number": lambda d: {**d, "files": "8"},
    "schemas missing": lambda d: {k: v for k, v in d.items() if k != "schemas"},
}


@pytest.mark.parametrize("damage", MALFORMED.values(), ids=MALFORMED.keys())
def test_an_answer_of_the_wrong_shape_is_a_miss(kb_repo: Path, damage: Any) -> None:
    plant(kb_repo)
    path = warm.answer_path(kb_repo)
    stored = marshal.loads(path.read_bytes()[len(MAGIC) + 32 :])
    stored["entries"] = damage(stored["entries"])
    payload = marshal.dumps(stored)  # resealed: the checksum holds, the shape does not
    path.write_bytes(MAGIC + hashlib.sha256(payload).digest() + payload)
    result = validate_repo(kb_repo, today=TODAY)
    assert (result.findings, result.files) == ([], 8)


# -- the probe: what `memkb validate` asks before importing the engine ------------------


def test_the_probe_lists_what_the_work_tree_lists(kb_repo: Path) -> None:
    probe = warm.probe(kb_repo, TODAY)
    assert probe.sorted_files() == WorkTree(kb_repo).files()
    assert probe.key == warm.probe(kb_repo, TODAY).key  # stable while nothing moves


def test_a_probe_handed_to_the_engine_is_not_made_again(
    kb_repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    plant(kb_repo)
    served = warm.probe(kb_repo, TODAY)
    missed = warm.probe(kb_repo, TODAY + timedelta(days=1))  # another day: no answer

    def refuse(*_: Any) -> Any:
        raise AssertionError("the work tree was probed again")

    monkeypatch.setattr(warm, "probe", refuse)
    assert MARKER in validate(WorkTree(kb_repo), today=TODAY, probe=served).findings
    judged = validate(WorkTree(kb_repo), today=TODAY + timedelta(days=1), probe=missed)
    assert MARKER not in judged.findings and judged.ok
    # The miss sealed its own answer under the probe's key.
    assert warm.load_answer(kb_repo, missed.key or "") is not None
