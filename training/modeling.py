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
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import lightgbm as lgb
import numpy as np
import pandas as pd
from sklearn.metrics import brier_score_loss, roc_auc_score
from sklearn.model_selection import train_test_split

from service.bundle import CostWeights
from training.age_rule import age_constraints
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
    age_constraints: dict[str, int] = field(default_factory=dict)
    """LightGBM monotone constraint of each feature the age rule constrains (:mod:`training.age_rule`;
    empty unless the rule is ``monotone`` and a feature of age alone was selected)."""


def _holdout_size(n_rows: int, config: ModelingConfig) -> int:
    by_share = round(config.holdout_share * n_rows)
    return int(max(by_share, min(config.reference_rows, n_rows // 2)))


def _auc(y: np.ndarray, proba: np.ndarray) -> float:
    return float(roc_auc_score(y, proba))


def _accepted_auc(y: np.ndarray, proba: np.ndarray, refuse: np.ndarray) -> float | None:
    """AUC on the rows the threshold accepts (what realized performance can be compared with, since refused
    applicants never get an outcome); ``None`` when they hold a single class."""
    y_accepted = np.asarray(y)[~refuse]
    if len(np.unique(y_accepted)) < 2:
        return None
    return _round(_auc(y_accepted, proba[~refuse]))


def _round(value: float, digits: int = 6) -> float:
    return float(round(float(value), digits))


@contextmanager
def _timed(durations: dict[str, float], key: str) -> Iterator[None]:
    """Record the wall time of the ``with`` block in ``durations[key]`` (seconds)."""
    start = time.perf_counter()
    yield
    durations[key] = time.perf_counter() - start


class _Stages:
    """Logs each step's one-line summary (and writes it above the progress bars when asked)."""

    def __init__(self, progress: bool) -> None:
        self.progress = progress

    def __call__(self, message: str) -> None:
        log.info(message)
        if self.progress:
            from tqdm.auto import tqdm

            tqdm.write(f"[modeling] {message}")


@dataclass
class _Split:
    """Training split and untouched holdout, restricted to the selected features."""

    X_train_raw: pd.DataFrame
    """Training rows in their original dtypes (returned to the caller)."""
    X_hold_raw: pd.DataFrame
    """Holdout rows in their original dtypes (returned to the caller)."""
    y_train: pd.Series
    y_hold: pd.Series
    X_train: pd.DataFrame = field(init=False)
    """Training rows as float64, what the models see."""
    X_hold: pd.DataFrame = field(init=False)
    """Holdout rows as float64."""
    y_tr: np.ndarray = field(init=False)
    """Training targets as an array."""
    y_ho: np.ndarray = field(init=False)
    """Holdout targets as an array."""

    def __post_init__(self) -> None:
        self.X_train = self.X_train_raw.astype(np.float64)
        self.X_hold = self.X_hold_raw.astype(np.float64)
        self.y_tr = self.y_train.to_numpy()
        self.y_ho = self.y_hold.to_numpy()


@dataclass
class _FinalFits:
    """Models refitted on the whole training split and their holdout predictions."""

    booster: lgb.Booster
    holdout_proba: dict[str, np.ndarray]
    """Holdout probabilities by candidate name."""
    durations: dict[str, dict[str, float]]
    """``final_fit_seconds`` and ``holdout_predict_seconds`` by candidate name."""


def _checked_target(X: pd.DataFrame, y: pd.Series) -> pd.Series:
    """``y`` as int64, after checking it is aligned with ``X`` and holds both classes 0 and 1 only."""
    if len(X) != len(y) or not X.index.equals(y.index):
        raise ValueError("X and y must have the same index")
    y = y.astype(np.int64)
    if not set(np.unique(y)) <= {0, 1} or y.nunique() < 2:
        raise ValueError("y must contain both classes 0 and 1 and nothing else")
    return y


def _split_holdout(
    X: pd.DataFrame, y: pd.Series, config: ModelingConfig, stage: _Stages
) -> tuple[pd.DataFrame, pd.DataFrame, pd.Series, pd.Series]:
    """Stratified split into training rows and the holdout that only the final evaluation sees:
    ``(X_train, X_holdout, y_train, y_holdout)``."""
    X_train, X_hold, y_train, y_hold = train_test_split(
        X, y, test_size=_holdout_size(len(X), config), stratify=y, random_state=config.random_state
    )
    stage(f"split: {len(X_train)} training rows, {len(X_hold)} holdout rows")
    return X_train, X_hold, y_train, y_hold


def _select_on_training_split(
    X_train: pd.DataFrame, y_train: pd.Series, config: ModelingConfig, stage: _Stages
) -> SelectionResult:
    """Feature selection on the training split only (the holdout stays unseen)."""
    selection = select_features(X_train, y_train, config.selection, random_state=config.random_state)
    if not selection.selected:
        raise ValueError("feature selection kept no column; loosen SelectionConfig")
    stage(f"selection: kept {len(selection.selected)} of {X_train.shape[1]} columns")
    return selection


def _cross_validate_baselines(
    data: _Split, folds, config: ModelingConfig, stage: _Stages
) -> dict[str, CVResult]:
    """Cross-validated AUC of every baseline candidate on the training split's folds."""
    results: dict[str, CVResult] = {}
    for name, estimator in baseline_candidates(config.random_state).items():
        results[name] = cross_validate_estimator(
            name, estimator, data.X_train, data.y_tr, folds, progress=stage.progress
        )
        stage(f"CV {name}: AUC {results[name].auc_mean:.4f} ± {results[name].auc_std:.4f}")
    return results


def _tune_lightgbm(
    data: _Split, folds, config: ModelingConfig, stage: _Stages, monotone: list[int] | None
) -> TuningResult:
    """Random search of LightGBM under the ``monotone`` constraints (one per column, or ``None``); the best
    trial's fold models give the out-of-fold predictions."""
    tuning = tune_lightgbm(
        data.X_train,
        data.y_tr,
        folds,
        budget_seconds=config.tuning_budget_seconds,
        max_trials=config.tuning_max_trials,
        random_state=config.random_state,
        n_jobs=config.n_jobs,
        class_weighting=config.lightgbm_class_weighting,
        max_rounds=config.max_boost_rounds,
        early_stopping_rounds=config.early_stopping_rounds,
        progress=stage.progress,
        monotone_constraints=monotone,
    )
    stage(
        f"tuning: {len(tuning.trials)} trials ({tuning.stopped_by}), best CV AUC "
        f"{tuning.cv.auc_mean:.4f} at {tuning.best_rounds} rounds"
    )
    return tuning


def _threshold_on_oof(
    data: _Split, tuning: TuningResult, config: ModelingConfig, stage: _Stages
) -> tuple[float, float]:
    """Cost-optimal threshold on the tuned LightGBM's out-of-fold predictions: (threshold, OOF cost)."""
    threshold, oof_cost = optimal_threshold(data.y_tr, tuning.cv.oof, config.cost)
    stage(f"threshold {threshold:.4f} (OOF cost {oof_cost:.1f} per 1,000)")
    return threshold, oof_cost


def _fit_final_models(
    data: _Split, tuning: TuningResult, config: ModelingConfig, monotone: list[int] | None
) -> _FinalFits:
    """Refit every candidate on the whole training split (LightGBM with the tuned parameters and the
    ``monotone`` constraints), predict the holdout."""
    holdout_proba: dict[str, np.ndarray] = {}
    durations: dict[str, dict[str, float]] = {}
    for name, estimator in baseline_candidates(config.random_state).items():
        model, fit_s = fit_estimator(estimator, data.X_train, data.y_tr)
        holdout_proba[name], predict_s = predict_estimator(model, data.X_hold)
        durations[name] = {"final_fit_seconds": fit_s, "holdout_predict_seconds": predict_s}
    booster, fit_s = fit_lightgbm(
        data.X_train,
        data.y_tr,
        tuning.best_params,
        tuning.best_rounds,
        random_state=config.random_state,
        n_jobs=config.n_jobs,
        class_weighting=config.lightgbm_class_weighting,
        monotone_constraints=monotone,
    )
    if booster.feature_name() != list(data.X_train.columns):
        raise ValueError(
            "LightGBM renamed some features (names with spaces or JSON characters); "
            "feature names must be plain identifiers"
        )
    predict_start = time.perf_counter()
    holdout_proba["lightgbm"] = booster.predict(data.X_hold.to_numpy(dtype=np.float64))
    durations["lightgbm"] = {
        "final_fit_seconds": fit_s,
        "holdout_predict_seconds": time.perf_counter() - predict_start,
    }
    return _FinalFits(booster, holdout_proba, durations)


def _compare_candidates(
    cv_results: dict[str, CVResult], fits: _FinalFits, y_ho: np.ndarray
) -> tuple[dict[str, dict[str, Any]], pd.DataFrame]:
    """Per candidate: CV and holdout AUC, Brier score and durations (as metrics, and as a table with the
    parameters)."""
    candidates: dict[str, dict[str, Any]] = {}
    rows = []
    for name in CANDIDATE_NAMES:
        cv = cv_results[name]
        entry = {
            "cv_auc_mean": _round(cv.auc_mean),
            "cv_auc_std": _round(cv.auc_std),
            "holdout_auc": _round(_auc(y_ho, fits.holdout_proba[name])),
            "holdout_brier": _round(brier_score_loss(y_ho, fits.holdout_proba[name])),
            "cv_fit_seconds": _round(cv.fit_seconds, 3),
            "cv_predict_seconds": _round(cv.predict_seconds, 3),
            **{k: _round(v, 3) for k, v in fits.durations[name].items()},
        }
        candidates[name] = entry
        rows.append(
            {"candidate": name, **entry, "params": json.dumps(cv.params, sort_keys=True, default=str)}
        )
    return candidates, pd.DataFrame(rows)


def _holdout_metrics(
    X: pd.DataFrame,
    data: _Split,
    tuning: TuningResult,
    threshold: float,
    oof_cost: float,
    candidates: dict[str, dict[str, Any]],
    proba: np.ndarray,
    config: ModelingConfig,
) -> dict[str, Any]:
    """Row and feature counts, CV and holdout scores, costs at the tuned and reference thresholds."""
    y_ho = data.y_ho
    refuse = proba >= threshold
    confusion = confusion_counts(y_ho, refuse)
    return {
        "n_rows": len(X),
        "n_train": len(data.X_train),
        "n_holdout": len(data.X_hold),
        "base_rate_train": _round(data.y_tr.mean()),
        "base_rate_holdout": _round(y_ho.mean()),
        "n_columns_in": int(X.shape[1]),
        "n_features": data.X_train.shape[1],
        "cv_auc_mean": _round(tuning.cv.auc_mean),
        "cv_auc_std": _round(tuning.cv.auc_std),
        "holdout_auc": candidates["lightgbm"]["holdout_auc"],
        "holdout_auc_accepted": _accepted_auc(y_ho, proba, refuse),
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
            "age_rule": config.selection.age_rule,
        },
    }


def _ratios_to_true_probability(
    true_probability: pd.Series, data: _Split, metrics: dict[str, Any], config: ModelingConfig
) -> dict[str, float]:
    """How close the model comes to the synthetic data's true default probability on the holdout."""
    true_hold = true_probability.reindex(data.X_hold.index).to_numpy(dtype=np.float64)
    if np.isnan(true_hold).any():
        raise ValueError("true_probability does not cover every holdout row")
    true_auc = _auc(data.y_ho, true_hold)
    true_threshold, true_cost = optimal_threshold(data.y_ho, true_hold, config.cost)
    return {
        "true_probability_auc": _round(true_auc),
        "true_probability_best_cost": _round(true_cost, 3),
        "true_probability_best_threshold": _round(true_threshold),
        "true_probability_brier": _round(brier_score_loss(data.y_ho, true_hold)),
        "auc_ratio_vs_true": _round(metrics["holdout_auc"] / true_auc),
        "cost_ratio_vs_true": _round(metrics["cost_at_threshold"] / true_cost),
    }


def _interpret_on_holdout(
    fits: _FinalFits,
    data: _Split,
    threshold: float,
    holdout_curve: pd.DataFrame,
    oof_curve: pd.DataFrame,
    config: ModelingConfig,
) -> InterpretationResult:
    """SHAP, permutation importance, local explanations and the model card's plots, on the holdout."""
    return interpret(
        fits.booster,
        data.X_hold,
        data.y_ho,
        fits.holdout_proba["lightgbm"],
        threshold,
        config.cost,
        cost_curve_frame=holdout_curve,
        tuning_cost_curve=oof_curve,
        candidate_probabilities=fits.holdout_proba,
        shap_rows=config.shap_rows,
        permutation_rows=config.permutation_rows,
        permutation_repeats=config.permutation_repeats,
        random_state=config.random_state,
    )


def _log_candidates(
    tracker: RunTracker,
    cv_results: dict[str, CVResult],
    candidates: dict[str, dict[str, Any]],
    metrics: dict[str, Any],
) -> None:
    """One tracker row per candidate; LightGBM's also carries the threshold, the costs and the ratios."""
    for name in CANDIDATE_NAMES:
        entry = candidates[name]
        extra = {}
        if name == "lightgbm":
            extra = {
                k: metrics[k]
                for k in ("threshold", "cost_at_threshold", "cost_at_0_5", "cost_at_0_07", "brier")
            }
            extra.update({k: metrics[k] for k in ("auc_ratio_vs_true", "cost_ratio_vs_true") if k in metrics})
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

    Metrics (all JSON-serialisable): ``cv_auc_mean``, ``cv_auc_std``, ``holdout_auc``,
    ``holdout_auc_accepted`` (the holdout rows the threshold accepts; ``None`` for one class), ``brier``,
    ``threshold``, ``cost_at_threshold``, ``cost_at_0_5``, ``cost_at_0_07``, ``oof_cost_at_threshold``,
    ``confusion_matrix`` (``tp, fp, tn, fn``), ``recall``, ``precision``, ``refusal_rate``,
    ``candidates`` (per candidate: CV and holdout AUC, Brier, durations), ``tuning``, ``durations``, row
    and feature counts, and the true-probability ratios when available.
    """
    config = config or ModelingConfig()
    started = time.perf_counter()
    durations: dict[str, float] = {}
    stage = _Stages(progress)
    y = _checked_target(X, y)

    X_train_all, X_hold_all, y_train, y_hold = _split_holdout(X, y, config, stage)
    with _timed(durations, "selection_seconds"):
        selection = _select_on_training_split(X_train_all, y_train, config, stage)
    features = selection.selected
    data = _Split(X_train_all[features], X_hold_all[features], y_train, y_hold)
    constraints = age_constraints(features, config.selection.age_rule)
    monotone = [constraints.get(name, 0) for name in features] if constraints else None

    folds = make_folds(data.y_tr, config.n_folds, config.random_state)
    with _timed(durations, "baseline_cv_seconds"):
        cv_results = _cross_validate_baselines(data, folds, config, stage)
    tuning = _tune_lightgbm(data, folds, config, stage, monotone)
    durations["tuning_seconds"] = tuning.seconds
    cv_results["lightgbm"] = tuning.cv
    threshold, oof_cost = _threshold_on_oof(data, tuning, config, stage)

    with _timed(durations, "final_fit_seconds"):
        fits = _fit_final_models(data, tuning, config, monotone)
    proba = fits.holdout_proba["lightgbm"]
    candidates, comparison = _compare_candidates(cv_results, fits, data.y_ho)
    metrics = _holdout_metrics(X, data, tuning, threshold, oof_cost, candidates, proba, config)
    if true_probability is not None:
        metrics.update(_ratios_to_true_probability(true_probability, data, metrics, config))

    curve = cost_curve(data.y_ho, proba, config.cost)
    oof_curve = cost_curve(data.y_tr, tuning.cv.oof, config.cost)
    interpretation = None
    if config.interpretation:
        with _timed(durations, "interpretation_seconds"):
            stage("interpretation: SHAP, permutation importance, plots")
            interpretation = _interpret_on_holdout(fits, data, threshold, curve, oof_curve, config)
    durations["total_seconds"] = time.perf_counter() - started
    metrics["durations"] = {k: _round(v, 3) for k, v in durations.items()}

    if tracker is not None:
        _log_candidates(tracker, cv_results, candidates, metrics)
    stage(
        f"holdout AUC {metrics['holdout_auc']:.4f}, cost {metrics['cost_at_threshold']:.1f} per 1,000 "
        f"at threshold {threshold:.4f} ({durations['total_seconds']:.0f} s)"
    )
    return ModelingOutcome(
        booster=fits.booster,
        features=list(features),
        selection=selection,
        threshold=float(threshold),
        cost=config.cost,
        metrics=metrics,
        comparison=comparison,
        X_train=data.X_train_raw,
        y_train=y_train,
        oof_proba=pd.Series(tuning.cv.oof, index=data.X_train.index, name="probability"),
        X_holdout=data.X_hold_raw,
        y_holdout=y_hold,
        proba_holdout=pd.Series(proba, index=data.X_hold.index, name="probability"),
        cost_curve=curve,
        oof_cost_curve=oof_curve,
        tuning=tuning,
        candidate_holdout_proba=fits.holdout_proba,
        interpretation=interpretation,
        plots=interpretation.plots if interpretation is not None else {},
        age_constraints=constraints,
    )
