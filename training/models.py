"""Candidate models, stratified cross-validation and time-boxed LightGBM tuning.

Candidates, from the baseline up:

``dummy``
    predicts the training base rate for everyone (ROC AUC 0.5 by construction).
``logistic_regression``
    median imputation (with missing-value indicators), standardisation, L2 logistic regression.
``decision_tree``
    a depth-limited CART tree.
``lightgbm``
    gradient-boosted trees, tuned by :func:`tune_lightgbm` and refitted by :func:`fit_lightgbm`.

Class imbalance (about 8 % defaults): the sklearn baselines use ``class_weight="balanced"`` where it
helps them rank (the tree; the logistic regression is unweighted, reweighting barely changes its AUC).
LightGBM is trained **unweighted** by default: its probabilities then stay calibrated (meaningful Brier
score, meaningful drift of the predicted probability), and the asymmetry of the business cost is handled
by the cost-tuned threshold rather than by distorting the probabilities. ``is_unbalance`` remains
available through ``class_weighting="balanced"``.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

import lightgbm as lgb
import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, clone
from sklearn.dummy import DummyClassifier
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import StratifiedKFold
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.tree import DecisionTreeClassifier

__all__ = [
    "BASELINE_NAMES",
    "CANDIDATE_NAMES",
    "DEFAULT_LIGHTGBM_PARAMS",
    "LIGHTGBM_SEARCH_SPACE",
    "CVResult",
    "TuningResult",
    "TuningTrial",
    "baseline_candidates",
    "cross_validate_estimator",
    "fit_estimator",
    "fit_lightgbm",
    "lightgbm_params",
    "make_folds",
    "predict_estimator",
    "tune_lightgbm",
]

BASELINE_NAMES = ("dummy", "logistic_regression", "decision_tree")
"""Names of the scikit-learn candidates, weakest first."""

CANDIDATE_NAMES = (*BASELINE_NAMES, "lightgbm")
"""Names of all candidates, in the order the comparison table lists them."""

DEFAULT_LIGHTGBM_PARAMS: dict[str, Any] = {
    "learning_rate": 0.05,
    "num_leaves": 7,
    "min_child_samples": 100,
    "feature_fraction": 0.5,
    "bagging_fraction": 0.8,
    "bagging_freq": 1,
    "reg_lambda": 5.0,
}
"""Tunable LightGBM parameters of the first tuning trial.

