"""Where records live: kinds, folders, file names and the repository root."""

from __future__ import annotations

from pathlib import Path
from typing import NamedTuple

from memkb.errors import RepoError, UsageError
from memkb.kb.names import KB_DIR as KB_DIR
from memkb.kb.names import SCHEMAS_DIR as SCHEMAS_DIR
from memkb.kb.names import nearest_root

VOCABULARY_FILE = "kb/vocabulary.yaml"

# kind -> folder under kb/. The vocabulary is a single file, not a folder.
FOLDERS: dict[str, str] = {
    "pattern": "patterns",
    "failure": "failures",
    "template": "templates",
    "outcome": "outcomes",
    "expectation": "expectations",
}
KINDS: tuple[str, ...] = (*FOLDERS, "vocabulary")
KIND_BY_FOLDER: dict[str, str] = {folder: kind for kind, folder in FOLDERS.items()}
# The schema_version each kind's schema requires (schemas/*.schema.json, checked by
# tests/test_render.py): what memkb writes in new and imported records.
SCHEMA_VERSIONS: dict[str, int] = {
    "pattern": 3,  # 2: guards; 3: tools, legacy, phases and key_droids optional
    "failure": 3,  # 2: phases, warning_signs; 3: legacy
    "template": 3,  # 2: guards; 3: tech_stack, tools, legacy, phases and risk_level optional
    "outcome": 2,  # 2: advice (the brief followed or ignored)
    "vocabulary": 1,
    "expectation": 1,
}

# The id a legacy memory gave an imported record (pattern, failure, template: legacy.id),
# by which `memkb show` and `memkb search` also find it.
LEGACY_ID_FIELD = "legacy.id"


class Location(NamedTuple):
    """A record's place: its kind (from the folder) and its id (from the file name)."""

    kind: str | None
    stem: str


def find_root(start: Path) -> Path:
    """Return the nearest directory at or above `start` holding kb/; raise RepoError if none."""
    found = nearest_root(str(start))
    if found is not None:
        return Path(found)
    raise RepoError(
        f"no knowledge base found at or above {start.resolve()}",
        hint="run inside a memkb repository (one with a kb/ folder) or pass --repo DIR",
    )


def schema_path(root: Path, kind: str) -> Path:
    """The schema file for `kind` in repository `root`."""
    return root / SCHEMAS_DIR / f"{kind}.schema.json"


def check_kind(kind: str) -> str:
    """Return `kind` if it is a record kind; raise UsageError naming the known kinds if not."""
    if kind not in KINDS:
        raise UsageError(f"unknown kind '{kind}'", hint=f"use one of: {', '.join(KINDS)}")
    return kind


def location_of(relpath: str) -> Location:
    """Kind and id implied by a path relative to the root, e.g. kb/patterns/x.yaml."""
    parts = relpath.split("/")
    stem = parts[-1].rsplit(".", 1)[0]
    if relpath == VOCABULARY_FILE:
        return Location("vocabulary", stem)
    if len(parts) >= 3 and parts[0] == KB_DIR:
        return Location(KIND_BY_FOLDER.get(parts[1]), stem)
    return Location(None, stem)


def record_relpath(kind: str, record_id: str) -> str:
    """Canonical path of a record relative to the root (outcomes go under their year)."""
    if kind == "vocabulary":
        return VOCABULARY_FILE
    if kind == "outcome":
        return f"{KB_DIR}/outcomes/{record_id[:4]}/{record_id}.yaml"
    return f"{KB_DIR}/{FOLDERS[kind]}/{record_id}.yaml"


def modeline(kind: str, relpath: str) -> str:
    """The yaml-language-server line that points an editor at the record's schema."""
    depth = relpath.count("/")
    return f"# yaml-language-server: $schema={'../' * depth}schemas/{kind}.schema.json"
