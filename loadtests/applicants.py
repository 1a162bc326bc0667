"""Applicants the simulated users send: real rows of the bundle's reference sample, as request JSON.

Three sources, best first: a JSON file exported by the gate from the bundle's reference sample
(:func:`export_reference`), the reference sample of a registered bundle, or, when only a URL is known, values
drawn from the quantiles and missing shares that ``GET /spec`` publishes (:func:`sample_from_spec`).
"""

from __future__ import annotations

import itertools
import json
import math
import random
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pandas as pd

Applicant = dict[str, Any]
"""One request applicant: ``{"id": str, "features": {name: number | bool | str | None}}``."""


def json_value(value: Any, spec: Mapping[str, Any]) -> Any:
    """One reference-sample cell as the JSON value the service expects for a feature of ``spec``."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    categories = spec.get("categories")
    if categories is not None:
        return value if isinstance(value, str) else categories[int(value)]
    dtype = spec.get("dtype", "float")
    if dtype == "bool":
        return bool(value)
    if dtype == "int":
        return int(value)
    number = float(value)
    return None if math.isnan(number) else number


def rows_to_applicants(
    frame: pd.DataFrame, features: Sequence[Mapping[str, Any]], n: int, seed: int = 0
) -> list:
    """Up to ``n`` rows of ``frame`` (sampled without replacement) as applicants with the given features."""
    sample = frame.sample(n=min(n, len(frame)), random_state=seed) if len(frame) > n else frame
    names = [spec["name"] for spec in features]
    applicants: list[Applicant] = []
    for i, row in enumerate(sample[names].itertuples(index=False, name=None)):
        values = {spec["name"]: json_value(cell, spec) for spec, cell in zip(features, row, strict=True)}
        applicants.append({"id": f"ref-{i}", "features": values})
    return applicants


def export_reference(tag: str, path: Path, n: int, seed: int = 0) -> int:
    """Write ``n`` reference rows of the registered bundle ``tag`` to ``path`` as JSON; return how many.

    Reads the BentoML model store of this process (``BENTOML_HOME``); imports pandas and the bundle module
    only here, so the locustfile never needs them.
    """
    from dataclasses import asdict

    from service.bundle import BundleError, load_registered

    bundle = load_registered(tag, with_reference=True)
    if bundle.reference is None or bundle.reference.empty:
        raise BundleError(f"bundle {tag} has no reference sample to load-test with")
    applicants = rows_to_applicants(bundle.reference, [asdict(f) for f in bundle.features], n, seed)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(applicants))
    return len(applicants)


def load_applicants(path: str | Path) -> list[Applicant]:
    """Read a JSON list of applicants; raise ``ValueError`` when the file holds none."""
    applicants = json.loads(Path(path).read_text())
    if not isinstance(applicants, list) or not applicants:
        raise ValueError(f"{path} holds no applicants (expected a non-empty JSON list)")
    for applicant in applicants:
        if not isinstance(applicant, dict) or not isinstance(applicant.get("features"), dict):
            raise ValueError(f"{path}: every applicant needs a 'features' object")
    return applicants


def _quantile_draw(quantiles: Mapping[str, float], u: float) -> float | None:
    """Inverse of the piecewise-linear CDF through the published quantiles, at level ``u``."""
    points = sorted((float(level), value) for level, value in quantiles.items())
    if not points:
        return None
    if u <= points[0][0]:
        return points[0][1]
    for (lo_level, lo_value), (hi_level, hi_value) in itertools.pairwise(points):
        if u <= hi_level:
            share = (u - lo_level) / (hi_level - lo_level) if hi_level > lo_level else 0.0
            return lo_value + share * (hi_value - lo_value)
    return points[-1][1]


def _spec_value(spec: Mapping[str, Any], rng: random.Random) -> Any:
    if spec.get("missing_allowed", True) and rng.random() < float(spec.get("missing_share") or 0.0):
        return None
    categories = spec.get("categories")
    if categories:
        return rng.choice(categories)
    value = _quantile_draw(spec.get("quantiles") or {}, rng.random())
    if value is None:
        low = spec.get("observed_min", spec.get("valid_min"))
        high = spec.get("observed_max", spec.get("valid_max"))
        low = 0.0 if low is None else float(low)
        high = low + 1.0 if high is None else float(high)
        value = rng.uniform(low, high)
    if spec.get("valid_min") is not None:
        value = max(value, float(spec["valid_min"]))
    if spec.get("valid_max") is not None:
        value = min(value, float(spec["valid_max"]))
    dtype = spec.get("dtype", "float")
    if dtype == "bool":
        return value >= 0.5
    if dtype == "int":
        return round(value)
    return value


def sample_from_spec(features: Iterable[Mapping[str, Any]], n: int, seed: int = 0) -> list[Applicant]:
    """``n`` applicants drawn feature by feature from the quantiles and missing shares of ``GET /spec``.

    A fallback for URL targets without the model store: marginals follow the training data, correlations
    between features do not.
    """
    rng = random.Random(seed)
    specs = list(features)
    return [
        {"id": f"spec-{i}", "features": {spec["name"]: _spec_value(spec, rng) for spec in specs}}
        for i in range(n)
    ]