Small, regularised trees: default risk is close to additive in well-built credit features (each signal
monotone, few strong interactions), and on the synthetic default data at 50,000 applicants 7 leaves with
half the features per tree beat 31 leaves (CV AUC 0.8025 against 0.7987 on the same 40 features).
"""

LIGHTGBM_SEARCH_SPACE: dict[str, list[Any]] = {
    "learning_rate": [0.03, 0.05, 0.08],
    "num_leaves": [4, 7, 15, 31],
    "min_child_samples": [50, 100, 200, 400],
    "feature_fraction": [0.3, 0.5, 0.7],
    "bagging_fraction": [0.7, 0.85, 1.0],
    "reg_lambda": [0.0, 1.0, 5.0, 20.0],
}
"""Values the random search draws from, independently per parameter."""

ClassWeighting = Literal["none", "balanced"]


def lightgbm_params(
    tuned: dict[str, Any] | None = None,
    *,
    random_state: int = 0,
    n_jobs: int = 2,
    class_weighting: ClassWeighting = "none",
    monotone_constraints: list[int] | None = None,
) -> dict[str, Any]:
    """Complete LightGBM training parameters: fixed settings, defaults, then ``tuned`` overrides.

    ``monotone_constraints`` holds one entry per feature, in column order: 1 when the prediction may only
    rise with the feature, -1 when it may only fall, 0 when free; ``None`` or all zeros sets none.
    """
    params: dict[str, Any] = {
        "objective": "binary",
        "metric": "auc",
        "verbosity": -1,
        "seed": random_state,
        "deterministic": True,
        "force_col_wise": True,
        "num_threads": n_jobs,
        "feature_pre_filter": False,
        **DEFAULT_LIGHTGBM_PARAMS,
        **(tuned or {}),
    }
    if class_weighting == "balanced":
        params["is_unbalance"] = True
    if monotone_constraints is not None and any(monotone_constraints):
        params["monotone_constraints"] = list(monotone_constraints)
    return params


@dataclass
class CVResult:
    """Cross-validated performance of one candidate on the training split."""

    name: str
    """Candidate name."""
    params: dict[str, Any]
    """Parameters that define the candidate (JSON-friendly)."""
    oof: np.ndarray
    """Out-of-fold predicted probability of default for every training row."""
    fold_aucs: list[float]
    """ROC AUC on each validation fold."""
    fit_seconds: float
    """Total wall time spent fitting, over all folds."""
    predict_seconds: float
    """Total wall time spent predicting the validation folds."""

    @property
    def auc_mean(self) -> float:
        """Mean of the fold AUCs."""
        return float(np.mean(self.fold_aucs))

    @property
    def auc_std(self) -> float:
        """Standard deviation of the fold AUCs."""
        return float(np.std(self.fold_aucs))


@dataclass
class TuningTrial:
    """One LightGBM configuration tried by :func:`tune_lightgbm`."""

    params: dict[str, Any]
    """The tunable parameters of this trial."""
    n_rounds: int
    """Boosting rounds at which the mean validation AUC peaked (early stopping)."""
    cv_auc_mean: float
    """Mean validation AUC across folds at ``n_rounds``."""
    cv_auc_std: float
    """Spread of the validation AUC across folds at ``n_rounds``."""
    seconds: float
    """Wall time of the trial."""


@dataclass
class TuningResult:
    """Outcome of the time-boxed LightGBM search."""

    best_params: dict[str, Any]
    """Tunable parameters of the best trial."""
    best_rounds: int
    """Early-stopped number of boosting rounds of the best trial."""
    trials: list[TuningTrial]
    """All trials, in the order they ran."""
    cv: CVResult
    """Out-of-fold predictions of the best configuration (the fold models of its trial)."""
    seconds: float = 0.0
    """Wall time of the whole search."""
    stopped_by: str = ""
    """Why the search ended: ``budget``, ``max_trials`` or ``search space exhausted``."""
    trials_frame: pd.DataFrame = field(default_factory=pd.DataFrame)
    """The trials as a table (one row per trial, parameters as columns), best first."""


def make_folds(
    y: np.ndarray | pd.Series, n_folds: int, random_state: int
) -> list[tuple[np.ndarray, np.ndarray]]:
    """Stratified, shuffled K-fold (train indices, validation indices) pairs over positions of ``y``."""
    splitter = StratifiedKFold(n_splits=n_folds, shuffle=True, random_state=random_state)
    y_arr = np.asarray(y)
    return [(tr, va) for tr, va in splitter.split(np.zeros(len(y_arr)), y_arr)]


def baseline_candidates(random_state: int = 0) -> dict[str, BaseEstimator]:
    """The unfitted scikit-learn candidates, weakest first."""
    return {
        "dummy": DummyClassifier(strategy="prior"),
        "logistic_regression": Pipeline(
            [
                ("impute", SimpleImputer(strategy="median", add_indicator=True)),
                ("scale", StandardScaler()),
                ("model", LogisticRegression(C=1.0, max_iter=2000)),
            ]
        ),
        "decision_tree": DecisionTreeClassifier(
            max_depth=6, min_samples_leaf=100, class_weight="balanced", random_state=random_state
        ),
    }


def _estimator_params(estimator: BaseEstimator) -> dict[str, Any]:
    """JSON-friendly parameters of an estimator (nested steps flattened, objects as text)."""
    out: dict[str, Any] = {}
    for key, value in estimator.get_params(deep=True).items():
        if isinstance(value, (bool, int, float, str)) or value is None:
            out[key] = value
        elif key not in ("steps", "memory") and not isinstance(value, BaseEstimator):
            out[key] = repr(value)
    return out


def fit_estimator(estimator: BaseEstimator, X: pd.DataFrame, y: np.ndarray | pd.Series):
    """Fit a clone of ``estimator``; return (fitted estimator, seconds)."""
    model = clone(estimator)
    start = time.perf_counter()
    model.fit(X.to_numpy(dtype=np.float64), np.asarray(y))
    return model, time.perf_counter() - start


def predict_estimator(model: BaseEstimator, X: pd.DataFrame) -> tuple[np.ndarray, float]:
    """Probability of default from a fitted scikit-learn model; return (probabilities, seconds)."""
    start = time.perf_counter()
    proba = model.predict_proba(X.to_numpy(dtype=np.float64))[:, 1]
    return proba, time.perf_counter() - start


def cross_validate_estimator(
    name: str,
    estimator: BaseEstimator,
    X: pd.DataFrame,
    y: np.ndarray | pd.Series,
    folds: list[tuple[np.ndarray, np.ndarray]],
    *,
    progress: bool = False,
) -> CVResult:
    """Fit ``estimator`` on each fold's training rows and score its validation rows (ROC AUC)."""
    from tqdm.auto import tqdm

    y_arr = np.asarray(y)
    oof = np.zeros(len(y_arr), dtype=np.float64)
    aucs: list[float] = []
    fit_s = predict_s = 0.0
    for tr, va in tqdm(folds, desc=f"CV {name}", disable=not progress, leave=False):
        model, seconds = fit_estimator(estimator, X.iloc[tr], y_arr[tr])
        fit_s += seconds
        proba, seconds = predict_estimator(model, X.iloc[va])
        predict_s += seconds
        oof[va] = proba
        aucs.append(float(roc_auc_score(y_arr[va], proba)))
    return CVResult(name, _estimator_params(estimator), oof, aucs, fit_s, predict_s)


