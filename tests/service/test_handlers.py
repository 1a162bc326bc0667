"""Handlers of the scoring routes, called directly on a loaded state."""

from __future__ import annotations

import asyncio
import time

import numpy as np

from service.booster import LoadedModel, Scorer
from service.handlers import ScoringState, refusal_contributions
from service.settings import ServiceSettings
from tests.service.tiny_bundle import applicant_payloads, make_tiny_bundle


def _state(wait_s: float) -> ScoringState:
    bundle = make_tiny_bundle(n_rows=400, n_trees=5)
    state = ScoringState()
    state.model = LoadedModel("credit_scorer:t", bundle, Scorer(bundle, "credit_scorer:t"))
    state.settings = ServiceSettings(local_explain_max_rows=0, refusal_explainer_wait_s=wait_s)
    return state


def _matrix(state: ScoringState, n: int) -> np.ndarray:
    assert state.model is not None
    names = state.model.bundle.feature_names
    rows = [a["features"] for a in applicant_payloads(n)]
    return np.array([[np.nan if r[name] is None else float(r[name]) for name in names] for r in rows])


def test_refusal_reasons_do_not_wait_on_a_hung_explainer() -> None:
    """An explainer that accepts the call and never answers (one restarting, loading its model) costs the
    refused applicants ``refusal_explainer_wait_s``, then the worker computes their contributions."""
    state = _state(wait_s=0.2)
    matrix = _matrix(state, 20)
    calls = 0

    async def hung_explainer(matrix: np.ndarray) -> tuple[str, np.ndarray]:
        nonlocal calls
        calls += 1
        await asyncio.sleep(3600)
        raise AssertionError("unreachable")

    state.explain = hung_explainer
    started = time.monotonic()
    values = asyncio.run(refusal_contributions(state, matrix))
    elapsed = time.monotonic() - started
    assert calls == 1
    assert elapsed < 60  # not the hour the explainer would take
    assert state.model is not None
    np.testing.assert_array_equal(values, state.model.scorer.contributions(matrix))
    assert state.explaining == 0  # the explainer slot is given back


def test_refusal_reasons_come_from_an_explainer_that_answers_in_time() -> None:
    state = _state(wait_s=30.0)
    matrix = _matrix(state, 20)
    marker = np.full((len(matrix), matrix.shape[1] + 1), 7.0)

    async def explainer(matrix: np.ndarray) -> tuple[str, np.ndarray]:
        await asyncio.sleep(0.01)
        return "credit_scorer:t", marker

    state.explain = explainer
    np.testing.assert_array_equal(asyncio.run(refusal_contributions(state, matrix)), marker)


def test_refusal_reasons_survive_an_explainer_that_fails() -> None:
    """A call that fails (connection refused or reset: an explainer killed -9) falls back to the worker."""
    state = _state(wait_s=30.0)
    matrix = _matrix(state, 20)

    async def dead_explainer(matrix: np.ndarray) -> tuple[str, np.ndarray]:
        raise ConnectionResetError("connection reset by peer")

    state.explain = dead_explainer
    values = asyncio.run(refusal_contributions(state, matrix))
    assert state.model is not None
    np.testing.assert_array_equal(values, state.model.scorer.contributions(matrix))
