"""memkb: the persistent memory of an AI orchestrator, as schema-validated YAML in Git.

The public Python API is the names in `__all__`; every CLI command is a thin wrapper over
one of them (docs show both side by side)::

    import memkb

    result = memkb.validate_repo(Path("."))          # memkb validate
    memkb.record_outcome(Path("."), {...})           # memkb record
    report = memkb.check(Path("."), "main", "HEAD")  # memkb check --base main --head HEAD

Names are imported on first use, so `import memkb` (and every CLI start-up) stays cheap:
the write path, GitPython and jsonschema load only when a caller needs them.
"""

from __future__ import annotations

import importlib

from memkb._version import __version__

# Not `from typing import TYPE_CHECKING`: typing costs about 14 ms, and every memkb process
# imports this package first, the express answer of `memkb validate` too (memkb.cli.express).
# Type checkers treat this name as True.
TYPE_CHECKING = False

# name -> module that defines it. An explicit table, not import magic: a test checks that
# every entry resolves and that __all__ lists exactly these names.
_API: dict[str, str] = {
    # validate and check
    "validate": "memkb.validation.engine",
    "validate_repo": "memkb.validation.engine",
    "ValidationResult": "memkb.validation.engine",
    "run_check": "memkb.validation.check",
    "CheckResult": "memkb.validation.check",
    # the KB as an operation sees it
    "Snapshot": "memkb.kb.snapshot",
    "WorkTree": "memkb.kb.snapshot",
    "GitTree": "memkb.kb.snapshot",
    "Overlay": "memkb.kb.snapshot",
    # writes
    "new_record": "memkb.write.authoring",
    "record_outcome": "memkb.write.authoring",
    "set_field": "memkb.write.authoring",
    "add_item": "memkb.write.authoring",
    "remove_item": "memkb.write.authoring",
    "deprecate": "memkb.write.authoring",
    "delete": "memkb.write.authoring",
    "show": "memkb.write.read",
    "list_records": "memkb.write.read",
    "WriteOptions": "memkb.write.transaction",
    "WriteResult": "memkb.write.transaction",
    # figures and history
    "report": "memkb.history.query",
    "series": "memkb.history.query",
    "record_history": "memkb.history.record",
    # advice for the orchestrator
    "recommend": "memkb.advice",
    "brief": "memkb.advice",
    "make_query": "memkb.advice",
    "Advice": "memkb.advice",
    "Brief": "memkb.advice",
    # advice that learns: the brief an outcome followed, and what following it gives
    "resolve_brief": "memkb.advice.followed",
    "compare_advice": "memkb.advice.followed",
    "advice_figures": "memkb.metrics.formulas",
    # legacy memory
    "import_legacy": "memkb.legacy.importer",
    "ImportResult": "memkb.legacy.importer",
    "export_legacy": "memkb.legacy.export",
    "Export": "memkb.legacy.export",
    # findings and rules
    "Finding": "memkb.findings",
    "Severity": "memkb.findings",
    "REGISTRY": "memkb.rules.registry",
    "Rule": "memkb.rules.registry",
    # errors
    "MemkbError": "memkb.errors",
    "UsageError": "memkb.errors",
    "NotFoundError": "memkb.errors",
    "RepoError": "memkb.errors",
    "RecordError": "memkb.errors",
}

__all__ = [
    "REGISTRY",
    "Advice",
    "Brief",
    "CheckResult",
    "Export",
    "Finding",
    "GitTree",
    "ImportResult",
    "MemkbError",
    "NotFoundError",
    "Overlay",
    "RecordError",
    "RepoError",
    "Rule",
    "Severity",
    "Snapshot",
    "UsageError",
    "ValidationResult",
    "WorkTree",
    "WriteOptions",
    "WriteResult",
    "__version__",
    "add_item",
    "advice_figures",
    "brief",
    "compare_advice",
    "delete",
    "deprecate",
    "export_legacy",
    "import_legacy",
    "list_records",
    "make_query",
    "new_record",
    "recommend",
    "record_history",
    "record_outcome",
    "remove_item",
    "report",
    "resolve_brief",
    "run_check",
    "series",
    "set_field",
    "show",
    "validate",
    "validate_repo",
]

if TYPE_CHECKING:  # what type checkers and IDEs see; at run time __getattr__ imports
    from typing import Any

    from memkb.advice.brief import brief
    from memkb.advice.followed import compare_advice, resolve_brief
    from memkb.advice.items import Advice, Brief
    from memkb.advice.query import make_query
    from memkb.advice.recommend import recommend
    from memkb.errors import MemkbError, NotFoundError, RecordError, RepoError, UsageError
    from memkb.findings import Finding, Severity
    from memkb.history.query import report, series
    from memkb.history.record import record_history
    from memkb.kb.snapshot import GitTree, Overlay, Snapshot, WorkTree
    from memkb.legacy.export import Export, export_legacy
    from memkb.legacy.importer import ImportResult, import_legacy
    from memkb.metrics.formulas import advice_figures
    from memkb.rules.registry import REGISTRY, Rule
    from memkb.validation.check import CheckResult, run_check
    from memkb.validation.engine import ValidationResult, validate, validate_repo
    from memkb.write.authoring import (
        add_item,
        delete,
        deprecate,
        new_record,
        record_outcome,
        remove_item,
        set_field,
    )
    from memkb.write.read import list_records, show
    from memkb.write.transaction import WriteOptions, WriteResult


def __getattr__(name: str) -> Any:
    """Import a public name from its module on first use (PEP 562)."""
    module = _API.get(name)
    if module is None:
        raise AttributeError(f"module 'memkb' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
