"""Decisions written straight into a decision store, for the tests of outcomes and performance."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Table, func, insert, select

from monitoring import store_schema as schema

MODEL_TAG = "credit_scorer:v1"
"""Model tag of the decisions made here unless a test says otherwise."""


def decision(
    request_id: str,
    probability: float,
    *,
    refused: bool = False,
    caller_id: str | None = None,
    scored_at: datetime = datetime(2026, 4, 10, 12),
    band: int | None = None,
    model_tag: str = MODEL_TAG,
) -> dict:
    """One row of the ``decisions`` table."""
    return {
        "request_id": request_id,
        "caller_id": caller_id,
        "model_tag": model_tag,
        "scored_at": scored_at,
        "decision_month": scored_at.strftime("%Y-%m"),
        "probability": probability,
        "refused": refused,
        "score_band": band,
    }


def model(
    tag: str = MODEL_TAG, holdout_auc: float | None = 0.75, holdout_accepted_auc: float | None = None
) -> dict:
    """One row of the ``models`` table with the default cost weights (20, 2, 1, 1)."""
    return {
        "model_tag": tag,
        "threshold": 0.3,
        "cost_false_negative": 20.0,
        "cost_false_positive": 2.0,
        "cost_true_positive": 1.0,
        "cost_true_negative": 1.0,
        "holdout_auc": holdout_auc,
        "holdout_accepted_auc": holdout_accepted_auc,
    }


def seed(url: str, decisions: list[dict], models: list[dict] | None = None) -> None:
    """Create the tables and insert the rows."""
    engine = schema.open_engine(url)
    schema.ensure_schema(engine)
    with engine.begin() as connection:
        if decisions:
            connection.execute(insert(schema.decisions), decisions)
        if models:
            connection.execute(insert(schema.models), models)
    engine.dispose()


def row_count(url: str, table: Table) -> int:
    """Rows of ``table`` in the store at ``url`` (its tables created first if missing; no connection is left
    open, so it can be polled)."""
    engine = schema.open_engine(url)
    schema.ensure_schema(engine)
    with engine.connect() as connection:
        count = int(connection.scalar(select(func.count()).select_from(table)))
    engine.dispose()
    return count
