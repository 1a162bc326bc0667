"""Security scan of every rendered variant with checkov: no failed check.

checkov is installed in its own virtualenv (``.venv/tools/checkov``) because it pins old versions of
packages the project uses; ``CHECKOV`` may point at another binary. Accepted findings are skipped in the
chart itself with ``checkov.io/skipN`` annotations that carry the reason (``templates/_helpers.tpl``).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.deploy.chart_cases import CASES, rendered

REPO_ROOT = Path(__file__).resolve().parents[2]
CHECKOV_CANDIDATES = [REPO_ROOT / ".venv" / "tools" / "checkov" / "bin" / "checkov"]


def _checkov() -> str:
    configured = os.environ.get("CHECKOV")
    if configured:
        return configured
    for candidate in CHECKOV_CANDIDATES:
        if candidate.is_file():
            return str(candidate)
    found = shutil.which("checkov")
    if found is None:
        pytest.skip(
            "checkov not found: python3.11 -m venv .venv/tools/checkov && "
            ".venv/tools/checkov/bin/pip install 'checkov>=3.2,<4'"
        )
    return found


def test_checkov_finds_no_failed_check(tmp_path: Path) -> None:
    for case in CASES:
        (tmp_path / f"{case}.yaml").write_text(rendered(case).to_yaml())
    # --skip-download keeps checkov offline (no guideline or policy download);
    # BC_SKIP_MAPPING skips its mapping call.
    env = {**os.environ, "BC_SKIP_MAPPING": "TRUE", "CHECKOV_DISABLE_TELEMETRY": "TRUE"}
    result = subprocess.run(
        [
            _checkov(),
            "-d",
            str(tmp_path),
            "--framework",
            "kubernetes",
            "--skip-download",
            "--quiet",
            "-o",
            "json",
        ],
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
        check=False,
    )
    report = json.loads(result.stdout)
    reports = report if isinstance(report, list) else [report]
    failed = [
        f"{c['check_id']} {c['resource']} ({c['file_path']})"
        for r in reports
        for c in r.get("results", {}).get("failed_checks", [])
    ]
    summary = {
        key: sum(r.get("summary", {}).get(key, 0) for r in reports) for key in ("passed", "parsing_errors")
    }
    assert failed == []
    assert summary["parsing_errors"] == 0
    assert summary["passed"] > 100 * len(CASES), "checkov ran too few checks: " + result.stderr[-2000:]
