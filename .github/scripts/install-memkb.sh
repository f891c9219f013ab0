#!/usr/bin/env bash
# Install the memkb checker from SOURCE into a new virtual environment VENV, with every
# dependency pinned by hash. Used by .github/workflows/knowledge.yml (SOURCE: the base
# commit's checkout) and action.yml (SOURCE: the action's own pinned code).
#
#   bash install-memkb.sh SOURCE VENV
#
# Nothing here may run code from a pull request: run it from a directory outside the
# pull request's checkout, and every Python is started with -I (isolated: neither the
# current directory nor the script's is put on sys.path, PYTHON* variables and the user
# site are ignored), so a pull request that adds pip/__main__.py, venv/__main__.py or
# sitecustomize.py has nothing to hijack.
set -euo pipefail
source_dir=$1
venv=$2

python -I -m venv "$venv"
# Dependencies first, from the lock: exact versions, hashes required, no resolution.
"$venv/bin/python" -I -m pip install --no-input --disable-pip-version-check \
  --require-hashes --no-deps -r "$source_dir/.github/requirements/check.txt"
# memkb itself, built with the setuptools just installed, from nothing but SOURCE.
"$venv/bin/python" -I -m pip install --no-input --disable-pip-version-check \
  --no-deps --no-index --no-build-isolation "$source_dir"
