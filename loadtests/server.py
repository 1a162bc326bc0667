"""A ``bentoml serve`` subprocess on a free loopback port, started for one gate run and always stopped."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Mapping
from pathlib import Path
from types import TracebackType

SERVICE_IMPORT_PATH = "service.service:CreditScorer"
"""What ``bentoml serve`` runs when the gate is given a model tag rather than a Bento."""

REPO_ROOT = Path(__file__).resolve().parents[1]
"""Working directory of the served process (where ``service/`` can be imported from)."""


class ServiceStartError(RuntimeError):
    """The service exited or did not become ready in time; the message ends with its last log lines."""


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((host, 0))
        return int(probe.getsockname()[1])


def _tail(path: Path, lines: int = 25) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


class ServedService:
    """Context manager: start ``bentoml serve <target>``, wait for ``/readyz``, stop its process group."""

    def __init__(
        self,
        target: str,
        *,
        env: Mapping[str, str],
        log_path: Path,
        ready_timeout_s: float = 120.0,
        stop_timeout_s: float = 20.0,
    ) -> None:
        self.target = target
        self.env = dict(env)
        self.log_path = log_path
        self.ready_timeout_s = ready_timeout_s
        self.stop_timeout_s = stop_timeout_s
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.process: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> ServedService:
        self.start()
        try:
            self.wait_ready()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    def start(self) -> None:
        """Launch the server in its own process group, its output going to :attr:`log_path`."""
        bentoml = Path(sys.executable).with_name("bentoml")
        command = [str(bentoml), "serve", self.target, "--host", "127.0.0.1", "--port", str(self.port)]
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with self.log_path.open("wb") as log:
            self.process = subprocess.Popen(
                command,
                cwd=REPO_ROOT,
                env={**os.environ, **self.env},
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    def wait_ready(self) -> None:
        """Poll ``/readyz`` until it answers 200; raise :class:`ServiceStartError` on exit or timeout."""
        assert self.process is not None, "start() first"
        deadline = time.monotonic() + self.ready_timeout_s
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise ServiceStartError(
                    f"bentoml serve exited with {self.process.returncode}:\n{_tail(self.log_path)}"
                )
            try:
                with urllib.request.urlopen(f"{self.url}/readyz", timeout=2) as answer:
                    if answer.status == 200:
                        return
            except (urllib.error.URLError, OSError):
                pass
            time.sleep(0.5)
        raise ServiceStartError(f"not ready after {self.ready_timeout_s:.0f} s:\n{_tail(self.log_path)}")

    @property
    def pid(self) -> int | None:
        """Process id of the ``bentoml serve`` parent, while it runs."""
        return self.process.pid if self.process is not None and self.process.poll() is None else None

    def stop(self) -> None:
        """SIGTERM the server's process group, wait, then SIGKILL what is left."""
        process = self.process
        if process is None:
            return
        self.process = None
        if process.poll() is None:
            try:
                os.killpg(process.pid, signal.SIGTERM)
            except ProcessLookupError:
                return
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(timeout=self.stop_timeout_s)
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(process.pid, signal.SIGKILL)  # workers that outlived their parent
        process.wait(timeout=5)
