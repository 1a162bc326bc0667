#!/usr/bin/env bash
# The README's second command: set up, lint, and run the default test suite (slow suites excluded;
# `make test-slow` runs them). Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
bash scripts/system-packages.sh
# NannyML's own venv, for comparing the label-free estimate with its CBPE; where it cannot be built (no
# network, no wheel for this Python) the comparison skips with the reason, and the rest of the suite runs
bash scripts/nannyml-venv.sh || echo "test: no NannyML venv; test_label_free_nannyml.py will skip" >&2
.venv/bin/ruff check .
.venv/bin/ruff format --check .
.venv/bin/vulture
.venv/bin/python -m pytest -m "not slow" "$@"
