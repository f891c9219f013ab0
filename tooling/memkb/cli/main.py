"""The whole `memkb` app with every command registered, for Python callers and tests
(`CliRunner().invoke(app, [...])`). The console script uses memkb.cli.entry instead."""

from __future__ import annotations

from memkb.cli.app import app, fail, handles_errors, repo_root
from memkb.cli.commands import register
from memkb.cli.entry import run

register()

__all__ = ["app", "fail", "handles_errors", "repo_root", "run"]
