"""``POST /outcomes`` on a real sidecar process: CSV and JSON loaded once, every refusal a clear 4xx that
changes nothing, an oversized body refused and a small one served after it; 503 while the store is down."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from functools import partial
from pathlib import Path

import httpx
import pytest

from deploy.bento_server import free_port
from monitoring import store_schema as schema
from monitoring.bounded_server import HttpLimits
from monitoring.outcomes_endpoint import outcomes_response
from monitoring.server import make_server, serve_in_thread
from tests.monitoring.processes import start_sidecar, stop, wait_until
from tests.monitoring.store_data import row_count

MAX_BODY = 4096
CSV = {"Content-Type": "text/csv"}


@pytest.fixture(scope="module")
def sidecar(tmp_path_factory: pytest.TempPathFactory, bundle_dir: Path) -> Iterator[tuple[str, str]]:
    """A real sidecar with a SQLite decision store and a small body limit: (base URL, store URL)."""
    folder = tmp_path_factory.mktemp("outcomes-endpoint")
    store_url = f"sqlite:///{folder / 'store.sqlite'}"
    port = free_port()
    process = start_sidecar(
        folder / "spool", bundle_dir, port, folder / "sidecar.log",
        "--decision-store-url", store_url, "--outcomes-max-body-bytes", str(MAX_BODY),
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until(lambda: httpx.get(f"{base}/livez", timeout=1).status_code == 200, 60, "sidecar up")
        yield base, store_url
    finally:
        stop(process)


def test_csv_and_json_are_loaded_once(sidecar: tuple[str, str]) -> None:
    base, store_url = sidecar
    body = b"request_id,defaulted,observed_at\ne-1,1,2026-06-01\ne-2,0,2026-06-01\n"
    first = httpx.post(f"{base}/outcomes", content=body, headers=CSV)
    again = httpx.post(f"{base}/outcomes", content=body, headers=CSV)
    as_json = httpx.post(
        f"{base}/outcomes", json=[{"applicant_id": "e-a", "defaulted": True, "observed_at": "2026-06-01"}]
    )
    assert first.status_code == again.status_code == as_json.status_code == 200
    assert (first.json()["stored"], first.json()["unknown_ids"]) == (2, 2)
    assert (again.json()["stored"], again.json()["unchanged"]) == (0, 2)
    assert as_json.json()["stored"] == 1
    assert row_count(store_url, schema.outcomes) >= 3


@pytest.mark.parametrize(
    ("body", "headers", "status", "expected"),
    [
        (b"request_id,defaulted,observed_at\nx-1,1,2026-06-01\nx-2,2,2026-06-01\n", CSV, 400,
         "row 2 (line 3), column defaulted: '2' is not 1/0"),
        (b"request_id,defaulted\nx-1,1\n", CSV, 400, "column 'observed_at' is missing"),
        (b"[{", {"Content-Type": "application/json"}, 400, "the body is not JSON"),
        (b"x-1,1", {"Content-Type": "application/xml"}, 415, "send text/csv or application/json"),
    ],
)  # fmt: skip
def test_bad_bodies_get_a_clear_4xx_and_change_nothing(
    sidecar: tuple[str, str], body: bytes, headers: dict[str, str], status: int, expected: str
) -> None:
    base, store_url = sidecar
    before = row_count(store_url, schema.outcomes)
    response = httpx.post(f"{base}/outcomes", content=body, headers=headers)
    assert response.status_code == status
    assert expected in response.text
    assert row_count(store_url, schema.outcomes) == before


def test_a_contradiction_is_409_until_replaced(sidecar: tuple[str, str]) -> None:
    base, _ = sidecar
    assert httpx.post(f"{base}/outcomes", content=b"request_id,defaulted,observed_at\nc-1,1,2026-06-01\n",
                      headers=CSV).status_code == 200  # fmt: skip
    fix = b"request_id,defaulted,observed_at\nc-1,0,2026-06-02\n"
    conflict = httpx.post(f"{base}/outcomes", content=fix, headers=CSV)
    assert conflict.status_code == 409 and "row 1: request_id 'c-1'" in conflict.json()["reason"]
    replaced = httpx.post(f"{base}/outcomes?replace=true", content=fix, headers=CSV)
    assert replaced.status_code == 200 and replaced.json()["replaced"] == 1


def test_an_oversized_body_is_413_and_a_small_one_is_served_after_it(sidecar: tuple[str, str]) -> None:
    base, _ = sidecar
    big = b"request_id,defaulted,observed_at\n" + b"b-1,1,2026-06-01\n" * 400
    response = httpx.post(f"{base}/outcomes", content=big, headers=CSV)
    assert response.status_code == 413 and f"over {MAX_BODY} bytes" in response.text
    small = httpx.post(f"{base}/outcomes", content=b"request_id,defaulted,observed_at\ns-1,1,2026-06-01\n",
                       headers=CSV)  # fmt: skip
    assert small.status_code == 200


def test_a_body_without_a_length_is_411(sidecar: tuple[str, str]) -> None:
    port = int(sidecar[0].rsplit(":", 1)[1])
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        sock.sendall(b"POST /outcomes HTTP/1.0\r\nContent-Type: text/csv\r\n\r\n")
        answer = sock.recv(4096)
    assert answer.startswith(b"HTTP/1.0 411")


def test_a_store_that_is_down_is_503_with_retry_after() -> None:
    engine = schema.open_engine(f"postgresql://postgres@127.0.0.1:{free_port()}/down")
    server = make_server(
        "127.0.0.1", 0, None, lambda: (True, ""), lambda: (True, ""),  # type: ignore[arg-type]
        limits=HttpLimits(max_threads=2, max_pending=4, request_timeout=5, write_timeout=5),
        outcomes=partial(outcomes_response, engine), max_body_bytes=MAX_BODY,
    )  # fmt: skip
    serve_in_thread(server)
    try:
        port = server.server_address[1]
        response = httpx.post(
            f"http://127.0.0.1:{port}/outcomes",
            content=json.dumps([{"request_id": "d-1", "defaulted": 1, "observed_at": "2026-06-01"}]),
            headers={"Content-Type": "application/json"},
        )
    finally:
        server.shutdown()
        server.server_close()
    assert response.status_code == 503
    assert response.headers["Retry-After"] == "30"
    assert "nothing was loaded" in response.json()["reason"]
