"""Model stores for served tests: register the tiny bundle in a BentoML home, run code against that home.

Serving itself is :mod:`deploy.bento_server` (``serving_bundle``, ``BentoServer``).
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import psutil

from deploy.bento_server import REPO_ROOT, BentoServer


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


def live_explainer(server: BentoServer, timeout_s: float = 30.0) -> psutil.Process:
    """The explainer process of ``server``, once one is running (one killed before may linger as a zombie
    until BentoML's arbiter reaps it and starts the next)."""
    deadline = time.monotonic() + timeout_s
    while True:
        live = []
        for process in psutil.Process(server.pid).children(recursive=True):
            try:
                if process.status() != psutil.STATUS_ZOMBIE and "credit_explainer" in process.cmdline():
                    live.append(process)
            except (psutil.NoSuchProcess, psutil.ZombieProcess):
                continue
        if len(live) == 1:
            return live[0]
        assert time.monotonic() < deadline, f"{len(live)} explainer processes after {timeout_s:.0f} s"
        time.sleep(0.1)
