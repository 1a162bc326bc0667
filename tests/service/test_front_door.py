"""The front door in process: what it answers itself, 429 at its limit, 413/415, pass-through."""

from __future__ import annotations

import asyncio
import inspect
import json

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
    scope = {
        "type": "http",
        "method": method,
        "path": path,
        "headers": headers if headers is not None else [(b"content-type", b"application/json")],
    }
    messages = [{"type": "http.request", "body": body, "more_body": False}]
    sent: list[dict] = []

    async def receive() -> dict:
        return messages.pop(0) if messages else {"type": "http.disconnect"}

    async def send(message: dict) -> None:
        sent.append(message)

    asyncio.run(app(scope, receive, send))
    start, payload = sent
    return start["status"], dict(start["headers"]), payload["body"]


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
