"""Reference apps the benchmark compares the service with (run by uvicorn with ``--factory``).

``bare_starlette_app``: the limit - Starlette, ``json.loads``, a numpy row in feature order,
``Booster.predict(num_threads=1)``. ``fastapi_sklearn_app``: the original project's style - FastAPI with a
pydantic body, a one-row pandas DataFrame and a scikit-learn pipeline's ``predict_proba``.
Both read their model from paths in ``BENCH_MODEL_TXT`` / ``BENCH_PIPELINE_PKL``, feature names from
``BENCH_FEATURES`` (comma-separated) and the refusal threshold from ``BENCH_THRESHOLD`` (default 0.3).

``booster_pipeline`` builds the pipeline (c) serves around the very booster the service serves
(:class:`BoosterClassifier`), so that all three apps answer with the same model; it is pickled by the
benchmark and unpickled by the app, hence defined here, in the module uvicorn imports.
"""

# no `from __future__ import annotations`: FastAPI must resolve the local pydantic model at runtime

import json
import math
import os
import pickle

import numpy as np
from numpy.typing import ArrayLike
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.impute import SimpleImputer
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.utils.validation import check_array, check_is_fitted


class BoosterClassifier(ClassifierMixin, BaseEstimator):
    """A scikit-learn classifier around an already trained LightGBM booster (its text format).

    ``fit`` only loads the booster: no training, so the pipeline predicts exactly what the booster does.
    ``predict_proba`` calls ``Booster.predict`` like ``LGBMClassifier.predict_proba`` does, with LightGBM's
    default threading unless ``n_jobs`` is given (``LGBMClassifier``'s default ``n_jobs=None`` as well).
    """

    def __init__(self, model_str: str = "", n_jobs: int | None = None) -> None:
        self.model_str = model_str
        self.n_jobs = n_jobs

    def fit(self, X: ArrayLike | None, y: ArrayLike | None = None) -> "BoosterClassifier":
        """Load the booster from ``model_str``; ``X`` and ``y`` only fix the number of input columns."""
        import lightgbm

        self.booster_ = lightgbm.Booster(model_str=self.model_str)
        self.classes_ = np.array([0, 1])
        self.n_features_in_ = self.booster_.num_feature()
        if X is not None and np.shape(X)[1] != self.n_features_in_:
            raise ValueError(f"X has {np.shape(X)[1]} columns, the booster expects {self.n_features_in_}")
        return self

    def predict_proba(self, X: ArrayLike) -> np.ndarray:
        """Probabilities of class 0 and 1 (default), shape (n_rows, 2)."""
        check_is_fitted(self, "booster_")
        matrix = check_array(X, dtype=np.float64, ensure_all_finite="allow-nan")
        kwargs = {} if self.n_jobs is None else {"num_threads": self.n_jobs}
        positive = self.booster_.predict(matrix, **kwargs)
        return np.column_stack([1.0 - positive, positive])

    def predict(self, X: ArrayLike) -> np.ndarray:
        """Class with the larger probability (1 = default)."""
        return (self.predict_proba(X)[:, 1] >= 0.5).astype(int)


def booster_pipeline(model_str: str, frame: ArrayLike) -> Pipeline:
    """``SimpleImputer`` + :class:`BoosterClassifier` fitted on ``frame`` (feature columns in booster order).

    The imputer keeps missing values missing (``fill_value=NaN``): the original style put a median imputer
    in front of its own LightGBM, but imputing in front of *this* booster would change its answers on
    every row with a missing value (LightGBM routes missing values itself), so it would no longer be the
    same model. The pipeline still pays the imputer's per-call ``transform``, the pandas frame and the
    scikit-learn checks of the original style.
    """
    pipeline = make_pipeline(
        SimpleImputer(strategy="constant", fill_value=np.nan, keep_empty_features=True),
        BoosterClassifier(model_str),
    )
    return pipeline.fit(frame)


def bare_starlette_app():
    """Starlette + Booster.predict(num_threads=1) on a numpy row: the fastest honest Python service."""
    import lightgbm
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import Response
    from starlette.routing import Route

    booster = lightgbm.Booster(model_file=os.environ["BENCH_MODEL_TXT"])
    names = os.environ["BENCH_FEATURES"].split(",")
    index = {n: i for i, n in enumerate(names)}
    threshold = float(os.environ.get("BENCH_THRESHOLD", "0.3"))

    def matrix_of(payload: dict) -> np.ndarray:
        applicants = payload.get("applicants", [payload])
        matrix = np.full((len(applicants), len(names)), np.nan)
        for row, applicant in enumerate(applicants):
            for name, value in applicant["features"].items():
                if value is not None:
                    matrix[row, index[name]] = float(value)
        return matrix

    async def score(request: Request) -> Response:
        payload = json.loads(await request.body())
        matrix = matrix_of(payload)
        probabilities = booster.predict(matrix, num_threads=1).tolist()
        results = [
            {"id": None, "probability": p, "decision": "refuse" if p >= threshold else "accept"}
            for p in probabilities
        ]
        return Response(json.dumps(results[0] if len(results) == 1 else {"results": results}))

    async def explain(request: Request) -> Response:
        payload = json.loads(await request.body())
        contributions = booster.predict(matrix_of(payload), pred_contrib=True, num_threads=1)[0].tolist()
        margin = sum(contributions)
        return Response(json.dumps({"margin": margin, "probability": 1 / (1 + math.exp(-margin))}))

    return Starlette(
        routes=[Route("/score", score, methods=["POST"]), Route("/explain", explain, methods=["POST"])]
    )


def fastapi_sklearn_app():
    """FastAPI + pydantic + pandas + sklearn Pipeline.predict_proba: the original project's serving style."""
    import pandas as pd
    from fastapi import FastAPI
    from pydantic import BaseModel

    with open(os.environ["BENCH_PIPELINE_PKL"], "rb") as handle:
        pipeline = pickle.load(handle)
    names = os.environ["BENCH_FEATURES"].split(",")
    threshold = float(os.environ.get("BENCH_THRESHOLD", "0.3"))

    class Applicant(BaseModel):
        id: str | None = None
        features: dict[str, float | None]

    app = FastAPI()

    @app.post("/score")
    def score(applicant: Applicant) -> dict:
        frame = pd.DataFrame([{n: applicant.features.get(n) for n in names}], columns=names, dtype=float)
        probability = float(pipeline.predict_proba(frame)[0, 1])
        return {
            "id": applicant.id,
            "probability": probability,
            "decision": "refuse" if probability >= threshold else "accept",
        }

    return app
