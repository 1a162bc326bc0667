"""Global and local interpretation of the final LightGBM model, and the report's plots.

* **SHAP values** come from LightGBM itself (``Booster.predict(..., pred_contrib=True)``): the same
  TreeSHAP values as ``shap.TreeExplainer`` in log-odds space, without building an explainer, computed
  on a sample of holdout rows.
* **Permutation importance** on the holdout: how much the ROC AUC drops, and how much the business cost
  (at the tuned threshold) rises, when one column is shuffled.
* **Local explanations**: the SHAP contributions of one accepted and one refused holdout applicant.

Plots are returned as PNG bytes, drawn with the Agg backend (no display needed). The SHAP plots are
shap's own (``shap.plots.beeswarm``, ``bar`` and ``waterfall`` on a ``shap.Explanation`` of LightGBM's
values); the cost, ROC and permutation plots are drawn on matplotlib ``Figure`` objects.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field

import lightgbm as lgb
import numpy as np
import pandas as pd
from sklearn.metrics import roc_auc_score, roc_curve

from service.bundle import CostWeights
from training.cost import cost_per_1000

__all__ = [
    "InterpretationResult",
    "LocalExplanation",
    "global_shap_importance",
    "interpret",
    "local_explanation",
    "permutation_importance",
    "pick_examples",
    "plot_cost_curve",
    "plot_local_explanation",
    "plot_permutation_importance",
    "plot_roc_curves",
    "plot_shap_bar",
    "plot_shap_summary",
    "shap_contributions",
    "shap_explanation",
]

_REFUSE_COLOUR = "#c0392b"
_ACCEPT_COLOUR = "#2471a3"


def _sample_rows(n_rows: int, max_rows: int, random_state: int) -> np.ndarray:
    if n_rows <= max_rows:
        return np.arange(n_rows)
    return np.sort(np.random.default_rng(random_state).choice(n_rows, size=max_rows, replace=False))


def shap_contributions(
    booster: lgb.Booster, X: pd.DataFrame, *, max_rows: int = 2000, random_state: int = 0
) -> tuple[pd.DataFrame, float, pd.DataFrame]:
    """SHAP values (log-odds) of a row sample: (contributions per feature, base value, sampled rows)."""
    rows = _sample_rows(len(X), max_rows, random_state)
    sample = X.iloc[rows]
    raw = booster.predict(sample.to_numpy(dtype=np.float64), pred_contrib=True)
    contrib = pd.DataFrame(raw[:, :-1], index=sample.index, columns=list(X.columns))
    return contrib, float(raw[0, -1]) if len(raw) else 0.0, sample


def global_shap_importance(contributions: pd.DataFrame) -> pd.Series:
    """Mean absolute SHAP value per feature, largest first."""
    return contributions.abs().mean().sort_values(ascending=False, kind="stable")


def permutation_importance(
    booster: lgb.Booster,
    X: pd.DataFrame,
    y: pd.Series | np.ndarray,
    threshold: float,
    weights: CostWeights,
    *,
    n_repeats: int = 3,
    max_rows: int = 20_000,
    random_state: int = 0,
) -> pd.DataFrame:
    """Drop of ROC AUC and rise of cost per 1,000 when each column of ``X`` is shuffled.

    Returns one row per feature (``auc_drop``, ``auc_drop_std``, ``cost_increase``,
    ``cost_increase_std``), sorted by ``auc_drop``, largest first.
    """
    rows = _sample_rows(len(X), max_rows, random_state)
    data = X.iloc[rows].to_numpy(dtype=np.float64, copy=True)
    y_arr = np.asarray(y)[rows]
    base_proba = booster.predict(data)
    base_auc = roc_auc_score(y_arr, base_proba)
    base_cost = cost_per_1000(y_arr, base_proba >= threshold, weights)
    rng = np.random.default_rng(random_state)
    records = []
    for j, name in enumerate(X.columns):
        original = data[:, j].copy()
        auc_drops, cost_rises = [], []
        for _ in range(n_repeats):
            data[:, j] = original[rng.permutation(len(original))]
            proba = booster.predict(data)
            auc_drops.append(base_auc - roc_auc_score(y_arr, proba))
            cost_rises.append(cost_per_1000(y_arr, proba >= threshold, weights) - base_cost)
        data[:, j] = original
        records.append(
            {
                "feature": name,
                "auc_drop": float(np.mean(auc_drops)),
                "auc_drop_std": float(np.std(auc_drops)),
                "cost_increase": float(np.mean(cost_rises)),
                "cost_increase_std": float(np.std(cost_rises)),
            }
        )
    frame = pd.DataFrame.from_records(records)
    return frame.sort_values("auc_drop", ascending=False, kind="stable", ignore_index=True)


@dataclass
class LocalExplanation:
    """Why the model scored one applicant as it did."""

    label: str
    """``accepted`` or ``refused``."""
    row_index: object
    """Index label of the applicant in the holdout frame."""
    probability: float
    """Predicted probability of default."""
    base_value: float
    """Expected model output (log-odds) before any feature is known."""
    contributions: pd.DataFrame
    """Columns ``feature``, ``value``, ``contribution`` (log-odds), largest absolute contribution first."""


def local_explanation(booster: lgb.Booster, row: pd.DataFrame, label: str) -> LocalExplanation:
    """SHAP explanation of the single applicant in ``row`` (a one-row frame in booster column order)."""
    if len(row) != 1:
        raise ValueError(f"expected one row, got {len(row)}")
    values = row.to_numpy(dtype=np.float64)
    raw = booster.predict(values, pred_contrib=True)[0]
    frame = pd.DataFrame({"feature": list(row.columns), "value": values[0], "contribution": raw[:-1]})
    order = frame["contribution"].abs().sort_values(ascending=False, kind="stable").index
    return LocalExplanation(
        label=label,
        row_index=row.index[0],
        probability=float(booster.predict(values)[0]),
        base_value=float(raw[-1]),
        contributions=frame.loc[order].reset_index(drop=True),
    )


def pick_examples(proba: np.ndarray | pd.Series, threshold: float) -> tuple[int | None, int | None]:
    """Positions of a typical accepted and a typical refused applicant (median probability of each group).

    Either is ``None`` when nobody falls on that side of the threshold.
    """
    p = np.asarray(proba, dtype=float)
    picks: list[int | None] = []
    for mask in (p < threshold, p >= threshold):
        positions = np.nonzero(mask)[0]
        if len(positions) == 0:
            picks.append(None)
            continue
        ordered = positions[np.argsort(p[positions], kind="stable")]
        picks.append(int(ordered[len(ordered) // 2]))
    return picks[0], picks[1]


# ---------------------------------------------------------------------------------------------- plots


def _figure(width: float, height: float):
    from matplotlib.figure import Figure

    return Figure(figsize=(width, height), layout="constrained")


def _png(fig) -> bytes:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=100)
    return buffer.getvalue()


def _shap_png(plot, explanation, top: int, title: str) -> bytes:
    """PNG of a ``shap.plots`` function drawn on a fresh pyplot figure (Agg), with ``title``."""
    import matplotlib

    matplotlib.use("Agg")  # shap draws through pyplot; Agg renders to files without a display
    from matplotlib import pyplot

    before = set(pyplot.get_fignums())
    global_rng = np.random.get_state()
    try:
        np.random.seed(0)  # the beeswarm jitters with numpy's global RNG: seeded, the same plot every run
        pyplot.figure()
        plot(explanation, max_display=top, show=False)
        fig = pyplot.gcf()
        fig.axes[0].set_title(title, pad=16)
        buffer = io.BytesIO()
        fig.savefig(buffer, format="png", dpi=100, bbox_inches="tight")
        return buffer.getvalue()
    finally:
        np.random.set_state(global_rng)
        for number in set(pyplot.get_fignums()) - before:
            pyplot.close(number)


def shap_explanation(contributions: pd.DataFrame, base_value: float, values: pd.DataFrame):
    """A ``shap.Explanation`` of the rows of :func:`shap_contributions` (log-odds), for shap's plots."""
    import shap

    return shap.Explanation(
        values=contributions.to_numpy(dtype=np.float64),
        base_values=np.full(len(contributions), base_value),
        data=values[contributions.columns].to_numpy(dtype=np.float64),
        feature_names=list(contributions.columns),
    )


