"""Start and stop a real ``bentoml serve`` of the scoring service on a free 127.0.0.1 port."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Mapping
from pathlib import Path

import httpx

REPO_ROOT = Path(__file__).resolve().parents[2]
BENTOML = str(Path(sys.executable).with_name("bentoml"))


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class ServedService:
    """A ``bentoml serve service.service:CreditScorer`` subprocess in its own process group."""

    def __init__(
        self,
        bentoml_home: Path,
        env: Mapping[str, str],
        log_path: Path,
        port: int | None = None,
        source: Path = REPO_ROOT,
    ) -> None:
        """Start serving; ``source`` is the checkout whose service is served (another one for comparisons)."""
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = log_path
        full_env = {**os.environ, "BENTOML_HOME": str(bentoml_home), "BENTOML_DO_NOT_TRACK": "True", **env}
        if source != REPO_ROOT:
            full_env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(source), full_env.get("PYTHONPATH")]))
        self._log = open(log_path, "wb")  # noqa: SIM115 - closed in stop()
        self.process = subprocess.Popen(
            [
                BENTOML,
                "serve",
                "service.service:CreditScorer",
                "--host",
                "127.0.0.1",
                "--port",
                str(self.port),
            ],
            cwd=source,
            env=full_env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def wait_listening(self, timeout_s: float = 90.0) -> None:
        """Wait until the HTTP server answers (any status) on ``/livez``."""
        self._wait(lambda status: status is not None, timeout_s, "listening")

    def wait_ready(self, timeout_s: float = 90.0) -> None:
        """Wait until ``/readyz`` answers 200."""
        self._wait(lambda status: status == 200, timeout_s, "ready")

    def _wait(self, done, timeout_s: float, what: str) -> None:
        deadline = time.monotonic() + timeout_s
        path = "/readyz" if what == "ready" else "/livez"
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"bentoml serve exited ({self.process.returncode}); log: {self.log_path}")
            try:
                status = httpx.get(self.url + path, timeout=2.0).status_code
            except httpx.HTTPError:
                status = None
            if done(status):
                return
            time.sleep(0.3)
        raise TimeoutError(f"service not {what} after {timeout_s} s; log: {self.log_path}")

    def stop(self, timeout_s: float = 30.0) -> int | None:
        """SIGTERM the process group (graceful shutdown), SIGKILL it if it does not exit in time."""
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout_s)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(10)
        self._log.close()
        return self.process.returncode


def last_line_in_home(bentoml_home: Path, code: str, timeout_s: float = 300.0) -> str:
    """Run Python ``code`` in a fresh interpreter whose BentoML home is ``bentoml_home``; return the last
    line it printed.

    BentoML caches its model store location per process, so code that reads or writes another home's
    store runs in a fresh interpreter.
    """
    done = subprocess.run(
        [sys.executable, "-c", code],
        cwd=REPO_ROOT,
        env={**os.environ, "BENTOML_HOME": str(bentoml_home), "BENTOML_DO_NOT_TRACK": "True"},
        capture_output=True,
        text=True,
        check=True,
        timeout=timeout_s,
    )
    return done.stdout.strip().splitlines()[-1]


def register_tiny_bundle(bentoml_home: Path, name: str = "credit_scorer", seed: int = 0) -> str:
    """Train the tiny bundle, register it under ``name`` in ``bentoml_home`` and return its exact tag."""
    code = (
        "from service.bundle import register\n"
        "from tests.service.tiny_bundle import make_tiny_bundle\n"
        f"print(register(make_tiny_bundle(seed={seed}), name={name!r}))\n"
    )
    return last_line_in_home(bentoml_home, code)


def wait_for(predicate: Callable[[], object], timeout_s: float = 15.0, interval_s: float = 0.2) -> None:
    """Poll ``predicate`` until it is true (a condition, not a timing assertion); fail after ``timeout_s``."""
    deadline = time.monotonic() + timeout_s
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(interval_s)
