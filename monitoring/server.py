"""The sidecar's HTTP endpoint: ``/metrics`` for Prometheus, ``/livez`` and ``/readyz`` for the kubelet,
``/report`` (Evidently's HTML drift report of the current window) for people, ``POST /outcomes`` (loan
outcomes into the decision store, :mod:`monitoring.outcomes_endpoint`) for the lender's systems.

Connections, threads and waits are bounded by :class:`monitoring.bounded_server.BoundedHTTPServer`; this
module maps paths to answers.
"""

from __future__ import annotations

import json
import logging
import math
import threading
from collections.abc import Callable

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest

from monitoring import bounded_server
from monitoring.bounded_server import BoundedHTTPServer, HttpLimits, PreReadRequestHandler
from monitoring.report_page import ReportRateLimitedError, ReportUnavailableError

log = logging.getLogger(__name__)

HealthCheck = Callable[[], tuple[bool, str]]
"""Returns (healthy, reason); the reason is shown in the response body."""
REPORT_RATE_LIMITED = "report_rate_limited"
"""Reject reason of a ``/report`` request answered 429."""
REJECT_REASONS = (*bounded_server.REJECT_REASONS, REPORT_RATE_LIMITED)
"""Every reason the endpoint refuses or closes a connection or request for."""

Response = tuple[int, bytes, str, dict[str, str]]
"""Status, body, content type and extra headers."""


def make_server(
    host: str,
    port: int,
    registry: CollectorRegistry,
    livez: HealthCheck,
    readyz: HealthCheck,
    report: Callable[[], bytes] | None = None,
    *,
    limits: HttpLimits,
    on_reject: Callable[[str], None] | None = None,
    outcomes: Callable[[str, bytes, str], Response] | None = None,
    max_body_bytes: int = 0,
) -> BoundedHTTPServer:
    """An HTTP server bound to ``host:port`` (port 0 picks a free one) serving the endpoints.

    ``report`` returns the HTML of ``/report`` (404 without it); its :class:`ReportUnavailableError` becomes a
    503 with the reason, its :class:`ReportRateLimitedError` a 429 with ``Retry-After``, any other error a 500
    that names no data (the traceback goes to the log). ``on_reject`` receives each reason of
    :data:`REJECT_REASONS` a connection or request is refused or closed for. ``outcomes`` answers
    ``POST /outcomes`` from (content type, body, query string) (404 without it); a body must announce its
    length (411) of at most ``max_body_bytes`` (413) and arrive within the write timeout (408).
    """

    def report_response() -> Response:
        if report is None:
            return 404, b'{"status": "not found"}', "application/json", {}
        try:
            return 200, report(), "text/html; charset=utf-8", {}
        except ReportUnavailableError as exc:
            body = json.dumps({"status": "unavailable", "reason": str(exc)}).encode()
            return 503, body, "application/json", {}
        except ReportRateLimitedError as exc:
            if on_reject is not None:
                on_reject(REPORT_RATE_LIMITED)
            retry_after = max(1, math.ceil(exc.retry_after))
            body = json.dumps({"status": "rate limited", "reason": str(exc)}).encode()
            return 429, body, "application/json", {"Retry-After": str(retry_after)}
        except Exception:
            log.exception("rendering the drift report failed")
            body = b'{"status": "error", "reason": "rendering the report failed; see the sidecar log"}'
            return 500, body, "application/json", {}

    class Handler(PreReadRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - BaseHTTPRequestHandler's dispatch name
            path = self.path.split("?", 1)[0]
            if path == "/metrics":
                self._send(200, generate_latest(registry), CONTENT_TYPE_LATEST)
            elif path == "/report":
                self._send(*report_response())
            elif path in ("/livez", "/readyz"):
                ok, reason = (livez if path == "/livez" else readyz)()
                body = json.dumps({"status": "ok" if ok else "unavailable", "reason": reason}).encode()
                self._send(200 if ok else 503, body, "application/json")
            else:
                self._send(404, b'{"status": "not found"}', "application/json")

        def do_POST(self) -> None:  # noqa: N802 - BaseHTTPRequestHandler's dispatch name
            path, _, query = self.path.partition("?")
            if path != "/outcomes" or outcomes is None:
                self._send(404, b'{"status": "not found"}', "application/json")
                return
            announced = self.headers.get("Content-Length", "")
            if not announced.isdigit():
                self._send(
                    411, b'{"status": "refused", "reason": "Content-Length required"}', "application/json"
                )
                return
            length = int(announced)
            if length > max_body_bytes:
                self.read_body(length, limits.write_timeout, keep=False)
                reason = f"the body is over {max_body_bytes} bytes: send the outcomes in smaller parts"
                self._send(
                    413, json.dumps({"status": "refused", "reason": reason}).encode(), "application/json"
                )
                return
            body = self.read_body(length, limits.write_timeout)
            if body is None:
                self._send(
                    408, b'{"status": "refused", "reason": "the body did not arrive"}', "application/json"
                )
                return
            self._send(*outcomes(self.headers.get("Content-Type", ""), body, query))

        def _send(
            self, status: int, body: bytes, content_type: str, headers: dict[str, str] | None = None
        ) -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            log.debug("%s - %s", self.client_address[0], format % args)

    return BoundedHTTPServer((host, port), Handler, limits, on_reject)


def serve_in_thread(server: BoundedHTTPServer) -> threading.Thread:
    """Run ``server`` in a daemon thread; stop it with ``server.shutdown()``."""
    thread = threading.Thread(target=server.serve_forever, name="http", daemon=True)
    thread.start()
    return thread
