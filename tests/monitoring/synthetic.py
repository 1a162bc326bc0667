"""Generated data for the sidecar's tests and benchmarks: a tiny real LightGBM bundle and a spool writer.

The bundle is trained on generated applicants with features of mixed shapes (normal scores, skewed amounts,
0/1 flags, counts, a column with missing values), so drift methods meet the shapes real data has. The spool
writer follows ``docs/payload-log.md`` exactly: one JSON line per record, ``.jsonl.open`` while writing,
renamed to ``.jsonl`` when closed.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd

from service.bundle import Bundle, FeatureSpec
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
                "v": 1,
                "time": (start + timedelta(milliseconds=i)).strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
                "request_id": f"req-{i}",
                "caller_id": None,
                "model_tag": "credit_scorer:test",
                "features": {
                    k: (None if v != v else float(v)) for k, v in zip(bundle.feature_names, row, strict=True)
                },
                "probability": float(p),
                "decision": bundle.decide(float(p)),
            }
        )
    return out


@dataclass
class SpoolWriter:
    """A writer of spool segments that follows the payload-log contract (test helper, one writer id)."""

    spool_dir: Path
    """Spool directory shared with the reader."""
    writer_id: str = "test-1"
    """Unique id of this writer process."""
    seq: int = 0
    """Sequence number of the current segment."""
    _open: Path | None = field(default=None, init=False)

    def _stem(self) -> str:
        return f"seg-{self.writer_id}-{self.seq:06d}"

    @property
    def open_path(self) -> Path:
        """Path of the segment being written (created on first append)."""
        if self._open is None:
            self.spool_dir.mkdir(parents=True, exist_ok=True)
            self._open = self.spool_dir / f"{self._stem()}.jsonl.open"
            self._open.touch()
        return self._open

    def append_lines(self, lines: Iterable[str | bytes]) -> None:
        """Append raw lines (a newline is added to each) to the open segment."""
        data = b"".join((ln.encode() if isinstance(ln, str) else ln) + b"\n" for ln in lines)
        self.append_bytes(data)

    def append_bytes(self, data: bytes) -> None:
        """Append raw bytes to the open segment (to build partial lines on purpose)."""
        with open(self.open_path, "ab") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())

    def append(self, records: Iterable[dict]) -> None:
        """Append payload records as JSON lines."""
        self.append_lines(json.dumps(r, separators=(",", ":")) for r in records)

    def close_segment(self) -> Path:
        """Rename the open segment to its closed name and start a new sequence number."""
        path = self.open_path
        closed = path.with_name(path.name.removesuffix(".open"))
        os.replace(path, closed)
        self._open = None
        self.seq += 1
        return closed
