"""The bounds on every input memkb reads, in one place: a knowledge file, a `--from`
file or standard input, a Git blob. Data, not scattered literals (docs/validation.md)."""

from __future__ import annotations

from memkb.findings import Finding, error

# Largest knowledge file (and any other single input read) in bytes: records are small,
# so anything larger is a mistake or an attack, refused before parsing (KB105).
MAX_FILE_BYTES = 256 * 1024
# A knowledge file's values, as the YAML readers bound them (memkb.records.load): nodes
# after alias expansion (KB104), nesting depth (KB111), and the largest integer (KB112):
# JSON's exact range (Number.MAX_SAFE_INTEGER), so every reader of a record sees the same
# number. Counts and days are far below it.
MAX_EXPANDED_NODES = 20_000
MAX_DEPTH = 100
MAX_INT = 2**53 - 1


def too_large(path: str) -> Finding:
    """KB105 for a knowledge file over the limit, wherever it was found (disk or a tree)."""
    return error(
        path,
        "KB105",
        f"file is larger than the limit of {MAX_FILE_BYTES} bytes",
        hint="split the record or shorten it",
    )
