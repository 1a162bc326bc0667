"""``POST /outcomes``: outcomes as CSV (``text/csv``) or JSON (``application/json``, a list of objects),
validated and loaded like ``python -m monitoring outcomes load`` (all or nothing, idempotent).

Answers: 200 with the load's summary; 400 naming each bad row and column (``problems``); 409 when outcomes
contradict stored ones (``?replace=true`` corrects them); 413 over the size limit; 415 for another content
type; 503 with ``Retry-After`` when the database cannot be reached (nothing was loaded: send it again).
"""

from __future__ import annotations

import json
import logging
from urllib.parse import parse_qs

from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError

from monitoring.outcome_store import OutcomeConflictError, load_outcomes
from monitoring.outcomes import MAX_PROBLEMS_SHOWN, OutcomeFileError, read_csv, read_records
from monitoring.server import Response

log = logging.getLogger(__name__)

RETRY_AFTER_SECONDS = 30
"""``Retry-After`` of a 503 while the database cannot be reached."""


def _json(status: int, payload: dict, headers: dict[str, str] | None = None) -> Response:
    return status, json.dumps(payload).encode(), "application/json", headers or {}


def outcomes_response(engine: Engine, content_type: str, body: bytes, query: str) -> Response:
    """The answer to one ``POST /outcomes`` with ``body`` of ``content_type`` and query string ``query``."""
    kind = content_type.split(";", 1)[0].strip().lower()
    replace = parse_qs(query).get("replace", ["false"])[-1].lower() in ("1", "true", "yes")
    try:
        if kind == "text/csv":
            outcomes = read_csv(body)
        elif kind == "application/json":
            try:
                records = json.loads(body)
            except (ValueError, UnicodeDecodeError) as exc:
                return _json(400, {"status": "refused", "problems": [f"the body is not JSON ({exc})"]})
            outcomes = read_records(records)
        else:
            return _json(415, {"status": "refused", "reason": "send text/csv or application/json"})
        summary = load_outcomes(engine, outcomes, replace=replace)
    except OutcomeFileError as exc:
        problems = exc.problems[:MAX_PROBLEMS_SHOWN]
        return _json(
            400, {"status": "refused", "problems": problems, "more": len(exc.problems) - len(problems)}
        )
    except OutcomeConflictError as exc:
        return _json(409, {"status": "refused", "reason": str(exc)})
    except SQLAlchemyError as exc:
        log.warning("loading outcomes failed: %s", str(exc).splitlines()[0])
        return _json(
            503,
            {"status": "unavailable", "reason": "the decision store cannot be written; nothing was loaded"},
            {"Retry-After": str(RETRY_AFTER_SECONDS)},
        )
    return _json(200, {"status": "loaded", **summary.as_dict()})