def _top_features(explanation, top: int):
    """The ``top`` features of ``explanation`` by mean |SHAP|: the global plots show only those (given more,
    shap adds a row summing all the others, which would dwarf the features' own bars)."""
    order = np.argsort(-np.abs(explanation.values).mean(axis=0), kind="stable")[:top]
    return explanation[:, order]


def plot_shap_bar(explanation, top: int = 20) -> bytes:
    """shap's bars of mean |SHAP| (the numbers of :func:`global_shap_importance`), ``top`` features."""
    import shap

    title = "Global feature importance: mean |SHAP value| (log-odds of default)"
    return _shap_png(shap.plots.bar, _top_features(explanation, top), top, title)


def plot_shap_summary(explanation, top: int = 20) -> bytes:
    """shap's beeswarm: a dot per applicant, x its SHAP value (log-odds), colour its feature value."""
    import shap

    title = "SHAP summary: log-odds of default by feature value (grey = missing)"
    return _shap_png(shap.plots.beeswarm, _top_features(explanation, top), top, title)


def plot_local_explanation(explanation: LocalExplanation, top: int = 12) -> bytes:
    """shap's waterfall: from the base log-odds to this applicant's, the largest contributions first."""
    import shap

    frame = explanation.contributions
    single = shap.Explanation(
        values=frame["contribution"].to_numpy(dtype=np.float64),
        base_values=explanation.base_value,
        data=frame["value"].to_numpy(dtype=np.float64),
        feature_names=list(frame["feature"]),
    )
    title = (
        f"{explanation.label.capitalize()} applicant {explanation.row_index}: "
        f"P(default) = {explanation.probability:.3f} (log-odds of default)"
    )
    return _shap_png(shap.plots.waterfall, single, top, title)


