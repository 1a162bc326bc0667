"""A real ``bentoml serve`` against clients that try to take a pod down: stalled uploads, made-up paths,
oversized request lines and headers."""

from __future__ import annotations

import json
import re
import socket
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from deploy.bento_server import BentoServer, serving_bundle
from tests.service.serving import live_explainer, register_tiny_bundle
from tests.service.tiny_bundle import applicant_payloads

pytestmark = pytest.mark.timeout(300)

BODY_TIMEOUT_S = 3.0
"""The served ``CREDIT_SCORING_BODY_READ_TIMEOUT_S``."""
SAMPLE = re.compile(r"^([a-zA-Z_:][a-zA-Z0-9_:]*(?:\{[^}]*\})?) ", re.M)
"""A sample line of the Prometheus text format: its series (name and labels)."""


@pytest.fixture(scope="module")
def hostile_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BentoServer]:
    """The service on the tiny bundle, with a short body timeout, in a BentoML home of its own (servers
    sharing one share its multiprocess metric files, which a server clears when it starts and stops).
    It also runs with refusal reasons turned off, the one setting the main test server cannot show."""
    work = tmp_path_factory.mktemp("hostile")
    register_tiny_bundle(work / "home")
    env = {
        "CREDIT_SCORING_SPOOL_DIR": str(work / "spool"),
        "CREDIT_SCORING_BODY_READ_TIMEOUT_S": str(BODY_TIMEOUT_S),
        "CREDIT_SCORING_REFUSAL_REASONS": "false",
    }
    with serving_bundle(work / "home", env=env, log_path=work / "serve.log") as served:
        yield served


