"""Python's cycle collector during the start-up of a `memkb` process.

Importing typer, memkb and their modules creates tens of thousands of objects that all
stay alive to the end: functions, classes, the dataclasses' generated methods. With the
collector on, each of them is traversed again and again by collections that find no
garbage: about 3% of the instructions of a `memkb record` process, and more of its time
(callgrind and CPU time, tooling/bench/README.md). So the console script
(memkb.cli.entry) turns the collector off before importing anything, and turns it back
on when the command starts, with the start-up's objects frozen out of its reach
(gc.freeze: never traversed, never freed, as module objects are not). The command
itself runs with the collector on: a cold `memkb validate` of 10,000 records or a
long-lived `memkb mcp` server collects as it always did.

Used as a library (memkb inside another process), memkb leaves the collector alone."""

from __future__ import annotations

import contextlib
import gc
from collections.abc import Iterator

# "console": this process is the console script's; "held": its start-up is not over.
_state = {"console": False, "held": False}


def hold_collector() -> None:
    """Turn the collector off for the start-up of a console-script process."""
    _state["console"] = _state["held"] = True
    gc.disable()


def release_collector() -> None:
    """The command starts: freeze what the start-up made, turn the collector back on.
    Does nothing outside the console script, or when already done."""
    if _state["held"]:
        _state["held"] = False
        gc.freeze()
        gc.enable()


@contextlib.contextmanager
def importing() -> Iterator[None]:
    """Imports a command makes once it runs (memkb.write.transaction.load_checkers): in a
    console-script process, made with the collector off and frozen after, as the
    start-up's are; elsewhere, left to the collector as any import is."""
    if not _state["console"] or _state["held"] or not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.freeze()
        gc.enable()
