"""The front door: a raw ASGI app that answers ``POST /score`` and ``POST /explain`` before BentoML's stack.

BentoML wraps every route, mounted apps included, in about ten ASGI layers (its traffic-metrics middleware
writing multiprocess Prometheus histograms, a timeout middleware creating one asyncio task per request,
the max-concurrency middleware, OpenTelemetry, context, Starlette's error middlewares twice and the mount
routing); profiled, they cost more CPU than scoring itself (BENCHMARKS.md). User middlewares added with
``Service.add_asgi_middleware`` sit *inside* those layers, so the front door wraps the whole BentoML app
instead (``service/service.py`` installs it through ``bentoml.service(service_class=...)``), and keeps what
the skipped layers gave the scoring routes:

- a per-worker concurrency limit on ``/score`` answering 429 (BentoML's ``max_concurrency`` split over the
  workers), taken only once the body has been read; explanations have their own limit
  (``ScoringState.max_explaining``), so they never take plain scoring's capacity;
- its own request metrics: ``credit_scoring_http_request_duration_seconds{route}``,
  ``credit_scoring_http_requests_total{route,code}`` and ``credit_scoring_http_requests_in_progress``;
- a JSON 500 for bugs, logged with the traceback.

And what a client must not be able to do to a pod: a body not received within ``body_read_timeout_s`` is
answered 408 and its connection closed; at most ``max_bodies_reading`` bodies are read at once (429
beyond); a path and query above ``max_url_bytes`` get 414, headers above ``max_header_bytes`` 431, on
every route.

Requests to the paths BentoML's app serves (``/readyz``, ``/metrics``, ``/spec``, the docs and their static
files, lifespan) go to it unchanged. Any other path is answered 404 here and counted under
``route="other"``: BentoML labels its request metrics with the raw path, so each made-up path would create
new metric series (memory, multiprocess metric files, Prometheus cardinality).
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from service import handlers
from service.errors import (
    BodyTimeoutError,
    HeadersTooLargeError,
    MethodNotAllowedError,
    NotFoundError,
    ServiceError,
    TooManyRequestsError,
    UrlTooLongError,
)
from service.handlers import Reply, ScoringState
from service.settings import ServiceSettings

logger = logging.getLogger(__name__)

Handler = Callable[[ScoringState, bytes], Awaitable[Reply]]
"""A scoring route: (state, request body) -> reply."""

ROUTES: dict[str, Handler] = {"/score": handlers.score, "/explain": handlers.explain}
"""The routes the front door answers itself (``POST``; any other method gets 405)."""

OTHER_ROUTE = "other"
"""The ``route`` label of every request to a path nobody serves (answered 404 here)."""

_SWEEP_INTERVAL_S = 0.25
"""How often body reads are checked against their deadline (a 408 comes up to this much late)."""

_INTERNAL_ERROR = b'{"error": "internal_error", "field": null, "reason": "unexpected error; it was logged"}'


def served_paths(app: Any) -> frozenset[str] | None:
    """Every path ``app`` answers, from its Starlette routes: exact routes, and the files of static mounts,
    through mounted apps; ``None`` when ``app`` does not list its routes (then every path is passed on)."""
    routes = getattr(app, "routes", None)
    if routes is None:
        return None
    paths: set[str] = set()
    _collect_paths(routes, "", paths)
    return frozenset(paths)


def _collect_paths(routes: list[Any], prefix: str, paths: set[str]) -> None:
    for route in routes:
        if isinstance(route, Route) and not route.param_convertors:
            paths.add(prefix + route.path)
        elif isinstance(route, Mount) and isinstance(route.app, StaticFiles) and route.app.directory:
            root = Path(route.app.directory)
            paths.update(
                f"{prefix}{route.path}/{f.relative_to(root)}" for f in root.rglob("*") if f.is_file()
            )
        elif isinstance(route, Mount) and getattr(route.app, "routes", None) is not None:
            _collect_paths(route.app.routes, prefix + route.path, paths)
        else:  # a route we cannot enumerate is not served: 404 rather than one metric series per path
            logger.warning("front door: %r is not reachable (its paths cannot be listed)", route)


class ScoringFrontDoor:
    """ASGI app: the scoring routes answered directly, the paths ``app`` (BentoML's) serves passed to it,
    every other path answered 404."""

    def __init__(self, app: Any, state: ScoringState, *, max_in_flight: int) -> None:
        self.app = app
        self.state = state
        self.max_in_flight = max_in_flight
        """``/score`` requests this worker answers at once (body read); one more gets 429. ``/explain``
        requests are bounded by the explanations' own count (``ScoringState.max_explaining``)."""
        self.in_flight = 0
        """``/score`` requests being answered right now (bodies being read not counted)."""
        self.reading = 0
        """Scoring requests whose body is being read."""
        self._deadlines: dict[asyncio.Task, float] = {}  # body reads under way
        self._timed_out: set[asyncio.Task] = set()
        self._sweeper: asyncio.Task | None = None
        self.passed = served_paths(app)
        """Paths passed to ``app`` (``None``: all of them)."""
        self._metric_children: dict[tuple[str, ...], Any] = {}

    async def __call__(self, scope: dict, receive: Callable, send: Callable) -> None:
        """Answer ``POST /score`` and ``POST /explain`` and unknown paths; pass the rest to BentoML."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        route = scope["path"]
        handler = ROUTES.get(route)
        if handler is None:
            await self._other(scope, receive, send, started)
            return
        state = self.state
        extra: list[tuple[bytes, bytes]] = []
        try:
            if scope["method"] != "POST":
                extra.append((b"allow", b"POST"))
                raise MethodNotAllowedError(f"{route} accepts POST only")
            body = await self._body(scope, receive)
            if route == "/score" and self.in_flight >= self.max_in_flight:
                raise TooManyRequestsError("too many requests in flight; retry shortly")
            if route == "/explain" and state.explaining >= state.max_explaining:  # before parsing the body
                raise TooManyRequestsError(handlers.TOO_MANY_EXPLANATIONS)
        except ServiceError as error:
            if isinstance(error, BodyTimeoutError):
                extra.append((b"connection", b"close"))
            await self._reply(send, handlers.error_reply(state, error), route, started, extra)
            return
        slot = route == "/score"  # explanations are bounded by their own count (ScoringState.max_explaining)
        self.in_flight += slot
        in_progress = self._child("in_progress", route)
        if in_progress is not None:
            in_progress.inc()
        status = 500
        try:
            reply = await handler(state, body)
            status = reply.status
            await _send(send, status, reply.headers, reply.body)
        except Exception:
            logger.exception("unexpected error on %s", route)
            await _send(send, 500, [(b"content-type", b"application/json")], _INTERNAL_ERROR)
        finally:
            self.in_flight -= slot
            if in_progress is not None:
                in_progress.dec()
        self._observe(route, status, started)

    async def _other(self, scope: dict, receive: Callable, send: Callable, started: float) -> None:
        """A path the front door does not answer: BentoML's if it serves it and the request line and headers
        are within the limits, else 414, 431 or 404, counted under ``route="other"``."""
        header_bytes = sum(map(len, itertools.chain.from_iterable(scope["headers"])))
        error = _oversized(scope, header_bytes, self.state.settings)
        if error is None:
            if self.passed is None or scope["path"] in self.passed:
                await self.app(scope, receive, send)
                return
            error = NotFoundError("no such route")
        await self._reply(send, handlers.error_reply(self.state, error), OTHER_ROUTE, started)

    async def _body(self, scope: dict, receive: Callable) -> bytes:
        """The request body, read before any capacity is taken: 414/431/415/413 from the request line and
        headers, 429 when too many bodies are being read, 413 past the size limit, 408 past the time limit."""
        settings = self.state.settings
        limit = settings.max_body_bytes
        content_type = declared = None
        header_bytes = 0
        for name, value in scope["headers"]:
            header_bytes += len(name) + len(value)
            if name == b"content-type":
                content_type = value.decode("latin-1")
            elif name == b"content-length":
                declared = value
        error = _oversized(scope, header_bytes, settings) or handlers.content_type_error(content_type)
        if error is not None:
            raise error
        if declared is not None and declared.isdigit() and int(declared) > limit:
            raise handlers.body_too_large(limit)
        if self.reading >= settings.max_bodies_reading:
            raise TooManyRequestsError("too many request bodies being received; retry shortly")
        # a deadline swept four times a second rather than a timer per request (asyncio.timeout: ~3 µs each)
        task = asyncio.current_task()
        assert task is not None
        self._deadlines[task] = time.monotonic() + settings.body_read_timeout_s
        if self._sweeper is None or self._sweeper.done():
            self._sweeper = asyncio.create_task(self._sweep())
        self.reading += 1
        try:
            return await _read_body(receive, limit)
        except asyncio.CancelledError:
            if task not in self._timed_out:
                raise
            task.uncancel()
            raise BodyTimeoutError(
                f"the body did not arrive within {settings.body_read_timeout_s:g} s"
            ) from None
        finally:
            self.reading -= 1
            del self._deadlines[task]
            self._timed_out.discard(task)

    async def _sweep(self) -> None:
        """Cancel the body reads past their deadline, until no body is being read."""
        while self._deadlines:
            await asyncio.sleep(_SWEEP_INTERVAL_S)
            now = time.monotonic()
            for task, deadline in list(self._deadlines.items()):
                if deadline <= now and task not in self._timed_out:
                    self._timed_out.add(task)
                    task.cancel()

    async def _reply(
        self, send: Callable, reply: Reply, route: str, started: float, extra: list | None = None
    ) -> None:
        await _send(send, reply.status, [*reply.headers, *(extra or [])], reply.body)
        self._observe(route, reply.status, started)

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


def _oversized(scope: dict, header_bytes: int, settings: ServiceSettings) -> ServiceError | None:
    """414 for a path and query above ``max_url_bytes``, 431 for ``header_bytes`` above
    ``max_header_bytes``, else ``None``."""
    if len(scope.get("raw_path") or b"") + len(scope.get("query_string") or b"") > settings.max_url_bytes:
        return UrlTooLongError(f"path and query are limited to {settings.max_url_bytes} bytes")
    if header_bytes > settings.max_header_bytes:
        return HeadersTooLargeError(f"headers are limited to {settings.max_header_bytes} bytes")
    return None


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
