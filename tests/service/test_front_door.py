"""The front door in process: what it answers itself, 429 at its limit, 413/415, pass-through."""

from __future__ import annotations

import asyncio
import inspect
import json
from pathlib import Path

from service.front_door import ScoringFrontDoor
from service.handlers import ScoringState


class RecordingApp:
    """Stands in for BentoML's ASGI app: answers 204 and remembers the paths it saw."""

    def __init__(self) -> None:
        self.paths: list[str] = []

    async def __call__(self, scope: dict, receive, send) -> None:
        self.paths.append(scope.get("path", scope["type"]))
        await send({"type": "http.response.start", "status": 204, "headers": []})
        await send({"type": "http.response.body", "body": b""})


def call(app, path: str, body: bytes = b"{}", method: str = "POST", headers=None) -> tuple[int, dict, bytes]:
    """One request through ``app``; returns status, headers and body."""
    scope = _scope(path, method, headers)
    messages = [{"type": "http.request", "body": body, "more_body": False}]
    sent: list[dict] = []

    async def receive() -> dict:
        return messages.pop(0) if messages else {"type": "http.disconnect"}

    async def send(message: dict) -> None:
        sent.append(message)

    asyncio.run(app(scope, receive, send))
    start, *payloads = sent
    return start["status"], dict(start["headers"]), b"".join(p.get("body", b"") for p in payloads)


def test_scoring_routes_are_answered_and_the_rest_passed_on() -> None:
    inner = RecordingApp()
    door = ScoringFrontDoor(inner, ScoringState(), max_in_flight=4)
    status, headers, body = call(door, "/score")
    assert status == 503  # not ready: no bundle in this state
    assert json.loads(body)["error"] == "not_ready"
    assert headers[b"retry-after"] == b"5"
    assert call(door, "/explain")[0] == 503
    status, headers, body = call(door, "/score", method="GET")
    assert (status, headers[b"allow"], json.loads(body)["error"]) == (405, b"POST", "method_not_allowed")
    assert call(door, "/readyz", method="GET")[0] == 204
    assert call(door, "/spec", method="GET")[0] == 204
    assert inner.paths == ["/readyz", "/spec"]


def test_bentoml_still_builds_each_worker_app_with_the_method_the_front_door_wraps() -> None:
    """``FrontDoorService`` overrides ``bentoml.Service.to_asgi(is_main)``; a BentoML release that renames it
    or its argument would silently serve /score without the front door."""
    import bentoml

    from service.service import FrontDoorService

    signature = inspect.signature(bentoml.Service.to_asgi)
    assert "is_main" in signature.parameters, (
        f"bentoml {bentoml.__version__}: Service.to_asgi{signature} has no is_main; adapt service/service.py"
    )
    assert FrontDoorService.to_asgi is not bentoml.Service.to_asgi


def test_over_the_concurrency_limit_is_429() -> None:
    door = ScoringFrontDoor(RecordingApp(), ScoringState(), max_in_flight=2)
    door.in_flight = 2  # two requests being answered
    status, headers, body = call(door, "/score")
    assert status == 429
    assert json.loads(body)["error"] == "too_many_requests"
    assert b"retry-after" in headers
    door.in_flight = 1
    assert call(door, "/score")[0] == 503  # under the limit again: answered (not ready here)
    assert door.in_flight == 1


def test_body_limits_and_media_type() -> None:
    state = ScoringState()
    door = ScoringFrontDoor(RecordingApp(), state, max_in_flight=4)
    limit = state.settings.max_body_bytes
    too_big = [(b"content-type", b"application/json"), (b"content-length", str(limit + 1).encode())]
    status, _, body = call(door, "/score", headers=too_big)
    assert (status, json.loads(body)["error"]) == (413, "body_too_large")
    status, _, body = call(door, "/score", body=b" " * (limit + 1), headers=[])
    assert (status, json.loads(body)["error"]) == (413, "body_too_large")
    status, _, body = call(door, "/score", headers=[(b"content-type", b"text/plain")])
    assert (status, json.loads(body)["error"]) == (415, "unsupported_media_type")


class Stalled:
    """An ASGI ``receive``: a client that sent the headers and ``first`` bytes of its body, then stopped."""

    def __init__(self, first: bytes = b'{"feat') -> None:
        self.first = first
        self.waiting = asyncio.Event()

    async def __call__(self) -> dict:
        if self.first:
            chunk, self.first = self.first, b""
            return {"type": "http.request", "body": chunk, "more_body": True}
        self.waiting.set()
        await asyncio.Event().wait()  # never more body
        raise AssertionError("unreachable")


def _scope(path: str, method: str = "POST", headers=None, query: bytes = b"") -> dict:
    return {
        "type": "http",
        "method": method,
        "path": path,
        "raw_path": path.encode(),
        "query_string": query,
        "headers": headers if headers is not None else [(b"content-type", b"application/json")],
    }


def test_a_stalled_body_takes_no_slot_and_gets_408_then_the_connection_closes() -> None:
    state = ScoringState()
    state.settings = state.settings.model_copy(update={"body_read_timeout_s": 0.2})
    door = ScoringFrontDoor(RecordingApp(), state, max_in_flight=1)

    async def scenario() -> tuple[list[dict], int, int]:
        stalled = Stalled()
        sent: list[dict] = []

        async def send(message: dict) -> None:
            sent.append(message)

        task = asyncio.create_task(door(_scope("/score"), stalled, send))
        await stalled.waiting.wait()
        in_flight, reading = door.in_flight, door.reading
        # the only slot is free: another request is answered (503 here: no bundle in this state)
        status = await asyncio.to_thread(call, door, "/score")
        assert status[0] == 503
        await asyncio.wait_for(task, 5)
        return sent, in_flight, reading

    sent, in_flight, reading = asyncio.run(scenario())
    assert (in_flight, reading) == (0, 1)
    start, payload = sent
    assert start["status"] == 408
    assert (b"connection", b"close") in start["headers"]
    assert json.loads(payload["body"])["error"] == "body_timeout"
    assert door.reading == 0


