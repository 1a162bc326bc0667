"""Errors the scoring service answers with: one base class carrying its HTTP status and JSON body.

The body is always ``{"error": <code>, "field": <path or null>, "reason": <text>}``. Reasons describe the
rule that was broken (``must be >= 0``), never the value the caller sent, so that no applicant data is
echoed into responses or logs.
"""

from __future__ import annotations

import json


class ServiceError(Exception):
    """Base class: an error with an HTTP status, a stable code and an optional offending field."""

    status: int = 500
    """HTTP status of the response."""
    code: str = "internal_error"
    """Stable machine-readable error code (the body's ``error``)."""

    def __init__(self, reason: str, field: str | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.field = field

    def body(self) -> dict[str, str | None]:
        """The JSON body of the error response."""
        return {"error": self.code, "field": self.field, "reason": self.reason}

    def body_bytes(self) -> bytes:
        """The JSON body, encoded."""
        return json.dumps(self.body()).encode()


class MalformedRequestError(ServiceError):
    """The body is not JSON or not shaped like the endpoint's request (HTTP 400)."""

    status = 400
    code = "malformed_request"


class UnknownFeatureError(ServiceError):
    """An applicant names a feature the model does not know (HTTP 422)."""

    status = 422
    code = "unknown_feature"


class UnknownFieldError(ServiceError):
    """An applicant document names a column its table does not have (HTTP 422)."""

    status = 422
    code = "unknown_field"


class WrongTypeError(ServiceError):
    """A value has the wrong JSON type for its field, e.g. text for a number (HTTP 422)."""

    status = 422
    code = "wrong_type"


class ImpossibleValueError(ServiceError):
    """A value that cannot exist: outside its valid range, non-finite, a fractional count (HTTP 422)."""

    status = 422
    code = "impossible_value"


class BatchTooLargeError(ServiceError):
    """More applicants in one request than the configured maximum (HTTP 413)."""

    status = 413
    code = "batch_too_large"


class TooManyRecordsError(ServiceError):
    """An applicant's history list holds more records than the documented limit (HTTP 413)."""

    status = 413
    code = "too_many_records"


class ApplicantFormUnavailableError(ServiceError):
    """The loaded model's features cannot be computed from an applicant document here (HTTP 422).

    The reason says why (features this service version does not define, or defines differently than the
    training that produced the model); the ``features`` form still works.
    """

    status = 422
    code = "applicant_form_unavailable"


class BodyTooLargeError(ServiceError):
    """The request body is larger than the configured limit (HTTP 413)."""

    status = 413
    code = "body_too_large"


class UnsupportedMediaTypeError(ServiceError):
    """The body is not sent as ``application/json`` (HTTP 415)."""

    status = 415
    code = "unsupported_media_type"


class MethodNotAllowedError(ServiceError):
    """A scoring route called with another method than ``POST`` (HTTP 405)."""

    status = 405
    code = "method_not_allowed"


class NotReadyError(ServiceError):
    """The bundle or the explainer is not loaded yet, or the service is shutting down (HTTP 503)."""

    status = 503
    code = "not_ready"


class TooManyRequestsError(ServiceError):
    """More requests in flight in this worker than its share of ``max_concurrency`` (HTTP 429)."""

    status = 429
    code = "too_many_requests"


class ExplainerUnavailableError(ServiceError):
    """The explainer service could not be reached or failed (HTTP 503); plain scoring is unaffected."""

    status = 503
    code = "explainer_unavailable"


class NotFoundError(ServiceError):
    """A path this service does not serve (HTTP 404); counted under one metric label whatever the path."""

    status = 404
    code = "not_found"


class BodyTimeoutError(ServiceError):
    """The request body did not arrive within the configured time (HTTP 408); the connection is closed."""

    status = 408
    code = "body_timeout"


class UrlTooLongError(ServiceError):
    """The request's path and query are longer than the configured limit (HTTP 414)."""

    status = 414
    code = "url_too_long"


class HeadersTooLargeError(ServiceError):
    """The request's headers are larger than the configured limit (HTTP 431)."""

    status = 431
    code = "headers_too_large"
