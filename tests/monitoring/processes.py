"""Start and stop real processes in tests: the sidecar (``python -m monitoring serve``) and Prometheus; read
the sidecar's metrics, watch its connections."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parents[2]


def start_sidecar(spool: Path, bundle_dir: Path, port: int, log: Path, *extra: str) -> subprocess.Popen:
    """Run the sidecar on 127.0.0.1:``port`` with fast test settings; its output goes to ``log``."""
    args = [
        sys.executable, "-m", "monitoring", "serve",
        "--spool-dir", str(spool), "--bundle-dir", str(bundle_dir),
        "--host", "127.0.0.1", "--port", str(port),
        "--window-records", "2000", "--max-window-records", "4000", "--min-records", "500",
        "--recompute-rows", "200", "--recompute-interval-seconds", "1", "--poll-interval-seconds", "0.05",
        "--checkpoint-interval-seconds", "0.1", "--calibration-windows", "6", *extra,
    ]  # fmt: skip
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    with open(log, "ab") as out:
        return subprocess.Popen(args, cwd=REPO, env=env, stdout=out, stderr=subprocess.STDOUT)


def start_prometheus(binary: str, config: Path, workdir: Path, port: int) -> subprocess.Popen:
    """Run the ``prometheus`` binary with ``config`` on 127.0.0.1:``port``; data and log go to ``workdir``."""
    with open(workdir / "prometheus.log", "ab") as log:
        return subprocess.Popen(
            [
                binary,
                f"--config.file={config}",
                f"--storage.tsdb.path={workdir / 'tsdb'}",
                f"--web.listen-address=127.0.0.1:{port}",
            ],
            stdout=subprocess.DEVNULL,
            stderr=log,
        )


def write_prometheus_config(
    path: Path, ports: list[int], *, rules_file: Path | None = None, job: str = "credit-scoring"
) -> Path:
    """A Prometheus config at ``path``: 1 s scrapes and rule evaluations, ``rules_file`` if given, and one
    job (namespace ``test``) scraping the processes on 127.0.0.1 at ``ports``."""
    targets = ", ".join(f"'127.0.0.1:{port}'" for port in ports)
    rules = f"rule_files:\n  - {rules_file}\n" if rules_file is not None else ""
    path.write_text(
        "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n"
        f"{rules}"
        f"scrape_configs:\n  - job_name: {job}\n"
        f"    static_configs:\n      - targets: [{targets}]\n        labels: {{namespace: test}}\n"
    )
    return path


def prometheus_query(base: str, promql: str) -> list[dict]:
    """The result vector of an instant PromQL query against the Prometheus at ``base`` (now)."""
    response = httpx.get(f"{base}/api/v1/query", params={"query": promql}, timeout=5)
    response.raise_for_status()
    return response.json()["data"]["result"]


def wait_until(predicate, timeout: float, what: str, interval: float = 0.1) -> None:
    """Poll ``predicate`` until it is true; fail the test with ``what`` after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if predicate():
                return
        except (httpx.HTTPError, OSError):
            pass
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")


def wait_ready(port: int, process: subprocess.Popen, timeout: float = 90) -> None:
    """Wait for ``/readyz`` to answer 200 (fails early if the process died)."""

    def ready() -> bool:
        assert process.poll() is None, f"sidecar exited with {process.returncode}"
        return httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=2).status_code == 200

    wait_until(ready, timeout, "the sidecar to become ready")


def stop(process: subprocess.Popen) -> None:
    """SIGTERM, then SIGKILL if it lingers."""
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def scrape_value(port: int, name: str) -> float | None:
    """Value of an unlabelled sample in the sidecar's ``/metrics``, or ``None`` if absent."""
    for line in httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=5).text.splitlines():
        if line.startswith(name + " "):
            return float(line.split()[1])
    return None


def closed_by_server(sock: socket.socket, within: float) -> bool:
    """Whether the server end closes ``sock`` (end of stream or reset) within ``within`` seconds."""
    sock.settimeout(within)
    try:
        return sock.recv(1) == b""
    except TimeoutError:
        return False
    except ConnectionResetError:
        return True
