#!/usr/bin/env bash
# The README's first command: set up, then run the main job on the embedded default
# (synthetic Kaggle-schema data; trains and registers a model if none is registered yet).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec .venv/bin/python -m training run "$@"
