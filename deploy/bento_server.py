"""Serve a bundle for a while: ``bentoml serve``, ready once ``/readyz`` says so, then stopped.

The one way tests, benchmarks, the load-test gate and ``python -m deploy local`` start the scoring service::

    with serving_bundle(home, env={"CREDIT_SCORING_SPOOL_DIR": str(spool)}, log_path=log) as server:
        httpx.post(server.url + "/score", json=...)

:func:`serving_bundle` starts ``bentoml serve service.service:CreditScorer`` (or a Bento tag) with the BentoML
home ``bentoml_home`` and the extra environment ``env`` (``CREDIT_SCORING_*`` settings), on ``port`` or a free
one, waits until ``/readyz`` answers 200 and stops it on exit. A server that exits early or is not ready in
time raises :class:`ServerStartError`, whose message ends with the last lines of its log. Callers that must
start several servers before waiting, or wait for something else than readiness, use :class:`BentoServer`.

The server runs in its own session and process group; stopping it (:class:`deploy.processes.Child`) sends
SIGTERM to the group and to every process of its tree (BentoML's workers start sessions of their own), waits,
and SIGKILLs whatever is left.
"""

from __future__ import annotations

import os
import socket
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from deploy.processes import Child

if TYPE_CHECKING:
    import subprocess

SERVICE_IMPORT_PATH = "service.service:CreditScorer"
"""What ``bentoml serve`` runs when given a registered model rather than a Bento."""

REPO_ROOT = Path(__file__).resolve().parents[1]
"""Repository root: working directory of the served process (where ``service/`` can be imported from)."""

LOOPBACK = "127.0.0.1"
"""Address the server listens on."""

READY_TIMEOUT_S = 120.0
"""Default longest wait for ``/readyz`` to answer 200."""

STOP_GRACE_S = 20.0
"""Default seconds between SIGTERM and SIGKILL when stopping."""

POLL_INTERVAL_S = 0.3
"""Seconds between two readiness probes."""


class ServerStartError(RuntimeError):
    """The server exited or did not become ready in time; the message ends with its last log lines."""


def free_port(host: str = LOOPBACK) -> int:
    """A TCP port nothing listens on right now on ``host``."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((host, 0))
        return int(probe.getsockname()[1])


def http_status(url: str, timeout: float = 2.0) -> int | None:
    """HTTP status of a GET, or ``None`` when nothing answers."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as answer:
            return answer.status
    except urllib.error.HTTPError as exc:
        return exc.code
    except (urllib.error.URLError, OSError):
        return None


def log_tail(path: Path, lines: int = 25) -> str:
    """The last ``lines`` lines of a log file (for error messages)."""
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


def serve_argv(target: str, port: int, *, host: str = LOOPBACK, python: str = sys.executable) -> list[str]:
    """``bentoml serve <target> --host <host> --port <port>``, run by the BentoML of ``python``'s environment
    (its ``bentoml`` script when present, else ``python -m bentoml``)."""
    script = Path(python).with_name("bentoml")
    launcher = [str(script)] if script.exists() else [python, "-m", "bentoml"]
    return [*launcher, "serve", target, "--host", host, "--port", str(port)]