def _draw_params(rng: np.random.Generator, space: dict[str, list[Any]]) -> dict[str, Any]:
    drawn = {}
    for key in sorted(space):
        value = space[key][int(rng.integers(len(space[key])))]
        drawn[key] = value.item() if hasattr(value, "item") else value
    return drawn


def tune_lightgbm(
    X: pd.DataFrame,
    y: np.ndarray | pd.Series,
    folds: list[tuple[np.ndarray, np.ndarray]],
    *,
    budget_seconds: float = 120.0,
    max_trials: int = 30,
    random_state: int = 0,
    n_jobs: int = 2,
    class_weighting: ClassWeighting = "none",
    max_rounds: int = 3000,
    early_stopping_rounds: int = 100,
    search_space: dict[str, list[Any]] | None = None,
    progress: bool = False,
    on_trial: Callable[[TuningTrial], None] | None = None,
    monotone_constraints: list[int] | None = None,
) -> TuningResult:
    """Random search over LightGBM parameters with K-fold early stopping, within a time budget.

    The first trial is :data:`DEFAULT_LIGHTGBM_PARAMS`; later trials draw each parameter from
    ``search_space`` (default :data:`LIGHTGBM_SEARCH_SPACE`) with a generator seeded by
    ``random_state``. Each trial runs ``lgb.cv`` on ``folds``, stopping when the mean validation AUC has
    not improved for ``early_stopping_rounds`` rounds. A new trial starts only if the time spent so far
    plus the mean duration of the earlier trials fits in ``budget_seconds`` (the first trial always
    runs), and at most ``max_trials`` run. The best trial is the one with the highest mean validation AUC;
    its fold models give the out-of-fold predictions (each fold's model at the shared early-stopped
    round, predicting only its own validation rows). ``monotone_constraints`` (one entry per column of
    ``X``, see :func:`lightgbm_params`) holds in every trial.
    """
    from tqdm.auto import tqdm

    space = search_space or LIGHTGBM_SEARCH_SPACE
    rng = np.random.default_rng(random_state)
    X_np = X.to_numpy(dtype=np.float64)
    y_arr = np.asarray(y)
    data = (X_np, y_arr, list(X.columns))
    settings = {
        "random_state": random_state,
        "n_jobs": n_jobs,
        "class_weighting": class_weighting,
        "monotone_constraints": monotone_constraints,
    }
    trials: list[TuningTrial] = []
    seen: set[str] = set()
    best: tuple[TuningTrial, Any] | None = None
    started = time.perf_counter()
    stopped_by = "max_trials"
    bar = tqdm(total=max_trials, desc="LightGBM tuning", disable=not progress, leave=False)
    attempts = 0
    while len(trials) < max_trials:
        elapsed = time.perf_counter() - started
        if trials and elapsed + float(np.mean([t.seconds for t in trials])) > budget_seconds:
            stopped_by = "budget"
            break
        tuned = (
            dict(DEFAULT_LIGHTGBM_PARAMS)
            if not trials
            else {**DEFAULT_LIGHTGBM_PARAMS, **_draw_params(rng, space)}
        )
        key = repr(sorted(tuned.items()))
        attempts += 1
        if key in seen:
            if attempts > 20 * max_trials:
                stopped_by = "search space exhausted"
                break
            continue
        seen.add(key)
        trial, cvbooster = _cross_validate_trial(
            tuned, data, folds, max_rounds, early_stopping_rounds, settings
        )
        trials.append(trial)
        if on_trial is not None:
            on_trial(trial)
        if best is None or trial.cv_auc_mean > best[0].cv_auc_mean:
            best = (trial, cvbooster)
        bar.update(1)
        bar.set_postfix(best_auc=f"{best[0].cv_auc_mean:.4f}")
    bar.close()
    assert best is not None
    best_trial, cvbooster = best

    cv = _best_trial_out_of_fold(best_trial, cvbooster, X_np, y_arr, folds, settings)
    return TuningResult(
        best_params=best_trial.params,
        best_rounds=best_trial.n_rounds,
        trials=trials,
        cv=cv,
        seconds=time.perf_counter() - started,
        stopped_by=stopped_by,
        trials_frame=_trials_table(trials),
    )


