"""What rules produce: issues located by document path, turned into findings later."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import date
from typing import TYPE_CHECKING, Any, NamedTuple

from memkb.findings import Severity

if TYPE_CHECKING:  # a type only: importing the index is no cost of importing a rule
    from memkb.kb.index import Index


class Issue(NamedTuple):
    """A finding before its line and column are known: the file and the path in its
    document (empty = the whole file; `at_key` points at the key rather than the value)."""

    relpath: str
    path: tuple[str | int, ...]
    code: str
    message: str
    severity: Severity = Severity.ERROR
    hint: str | None = None
    at_key: bool = False


class FileContext(NamedTuple):
    relpath: str
    folder_kind: str | None
    doc: dict[str, Any]
    text: str = ""


class RunContext(NamedTuple):
    today: date


FileRule = Callable[[FileContext], Iterable[Issue]]
CollectionRule = Callable[["Index", RunContext], Iterable[Issue]]
