"""Modelling in one call: split, select, compare, tune, choose the threshold, fit, evaluate, explain.

:func:`train_and_evaluate` takes a feature frame (one row per applicant, features only) and the target, and
returns a :class:`ModelingOutcome` with the final LightGBM booster, the cost-optimal threshold, the metrics
and the plots. The holdout split is made first and is used for nothing but the final numbers and the
interpretation: selection, cross-validation, tuning and the threshold all see only the training split.
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass, field
from typing import Any

import lightgbm as lgb
import numpy as np
import pandas as pd
from sklearn.metrics import brier_score_loss, roc_auc_score
from sklearn.model_selection import train_test_split

from service.bundle import CostWeights
from training.cost import confusion_counts, cost_curve, cost_per_1000, optimal_threshold
from training.interpret import InterpretationResult, interpret
from training.models import (
    CANDIDATE_NAMES,
    ClassWeighting,
    CVResult,
    TuningResult,
    baseline_candidates,
    cross_validate_estimator,
    fit_estimator,
    fit_lightgbm,
    make_folds,
    predict_estimator,
    tune_lightgbm,
)
from training.selection import SelectionConfig, SelectionResult, select_features
from training.tracking import RunTracker

__all__ = ["ModelingConfig", "ModelingOutcome", "train_and_evaluate"]

log = logging.getLogger(__name__)

COMPARISON_THRESHOLDS = (0.5, 0.07)
"""Thresholds whose holdout cost is reported beside the tuned one (0.07 was the original project's)."""


@dataclass
class ModelingConfig:
    """Settings of :func:`train_and_evaluate`."""

    n_folds: int = 5
    """Folds of the stratified K-fold cross-validation on the training split."""
    holdout_share: float = 0.2
    """Share of applicants held out (stratified) for the final, untouched evaluation."""
    reference_rows: int = 5000
    """The holdout is enlarged to at least this many rows (never beyond half the data), because the
    drift reference sample is taken from it."""
    random_state: int = 0
    """Seed of the split, the folds, the subsamples and the models."""
    tuning_budget_seconds: float = 120.0
    """Wall-time budget of the LightGBM random search (the first, default trial always runs)."""
    tuning_max_trials: int = 30
    """Upper bound on the number of LightGBM configurations tried."""
    early_stopping_rounds: int = 100
    """Tuning stops a trial when the mean validation AUC has not improved for this many rounds."""
    max_boost_rounds: int = 3000
    """Upper bound on LightGBM boosting rounds."""
    lightgbm_class_weighting: ClassWeighting = "none"
    """``none`` keeps LightGBM's probabilities calibrated (the threshold absorbs the cost asymmetry);
    ``balanced`` sets ``is_unbalance``."""
    n_jobs: int = 2
    """Threads for LightGBM."""
    selection: SelectionConfig = field(default_factory=SelectionConfig)
    """Feature selection thresholds."""
    cost: CostWeights = field(default_factory=CostWeights)
    """Business cost weights the threshold is tuned for."""
    shap_rows: int = 2000
    """Holdout rows used for the global SHAP plots."""
    permutation_rows: int = 20_000
    """Holdout rows used for permutation importance."""
    permutation_repeats: int = 3
    """Shuffles per feature in permutation importance."""
    interpretation: bool = True
    """Whether to compute the interpretation and draw the plots (off saves time in quick runs)."""


@dataclass
class ModelingOutcome:
    """Everything :func:`train_and_evaluate` produced."""

    booster: lgb.Booster
    """Final LightGBM model, fitted on the whole training split with the tuned parameters."""
    features: list[str]
    """Selected features, in the booster's column order."""
    selection: SelectionResult
    """What selection kept and dropped, and why."""
    threshold: float
    """Probability of default at or above which an applicant is refused (minimises OOF cost)."""
    cost: CostWeights
    """Cost weights the threshold was tuned for."""
    metrics: dict[str, Any]
    """JSON-serialisable metrics (see :func:`train_and_evaluate`)."""
    comparison: pd.DataFrame
    """One row per candidate: CV and holdout AUC, Brier score, durations, parameters (JSON text)."""
    X_train: pd.DataFrame
    """Training split, selected columns only."""
    y_train: pd.Series
    """Training targets."""
    oof_proba: pd.Series
    """Out-of-fold probabilities of the tuned LightGBM on the training split."""
    X_holdout: pd.DataFrame
    """Holdout split, selected columns only."""
    y_holdout: pd.Series
    """Holdout targets."""
    proba_holdout: pd.Series
    """Final model's probability of default for each holdout row (index as ``X_holdout``)."""
    cost_curve: pd.DataFrame
    """Holdout cost per 1,000 applicants by threshold (``threshold, cost, tp, fp, tn, fn``)."""
    oof_cost_curve: pd.DataFrame
    """The same curve on the OOF predictions the threshold was tuned on."""
    tuning: TuningResult
    """The LightGBM search (trials table, best parameters and rounds)."""
    candidate_holdout_proba: dict[str, np.ndarray] = field(default_factory=dict)
    """Holdout probabilities of every candidate, by name."""
    interpretation: InterpretationResult | None = None
    """SHAP and permutation importances and local explanations (``None`` when turned off)."""
    plots: dict[str, bytes] = field(default_factory=dict)
    """File name -> PNG bytes for the model card."""


def _holdout_size(n_rows: int, config: ModelingConfig) -> int:
    by_share = round(config.holdout_share * n_rows)
    return int(max(by_share, min(config.reference_rows, n_rows // 2)))


def _auc(y: np.ndarray, proba: np.ndarray) -> float:
    return float(roc_auc_score(y, proba))


def _round(value: float, digits: int = 6) -> float:
    return float(round(float(value), digits))


def train_and_evaluate(
    X: pd.DataFrame,
    y: pd.Series,
    config: ModelingConfig | None = None,
    *,
    tracker: RunTracker | None = None,
    true_probability: pd.Series | None = None,
    progress: bool = False,
) -> ModelingOutcome:
    """Select features, compare candidates, tune LightGBM and its cost threshold, and evaluate on a holdout.

    ``X`` holds features only (one row per applicant), ``y`` the 0/1 target on the same index.
    ``true_probability`` (synthetic data only, aligned with ``X``'s index) is used for nothing but two
    holdout ratios: ``auc_ratio_vs_true`` (LightGBM AUC / AUC of the true probability) and
    ``cost_ratio_vs_true`` (cost at the tuned threshold / lowest cost any threshold reaches on the true
    probability). ``tracker`` receives one row per candidate.

    Metrics (all JSON-serialisable): ``cv_auc_mean``, ``cv_auc_std``, ``holdout_auc``, ``brier``,
    ``threshold``, ``cost_at_threshold``, ``cost_at_0_5``, ``cost_at_0_07``, ``oof_cost_at_threshold``,
    ``confusion_matrix`` (``tp, fp, tn, fn``), ``recall``, ``precision``, ``refusal_rate``,
    ``candidates`` (per candidate: CV and holdout AUC, Brier, durations), ``tuning``, ``durations``, row
    and feature counts, and the true-probability ratios when available.
    """
    config = config or ModelingConfig()
    started = time.perf_counter()
    durations: dict[str, float] = {}
    if len(X) != len(y) or not X.index.equals(y.index):
        raise ValueError("X and y must have the same index")
    y = y.astype(np.int64)
    if not set(np.unique(y)) <= {0, 1} or y.nunique() < 2:
        raise ValueError("y must contain both classes 0 and 1 and nothing else")

    def stage(message: str) -> None:
        log.info(message)
        if progress:
            from tqdm.auto import tqdm

            tqdm.write(f"[modeling] {message}")

    # 1. untouched holdout
    X_train_all, X_hold_all, y_train, y_hold = train_test_split(
        X, y, test_size=_holdout_size(len(X), config), stratify=y, random_state=config.random_state
    )
    stage(f"split: {len(X_train_all)} training rows, {len(X_hold_all)} holdout rows")

    # 2. selection on the training split only
    t0 = time.perf_counter()
    selection = select_features(X_train_all, y_train, config.selection, random_state=config.random_state)
    durations["selection_seconds"] = time.perf_counter() - t0
    features = selection.selected
    if not features:
        raise ValueError("feature selection kept no column; loosen SelectionConfig")
    stage(f"selection: kept {len(features)} of {X.shape[1]} columns")
    X_train_raw, X_hold_raw = X_train_all[features], X_hold_all[features]  # original dtypes, for the caller
    X_train = X_train_raw.astype(np.float64)
    X_hold = X_hold_raw.astype(np.float64)
    y_tr = y_train.to_numpy()
    y_ho = y_hold.to_numpy()

    # 3. CV comparison of the baselines
    folds = make_folds(y_tr, config.n_folds, config.random_state)
    t0 = time.perf_counter()
    cv_results: dict[str, CVResult] = {}
    for name, estimator in baseline_candidates(config.random_state).items():
        cv_results[name] = cross_validate_estimator(name, estimator, X_train, y_tr, folds, progress=progress)
        stage(f"CV {name}: AUC {cv_results[name].auc_mean:.4f} ± {cv_results[name].auc_std:.4f}")
    durations["baseline_cv_seconds"] = time.perf_counter() - t0

    # 4. LightGBM tuning (its best trial's fold models give the OOF predictions)
    tuning = tune_lightgbm(
        X_train,
        y_tr,
        folds,
        budget_seconds=config.tuning_budget_seconds,
        max_trials=config.tuning_max_trials,
        random_state=config.random_state,
        n_jobs=config.n_jobs,
        class_weighting=config.lightgbm_class_weighting,
        max_rounds=config.max_boost_rounds,
        early_stopping_rounds=config.early_stopping_rounds,
        progress=progress,
    )
    durations["tuning_seconds"] = tuning.seconds
    cv_results["lightgbm"] = tuning.cv
    stage(
        f"tuning: {len(tuning.trials)} trials ({tuning.stopped_by}), best CV AUC "
        f"{tuning.cv.auc_mean:.4f} at {tuning.best_rounds} rounds"
    )

    # 5. threshold on the OOF predictions
    oof = tuning.cv.oof
    threshold, oof_cost = optimal_threshold(y_tr, oof, config.cost)
    stage(f"threshold {threshold:.4f} (OOF cost {oof_cost:.1f} per 1,000)")

    # 6. final fits on the whole training split, holdout predictions
    t0 = time.perf_counter()
    holdout_proba: dict[str, np.ndarray] = {}
    final_durations: dict[str, dict[str, float]] = {}
    for name, estimator in baseline_candidates(config.random_state).items():
        model, fit_s = fit_estimator(estimator, X_train, y_tr)
        holdout_proba[name], predict_s = predict_estimator(model, X_hold)
        final_durations[name] = {"final_fit_seconds": fit_s, "holdout_predict_seconds": predict_s}
    booster, fit_s = fit_lightgbm(
        X_train,
        y_tr,
        tuning.best_params,
        tuning.best_rounds,
        random_state=config.random_state,
        n_jobs=config.n_jobs,
        class_weighting=config.lightgbm_class_weighting,
    )
    if booster.feature_name() != features:
        raise ValueError(
            "LightGBM renamed some features (names with spaces or JSON characters); "
            "feature names must be plain identifiers"
        )
    predict_start = time.perf_counter()
    holdout_proba["lightgbm"] = booster.predict(X_hold.to_numpy(dtype=np.float64))
    final_durations["lightgbm"] = {
        "final_fit_seconds": fit_s,
        "holdout_predict_seconds": time.perf_counter() - predict_start,
    }
    durations["final_fit_seconds"] = time.perf_counter() - t0

    # 7. holdout metrics
    proba = holdout_proba["lightgbm"]
    refuse = proba >= threshold
    confusion = confusion_counts(y_ho, refuse)
    candidates: dict[str, dict[str, Any]] = {}
    rows = []
    for name in CANDIDATE_NAMES:
        cv = cv_results[name]
        entry = {
            "cv_auc_mean": _round(cv.auc_mean),
            "cv_auc_std": _round(cv.auc_std),
            "holdout_auc": _round(_auc(y_ho, holdout_proba[name])),
            "holdout_brier": _round(brier_score_loss(y_ho, holdout_proba[name])),
            "cv_fit_seconds": _round(cv.fit_seconds, 3),
            "cv_predict_seconds": _round(cv.predict_seconds, 3),
            **{k: _round(v, 3) for k, v in final_durations[name].items()},
        }
        candidates[name] = entry
        rows.append(
            {"candidate": name, **entry, "params": json.dumps(cv.params, sort_keys=True, default=str)}
        )
    comparison = pd.DataFrame(rows)

    metrics: dict[str, Any] = {
        "n_rows": len(X),
        "n_train": len(X_train),
        "n_holdout": len(X_hold),
        "base_rate_train": _round(y_tr.mean()),
        "base_rate_holdout": _round(y_ho.mean()),
        "n_columns_in": int(X.shape[1]),
        "n_features": len(features),
        "cv_auc_mean": _round(tuning.cv.auc_mean),
        "cv_auc_std": _round(tuning.cv.auc_std),
        "holdout_auc": candidates["lightgbm"]["holdout_auc"],
        "brier": candidates["lightgbm"]["holdout_brier"],
        "threshold": _round(threshold),
        "oof_cost_at_threshold": _round(oof_cost, 3),
        "cost_at_threshold": _round(cost_per_1000(y_ho, refuse, config.cost), 3),
        "cost_at_0_5": _round(cost_per_1000(y_ho, proba >= 0.5, config.cost), 3),
        "cost_at_0_07": _round(cost_per_1000(y_ho, proba >= 0.07, config.cost), 3),
        "cost_refuse_nobody": _round(cost_per_1000(y_ho, np.zeros(len(y_ho), bool), config.cost), 3),
        "confusion_matrix": confusion,
        "recall": _round(confusion["tp"] / max(1, confusion["tp"] + confusion["fn"])),
        "precision": _round(confusion["tp"] / max(1, confusion["tp"] + confusion["fp"])),
        "refusal_rate": _round(refuse.mean()),
        "candidates": candidates,
        "tuning": {
            "trials": len(tuning.trials),
            "stopped_by": tuning.stopped_by,
            "budget_seconds": config.tuning_budget_seconds,
            "best_params": tuning.best_params,
            "best_rounds": tuning.best_rounds,
            "class_weighting": config.lightgbm_class_weighting,
        },
    }

    if true_probability is not None:
        true_hold = true_probability.reindex(X_hold.index).to_numpy(dtype=np.float64)
        if np.isnan(true_hold).any():
            raise ValueError("true_probability does not cover every holdout row")
        true_auc = _auc(y_ho, true_hold)
        true_threshold, true_cost = optimal_threshold(y_ho, true_hold, config.cost)
        metrics.update(
            {
                "true_probability_auc": _round(true_auc),
                "true_probability_best_cost": _round(true_cost, 3),
                "true_probability_best_threshold": _round(true_threshold),
                "true_probability_brier": _round(brier_score_loss(y_ho, true_hold)),
                "auc_ratio_vs_true": _round(metrics["holdout_auc"] / true_auc),
                "cost_ratio_vs_true": _round(metrics["cost_at_threshold"] / true_cost),
            }
        )

    # 8. cost curves and interpretation
    curve = cost_curve(y_ho, proba, config.cost)
    oof_curve = cost_curve(y_tr, oof, config.cost)
    interpretation = None
    plots: dict[str, bytes] = {}
    if config.interpretation:
        t0 = time.perf_counter()
        stage("interpretation: SHAP, permutation importance, plots")
        interpretation = interpret(
            booster,
            X_hold,
            y_ho,
            proba,
            threshold,
            config.cost,
            cost_curve_frame=curve,
            tuning_cost_curve=oof_curve,
            candidate_probabilities=holdout_proba,
            shap_rows=config.shap_rows,
            permutation_rows=config.permutation_rows,
            permutation_repeats=config.permutation_repeats,
            random_state=config.random_state,
        )
        plots = interpretation.plots
        durations["interpretation_seconds"] = time.perf_counter() - t0
    durations["total_seconds"] = time.perf_counter() - started
    metrics["durations"] = {k: _round(v, 3) for k, v in durations.items()}

    if tracker is not None:
        for name in CANDIDATE_NAMES:
            entry = candidates[name]
            extra = {}
            if name == "lightgbm":
                extra = {
                    k: metrics[k]
                    for k in ("threshold", "cost_at_threshold", "cost_at_0_5", "cost_at_0_07", "brier")
                }
                extra.update(
                    {k: metrics[k] for k in ("auc_ratio_vs_true", "cost_ratio_vs_true") if k in metrics}
                )
            tracker.log_candidate(
                name,
                cv_results[name].params,
                {k: v for k, v in entry.items() if not k.endswith("_seconds")} | extra,
                {
                    "fit_seconds": entry["cv_fit_seconds"],
                    "predict_seconds": entry["cv_predict_seconds"],
                    "final_fit_seconds": entry["final_fit_seconds"],
                    "holdout_predict_seconds": entry["holdout_predict_seconds"],
                },
            )

    stage(
        f"holdout AUC {metrics['holdout_auc']:.4f}, cost {metrics['cost_at_threshold']:.1f} per 1,000 "
        f"at threshold {threshold:.4f} ({durations['total_seconds']:.0f} s)"
    )
    return ModelingOutcome(
        booster=booster,
        features=list(features),
        selection=selection,
        threshold=float(threshold),
        cost=config.cost,
        metrics=metrics,
        comparison=comparison,
        X_train=X_train_raw,
        y_train=y_train,
        oof_proba=pd.Series(oof, index=X_train.index, name="probability"),
        X_holdout=X_hold_raw,
        y_holdout=y_hold,
        proba_holdout=pd.Series(proba, index=X_hold.index, name="probability"),
        cost_curve=curve,
        oof_cost_curve=oof_curve,
        tuning=tuning,
        candidate_holdout_proba=holdout_proba,
        interpretation=interpretation,
        plots=plots,
    )
