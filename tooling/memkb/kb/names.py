"""The repository's folder names and how its root is found, with nothing but `os`: the
express answer of `memkb validate` (memkb.cli.express) runs before pathlib, dataclasses or
typing are imported (each costs 15 to 30 ms of a 90 ms start-up)."""

from __future__ import annotations

import os

KB_DIR = "kb"
SCHEMAS_DIR = "schemas"


def nearest_root(start: str) -> str | None:
    """The nearest directory at or above `start` (made absolute, symlinks resolved) that
    holds kb/, or None."""
    candidate = os.path.realpath(start)
    while True:
        if os.path.isdir(os.path.join(candidate, KB_DIR)):
            return candidate
        parent = os.path.dirname(candidate)
        if parent == candidate:
            return None
        candidate = parent
