"""The front door: a raw ASGI app that answers ``POST /score`` and ``POST /explain`` before BentoML's stack.

BentoML wraps every route, mounted apps included, in about ten ASGI layers (its traffic-metrics middleware
writing multiprocess Prometheus histograms, a timeout middleware creating one asyncio task per request,
the max-concurrency middleware, OpenTelemetry, context, Starlette's error middlewares twice and the mount
routing); profiled, they cost more CPU than scoring itself (BENCHMARKS.md). User middlewares added with
``Service.add_asgi_middleware`` sit *inside* those layers, so the front door wraps the whole BentoML app
instead (``service/service.py`` installs it through ``bentoml.service(service_class=...)``), and keeps what
the skipped layers gave the scoring routes:

- a per-worker concurrency limit answering 429 (BentoML's ``max_concurrency`` split over the workers);
- its own request metrics: ``credit_scoring_http_request_duration_seconds{route}``,
  ``credit_scoring_http_requests_total{route,code}`` and ``credit_scoring_http_requests_in_progress``;
- a JSON 500 for bugs, logged with the traceback.

Every other request (``/readyz``, ``/metrics``, ``/spec``, the docs, lifespan) goes to BentoML unchanged.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

from service import handlers
from service.errors import MethodNotAllowedError, ServiceError, TooManyRequestsError
from service.handlers import Reply, ScoringState

logger = logging.getLogger(__name__)

Handler = Callable[[ScoringState, bytes], Awaitable[Reply]]
"""A scoring route: (state, request body) -> reply."""

ROUTES: dict[str, Handler] = {"/score": handlers.score, "/explain": handlers.explain}
"""The routes the front door answers itself (``POST``; any other method gets 405)."""

_INTERNAL_ERROR = b'{"error": "internal_error", "field": null, "reason": "unexpected error; it was logged"}'


class ScoringFrontDoor:
    """ASGI app: the scoring routes answered directly, everything else passed to ``app`` (BentoML's)."""

    def __init__(self, app: Any, state: ScoringState, *, max_in_flight: int) -> None:
        self.app = app
        self.state = state
        self.max_in_flight = max_in_flight
        """Requests on the scoring routes this worker answers at once; one more gets 429."""
        self.in_flight = 0
        """Requests on the scoring routes being answered right now."""
        self._metric_children: dict[tuple[str, ...], Any] = {}

    async def __call__(self, scope: dict, receive: Callable, send: Callable) -> None:
        """Answer ``POST /score`` and ``POST /explain``; pass any other scope to BentoML."""
        handler = ROUTES.get(scope["path"]) if scope["type"] == "http" else None
        if handler is None:
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        route = scope["path"]
        state = self.state
        if scope["method"] != "POST":
            reply = handlers.error_reply(state, MethodNotAllowedError(f"{route} accepts POST only"))
            await _send(send, reply.status, [*reply.headers, (b"allow", b"POST")], reply.body)
            self._observe(route, reply.status, started)
            return
        if self.in_flight >= self.max_in_flight:
            reply = handlers.error_reply(
                state, TooManyRequestsError("too many requests in flight; retry shortly")
            )
            await _send(send, reply.status, reply.headers, reply.body)
            self._observe(route, reply.status, started)
            return
        self.in_flight += 1
        in_progress = self._child("in_progress", route)
        if in_progress is not None:
            in_progress.inc()
        status = 500
        try:
            reply = await self._answer(handler, scope, receive)
            status = reply.status
            await _send(send, status, reply.headers, reply.body)
        except Exception:
            logger.exception("unexpected error on %s", route)
            await _send(send, 500, [(b"content-type", b"application/json")], _INTERNAL_ERROR)
        finally:
            self.in_flight -= 1
            if in_progress is not None:
                in_progress.dec()
        self._observe(route, status, started)

    async def _answer(self, handler: Handler, scope: dict, receive: Callable) -> Reply:
        state = self.state
        limit = state.settings.max_body_bytes
        content_type = declared = None
        for name, value in scope["headers"]:
            if name == b"content-type":
                content_type = value.decode("latin-1")
            elif name == b"content-length":
                declared = value
        try:
            error = handlers.content_type_error(content_type)
            if error is not None:
                raise error
            if declared is not None and declared.isdigit() and int(declared) > limit:
                raise handlers.body_too_large(limit)
            body = await _read_body(receive, limit)
        except ServiceError as error:
            return handlers.error_reply(state, error)
        return await handler(state, body)

    def _child(self, kind: str, *labels: str) -> Any:
        """The labelled child of one of our metrics, cached (``None`` until the metrics exist)."""
        key = (kind, *labels)
        child = self._metric_children.get(key)
        if child is None:
            metrics = self.state.metrics
            if metrics is None:
                return None
            family = {
                "in_progress": metrics.http_requests_in_progress,
                "duration": metrics.http_request_duration,
                "requests": metrics.http_requests,
            }[kind]
            child = self._metric_children[key] = family.labels(*labels)
        return child

    def _observe(self, route: str, status: int, started: float) -> None:
        duration = self._child("duration", route)
        if duration is not None:
            duration.observe(time.perf_counter() - started)
            self._child("requests", route, str(status)).inc()


async def _read_body(receive: Callable, limit: int) -> bytes:
    """The request body, refusing (413) a body that grows past ``limit`` bytes while it is read."""
    message = await receive()
    body = message.get("body", b"")
    if not message.get("more_body", False):
        if len(body) > limit:
            raise handlers.body_too_large(limit)
        return body
    chunks = [body]
    size = len(body)
    while message.get("more_body", False):
        message = await receive()
        if message["type"] == "http.disconnect":
            break
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise handlers.body_too_large(limit)
        chunks.append(chunk)
    return b"".join(chunks)


async def _send(send: Callable, status: int, headers: list[tuple[bytes, bytes]], body: bytes) -> None:
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
