"""Locust as a bounded headless subprocess writing its CSV stats and HTML report into a results folder.

One Locust process by default; ``processes`` > 1 runs Locust's own master and worker processes on this
machine (``--processes``), so generating the load can use more than one core.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from deploy.bento_server import free_port

LOCUSTFILE = Path(__file__).with_name("locustfile.py")
"""The scenarios the gate runs."""

CSV_PREFIX = "locust"
"""Prefix of Locust's CSV files in the results folder (``locust_stats.csv``, ``locust_failures.csv``, ...)."""

STOP_TIMEOUT_S = 5
"""Seconds Locust lets running requests finish once the run time is up."""

WORKERS_CONNECT_TIMEOUT_S = 60
"""Seconds a distributed Locust master waits for its worker processes before giving up."""


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


def locust_command(
    *,
    host: str,
    results: Path,
    users: int | None,
    spawn_rate: float,
    run_seconds: float,
    processes: int = 1,
    master_port: int | None = None,
    locustfile: Path = LOCUSTFILE,
) -> list[str]:
    """The Locust command line of one headless run writing into ``results``.

    ``processes`` > 1 runs Locust distributed on this machine (``--processes N``: a master and N worker
    processes); the master listens on the loopback interface only, on ``master_port`` (default: a free port).
    """
    if processes < 1:
        raise ValueError(f"Locust needs at least one process, got {processes}")
    prefix = results / CSV_PREFIX
    distributed: list[str] = []
    if processes > 1:
        port = str(master_port if master_port is not None else free_port())
        distributed = [
            "--processes", str(processes), "--master-bind-host", "127.0.0.1", "--master-bind-port", port,
            "--master-port", port, "--expect-workers-max-wait", str(WORKERS_CONNECT_TIMEOUT_S),
        ]  # fmt: skip
    return [
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
        *distributed,
        "--stop-timeout",
        f"{STOP_TIMEOUT_S}s",
        "--csv",
        str(prefix),
        "--html",
        str(results / "report.html"),
        "--loglevel",
        "INFO",
    ]


def run_locust(
    *,
    host: str,
    results: Path,
    users: int | None,
    spawn_rate: float,
    run_seconds: float,
    env: dict[str, str],
    processes: int = 1,
    on_started: Callable[[int], None] | None = None,
    locustfile: Path = LOCUSTFILE,
) -> LocustRun:
    """Run Locust headless against ``host`` for at most ``run_seconds``.

    ``users=None`` means a load shape (selected in ``env``) drives users and ends the run itself; the
    subprocess is still killed ``run_seconds`` plus a grace period after it started. ``processes`` is the
    number of Locust processes generating load (see :func:`locust_command`). ``on_started`` is called with
    the process id of Locust (the root of its process tree) as soon as it runs, e.g. to sample its CPU.
    """
    results.mkdir(parents=True, exist_ok=True)
    prefix = results / CSV_PREFIX
    log = results / "locust.log"
    command = locust_command(
        host=host,
        results=results,
        users=users,
        spawn_rate=spawn_rate,
        run_seconds=run_seconds,
        processes=processes,
        locustfile=locustfile,
    )
    python_path = os.pathsep.join(
        filter(None, [str(locustfile.resolve().parents[1]), os.environ.get("PYTHONPATH")])
    )
    with log.open("wb") as out:
        process = subprocess.Popen(
            command,
            env={**os.environ, **env, "PYTHONPATH": python_path},
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: the master and its workers are stopped together
        )
        try:
            if on_started is not None:
                on_started(process.pid)
            exit_code = process.wait(timeout=run_seconds + STOP_TIMEOUT_S + 120)
        except BaseException:
            _stop_group(process)
            raise
    return LocustRun(
        exit_code=exit_code,
        stats_csv=Path(f"{prefix}_stats.csv"),
        failures_csv=Path(f"{prefix}_failures.csv"),
        html_report=results / "report.html",
        log=log,
    )


def _stop_group(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM Locust's process group (it still writes its reports), then SIGKILL what is left."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signal.SIGTERM)
    with contextlib.suppress(subprocess.TimeoutExpired):
        process.wait(timeout=10)
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signal.SIGKILL)  # a master that hung, or workers that outlived it
    with contextlib.suppress(subprocess.TimeoutExpired):
        process.wait(timeout=5)