class BentoServer:
    """One ``bentoml serve`` process: :meth:`start`, :meth:`wait_ready` (or :meth:`wait_listening`),
    :meth:`stop`.

    ``bentoml_home`` is the model store to serve from (``None``: the one ``BENTOML_HOME`` of this process
    names); ``env`` is added to this process's environment; ``source`` is the checkout whose ``service/``
    is served (another one for comparisons).
    """

    def __init__(
        self,
        bentoml_home: Path | str | None = None,
        *,
        target: str = SERVICE_IMPORT_PATH,
        port: int | None = None,
        env: Mapping[str, str] | None = None,
        log_path: Path | None = None,
        source: Path = REPO_ROOT,
        stop_grace_s: float = STOP_GRACE_S,
    ) -> None:
        self.port = port or free_port()
        """Port the server listens on."""
        self.url = f"http://{LOOPBACK}:{self.port}"
        """Base URL (no trailing slash)."""
        self.stop_grace_s = stop_grace_s
        """Seconds between SIGTERM and SIGKILL in :meth:`stop`."""
        if log_path is None:
            handle, name = tempfile.mkstemp(prefix=f"bentoml-serve-{self.port}-", suffix=".log")
            os.close(handle)
            log_path = Path(name)
        full_env = {"BENTOML_DO_NOT_TRACK": "True", **os.environ}
        if bentoml_home is not None:
            full_env["BENTOML_HOME"] = str(bentoml_home)
        full_env.update(env or {})
        if Path(source).resolve() != REPO_ROOT:
            full_env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(source), full_env.get("PYTHONPATH")]))
        argv = serve_argv(target, self.port)
        self.child = Child("bentoml serve", argv, full_env, Path(source), log_path, self.url + "/readyz")
        """The supervised process (its argv, environment, log and process tree)."""

    @property
    def log_path(self) -> Path:
        """File receiving the server's standard output and error."""
        return self.child.log

    @property
    def process(self) -> subprocess.Popen[bytes] | None:
        """The ``bentoml serve`` parent process (``None`` before :meth:`start`)."""
        return self.child.process

    @property
    def pid(self) -> int | None:
        """Process id of the ``bentoml serve`` parent while it runs."""
        return None if self.child.exited() else self.child.process.pid

    def start(self) -> BentoServer:
        """Launch the server in its own session, its log truncated first; nothing waits here."""
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        self.log_path.write_bytes(b"")
        self.child.start()
        return self

    def wait_listening(self, timeout_s: float = READY_TIMEOUT_S) -> None:
        """Wait until the HTTP server answers ``/livez`` (any status)."""
        self._wait("/livez", lambda status: status is not None, timeout_s, "listening")

    def wait_ready(self, timeout_s: float = READY_TIMEOUT_S) -> None:
        """Wait until ``/readyz`` answers 200."""
        self._wait("/readyz", lambda status: status == 200, timeout_s, "ready")

    def _wait(self, path: str, done: Callable[[int | None], bool], timeout_s: float, what: str) -> None:
        if self.child.process is None:
            raise ServerStartError("bentoml serve was not started (call start() first)")
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.child.exited():
                code = self.child.process.returncode
                raise ServerStartError(
                    f"bentoml serve exited with {code}; log {self.log_path}:\n{log_tail(self.log_path)}"
                )
            if done(http_status(self.url + path)):
                return
            self.child.remember_tree()
            time.sleep(POLL_INTERVAL_S)
        raise ServerStartError(
            f"bentoml serve not {what} after {timeout_s:g} s; log {self.log_path}:\n{log_tail(self.log_path)}"
        )

    def stop(self) -> int | None:
        """Stop the whole process tree (SIGTERM, grace, SIGKILL); its exit code (``None`` if never started).

        Stopping twice is harmless.
        """
        self.child.stop(self.stop_grace_s)
        return None if self.child.process is None else self.child.process.returncode


@contextmanager
def serving_bundle(
    bentoml_home: Path | str | None = None,
    *,
    target: str = SERVICE_IMPORT_PATH,
    port: int | None = None,
    env: Mapping[str, str] | None = None,
    log_path: Path | None = None,
    ready_timeout_s: float = READY_TIMEOUT_S,
    source: Path = REPO_ROOT,
    stop_grace_s: float = STOP_GRACE_S,
) -> Iterator[BentoServer]:
    """A :class:`BentoServer` started and ready (``/readyz`` answered 200), stopped on exit.

    Raises :class:`ServerStartError` (after stopping what was started) when the server exits early or is
    not ready after ``ready_timeout_s``.
    """
    server = BentoServer(
        bentoml_home,
        target=target,
        port=port,
        env=env,
        log_path=log_path,
        source=source,
        stop_grace_s=stop_grace_s,
    )
    server.start()
    try:
        server.wait_ready(ready_timeout_s)
        yield server
    finally:
        server.stop()