def _stalled_upload(port: int) -> socket.socket:
    """A connection that announced a 100-byte JSON body on /score and sent 12 bytes of it."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=30)
    sock.sendall(
        b"POST /score HTTP/1.1\r\nHost: test\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n"
        b'{"features":'
    )
    return sock


def _series(client: httpx.Client) -> set[str]:
    return set(SAMPLE.findall(client.get("/metrics").text))


def test_stalled_uploads_take_no_capacity_and_get_408(hostile_server: BentoServer) -> None:
    """80 stalled uploads (more than the 64 requests in flight a worker allows): valid requests are still
    answered 200, and each stalled one gets 408 after the body timeout, its connection closed."""
    stalled = [_stalled_upload(hostile_server.port) for _ in range(80)]
    started = time.monotonic()
    try:
        applicants = applicant_payloads(40, seed=11)
        with httpx.Client(base_url=hostile_server.url, timeout=10.0) as client:

            def score(applicant: dict) -> int:
                return client.post("/score", json=applicant).status_code

            with ThreadPoolExecutor(8) as pool:
                statuses = list(pool.map(score, applicants))
        assert statuses == [200] * len(applicants)
        assert time.monotonic() - started < BODY_TIMEOUT_S  # all of this while the uploads were stalled
        for sock in stalled:
            answer = b""
            while chunk := sock.recv(65536):  # until the server closes the connection
                answer += chunk
            assert answer.startswith(b"HTTP/1.1 408 "), answer[:100]
            assert b'"body_timeout"' in answer
    finally:
        for sock in stalled:
            sock.close()
    assert time.monotonic() - started >= BODY_TIMEOUT_S - 0.5


def test_made_up_paths_create_no_metric_series(hostile_server: BentoServer) -> None:
    """1,000 distinct unknown paths (some under real routes' prefixes, some long) are answered 404 and leave
    the set of metric series as it was."""
    with httpx.Client(base_url=hostile_server.url, timeout=10.0) as client:
        assert client.get("/first-unknown").status_code == 404  # creates route="other", code="404" once
        before = _series(client)
        paths = [f"/probe-{i}-{'x' * (i % 300)}" for i in range(700)]
        paths += [f"/static_content/probe-{i}.js" for i in range(100)]
        paths += [f"/readyz/{i}" for i in range(100)] + [f"/score/{i}" for i in range(100)]
        for i, path in enumerate(paths):
            response = client.post(path, json={}) if i % 2 else client.get(path)
            assert response.status_code == 404, path
            assert response.json()["error"] == "not_found"
        after = _series(client)
    assert after == before
    assert any('route="other"' in series for series in after)


def test_the_served_paths_still_answer(hostile_server: BentoServer) -> None:
    with httpx.Client(base_url=hostile_server.url, timeout=10.0) as client:
        for path in ("/", "/docs.json", "/spec", "/readyz", "/livez", "/healthz", "/metrics"):
            assert client.get(path).status_code == 200, path
        assert client.get("/static_content/swagger-ui.css").status_code == 200
        assert client.post("/score", json=applicant_payloads(1)[0]).status_code == 200


def test_long_request_lines_and_headers_are_refused(hostile_server: BentoServer) -> None:
    with httpx.Client(base_url=hostile_server.url, timeout=10.0) as client:
        response = client.get("/readyz", params={"q": "x" * 9000})
        assert (response.status_code, response.json()["error"]) == (414, "url_too_long")
        response = client.post("/score", json={}, headers={"x-filler": "y" * 17000})
        assert (response.status_code, response.json()["error"]) == (431, "headers_too_large")


def test_ambiguous_bodies_are_refused_on_both_scoring_routes(hostile_server: BentoServer) -> None:
    """Duplicate keys (read by msgspec as their last value), a UTF-16 body and ``"explain": null``."""
    payload = applicant_payloads(1)[0]
    text = json.dumps(payload)
    key = next(iter(payload))
    repeated = "{" + f"{json.dumps(key)}: null, " + text[1:]
    headers = {"content-type": "application/json"}
    with httpx.Client(base_url=hostile_server.url, timeout=10.0) as client:
        for path in ("/score", "/explain"):
            assert client.post(path, content=text, headers=headers).status_code == 200, path
            response = client.post(path, content=repeated, headers=headers)
            assert (response.status_code, response.json()["field"]) == (400, key), path
            response = client.post(path, content=text.encode("utf-16"), headers=headers)
            assert (response.status_code, response.json()["error"]) == (400, "malformed_request"), path
        response = client.post("/score", json={**payload, "explain": None})
        assert (response.status_code, response.json()["field"]) == (422, "explain")


def test_readiness_answers_within_its_probe_timeout_under_a_full_explanation_load(
    hostile_server: BentoServer,
) -> None:
    """24 clients send 1,000-applicant /explain requests back to back while 12 readiness probes are sent:
    explanations beyond the limit get 429 before their body is parsed, and /readyz keeps answering 200 well
    within the chart's probe timeout (2 s); before, it waited behind the parsing and then for the busy
    explainer (2.5-10 s). The load lasts as long as the probes, however slow the machine."""
    import asyncio
    import json
    from collections import Counter

    body = json.dumps({"applicants": applicant_payloads(1000, seed=2)}).encode()
    probe_timeout_s = 2.0

    async def run() -> tuple[Counter, list[tuple[float, int]]]:
        limits = httpx.Limits(max_connections=64)
        async with httpx.AsyncClient(base_url=hostile_server.url, timeout=30, limits=limits) as client:
            done = asyncio.Event()
            statuses: Counter = Counter()
            probes: list[tuple[float, int]] = []

            async def explain_load() -> None:
                while not done.is_set():
                    response = await client.post(
                        "/explain", content=body, headers={"content-type": "application/json"}
                    )
                    statuses[response.status_code] += 1
                    if response.status_code == 429:
                        assert "explanations" in response.json()["reason"]

            async def readiness() -> None:
                try:
                    await asyncio.sleep(1)  # the load is on
                    for _ in range(12):
                        started = time.perf_counter()
                        response = await client.get("/readyz")
                        probes.append((time.perf_counter() - started, response.status_code))
                        await asyncio.sleep(0.25)
                finally:
                    done.set()

            await asyncio.gather(*(explain_load() for _ in range(24)), readiness())
            return statuses, probes

    statuses, probes = asyncio.run(run())
    assert statuses[200] > 0 and statuses[429] > 0 and set(statuses) == {200, 429}, statuses
    assert len(probes) == 12
    assert all(status == 200 for _, status in probes), probes
    assert max(seconds for seconds, _ in probes) < probe_timeout_s, probes


def test_a_killed_explainer_is_restarted_and_readiness_never_depends_on_it(
    hostile_server: BentoServer,
) -> None:
    """kill -9 of the explainer process: BentoML's arbiter starts a new one, /explain answers 200 again,
    plain scoring and /readyz answer 200 all along (before, /readyz answered 500 while it was gone).

    Until the new explainer has loaded its model (20 s seen under CI load), an /explain may wait for the
    service's explainer timeout (10 s) and get 503, so the client waits longer than that and the test
    gives the restart 90 s."""
    import os
    import signal

    applicant = applicant_payloads(1, seed=4)[0]
    explainer = live_explainer(hostile_server)
    with httpx.Client(base_url=hostile_server.url, timeout=30.0) as client:
        assert client.post("/explain", json=applicant).status_code == 200
        os.kill(explainer.pid, signal.SIGKILL)
        explain_statuses, deadline = [], time.monotonic() + 90
        while time.monotonic() < deadline:
            assert client.get("/readyz").status_code == 200
            assert client.post("/score", json=applicant).status_code == 200
            explain_statuses.append(client.post("/explain", json=applicant).status_code)
            if explain_statuses[-1] == 200 and len(explain_statuses) > 1:
                break
            time.sleep(0.1)
    assert explain_statuses[-1] == 200, explain_statuses
    assert set(explain_statuses) <= {200, 503}, explain_statuses
    assert live_explainer(hostile_server).pid != explainer.pid


def test_refusal_reasons_can_be_turned_off(hostile_server: BentoServer) -> None:
    applicants = applicant_payloads(40, seed=11)
    with httpx.Client(base_url=hostile_server.url, timeout=10.0) as client:
        results = client.post("/score", json={"applicants": applicants}).json()["results"]
    assert any(r["decision"] == "refuse" for r in results)
    assert not any("principal_reasons" in r for r in results)
