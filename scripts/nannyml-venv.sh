#!/usr/bin/env bash
# Builds NannyML's own virtualenv in .venv/tools/nannyml from scripts/nannyml-requirements.txt (exact pins,
# --no-deps): tests/monitoring/test_label_free_nannyml.py runs NannyML's CBPE in it as a subprocess. NannyML's
# pins conflict with the project's, so it cannot live in .venv itself. Idempotent: rebuilds only when the
# requirements file changes, otherwise returns at once.
#
# On failure (no network, no wheel for this Python) it exits 1 and leaves its reason in
# .venv/tools/nannyml.unavailable, which the test shows when it skips; scripts/test.sh carries on.
# Environment: PYTHON (interpreter to build the venv from, default python3.11, as scripts/setup.sh).
set -euo pipefail
cd "$(dirname "$0")/.."

python_bin=${PYTHON:-python3.11}
requirements=scripts/nannyml-requirements.txt
venv=.venv/tools/nannyml
unavailable=.venv/tools/nannyml.unavailable
wanted=$(sha256sum < "$requirements" | cut -c1-16)

if [ "$(cat "$venv/.installed" 2>/dev/null)" = "$wanted" ]; then
    exit 0
fi

echo "setup: installing NannyML into $venv (its own venv; a minute or two)"
mkdir -p .venv/tools
rm -rf "$venv" "$unavailable"
log=$(mktemp)
trap 'rm -f "$log"' EXIT
# NannyML sends usage events to an analytics service unless this variable exists: not from here
if "$python_bin" -m venv "$venv" >"$log" 2>&1 \
    && "$venv/bin/python" -m pip install -q --no-deps -r "$requirements" >"$log" 2>&1 \
    && NML_DISABLE_USAGE_LOGGING=1 "$venv/bin/python" -c 'import nannyml, statsmodels' >"$log" 2>&1; then
    echo "$wanted" > "$venv/.installed"
    exit 0
fi

rm -rf "$venv"
{
    echo "scripts/nannyml-venv.sh could not build $venv with $python_bin; its last output:"
    { grep -v "^WARNING: " "$log" || true; } | tail -n 5
} > "$unavailable"
cat "$unavailable" >&2
exit 1