def plot_permutation_importance(frame: pd.DataFrame, top: int = 20) -> bytes:
    """Two panels: drop of ROC AUC and rise of cost per 1,000 when a feature is shuffled."""
    fig = _figure(12, 0.3 * min(top, len(frame)) + 1.5)
    left, right = fig.subplots(1, 2)
    for ax, column, label in (
        (left, "auc_drop", "ROC AUC drop"),
        (right, "cost_increase", "cost increase per 1,000 applicants"),
    ):
        shown = frame.sort_values(column, ascending=False, kind="stable").head(top)[::-1]
        ax.barh(shown["feature"], shown[column], xerr=shown[f"{column}_std"], color=_ACCEPT_COLOUR)
        ax.axvline(0, color="black", linewidth=0.8)
        ax.set_xlabel(label)
    left.set_title("Permutation importance: ROC AUC")
    right.set_title("Permutation importance: business cost")
    return _png(fig)


def plot_cost_curve(
    curve: pd.DataFrame,
    threshold: float,
    marks: tuple[float, ...] = (0.5, 0.07),
    *,
    tuning_curve: pd.DataFrame | None = None,
) -> bytes:
    """Cost per 1,000 applicants against the threshold, with the chosen threshold and reference marks.

    ``curve`` is drawn solid (the holdout); ``tuning_curve``, when given, dotted (the out-of-fold
    predictions the threshold was tuned on). Markers sit on ``curve``.
    """
    fig = _figure(8, 4.5)
    ax = fig.subplots()
    ax.plot(curve["threshold"], curve["cost"], color="black", linewidth=1.2, label="holdout")
    if tuning_curve is not None:
        ax.plot(
            tuning_curve["threshold"],
            tuning_curve["cost"],
            color="#7f8c8d",
            linestyle=":",
            label="out-of-fold",
        )
    thresholds = curve["threshold"].to_numpy()
    costs = curve["cost"].to_numpy()
    for value, colour, label in (
        (threshold, _REFUSE_COLOUR, f"tuned {threshold:.3f}"),
        *((m, "#7f8c8d", f"{m:g}") for m in marks),
    ):
        cost = float(np.interp(value, thresholds, costs))
        ax.axvline(value, color=colour, linestyle="--", linewidth=0.9)
        ax.plot([value], [cost], "o", color=colour, label=f"threshold {label}: {cost:.0f}")
    ax.set_xlabel("threshold (refuse if P(default) >= threshold)")
    ax.set_ylabel("cost per 1,000 applicants")
    ax.set_title("Business cost against the decision threshold")
    ax.legend()
    return _png(fig)


