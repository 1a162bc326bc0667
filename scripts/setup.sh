#!/usr/bin/env bash
# Sets up the project on a fresh Debian machine with Python 3.11: a virtualenv in .venv with the project
# installed in editable mode (with the dev extras). Idempotent: reinstalls only when pyproject.toml changes.
# Environment: PYTHON (interpreter to build the venv from, default python3.11), SETUP_EXTRAS (default "dev").
set -euo pipefail
cd "$(dirname "$0")/.."

python_bin=${PYTHON:-python3.11}
extras=${SETUP_EXTRAS:-dev}

if ! command -v "$python_bin" >/dev/null 2>&1; then
    echo "setup: $python_bin not found; install Python 3.11 (Debian: apt-get install python3.11) or set PYTHON=" >&2
    exit 1
fi

# Debian splits venv/ensurepip into python3-venv; install it where we can (root on Debian).
if ! "$python_bin" -c 'import ensurepip, venv' >/dev/null 2>&1; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
        apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-venv >/dev/null
    else
        echo "setup: the venv module is missing; run: sudo apt-get install python3-venv" >&2
        exit 1
    fi
fi

if [ ! -x .venv/bin/python ]; then
    echo "setup: creating .venv with $python_bin"
    "$python_bin" -m venv .venv
fi

stamp=".venv/.installed-$(cat pyproject.toml | sha256sum | cut -c1-16)-$extras"
if [ ! -f "$stamp" ]; then
    echo "setup: installing the project and its dependencies into .venv (first run takes a few minutes)"
    .venv/bin/python -m pip install -q --upgrade pip
    .venv/bin/python -m pip install -q -e ".[$extras]"
    rm -f .venv/.installed-*
    touch "$stamp"
fi

# checkov (the chart's security scan) pins packaging and python-dateutil below what the project needs,
# so it lives in a venv of its own inside .venv.
if [[ "$extras" == *dev* ]] && [ ! -x .venv/tools/checkov/bin/checkov ]; then
    echo "setup: installing checkov into .venv/tools/checkov"
    "$python_bin" -m venv .venv/tools/checkov
    .venv/tools/checkov/bin/python -m pip install -q --upgrade pip
    .venv/tools/checkov/bin/python -m pip install -q "checkov>=3.2,<4"
fi
