"""The sidecar's HTTP endpoint: ``/metrics`` for Prometheus, ``/livez`` and ``/readyz`` for the kubelet,
``/report`` (Evidently's HTML drift report of the current window) for people."""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest

from monitoring.report_page import ReportUnavailableError

log = logging.getLogger(__name__)

HealthCheck = Callable[[], tuple[bool, str]]
"""Returns (healthy, reason); the reason is shown in the response body."""


def make_server(
    host: str,
    port: int,
    registry: CollectorRegistry,
    livez: HealthCheck,
    readyz: HealthCheck,
    report: Callable[[], bytes] | None = None,
) -> ThreadingHTTPServer:
    """An HTTP server bound to ``host:port`` (port 0 picks a free one) serving the endpoints.

    ``report`` returns the HTML of ``/report`` (404 without it); its :class:`ReportUnavailableError` becomes a
    503 with the reason, any other error a 500 that names no data (the traceback goes to the log).
    """

    def report_response() -> tuple[int, bytes, str]:
        if report is None:
            return 404, b'{"status": "not found"}', "application/json"
        try:
            return 200, report(), "text/html; charset=utf-8"
        except ReportUnavailableError as exc:
            body = json.dumps({"status": "unavailable", "reason": str(exc)}).encode()
            return 503, body, "application/json"
        except Exception:
            log.exception("rendering the drift report failed")
            body = b'{"status": "error", "reason": "rendering the report failed; see the sidecar log"}'
            return 500, body, "application/json"

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
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

        def _send(self, status: int, body: bytes, content_type: str) -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            log.debug("%s - %s", self.address_string(), format % args)

    server = ThreadingHTTPServer((host, port), Handler)
    server.daemon_threads = True
    return server


def serve_in_thread(server: ThreadingHTTPServer) -> threading.Thread:
    """Run ``server`` in a daemon thread; stop it with ``server.shutdown()``."""
    thread = threading.Thread(target=server.serve_forever, name="http", daemon=True)
    thread.start()
    return thread
