"""Generated data for the sidecar's tests and benchmarks: a tiny real LightGBM bundle and a spool writer.

The bundle is trained on generated applicants with features of mixed shapes (normal scores, skewed amounts,
0/1 flags, counts, a column with missing values), so drift methods meet the shapes real data has. The spool
writer is the service's own segment writer (``service/payload_log.py``), fed record dicts so that tests can
also write records the service never would (a bad probability, an unknown decision).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa

from service.bundle import Bundle, FeatureSpec
from service.payload_log import OPEN_SUFFIX, SpoolSegments, payload_schema
from tests.factories import train_tiny_bundle

SHAPES = ("normal", "amount", "flag", "count", "sparse")
"""Feature shapes cycled through when generating columns; ``sparse`` is a normal column with 20 % missing."""


def feature_names(n_features: int) -> list[str]:
    """Names of the generated features, shape encoded in the name (``normal_0``, ``amount_1``, ...)."""
    return [f"{SHAPES[i % len(SHAPES)]}_{i}" for i in range(n_features)]


def generate_features(n_rows: int, n_features: int, seed: int) -> pd.DataFrame:
    """Draw ``n_rows`` applicants from the fixed training distribution (the seed only changes the draw)."""
    rng = np.random.default_rng(seed)
    columns: dict[str, np.ndarray] = {}
    for i, name in enumerate(feature_names(n_features)):
        shape = SHAPES[i % len(SHAPES)]
        if shape == "normal":
            values = rng.normal(loc=i * 0.1, scale=1.0 + 0.05 * i, size=n_rows)
        elif shape == "amount":
            values = np.round(rng.lognormal(mean=10.0 + 0.02 * i, sigma=0.8, size=n_rows), 2)
        elif shape == "flag":
            values = (rng.random(n_rows) < 0.1 + 0.01 * i).astype(float)
        elif shape == "count":
            values = rng.poisson(lam=1.5 + 0.1 * i, size=n_rows).astype(float)
        else:
            values = rng.normal(size=n_rows)
            values[rng.random(n_rows) < 0.2] = np.nan
        columns[name] = values
    return pd.DataFrame(columns)


def _spec_for(name: str, values: pd.Series) -> FeatureSpec:
    shape = name.split("_")[0]
    dtype = {"flag": "bool", "count": "int"}.get(shape, "float")
    return FeatureSpec(
        name=name,
        dtype=dtype,  # type: ignore[arg-type]
        description=f"generated {shape} feature",
        valid_min=0.0 if shape in ("amount", "flag", "count") else None,
        valid_max=1.0 if shape == "flag" else None,
        observed_min=float(values.min()),
        observed_max=float(values.max()),
        missing_allowed=True,
        missing_share=float(values.isna().mean()),
    )


def make_bundle(n_reference: int = 4_000, n_features: int = 20, seed: int = 0) -> Bundle:
    """Train a tiny real LightGBM on generated applicants and return a bundle with its reference sample.

    15 trees of 7 leaves on 6,000 rows; the reference sample is a fresh draw of ``n_reference`` rows and the
    threshold refuses its riskiest 20 %.
    """
    train = generate_features(6_000, n_features, seed=seed + 1)
    logit = -2.0 + 0.8 * np.nan_to_num(train.iloc[:, 0].to_numpy())
    if n_features > 3:
        logit = logit + 0.6 * train.iloc[:, 2].to_numpy() - 0.3 * train.iloc[:, 3].to_numpy()
    rng = np.random.default_rng(seed + 2)
    target = (rng.random(len(train)) < 1 / (1 + np.exp(-logit))).astype(int)
    return train_tiny_bundle(
        train,
        target,
        [_spec_for(c, train[c]) for c in train.columns],
        generate_features(n_reference, n_features, seed=seed + 3),
        n_trees=15,
        params={"num_leaves": 7, "learning_rate": 0.2, "num_threads": 1},
        threshold=lambda probabilities: float(np.quantile(probabilities, 0.8)),
        training_fingerprint=f"generated-{seed}",
    )


def records_from_frame(frame: pd.DataFrame, bundle: Bundle, start: datetime | None = None) -> list[dict]:
    """Turn generated feature rows into payload records scored by the bundle's booster."""
    import lightgbm as lgb

    booster = lgb.Booster(model_str=bundle.booster_text)
    features = frame[bundle.feature_names]
    probabilities = booster.predict(features, num_threads=1)
    start = start or datetime.now(UTC)
    out = []
    for i, (row, p) in enumerate(zip(features.itertuples(index=False), probabilities, strict=True)):
        out.append(
            {
                "time": start + timedelta(milliseconds=i),
                "request_id": f"req-{i}",
                "caller_id": None,
                "model_tag": "credit_scorer:test",
                "input": "features",
                "probability": float(p),
                "decision": "refuse" if p >= bundle.threshold else "accept",
                "features": {
                    k: (None if v != v else float(v)) for k, v in zip(bundle.feature_names, row, strict=True)
                },
            }
        )
    return out


class SpoolWriter:
    """Writes spool segments with the service's writer (one writer id), from payload record dicts."""

    def __init__(
        self, spool_dir: Path, writer_id: str = "test1", feature_names: list[str] | None = None
    ) -> None:
        self.spool_dir = Path(spool_dir)
        self.writer_id = writer_id
        self._names = feature_names
        self._segments: SpoolSegments | None = None
        self._schema: pa.Schema | None = None

    def _open_segments(self, names: list[str]) -> SpoolSegments:
        if self._segments is None:
            self._schema = payload_schema(names)
            self._segments = SpoolSegments(
                self.spool_dir, self._schema, writer_id=self.writer_id, max_bytes=1 << 40,
                segment_max_bytes=1 << 40, segment_max_age_s=1e9,
            )  # fmt: skip
        return self._segments

    def append(self, records: Iterable[dict]) -> None:
        """Append payload records as one record batch."""
        records = list(records)
        if not records:
            return
        names = self._names or list(records[0]["features"])
        segments = self._open_segments(names)
        assert self._schema is not None
        batch = pa.RecordBatch.from_pylist(records, schema=self._schema)
        segments.append(batch.serialize().to_pybytes(), batch.num_rows)

    def append_bytes(self, data: bytes) -> None:
        """Append raw bytes to the open segment (to build partial or corrupt messages on purpose)."""
        with open(self.open_path, "ab") as fh:
            fh.write(data)

    @property
    def open_path(self) -> Path:
        """Path of the segment being written (one must have been opened by :meth:`append`)."""
        (path,) = self.spool_dir.glob(f"seg-{self.writer_id}-*{OPEN_SUFFIX}")
        return path

    def close_segment(self) -> Path:
        """Close the open segment (end-of-stream marker, renamed ``.arrows``); the next append opens one."""
        path = self.open_path
        assert self._segments is not None
        self._segments.close()
        return path.with_name(path.name.removesuffix(".open"))
