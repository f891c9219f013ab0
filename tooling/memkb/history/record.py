"""`memkb history KIND ID`: one record's commits, with a field-level summary."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from memkb.errors import NotFoundError
from memkb.gitio.log import git, iso
from memkb.gitio.objects import BlobReader
from memkb.kb.layout import KB_DIR
from memkb.records.load import load_bytes

_LOG_FORMAT = (
    "--format=%x01%H%x00%P%x00%an%x00%ae%x00%ct%x00"
    "%(trailers:key=Memory-Agent,valueonly,separator=%x2C)"
)


def find_record(root: Path, kind: str, record_id: str) -> str:
    """Path of the record at HEAD (or the canonical path if it is gone); UsageError if
    no file of that kind and id was ever in the history."""
    from memkb.kb.layout import FOLDERS, check_kind, record_relpath

    check_kind(kind)
    canonical = record_relpath(kind, record_id)
    if kind == "vocabulary":
        return canonical
    folder = f"{KB_DIR}/{FOLDERS[kind]}"
    names = git(root, "ls-tree", "-r", "--name-only", "HEAD", "--", folder, check=False)
    here = [p for p in names.splitlines() if p.rsplit("/", 1)[-1] == f"{record_id}.yaml"]
    if canonical in here or not here:
        return canonical
    return here[0]


def record_history(root: Path, kind: str, record_id: str) -> dict[str, Any]:
    """Every commit that touched the record's file, newest first, following renames,
    each with date, author, Memory-Agent trailer and a field-level summary.

    Raise NotFoundError (a UsageError) if the record never existed.
    """
    path = find_record(root, kind, record_id)
    out = git(root, "log", "--follow", "-M", "--raw", "--no-abbrev", "-z", _LOG_FORMAT, "--", path)
    entries = [_log_entry(chunk) for chunk in out.split("\x01")[1:]]
    if not entries:
        raise NotFoundError(
            f"no {kind} '{record_id}' in the history of this repository",
            hint=f"expected it at {path}; check the kind and id",
        )
    contents = BlobReader(root).read(b for e in entries for b in (e["old"], e["new"]) if b)
    commits = []
    for e in entries:
        old = _doc(contents.get(e.pop("old") or ""), e["path"])
        new = _doc(contents.get(e.pop("new") or ""), e["path"])
        moved = [f"moved from {e['from_path']}"] if e["from_path"] else []
        commits.append({**e, "summary": moved + summarize(old, new)})
    return {"kind": kind, "id": record_id, "path": path, "commits": commits}


def _log_entry(chunk: str) -> dict[str, Any]:
    tokens = chunk.split("\0")
    sha, parents, author, email, stamp, agent = tokens[:6]
    entry: dict[str, Any] = {
        "commit": sha,
        "date": iso(int(stamp)),  # UTC with Z, like every memkb timestamp (RFC 3339)
        "author": author,
        "email": email,
        "agent": agent.strip() or None,
        "merge": " " in parents.strip(),
        "change": "merged",
        "path": None,
        "from_path": None,
        "old": None,
        "new": None,
    }
    rest = tokens[6:]
    if rest and rest[0].strip().startswith(":"):
        fields = rest[0].strip().split()
        status = fields[4][0]
        entry["old"] = None if set(fields[2]) == {"0"} else fields[2]
        entry["new"] = None if set(fields[3]) == {"0"} else fields[3]
        entry["change"] = {"A": "added", "D": "deleted", "R": "renamed", "C": "copied"}.get(
            status, "modified"
        )
        entry["path"] = rest[2] if status in "RC" else rest[1]
        entry["from_path"] = rest[1] if status in "RC" else None
    return entry


def _doc(raw: bytes | None, path: str | None) -> dict[str, Any] | None:
    if raw is None:
        return None
    doc = load_bytes(raw, path or "").doc
    return doc if isinstance(doc, dict) else {}


def summarize(old: dict[str, Any] | None, new: dict[str, Any] | None) -> list[str]:
    """Field-level changes between two versions of a record, e.g. 'best_practices: +1 item',
    'key_droids: -security-airditor +security-auditor', 'prior.success_rate: 0.89 -> 0.9'."""
    if old is None and new is None:
        return []
    if old is None:
        return ["created"]
    if new is None:
        return ["deleted"]
    return list(_diff(old, new, ""))


def _diff(old: Any, new: Any, where: str) -> Iterator[str]:
    if isinstance(old, dict) and isinstance(new, dict):
        for key in [*old, *(k for k in new if k not in old)]:
            name = f"{where}.{key}" if where else str(key)
            if key not in new:
                yield f"{name}: removed"
            elif key not in old:
                yield f"{name}: added ({_short(new[key])})"
            elif old[key] != new[key]:
                yield from _diff(old[key], new[key], name)
    elif isinstance(old, list) and isinstance(new, list):
        yield f"{where}: {_list_change(old, new)}"
    else:
        yield f"{where}: {_short(old)} -> {_short(new)}"


def _list_change(old: list[Any], new: list[Any]) -> str:
    gone = [x for x in old if x not in new]
    came = [x for x in new if x not in old]
    if not gone and not came:
        return "reordered"
    names = all(isinstance(x, str) and len(x) <= 40 and " " not in x for x in gone + came)
    if names:
        return " ".join([*(f"-{x}" for x in gone), *(f"+{x}" for x in came)])
    parts = [
        f"+{len(came)} item{'s' * (len(came) != 1)}" if came else "",
        f"-{len(gone)} item{'s' * (len(gone) != 1)}" if gone else "",
    ]
    return " ".join(p for p in parts if p)


def _short(value: Any) -> str:
    if isinstance(value, list):
        return f"{len(value)} item{'s' * (len(value) != 1)}"
    if isinstance(value, dict):
        return f"{len(value)} field{'s' * (len(value) != 1)}"
    text = json.dumps(value, ensure_ascii=False) if isinstance(value, str) else str(value)
    return text if len(text) <= 60 else text[:57] + "..."
