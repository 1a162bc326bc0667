"""Reference apps the benchmark compares the service with (run by uvicorn with ``--factory``).

``bare_starlette_app``: the limit - Starlette, ``json.loads``, a numpy row in feature order,
``Booster.predict(num_threads=1)``. ``fastapi_sklearn_app``: the original project's style - FastAPI with a
pydantic body, a one-row pandas DataFrame and a scikit-learn pipeline's ``predict_proba``.
Both read their model from paths in ``BENCH_MODEL_TXT`` / ``BENCH_PIPELINE_PKL`` and feature names from
``BENCH_FEATURES`` (comma-separated).
"""

# no `from __future__ import annotations`: FastAPI must resolve the local pydantic model at runtime

import json
import math
import os
import pickle


def bare_starlette_app():
    """Starlette + Booster.predict(num_threads=1) on a numpy row: the fastest honest Python service."""
    import lightgbm
    import numpy as np
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import Response
    from starlette.routing import Route

    booster = lightgbm.Booster(model_file=os.environ["BENCH_MODEL_TXT"])
    names = os.environ["BENCH_FEATURES"].split(",")
    index = {n: i for i, n in enumerate(names)}

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
            {"id": None, "probability": p, "decision": "refuse" if p >= 0.3 else "accept"}
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
            "decision": "refuse" if probability >= 0.3 else "accept",
        }

    return app
