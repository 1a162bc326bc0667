"""SIGTERM to a real ``bentoml serve`` under steady load: every request answered 2xx is in the spool and is
ingested once by the drift sidecar."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from pathlib import Path

import httpx
import pytest

from deploy.bento_server import BentoServer, free_port
from tests.monitoring.processes import scrape_value, start_sidecar, stop, wait_ready, wait_until
from tests.service.serving import last_line_in_home, register_tiny_bundle
from tests.service.spool_records import read_spool
from tests.service.tiny_bundle import applicant_payloads

pytestmark = pytest.mark.timeout(300)


async def _score_until(
    server: BentoServer, stop_at: float, answered: list[str], failures: Counter, index: int
) -> None:
    """Score single applicants (even ``index``) or batches of 10 (odd) until ``stop_at``."""
    applicants = applicant_payloads(50, seed=9)
    limits = httpx.Limits(max_connections=1)
    async with httpx.AsyncClient(base_url=server.url, timeout=10, limits=limits) as client:
        n = 0
        while time.monotonic() < stop_at:
            body = {"applicants": applicants[:10]} if index % 2 else applicants[n % 50]
            n += 1
            try:
                response = await client.post("/score", json=body)
            except httpx.TransportError as error:  # refused or closed once the server stops
                failures[type(error).__name__] += 1
                await asyncio.sleep(0.05)
                continue
            if response.status_code != 200:
                failures[response.status_code] += 1
                continue
            result = response.json()
            answered.extend(r["request_id"] for r in result.get("results", [result]))


def test_sigterm_under_load_loses_no_answered_record(tmp_path: Path) -> None:
    """16 clients score for 3 s, then the server gets SIGTERM while they keep sending: it exits 0, the
    spool holds exactly the request ids answered 2xx (none twice, none other), every segment closed, and
    the drift sidecar, reading the spool all along, ingests as many records as were answered 2xx."""
    tag = register_tiny_bundle(tmp_path / "home")
    bundle_dir = last_line_in_home(
        tmp_path / "home", f"from service.bundle import registered_path\nprint(registered_path({tag!r}))"
    )
    spool = tmp_path / "spool"
    spool.mkdir()
    sidecar_port = free_port()
    sidecar = start_sidecar(
        spool, Path(bundle_dir), sidecar_port, tmp_path / "sidecar.log", "--delete-consumed", "false"
    )
    server = BentoServer(
        tmp_path / "home", env={"CREDIT_SCORING_SPOOL_DIR": str(spool)}, log_path=tmp_path / "serve.log"
    )
    answered: list[str] = []
    failures: Counter = Counter()

    async def load_then_terminate() -> int | None:
        stop_at = time.monotonic() + 6
        clients = [_score_until(server, stop_at, answered, failures, i) for i in range(16)]

        async def terminate() -> int | None:
            await asyncio.sleep(3)
            return await asyncio.to_thread(server.stop)

        *_, code = await asyncio.gather(*clients, terminate())
        return code

    try:
        wait_ready(sidecar_port, sidecar)
        server.start()
        try:
            server.wait_ready()
            code = asyncio.run(load_then_terminate())
        finally:
            server.stop()
        ingested: list[float | None] = []

        def all_ingested() -> bool:
            ingested.append(scrape_value(sidecar_port, "credit_scoring_drift_records_ingested_total"))
            return ingested[-1] == len(answered)

        try:
            wait_until(all_ingested, 60, "the sidecar to ingest every answered record")
        except AssertionError as error:
            raise AssertionError(f"{error}: answered {len(answered)}, ingested {ingested[-3:]}") from None
        time.sleep(1.0)  # a record counted twice would show up by now
        assert scrape_value(sidecar_port, "credit_scoring_drift_records_ingested_total") == len(answered)
    finally:
        stop(sidecar)
    assert code == 0, server.log_path.read_text()[-3000:]
    assert len(answered) > 1000
    assert failures, "the load went on after the stop, so some requests must have been refused"
    assert set(failures) <= {"ConnectError", "ReadError", "RemoteProtocolError", 503}, failures
    records = read_spool(spool)
    ids = [record["request_id"] for record in records]
    assert len(ids) == len(set(ids))
    assert set(ids) == set(answered)
    assert not list(spool.glob("*.open"))
