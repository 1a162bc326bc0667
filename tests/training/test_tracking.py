"""Run tracking: one CSV row per candidate, header once, MLflow failures never break training."""

from __future__ import annotations

import csv
import json

from training.tracking import RUNS_COLUMNS, RunTracker


def _rows(path):
    with path.open(newline="") as handle:
        return list(csv.DictReader(handle))


def test_one_row_per_candidate_and_a_single_header(tmp_path):
    tracker = RunTracker(tmp_path / "run", experiment="unit")
    tracker._mlflow = None  # CSV only, whatever is installed
    for name in ("dummy", "lightgbm"):
        tracker.log_candidate(
            name,
            {"num_leaves": 31, "nested": {"a": 1}},
            {"cv_auc_mean": 0.7, "holdout_auc": 0.71},
            {"fit_seconds": 1.5},
        )
    again = RunTracker(tmp_path / "run", experiment="unit")
    again._mlflow = None
    again.log_candidate(
        "decision_tree", {}, {"cv_auc_mean": 0.6}, {"fit_seconds": 0.1, "predict_seconds": 0.01}
    )
    text = (tmp_path / "run" / "runs.csv").read_text()
    assert text.count("logged_at") == 1
    rows = _rows(tmp_path / "run" / "runs.csv")
    assert [r["candidate"] for r in rows] == ["dummy", "lightgbm", "decision_tree"]
    assert list(rows[0]) == list(RUNS_COLUMNS)
    assert json.loads(rows[0]["params"]) == {"nested": {"a": 1}, "num_leaves": 31}
    assert float(rows[1]["holdout_auc"]) == 0.71
    assert rows[2]["holdout_auc"] == ""
    assert rows[0]["experiment"] == "unit"


def test_a_failing_mlflow_does_not_break_tracking(tmp_path):
    class BrokenMlflow:
        def __getattr__(self, name):
            raise RuntimeError("tracking server down")

    tracker = RunTracker(tmp_path)
    tracker._mlflow = BrokenMlflow()
    tracker.log_candidate("lightgbm", {"a": 1}, {"cv_auc_mean": 0.8}, {"fit_seconds": 2.0})
    assert [r["candidate"] for r in _rows(tmp_path / "runs.csv")] == ["lightgbm"]


def test_mlflow_receives_params_and_numeric_metrics(tmp_path):
    calls: dict[str, object] = {}

    class FakeRun:
        def __enter__(self):
            return self

        def __exit__(self, *exc):
            return False

    class FakeMlflow:
        def set_tracking_uri(self, uri):
            calls["uri"] = uri

        def set_experiment(self, name):
            calls["experiment"] = name

        def start_run(self, run_name):
            calls["run_name"] = run_name
            return FakeRun()

        def set_tag(self, key, value):
            calls["tag"] = (key, value)

        def log_params(self, params):
            calls["params"] = params

        def log_metrics(self, metrics):
            calls["metrics"] = metrics

    tracker = RunTracker(tmp_path, experiment="exp")
    tracker._mlflow = FakeMlflow()
    tracker.log_candidate(
        "lightgbm",
        {"num_leaves": 31},
        {"holdout_auc": 0.8, "confusion_matrix": {"tp": 1}},
        {"fit_seconds": 2.0},
    )
    assert calls["experiment"] == "exp"
    assert calls["run_name"] == "lightgbm"
    assert calls["params"] == {"num_leaves": "31"}
    assert calls["metrics"] == {"holdout_auc": 0.8, "duration_fit_seconds": 2.0}
