#!/usr/bin/env bash
# Installs what the tests need, checks lint and format, runs the fast test suite (not `slow`).
set -euo pipefail
cd "$(dirname "$0")/.."
python -m pip install -q --disable-pip-version-check -r requirements-test.txt -e .
ruff check .
ruff format --check .
python -m pytest -m "not slow" -q "$@"
