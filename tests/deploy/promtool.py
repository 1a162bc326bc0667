"""Run Debian's ``promtool`` (package ``prometheus``; ``scripts/system-packages.sh`` installs it)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest


def promtool_path() -> str:
    """Path of ``promtool``; skips the calling test with the install hint where it is missing."""
    found = shutil.which("promtool")
    if found is None:
        pytest.skip("promtool not found: apt-get install prometheus (scripts/system-packages.sh)")
    return found


def run_promtool(*args: str | Path) -> subprocess.CompletedProcess[str]:
    """Run ``promtool`` with ``args``; the result carries its exit code and combined output."""
    return subprocess.run(
        [promtool_path(), *map(str, args)], capture_output=True, text=True, timeout=120, check=False
    )
