"""The bounds on every input memkb reads, in one place: a knowledge file, a `--from`
file or standard input, a Git blob. Data, not scattered literals (docs/validation.md)."""

from __future__ import annotations

from memkb.findings import Finding, error

# Largest knowledge file (and any other single input read) in bytes: records are small,
# so anything larger is a mistake or an attack, refused before parsing (KB105).
MAX_FILE_BYTES = 256 * 1024


def too_large(path: str) -> Finding:
    """KB105 for a knowledge file over the limit, wherever it was found (disk or a tree)."""
    return error(
        path,
        "KB105",
        f"file is larger than the limit of {MAX_FILE_BYTES} bytes",
        hint="split the record or shorten it",
    )
