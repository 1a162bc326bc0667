"""Drive ``python -m deploy local`` from a test: start it, read its state, query its Prometheus, stop it."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import psutil

REPO_ROOT = Path(__file__).resolve().parents[2]


def wait_until(predicate: Callable[[], Any], timeout_s: float, what: str, interval_s: float = 0.25) -> Any:
    """Poll ``predicate`` until it returns something truthy and return it; fail naming ``what`` otherwise."""
    deadline = time.monotonic() + timeout_s
    last_error: Exception | None = None
    while time.monotonic() < deadline:
        try:
            value = predicate()
            if value:
                return value
        except (httpx.HTTPError, OSError, KeyError, ValueError) as exc:
            last_error = exc
        time.sleep(interval_s)
    raise AssertionError(f"timed out after {timeout_s:.0f} s waiting for {what} (last error: {last_error})")


class LaunchedStack:
    """A ``python -m deploy local`` process started the way a user starts it, in its own process group."""

    def __init__(self, stack_dir: Path, env: dict[str, str], options: list[str]) -> None:
        self.stack_dir = stack_dir
        self.env = env
        self.output = stack_dir.parent / "launcher.out"
        stack_dir.mkdir(parents=True, exist_ok=True)
        with open(self.output, "wb") as out:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "deploy", "local", "--stack-dir", str(stack_dir), *options],
                cwd=REPO_ROOT,
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self.seen_pids: set[int] = {self.process.pid}

    def state(self) -> dict[str, Any]:
        """The launcher's ``stack.json`` (every pid it reports is remembered for the final check)."""
        state = json.loads((self.stack_dir / "stack.json").read_text())
        for process in state["processes"].values():
            self.seen_pids.update(process["pids"])
            self.seen_pids.update(process.get("tree", []))
        return state

    def wait_ready(self, timeout_s: float = 240.0) -> dict[str, Any]:
        """Wait for the launcher to report every process ready; fail early if it exits."""

        def ready() -> dict[str, Any] | None:
            assert self.process.poll() is None, f"launcher exited:\n{self.log_tail()}"
            state = self.state()
            return state if state["ready"] else None

        return wait_until(ready, timeout_s, "the local stack to become ready", interval_s=0.5)

    def log_tail(self, lines: int = 40) -> str:
        """The end of the launcher's output (for failure messages)."""
        text = self.output.read_text(errors="replace") if self.output.exists() else ""
        return "\n".join(text.splitlines()[-lines:])

    def interrupt(self, timeout_s: float = 120.0) -> int:
        """Send SIGINT (what Ctrl-C sends) to the launcher only and wait for it to exit."""
        if self.process.poll() is None:
            with_state = (self.stack_dir / "stack.json").exists()
            if with_state:
                self.state()
            self.process.send_signal(signal.SIGINT)
        return self.process.wait(timeout_s)

    def kill_everything(self) -> None:
        """Last resort for a failed test: SIGKILL the launcher's group and every process of this stack.

        Only processes whose command line or environment names this stack's (unique, temporary) directory
        are signalled, so a recycled pid never hits someone else's process.
        """
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.process.pid, signal.SIGKILL)
        for pid in processes_mentioning(str(self.stack_dir)):
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, signal.SIGKILL)
        self.process.wait(10)


class Prometheus:
    """The HTTP API of the stack's Prometheus."""

    def __init__(self, url: str) -> None:
        self.url = url.rstrip("/")

    def query(self, promql: str) -> list[dict[str, Any]]:
        """Instant query; the result vector (fails on a query error)."""
        answer = httpx.get(f"{self.url}/api/v1/query", params={"query": promql}, timeout=10.0)
        body = answer.json()
        assert body["status"] == "success", f"{promql}: {body}"
        result = body["data"]["result"]
        return result if body["data"]["resultType"] == "vector" else [{"value": result}]

    def value(self, promql: str) -> float | None:
        """The single value of a query, or ``None`` when it returns nothing."""
        result = self.query(promql)
        assert len(result) <= 1, f"{promql} returned {len(result)} series"
        return float(result[0]["value"][1]) if result else None

    def rules(self) -> dict[str, dict[str, Any]]:
        """Alerting rules by name, with their state, ``duration`` (the rule's ``for``) and alerts."""
        answer = httpx.get(f"{self.url}/api/v1/rules", params={"type": "alert"}, timeout=10.0).json()
        return {rule["name"]: rule for group in answer["data"]["groups"] for rule in group["rules"]}

    def targets(self) -> list[dict[str, Any]]:
        """Active scrape targets."""
        return httpx.get(f"{self.url}/api/v1/targets", timeout=10.0).json()["data"]["activeTargets"]


def scrape(url: str, series: str) -> float | None:
    """Value of one sample of a ``/metrics`` page, ``series`` as printed there (``name{label="v"}``)."""
    wanted = series
    for line in httpx.get(url, timeout=10.0).text.splitlines():
        if line.startswith("#"):
            continue
        series, _, value = line.rpartition(" ")
        if series == wanted:
            return float(value)
    return None


def processes_mentioning(marker: str) -> dict[int, str]:
    """Pid -> command of running processes (not zombies) whose command line or environment has ``marker``."""
    found = {}
    for process in psutil.process_iter(["cmdline", "environ", "status"]):
        info = process.info  # a field psutil may not read (another user's environment) is None
        if process.pid == os.getpid() or info["status"] == psutil.STATUS_ZOMBIE:
            continue
        command = " ".join(info["cmdline"] or [])
        environ = info["environ"] or {}
        if marker in command or any(marker in f"{name}={value}" for name, value in environ.items()):
            found[process.pid] = command[:200]
    return found


def scrape_sum(url: str, name: str) -> float:
    """Sum of every sample of metric ``name`` (all label sets) on a ``/metrics`` page; 0 when absent."""
    total = 0.0
    for line in httpx.get(url, timeout=10.0).text.splitlines():
        series, _, value = line.rpartition(" ")
        if not line.startswith("#") and (series == name or series.startswith(name + "{")):
            total += float(value)
    return total
