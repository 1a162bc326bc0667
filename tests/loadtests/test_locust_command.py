"""How many Locust processes a run gets, and that the number reaches Locust's command line."""

from __future__ import annotations

import itertools
import json
import os
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from loadtests import gate
from loadtests.gate import EXIT_ERROR, locust_processes
from loadtests.gate_settings import parse_settings
from loadtests.runner import LocustRun, locust_command

COMMON = {"host": "http://127.0.0.1:3000", "users": 10, "spawn_rate": 10.0, "run_seconds": 30.0}


def test_one_process_runs_locust_alone(tmp_path: Path) -> None:
    command = locust_command(results=tmp_path, processes=1, **COMMON)
    assert "--processes" not in command and not any(part.startswith("--master") for part in command)
    assert command[command.index("-u") + 1] == "10"


def test_several_processes_run_a_master_and_workers_on_the_loopback(tmp_path: Path) -> None:
    command = locust_command(results=tmp_path, processes=3, master_port=5601, **COMMON)
    options = dict(itertools.pairwise(command))
    assert options["--processes"] == "3"
    assert options["--master-bind-host"] == "127.0.0.1"
    assert options["--master-bind-port"] == options["--master-port"] == "5601"
    picked = locust_command(results=tmp_path, processes=2, **COMMON)  # a free port when none is given
    assert picked[picked.index("--master-bind-port") + 1] == picked[picked.index("--master-port") + 1]
    with pytest.raises(ValueError, match="at least one process"):
        locust_command(results=tmp_path, processes=0, **COMMON)


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        ([], 1),
        (["--mode", "soak"], 1),
        (["--mode", "knee"], os.cpu_count() or 1),
        (["--mode", "knee", "--locust-processes", "1"], 1),
        (["--locust-processes", "3"], 3),
    ],
)
def test_default_processes_per_mode(argv: list[str], expected: int) -> None:
    assert locust_processes(parse_settings(argv)) == expected


def test_zero_processes_is_refused(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(ValidationError, match="locust_processes"):
        parse_settings(["--locust-processes", "0"])
    assert gate.main(["--locust-processes", "0"]) == EXIT_ERROR
    assert "locust_processes" in capsys.readouterr().err


class _Spec(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        body = json.dumps({"model_tag": "credit_scorer:test"}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *_: Any) -> None:
        pass


@pytest.fixture
def spec_server() -> Iterator[str]:
    """URL of a loopback server answering ``GET /spec`` (all the gate asks before starting Locust)."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Spec)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    thread.join(timeout=10)


def test_the_gate_option_reaches_the_locust_command(
    spec_server: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    asked: dict[str, Any] = {}

    def fake_run_locust(**kwargs: Any) -> LocustRun:
        asked.update(kwargs)
        kwargs["on_started"](os.getpid())  # a process to sample: this one
        missing = tmp_path / "absent.csv"
        return LocustRun(1, missing, missing, missing, missing)

    monkeypatch.setattr(gate, "run_locust", fake_run_locust)
    applicants = tmp_path / "applicants.json"
    applicants.write_text("[]")
    status = gate.main(
        ["--url", spec_server, "--locust-processes", "3", "--applicants", str(applicants),
         "--results", str(tmp_path / "run"), "--no-baseline"]
    )  # fmt: skip
    assert status == EXIT_ERROR  # the fake Locust wrote no statistics
    assert asked["processes"] == 3
    command = locust_command(
        **{key: asked[key] for key in ("host", "results", "users", "spawn_rate", "run_seconds", "processes")}
    )
    assert command[command.index("--processes") + 1] == "3"
