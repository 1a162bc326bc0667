"""Run tracking: one row per candidate model in ``runs.csv``, mirrored to MLflow when it is installed.

The CSV is the record that always exists (it lives in the model's run folder); MLflow is an optional
extra (``pip install credit-scoring[mlflow]``). Tracking never fails training: an MLflow error is logged
as a warning and the CSV row is still written.
"""

from __future__ import annotations

import csv
import json
import logging
import math
import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

__all__ = ["RUNS_COLUMNS", "RUNS_FILE", "RunTracker"]

log = logging.getLogger(__name__)

RUNS_FILE = "runs.csv"
"""Name of the runs table inside the run folder."""

RUNS_COLUMNS = (
    "logged_at",
    "experiment",
    "candidate",
    "cv_auc_mean",
    "cv_auc_std",
    "holdout_auc",
    "fit_seconds",
    "predict_seconds",
    "params",
    "metrics",
    "durations",
)
"""Columns of ``runs.csv``; ``params``, ``metrics`` and ``durations`` hold JSON text."""


def _jsonable(value: Any) -> Any:
    if hasattr(value, "item") and callable(value.item) and getattr(value, "ndim", 1) == 0:
        return value.item()
    if hasattr(value, "tolist"):
        return value.tolist()
    return str(value)


def _scalar(value: Any) -> Any:
    """A number for the CSV's convenience columns (empty when absent)."""
    if value is None:
        return ""
    try:
        return float(value)
    except (TypeError, ValueError):
        return ""


class RunTracker:
    """Appends candidates' parameters, metrics and durations to ``<run_dir>/runs.csv`` (and MLflow)."""

    def __init__(self, run_dir: Path | str, experiment: str = "credit-scoring") -> None:
        """Track into ``run_dir`` (created if needed) under the MLflow experiment name ``experiment``."""
        self.run_dir = Path(run_dir)
        self.experiment = experiment
        self.run_dir.mkdir(parents=True, exist_ok=True)
        self._mlflow = self._import_mlflow()

    @property
    def runs_path(self) -> Path:
        """Path of the runs table."""
        return self.run_dir / RUNS_FILE

    @staticmethod
    def _import_mlflow() -> Any:
        try:
            import mlflow
        except Exception:  # absent or broken: CSV only
            return None
        return mlflow

    def log_candidate(
        self, name: str, params: dict[str, Any], metrics: dict[str, Any], durations: dict[str, float]
    ) -> None:
        """Append one row for candidate ``name``; mirror it to MLflow when available."""
        row = {
            "logged_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "experiment": self.experiment,
            "candidate": name,
            "cv_auc_mean": _scalar(metrics.get("cv_auc_mean")),
            "cv_auc_std": _scalar(metrics.get("cv_auc_std")),
            "holdout_auc": _scalar(metrics.get("holdout_auc")),
            "fit_seconds": _scalar(durations.get("fit_seconds")),
            "predict_seconds": _scalar(durations.get("predict_seconds")),
            "params": json.dumps(params, sort_keys=True, default=_jsonable),
            "metrics": json.dumps(metrics, sort_keys=True, default=_jsonable),
            "durations": json.dumps(durations, sort_keys=True, default=_jsonable),
        }
        write_header = not self.runs_path.exists() or self.runs_path.stat().st_size == 0
        with self.runs_path.open("a", newline="") as handle:
            writer = csv.DictWriter(handle, fieldnames=RUNS_COLUMNS)
            if write_header:
                writer.writeheader()
            writer.writerow(row)
        if self._mlflow is not None:
            try:
                self._log_to_mlflow(name, params, metrics, durations)
            except Exception as exc:  # tracking must never break training
                log.warning("MLflow logging of %s failed (%s); runs.csv has the row", name, exc)

    def _log_to_mlflow(
        self, name: str, params: dict[str, Any], metrics: dict[str, Any], durations: dict[str, float]
    ) -> None:
        mlflow = self._mlflow
        if not os.environ.get("MLFLOW_TRACKING_URI"):
            mlflow.set_tracking_uri((self.run_dir / "mlruns").resolve().as_uri())
        mlflow.set_experiment(self.experiment)
        numeric: dict[str, float] = {}
        for prefix, source in (("", metrics), ("duration_", durations)):
            for key, value in source.items():
                if isinstance(value, bool):
                    continue
                try:
                    number = float(value)
                except (TypeError, ValueError):
                    continue
                if math.isfinite(number):
                    numeric[f"{prefix}{key}"] = number
        with mlflow.start_run(run_name=name):
            mlflow.set_tag("candidate", name)
            mlflow.log_params({k: str(v)[:500] for k, v in params.items()})
            if numeric:
                mlflow.log_metrics(numeric)
