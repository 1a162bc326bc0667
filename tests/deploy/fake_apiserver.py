"""A fake of the few Kubernetes API endpoints ``deploy`` uses, served in-process on 127.0.0.1.

Not a Kubernetes API server: it answers the Deployment status, HPA and service-proxy ``/score`` routes from
scripted data, and records what it was asked, so the tests drive the real ``kubernetes`` client against it.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


def deployment(
    name: str,
    namespace: str,
    *,
    generation: int,
    observed: int,
    replicas: int = 2,
    updated: int = 2,
    ready: int = 2,
    available: int = 2,
    total: int | None = None,
) -> dict[str, Any]:
    """A Deployment object with the given spec generation and status counts."""
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name, "namespace": namespace, "generation": generation},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": {"app": name}},
            "template": {"metadata": {"labels": {"app": name}}, "spec": {"containers": []}},
        },
        "status": {
            "observedGeneration": observed,
            "replicas": updated if total is None else total,
            "updatedReplicas": updated,
            "readyReplicas": ready,
            "availableReplicas": available,
        },
    }


def hpa(name: str, namespace: str, target: str) -> dict[str, Any]:
    """An autoscaling/v2 HPA targeting Deployment ``target``."""
    return {
        "apiVersion": "autoscaling/v2",
        "kind": "HorizontalPodAutoscaler",
        "metadata": {"name": name, "namespace": namespace},
        "spec": {
            "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": target},
            "minReplicas": 2,
            "maxReplicas": 10,
        },
    }


@dataclass
class FakeCluster:
    """Scripted state of the fake API server."""

    deployment_states: list[dict[str, Any]] = field(default_factory=list)
    """Successive answers to reads of the Deployment; the last one repeats."""
    hpas: dict[str, dict[str, Any]] = field(default_factory=dict)
    """HPA objects by name."""
    score_status: int = 200
    """Status of the proxied ``/score`` answer."""
    score_answer: Any = field(default_factory=lambda: {"probability": 0.12, "decision": "accept"})
    """JSON body of the proxied ``/score`` answer."""
    requests: list[tuple[str, str, Any]] = field(default_factory=list)
    """(method, path, JSON body or None) of every request received."""
    deployment_reads: int = 0
    """How many times the Deployment was read."""


_DEPLOYMENT = re.compile(r"^/apis/apps/v1/namespaces/([^/]+)/deployments/([^/]+)(/status)?$")
_HPA = re.compile(r"^/apis/autoscaling/v2/namespaces/([^/]+)/horizontalpodautoscalers/([^/]+)$")
_PROXY = re.compile(r"^/api/v1/namespaces/([^/]+)/services/([^/]+)/proxy/score$")


def _not_found(kind: str, name: str) -> tuple[int, dict[str, Any]]:
    return 404, {
        "kind": "Status",
        "apiVersion": "v1",
        "status": "Failure",
        "reason": "NotFound",
        "code": 404,
        "message": f'{kind} "{name}" not found',
    }


def _handler(cluster: FakeCluster) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def _reply(self, status: int, payload: Any) -> None:
            body = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self) -> None:
            path = self.path.split("?", 1)[0]
            cluster.requests.append(("GET", path, None))
            if match := _DEPLOYMENT.match(path):
                if not cluster.deployment_states:
                    self._reply(*_not_found("deployments.apps", match.group(2)))
                    return
                index = min(cluster.deployment_reads, len(cluster.deployment_states) - 1)
                cluster.deployment_reads += 1
                self._reply(200, cluster.deployment_states[index])
            elif match := _HPA.match(path):
                found = cluster.hpas.get(match.group(2))
                if found is None:
                    self._reply(*_not_found("horizontalpodautoscalers.autoscaling", match.group(2)))
                else:
                    self._reply(200, found)
            else:
                self._reply(*_not_found("path", path))

        def do_POST(self) -> None:
            path = self.path.split("?", 1)[0]
            length = int(self.headers.get("Content-Length") or 0)
            body = json.loads(self.rfile.read(length) or b"null")
            cluster.requests.append(("POST", path, body))
            if _PROXY.match(path):
                self._reply(cluster.score_status, cluster.score_answer)
            else:
                self._reply(*_not_found("path", path))

        def log_message(self, format: str, *args: object) -> None:
            return

    return Handler


@contextmanager
def fake_apiserver(cluster: FakeCluster) -> Iterator[str]:
    """Serve ``cluster`` on 127.0.0.1 (a free port) for the duration of the block; yields its base URL."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(cluster))
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, name="fake-apiserver", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
