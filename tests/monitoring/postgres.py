"""A real PostgreSQL server for tests: Debian's ``postgresql`` binaries, a throw-away cluster on loopback.

PostgreSQL refuses to run as root, and tests run as root in CI: there the cluster belongs to ``nobody`` and
its programs run through ``setpriv`` (util-linux, present on every Debian); a non-root user runs them as
itself. The cluster lives in a fresh folder under the system's temp directory (a pytest ``tmp_path`` under
``/tmp/pytest-of-root`` is closed to ``nobody``), trusts local connections, and skips fsync.
"""

from __future__ import annotations

import os
import pwd
import shutil
import signal
import subprocess
import tempfile
from pathlib import Path

from deploy.bento_server import free_port
from tests.monitoring.processes import wait_until


def _server_binaries() -> Path:
    """Debian's newest installed server version (``/usr/lib/postgresql/<major>/bin``), or the override."""
    if os.environ.get("CREDIT_SCORING_PG_BIN"):
        return Path(os.environ["CREDIT_SCORING_PG_BIN"])
    found = [p for p in Path("/usr/lib/postgresql").glob("*/bin") if p.parent.name.isdigit()]
    versions = sorted(found, key=lambda p: int(p.parent.name))
    return versions[-1] if versions else Path("/usr/lib/postgresql/15/bin")


PG_BIN = _server_binaries()
"""Folder of ``initdb``, ``postgres``, ``createdb``, ``pg_isready`` (``CREDIT_SCORING_PG_BIN`` overrides)."""
UNPRIVILEGED_USER = "nobody"
"""The user the cluster runs as when the tests run as root."""


def available() -> bool:
    """Whether the PostgreSQL server binaries are installed."""
    return all((PG_BIN / name).exists() for name in ("initdb", "postgres", "createdb"))


class PostgresServer:
    """One cluster on ``127.0.0.1:<free port>``; :meth:`stop`, then :meth:`start` again, is an outage."""

    def __init__(self) -> None:
        self.folder = Path(tempfile.mkdtemp(prefix="credit-scoring-pg-"))
        self.data = self.folder / "data"
        self.port = free_port()
        self._as_root = os.geteuid() == 0
        if self._as_root:
            user = pwd.getpwnam(UNPRIVILEGED_USER)
            self.folder.chmod(0o755)
            os.chown(self.folder, user.pw_uid, user.pw_gid)
        self._run("initdb", "-D", str(self.data), "-A", "trust", "-U", "postgres", "-E", "UTF8", "--no-sync")
        self.process: subprocess.Popen | None = None
        self._databases = 0

    def _command(self, program: str, *args: str) -> list[str]:
        prefix = (
            ["setpriv", f"--reuid={UNPRIVILEGED_USER}", "--regid=nogroup", "--clear-groups"]
            if self._as_root
            else []
        )
        return [*prefix, str(PG_BIN / program), *args]

    def _run(self, program: str, *args: str) -> None:
        subprocess.run(self._command(program, *args), check=True, capture_output=True, cwd=self.folder)

    def start(self) -> None:
        """Start the server and wait until it accepts connections."""
        with open(self.folder / "postgres.log", "ab") as log:
            args = ["-D", str(self.data), "-p", str(self.port), "-k", str(self.folder)]
            for option in ("listen_addresses=127.0.0.1", "fsync=off", "full_page_writes=off"):
                args += ["-c", option]
            self.process = subprocess.Popen(
                self._command("postgres", *args), stdout=log, stderr=subprocess.STDOUT, cwd=self.folder
            )
        wait_until(self._accepts, 30, "PostgreSQL accepting connections")

    def _accepts(self) -> bool:
        result = subprocess.run(
            [str(PG_BIN / "pg_isready"), "-h", "127.0.0.1", "-p", str(self.port)],
            capture_output=True,
        )
        return result.returncode == 0

    def stop(self) -> None:
        """Stop the server at once (fast shutdown: open connections are cut, as in an outage)."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)  # "fast" shutdown; SIGTERM would wait for the clients
            self.process.wait(timeout=30)
        self.process = None

    def new_database(self) -> str:
        """Create an empty database and return its SQLAlchemy URL."""
        self._databases += 1
        name = f"test{self._databases}"
        self._run("createdb", "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres", name)
        return f"postgresql://postgres@127.0.0.1:{self.port}/{name}"

    def remove(self) -> None:
        """Stop the server and delete its cluster."""
        self.stop()
        shutil.rmtree(self.folder, ignore_errors=True)
