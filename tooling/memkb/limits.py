"""The bounds on every input memkb reads, in one place: a knowledge file, a `--from`
file or standard input, a Git blob. Data, not scattered literals (docs/validation.md)."""

from __future__ import annotations

# Largest knowledge file (and any other single input read) in bytes: records are small,
# so anything larger is a mistake or an attack, refused before parsing (KB105).
MAX_FILE_BYTES = 256 * 1024
