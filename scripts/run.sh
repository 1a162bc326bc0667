#!/usr/bin/env bash
# The README's first command: set up, train and register a model on the embedded default (synthetic
# Kaggle-schema data) if none is registered yet, then run the whole system on this machine until Ctrl-C:
# the scoring service, the drift sidecar and, when installed, a local Prometheus with the chart's alerts.
# Arguments go to `python -m training run` (e.g. --retrain, --data DIR); CREDIT_SCORING_STACK_ARGS (one
# string, split on spaces) goes to `python -m deploy local` (e.g. "--api-port 3000 --fresh").
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
for arg in "$@"; do
    if [ "$arg" = "-h" ] || [ "$arg" = "--help" ]; then
        .venv/bin/python -m training run --help
        echo
        .venv/bin/python -m deploy local --help
        exit 0
    fi
done
# Prometheus is optional: without it (not root, not Debian, no network) the rest of the stack still runs.
bash scripts/system-packages.sh || echo "run: Prometheus could not be installed; continuing without it" >&2
.venv/bin/python -m training run "$@"
# shellcheck disable=SC2086  # word splitting of the extra stack arguments is intended
exec .venv/bin/python -m deploy local ${CREDIT_SCORING_STACK_ARGS:-}
