#!/usr/bin/env bash
# Installs what the tests need, checks lint and format, runs the fast test suite (not `slow`).
#   bash tools/run_tests.sh [pytest args, e.g. -k config -x]
set -euo pipefail
if [[ "${1:-}" == "-h" || "${1:-}" == "--help" ]]; then
    echo "usage: bash tools/run_tests.sh [pytest arguments]"
    echo "  installs requirements-test.txt and this package (editable), runs ruff check,"
    echo "  ruff format --check and pytest -m 'not slow'; slow tests: pytest -m slow"
    exit 0
fi
cd "$(dirname "$0")/.."
python -m pip install -q --disable-pip-version-check -r requirements-test.txt -e .
ruff check .
ruff format --check .
python -m pytest -m "not slow" -q "$@"
