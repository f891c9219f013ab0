"""memkb's bytecode, written before a benchmark times any memkb process.

`pip install` writes a package's .pyc files; an editable install does not, and with
PYTHONDONTWRITEBYTECODE=1 (set on some machines, this one included) no run writes them
either, so every process would compile memkb's sources again: about 120 ms of each
`memkb record` on the 04ff8bb code, and a third of a `memkb show`. Every benchmark that
starts memkb processes calls `compile_package` first, so it times memkb as installed.
"""

from __future__ import annotations

import compileall
from pathlib import Path


def compile_package(package: Path | None = None) -> None:
    """Write the missing or stale .pyc files of `package` (default: the memkb this
    interpreter imports). Exits the benchmark if a source does not compile."""
    if package is None:
        import memkb

        package = Path(memkb.__file__).resolve().parent
    if not compileall.compile_dir(str(package), quiet=1, force=False):
        raise SystemExit(f"bench: cannot compile {package}")
