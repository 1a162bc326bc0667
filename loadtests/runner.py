"""Locust as a bounded headless subprocess writing its CSV stats and HTML report into a results folder."""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

LOCUSTFILE = Path(__file__).with_name("locustfile.py")
"""The scenarios the gate runs."""

CSV_PREFIX = "locust"
"""Prefix of Locust's CSV files in the results folder (``locust_stats.csv``, ``locust_failures.csv``, ...)."""

STOP_TIMEOUT_S = 5
"""Seconds Locust lets running requests finish once the run time is up."""


@dataclass(frozen=True)
class LocustRun:
    """What a finished Locust subprocess left behind."""

    exit_code: int
    """Locust's exit code (1 when any request failed, 2 on an error of the locustfile)."""
    stats_csv: Path
    """Whole-run statistics per request name."""
    failures_csv: Path
    """Failures grouped by request name and reason."""
    html_report: Path
    """Locust's HTML report."""
    log: Path
    """Locust's own log output."""


def run_locust(
    *,
    host: str,
    results: Path,
    users: int | None,
    spawn_rate: float,
    run_seconds: float,
    env: dict[str, str],
    locustfile: Path = LOCUSTFILE,
) -> LocustRun:
    """Run Locust headless against ``host`` for at most ``run_seconds``.

    ``users=None`` means a load shape (selected in ``env``) drives users and ends the run itself; the
    subprocess is still killed ``run_seconds`` plus a grace period after it started.
    """
    results.mkdir(parents=True, exist_ok=True)
    prefix = results / CSV_PREFIX
    log = results / "locust.log"
    command = [
        sys.executable,
        "-m",
        "locust",
        "-f",
        str(locustfile),
        "--headless",
        "--only-summary",
        "--host",
        host,
        *(
            []
            if users is None
            else ["-u", str(users), "-r", str(spawn_rate), "-t", f"{max(1, round(run_seconds))}s"]
        ),
        "--stop-timeout",
        f"{STOP_TIMEOUT_S}s",
        "--csv",
        str(prefix),
        "--html",
        str(results / "report.html"),
        "--loglevel",
        "INFO",
    ]
    python_path = os.pathsep.join(
        filter(None, [str(locustfile.resolve().parents[1]), os.environ.get("PYTHONPATH")])
    )
    with log.open("wb") as out:
        completed = subprocess.run(
            command,
            env={**os.environ, **env, "PYTHONPATH": python_path},
            stdout=out,
            stderr=subprocess.STDOUT,
            timeout=run_seconds + STOP_TIMEOUT_S + 120,
            check=False,
        )
    return LocustRun(
        exit_code=completed.returncode,
        stats_csv=Path(f"{prefix}_stats.csv"),
        failures_csv=Path(f"{prefix}_failures.csv"),
        html_report=results / "report.html",
        log=log,
    )