def test_bodies_being_read_are_bounded() -> None:
    state = ScoringState()
    state.settings = state.settings.model_copy(update={"max_bodies_reading": 2, "body_read_timeout_s": 5})
    door = ScoringFrontDoor(RecordingApp(), state, max_in_flight=4)

    async def scenario() -> int:
        stalls = [Stalled(), Stalled()]

        async def ignore(message: dict) -> None:
            pass

        tasks = [asyncio.create_task(door(_scope("/score"), s, ignore)) for s in stalls]
        for s in stalls:
            await s.waiting.wait()
        status = (await asyncio.to_thread(call, door, "/score"))[0]
        for task in tasks:
            task.cancel()
        return status

    assert asyncio.run(scenario()) == 429


def test_unknown_paths_get_404_and_known_ones_pass() -> None:
    from starlette.applications import Starlette
    from starlette.responses import PlainTextResponse
    from starlette.routing import Mount, Route
    from starlette.staticfiles import StaticFiles

    async def ok(_) -> PlainTextResponse:
        return PlainTextResponse("ok")

    static = Path(__file__).parent  # any directory: its files are served under /static
    inner = Starlette(
        routes=[
            Route("/readyz", ok),
            Mount("/static", StaticFiles(directory=static)),
            Mount("", Starlette(routes=[Route("/spec", ok)])),
        ]
    )
    door = ScoringFrontDoor(inner, ScoringState(), max_in_flight=4)
    assert door.passed is not None and "/static/test_front_door.py" in door.passed
    assert call(door, "/readyz", method="GET")[0] == 200
    assert call(door, "/spec", method="GET")[0] == 200
    assert call(door, "/static/test_front_door.py", method="GET")[0] == 200
    for path in ("/nope", "/static/nope.js", "/spec/x", "/readyz/", "/" + "x" * 300):
        status, _, body = call(door, path, method="GET")
        assert (status, json.loads(body)["error"]) == (404, "not_found"), path


def test_long_urls_and_large_headers_are_refused_on_every_route() -> None:
    state = ScoringState()
    door = ScoringFrontDoor(RecordingApp(), state, max_in_flight=4)
    limit = state.settings.max_url_bytes

    async def run(scope: dict) -> int:
        sent: list[dict] = []

        async def receive() -> dict:
            return {"type": "http.request", "body": b"{}", "more_body": False}

        async def send(message: dict) -> None:
            sent.append(message)

        await door(scope, receive, send)
        return sent[0]["status"]

    assert asyncio.run(run(_scope("/readyz", "GET", query=b"q=" + b"x" * limit))) == 414
    assert asyncio.run(run(_scope("/score", query=b"q=" + b"x" * limit))) == 414
    big = [(b"content-type", b"application/json"), (b"x-filler", b"y" * state.settings.max_header_bytes)]
    assert asyncio.run(run(_scope("/readyz", "GET", headers=big))) == 431
    assert asyncio.run(run(_scope("/readyz", "GET", query=b"q=1"))) == 204


def test_explanations_have_their_own_capacity_and_never_take_scorings() -> None:
    import numpy as np

    from service.booster import LoadedModel, Scorer
    from service.request_schema import RequestSchema
    from tests.service.tiny_bundle import applicant_payloads, make_tiny_bundle

    bundle = make_tiny_bundle(n_rows=400, n_trees=5)
    state = ScoringState()
    state.model = LoadedModel("credit_scorer:t", bundle, Scorer(bundle, "credit_scorer:t"))
    state.schema = RequestSchema(
        bundle.features, max_batch_size=50, explain_max_k=5, applicant_unavailable="-"
    )
    state.ready = True
    state.max_explaining = 2
    door = ScoringFrontDoor(RecordingApp(), state, max_in_flight=2)
    features = [{"features": a["features"]} for a in applicant_payloads(20)]

    async def scenario() -> tuple[list[int], list[int], list[int], int]:
        release = asyncio.Event()
        calls = 0

        async def slow_explainer(matrix: np.ndarray) -> tuple[str, np.ndarray]:
            nonlocal calls
            calls += 1
            await release.wait()
            return "credit_scorer:t", np.zeros((len(matrix), matrix.shape[1] + 1))

        state.explain = slow_explainer

        async def post(path: str, payload: dict) -> int:
            sent: list[dict] = []
            messages = [{"type": "http.request", "body": json.dumps(payload).encode(), "more_body": False}]

            async def receive() -> dict:
                return messages.pop(0)

            async def send(message: dict) -> None:
                sent.append(message)

            await door(_scope(path), receive, send)
            return sent[0]["status"]

        held = [asyncio.create_task(post("/explain", features[0])) for _ in range(2)]
        while calls < 2:
            await asyncio.sleep(0.001)
        more = [
            await post("/explain", features[1]),
            await post("/score", {"applicants": features, "explain": 2}),
        ]
        plain = [await post("/score", f) for f in features[:5]]
        small_explain = [await post("/score", {**features[2], "explain": 2})]
        release.set()
        return more, plain, small_explain, [await t for t in held]

    more, plain, small_explain, held = asyncio.run(scenario())
    assert more == [429, 429]  # the explainer's two slots are taken: /explain and a large explain batch wait
    assert plain == [200] * 5  # plain scoring is not limited by them
    assert small_explain == [200]  # nor are reasons the worker computes itself
    assert held == [200, 200]