def _cross_validate_trial(
    tuned: dict[str, Any],
    data: tuple[np.ndarray, np.ndarray, list[str]],
    folds: list[tuple[np.ndarray, np.ndarray]],
    max_rounds: int,
    early_stopping_rounds: int,
    settings: dict[str, Any],
) -> tuple[TuningTrial, Any]:
    """One trial of :func:`tune_lightgbm`: ``lgb.cv`` with early stopping on the mean validation AUC.

    ``data`` is (features, targets, feature names); ``settings`` the keyword arguments of
    :func:`lightgbm_params` besides the tuned ones. Returns the trial and its fold models (a CVBooster).
    """
    X_np, y_arr, feature_names = data
    trial_start = time.perf_counter()
    params = lightgbm_params(tuned, **settings)
    dataset = lgb.Dataset(X_np, label=y_arr, feature_name=feature_names, free_raw_data=False)
    history = lgb.cv(
        params,
        dataset,
        num_boost_round=max_rounds,
        folds=folds,
        callbacks=[lgb.early_stopping(early_stopping_rounds, verbose=False)],
        return_cvbooster=True,
    )
    means = history["valid auc-mean"]
    best_round = int(np.argmax(means)) + 1
    trial = TuningTrial(
        params=tuned,
        n_rounds=best_round,
        cv_auc_mean=float(means[best_round - 1]),
        cv_auc_std=float(history["valid auc-stdv"][best_round - 1]),
        seconds=time.perf_counter() - trial_start,
    )
    return trial, history["cvbooster"]


def _best_trial_out_of_fold(
    trial: TuningTrial,
    cvbooster: Any,
    X_np: np.ndarray,
    y_arr: np.ndarray,
    folds: list[tuple[np.ndarray, np.ndarray]],
    settings: dict[str, Any],
) -> CVResult:
    """Out-of-fold predictions of the best trial: each fold's model at the trial's early-stopped round,
    predicting only its own validation rows."""
    oof = np.zeros(len(y_arr), dtype=np.float64)
    aucs: list[float] = []
    predict_start = time.perf_counter()
    for booster, (_, va) in zip(cvbooster.boosters, folds, strict=True):
        oof[va] = booster.predict(X_np[va], num_iteration=trial.n_rounds)
        aucs.append(float(roc_auc_score(y_arr[va], oof[va])))
    predict_s = time.perf_counter() - predict_start
    full_params = {**lightgbm_params(trial.params, **settings), "num_boost_round": trial.n_rounds}
    return CVResult("lightgbm", full_params, oof, aucs, trial.seconds, predict_s)


def _trials_table(trials: list[TuningTrial]) -> pd.DataFrame:
    """The trials as a table, parameters as columns, best mean validation AUC first (ties: earlier first)."""
    frame = pd.DataFrame(
        [
            {
                "trial": i,
                **t.params,
                "n_rounds": t.n_rounds,
                "cv_auc_mean": t.cv_auc_mean,
                "cv_auc_std": t.cv_auc_std,
                "seconds": t.seconds,
            }
            for i, t in enumerate(trials)
        ]
    )
    return frame.sort_values(["cv_auc_mean", "trial"], ascending=[False, True], ignore_index=True)


def fit_lightgbm(
    X: pd.DataFrame,
    y: np.ndarray | pd.Series,
    tuned: dict[str, Any],
    n_rounds: int,
    *,
    random_state: int = 0,
    n_jobs: int = 2,
    class_weighting: ClassWeighting = "none",
    monotone_constraints: list[int] | None = None,
) -> tuple[lgb.Booster, float]:
    """Fit LightGBM on all of ``X`` for exactly ``n_rounds`` rounds; return (booster, seconds).

    ``monotone_constraints``: one entry per column of ``X`` (see :func:`lightgbm_params`), or ``None``.
    """
    params = lightgbm_params(
        tuned,
        random_state=random_state,
        n_jobs=n_jobs,
        class_weighting=class_weighting,
        monotone_constraints=monotone_constraints,
    )
    params.pop("metric", None)
    start = time.perf_counter()
    data = lgb.Dataset(X.to_numpy(dtype=np.float64), label=np.asarray(y), feature_name=list(X.columns))
    booster = lgb.train(params, data, num_boost_round=n_rounds)
    return booster, time.perf_counter() - start
