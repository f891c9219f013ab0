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

import gc

TYPE_CHECKING = False  # not typing's: this module is imported by every start-up
if TYPE_CHECKING:
    from types import TracebackType

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


def importing() -> _Importing:
    """For `with`: imports a command makes once it runs (memkb.write.transaction.
    load_checkers). In a console-script process, made with the collector off and frozen
    after, as the start-up's are; elsewhere, left to the collector as any import is."""
    return _Importing()


class _Importing:
    # A class, not contextlib.contextmanager: contextlib costs the express answer of
    # `memkb validate` (memkb.cli.express) about 4 ms to import.

    def __enter__(self) -> None:
        self.paused = _state["console"] and not _state["held"] and gc.isenabled()
        if self.paused:
            gc.disable()

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self.paused:
            gc.freeze()
            gc.enable()
