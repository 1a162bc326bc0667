"""Smoke test: ``POST /score`` through the API server's service proxy (no port-forward or ingress needed)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

DEFAULT_BODY = '{"id": "deploy-smoke-test", "features": {}}'
"""One applicant with every feature missing (the bundle's spec allows missing values)."""


@dataclass(frozen=True)
class SmokeResult:
    """The outcome of one smoke request."""

    ok: bool
    """Whether the answer was 200 with a probability in [0, 1] and a decision."""
    status: int
    """HTTP status of the answer (0 when no answer came)."""
    detail: str
    """The answer's body (truncated) or the error."""


def check_answer(status: int, body: bytes) -> SmokeResult:
    """Judge a ``/score`` answer for one applicant."""
    text = body.decode("utf-8", errors="replace")[:500]
    if status != 200:
        return SmokeResult(False, status, text)
    try:
        answer = json.loads(body)
    except ValueError:
        return SmokeResult(False, status, "answer is not JSON: " + text)
    probability = answer.get("probability") if isinstance(answer, dict) else None
    decision = answer.get("decision") if isinstance(answer, dict) else None
    if not isinstance(probability, int | float) or not 0.0 <= probability <= 1.0:
        return SmokeResult(False, status, "no probability in [0, 1]: " + text)
    if decision not in ("accept", "refuse"):
        return SmokeResult(False, status, "no accept/refuse decision: " + text)
    return SmokeResult(True, status, text)


def smoke_score(
    api_client: Any,
    service: str,
    namespace: str,
    port: int | str,
    body: str = DEFAULT_BODY,
    timeout_s: float = 15.0,
) -> SmokeResult:
    """Post ``body`` to ``/score`` of ``service:port`` through ``/api/v1/namespaces/{ns}/services/...``."""
    from kubernetes.client.exceptions import ApiException

    try:
        status, data = _post(
            api_client,
            f"/api/v1/namespaces/{namespace}/services/{service}:{port}/proxy/score",
            json.loads(body),
            timeout_s,
        )
    except ApiException as exc:
        return SmokeResult(False, exc.status or 0, (exc.body or exc.reason or "")[:500])
    except Exception as exc:  # the cluster did not answer at all
        return SmokeResult(False, 0, f"{type(exc).__name__}: {exc}")
    return check_answer(status, data)


def _post(api_client: Any, path: str, payload: Any, timeout_s: float) -> tuple[int, bytes]:
    """POST ``payload`` as JSON to ``path`` with the client's credentials; (status, body).

    Works with both generations of the ``kubernetes`` client: ``param_serialize`` + ``call_api`` (v33 and
    later) and the older single ``call_api``.
    """
    headers = {"Content-Type": "application/json", "Accept": "application/json"}
    if hasattr(api_client, "param_serialize"):
        method, url, headers, serialized, _ = api_client.param_serialize(
            "POST", path, header_params=headers, body=payload, auth_settings=["BearerToken"]
        )
        response = api_client.call_api(
            method, url, header_params=headers, body=serialized, _request_timeout=timeout_s
        )
        response.read()
        return response.status, response.data
    response = api_client.call_api(
        path,
        "POST",
        header_params=headers,
        body=payload,
        auth_settings=["BearerToken"],
        _preload_content=False,
        _return_http_data_only=True,
        _request_timeout=timeout_s,
    )
    return response.status, response.data
