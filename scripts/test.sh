#!/usr/bin/env bash
# The README's second command: set up, lint, and run the default test suite (slow suites excluded;
# `make test-slow` runs them). Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
bash scripts/system-packages.sh
.venv/bin/ruff check .
.venv/bin/ruff format --check .
.venv/bin/vulture
.venv/bin/python -m pytest -m "not slow" "$@"