def plot_roc_curves(y_true: pd.Series | np.ndarray, probabilities: dict[str, np.ndarray]) -> bytes:
    """ROC curves of several models on the same rows, AUC in the legend."""
    fig = _figure(6.5, 6)
    ax = fig.subplots()
    for name, proba in probabilities.items():
        fpr, tpr, _ = roc_curve(y_true, proba)
        ax.plot(fpr, tpr, label=f"{name} (AUC {roc_auc_score(y_true, proba):.3f})")
    ax.plot([0, 1], [0, 1], color="#999999", linestyle=":")
    ax.set_xlabel("false positive rate (good clients refused)")
    ax.set_ylabel("true positive rate (defaulters refused)")
    ax.set_title("ROC curves on the holdout")
    ax.legend(loc="lower right")
    return _png(fig)


# ------------------------------------------------------------------------------------------- combined


@dataclass
class InterpretationResult:
    """Everything :func:`interpret` computed, plus the plots."""

    shap_importance: pd.Series
    """Mean |SHAP| per feature on the holdout sample, largest first."""
    permutation: pd.DataFrame
    """Permutation importance by ROC AUC and by cost (see :func:`permutation_importance`)."""
    local: list[LocalExplanation] = field(default_factory=list)
    """Local explanations of an accepted and a refused holdout applicant (when both exist)."""
    plots: dict[str, bytes] = field(default_factory=dict)
    """File name -> PNG bytes."""


def interpret(
    booster: lgb.Booster,
    X_holdout: pd.DataFrame,
    y_holdout: pd.Series | np.ndarray,
    proba_holdout: np.ndarray,
    threshold: float,
    weights: CostWeights,
    *,
    cost_curve_frame: pd.DataFrame | None = None,
    tuning_cost_curve: pd.DataFrame | None = None,
    candidate_probabilities: dict[str, np.ndarray] | None = None,
    shap_rows: int = 2000,
    permutation_rows: int = 20_000,
    permutation_repeats: int = 3,
    random_state: int = 0,
) -> InterpretationResult:
    """Compute SHAP, permutation importance and two local explanations on the holdout, and draw the plots.

    Plots: ``shap_summary.png``, ``shap_importance.png``, ``permutation_importance.png``,
    ``local_accepted.png``, ``local_refused.png`` (when such an applicant exists), ``cost_curve.png``
    (when ``cost_curve_frame`` is given) and ``roc_curves.png`` (when ``candidate_probabilities`` is).
    """
    contrib, base, sample = shap_contributions(
        booster, X_holdout, max_rows=shap_rows, random_state=random_state
    )
    importance = global_shap_importance(contrib)
    explanation = shap_explanation(contrib, base, sample)
    perm = permutation_importance(
        booster,
        X_holdout,
        y_holdout,
        threshold,
        weights,
        n_repeats=permutation_repeats,
        max_rows=permutation_rows,
        random_state=random_state,
    )
    plots = {
        "shap_summary.png": plot_shap_summary(explanation),
        "shap_importance.png": plot_shap_bar(explanation),
        "permutation_importance.png": plot_permutation_importance(perm),
    }
    local: list[LocalExplanation] = []
    for label, position in zip(("accepted", "refused"), pick_examples(proba_holdout, threshold), strict=True):
        if position is None:
            continue
        explanation = local_explanation(booster, X_holdout.iloc[[position]], label)
        local.append(explanation)
        plots[f"local_{label}.png"] = plot_local_explanation(explanation)
    if cost_curve_frame is not None:
        plots["cost_curve.png"] = plot_cost_curve(cost_curve_frame, threshold, tuning_curve=tuning_cost_curve)
    if candidate_probabilities:
        plots["roc_curves.png"] = plot_roc_curves(y_holdout, candidate_probabilities)
    return InterpretationResult(shap_importance=importance, permutation=perm, local=local, plots=plots)
