"""Realized performance per model tag and decision month: decisions joined with their outcomes.

Only accepted applicants can have a realized outcome (a refused applicant got no loan), so every figure is
computed on the accepted applicants of the month whose outcome is known:

- AUC (the Mann-Whitney statistic on average ranks, ties counting one half), Gini = 2·AUC − 1;
- KS, the largest distance between the score distributions of defaulters and of repaid loans;
- Brier score, the mean of (probability − outcome)²;
- per score band: outcomes, defaults, bad rate and mean predicted probability (calibration);
- the business cost per 1,000 of these decisions at the served threshold, with the model's cost weights
  (all of them accepts: each defaulter costs ``false_negative``, each repaid loan ``true_negative``).

The join (``docs/outcomes.md``): an outcome given by request id belongs to that decision; one given by
applicant id belongs to the applicant's latest accepted decision scored at or before the outcome was
observed, unless that decision has an outcome by request id (which wins). Outcomes of refused decisions and
outcomes observed before their decision are left out and counted.

Beside them, for the accepted decisions still awaiting an outcome, the label-free expected AUC
(:mod:`monitoring.label_free`).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy.stats import rankdata
from sqlalchemy import Engine, select

from monitoring import store_schema as schema
from monitoring.label_free import expected_auc
from service.bundle import PROBABILITY_COLUMN, TARGET_COLUMN, Bundle


@dataclass(frozen=True)
class BandFigures:
    """Outcomes and calibration of one score band in one month."""

    band: int
    outcomes: int
    defaults: int
    bad_rate: float
    """Share of defaults among the band's outcomes."""
    mean_probability: float
    """Mean predicted probability of the same applicants (calibration: compare with ``bad_rate``)."""


@dataclass(frozen=True)
class MonthPerformance:
    """Realized performance of one model tag on the decisions of one month (UTC)."""

    model_tag: str
    decision_month: str
    accepted: int
    """Accepted decisions of the month (with or without an outcome)."""
    refused: int
    """Refused decisions of the month (never an outcome)."""
    outcomes: int
    """Accepted decisions of the month with a known outcome: the figures below are computed on them."""
    defaults: int
    auc: float
    """NaN while the outcomes hold only one class."""
    gini: float
    ks: float
    brier: float
    cost_per_1000: float
    """Business cost per 1,000 of these decisions with the model's weights; NaN when the model is unknown."""
    holdout_auc: float
    """The bundle's holdout AUC on every holdout applicant (NaN when not recorded)."""
    holdout_accepted_auc: float
    """The bundle's holdout AUC on the holdout applicants its threshold accepts (NaN when unknown): the
    baseline the realized AUC is read against (:func:`accepted_holdout_auc`)."""
    awaiting: int = 0
    """Accepted decisions of the month still without an outcome."""
    estimated_auc: float = float("nan")
    """Label-free expected AUC of the awaiting decisions (:mod:`monitoring.label_free`)."""
    bands: list[BandFigures] = field(default_factory=list)


@dataclass(frozen=True)
class JoinCounts:
    """Outcomes the join left out, by reason (all months)."""

    on_refused: int
    """Outcomes of refused decisions, or of applicants with only refused decisions (no loan was granted: a
    data error upstream)."""
    before_decision: int
    """Outcomes observed before the decision they name."""
    unmatched: int
    """Outcomes whose id matches no decision of the months read (not stored yet, or older)."""


def roc_auc(defaulted: np.ndarray, probability: np.ndarray) -> float:
    """Area under the ROC curve (ties count one half); NaN unless both classes are present."""
    y = np.asarray(defaulted, dtype=bool)
    n_pos = int(y.sum())
    n_neg = len(y) - n_pos
    if n_pos == 0 or n_neg == 0:
        return float("nan")
    ranks = rankdata(probability)
    return float((ranks[y].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def accepted_holdout_auc(bundle: Bundle) -> float | None:
    """ROC AUC on the holdout applicants the bundle's threshold accepts: the baseline a realized AUC is read
    against, since only accepted applicants ever get an outcome, and an AUC over scores cut off at the
    threshold is lower than over all of them (0.62 against 0.80 for the main job's model of 2026-12-06).

    From training's metrics (``holdout_auc_accepted``, the whole holdout), else, for a bundle trained before
    it was recorded, from the reference sample's probabilities and outcomes; ``None`` when neither has it."""
    recorded = bundle.metrics.get("holdout_auc_accepted")
    if recorded is not None:
        return float(recorded)
    reference = bundle.reference
    if reference is None or TARGET_COLUMN not in reference.columns:
        return None
    accepted = reference[reference[PROBABILITY_COLUMN] < bundle.threshold]
    auc = roc_auc(accepted[TARGET_COLUMN].to_numpy(), accepted[PROBABILITY_COLUMN].to_numpy(dtype=float))
    return None if np.isnan(auc) else auc


def ks_statistic(defaulted: np.ndarray, probability: np.ndarray) -> float:
    """Largest distance between the empirical distributions of the defaulters' and the others' scores."""
    y = np.asarray(defaulted, dtype=bool)
    p = np.asarray(probability, dtype=float)
    bad, good = np.sort(p[y]), np.sort(p[~y])
    if len(bad) == 0 or len(good) == 0:
        return float("nan")
    points = np.unique(p)
    cdf_bad = np.searchsorted(bad, points, side="right") / len(bad)
    cdf_good = np.searchsorted(good, points, side="right") / len(good)
    return float(np.max(np.abs(cdf_bad - cdf_good)))


def brier_score(defaulted: np.ndarray, probability: np.ndarray) -> float:
    """Mean squared difference between predicted probability and outcome (0 or 1)."""
    y = np.asarray(defaulted, dtype=float)
    return float(np.mean((np.asarray(probability, dtype=float) - y) ** 2))


def read_store(
    engine: Engine, since_month: str | None = None
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Decisions (from ``since_month``, ``YYYY-MM``, on), outcomes and models of the store, as frames."""
    d = schema.decisions
    query = select(d)
    if since_month is not None:
        query = query.where(d.c.decision_month >= since_month)
    with engine.connect() as connection:
        decisions = pd.DataFrame(connection.execute(query).mappings().all(), columns=[c.name for c in d.c])
        outcomes = pd.DataFrame(
            connection.execute(select(schema.outcomes)).mappings().all(),
            columns=[c.name for c in schema.outcomes.c],
        )
        models = pd.DataFrame(
            connection.execute(select(schema.models)).mappings().all(),
            columns=[c.name for c in schema.models.c],
        )
    return decisions, outcomes, models


def join_outcomes(decisions: pd.DataFrame, outcomes: pd.DataFrame) -> tuple[pd.DataFrame, JoinCounts]:
    """Accepted decisions with their outcome (a ``defaulted`` column), and what the join left out."""
    columns = [*decisions.columns, "defaulted"]
    refused = decisions["refused"].astype(bool)
    by_request = outcomes[outcomes["id_kind"] == "request"]
    named = decisions.merge(
        by_request[["subject_id", "defaulted", "observed_at"]],
        left_on="request_id",
        right_on="subject_id",
        how="inner",
    )
    named_refused = named["refused"].astype(bool)
    named_before = ~named_refused & (named["observed_at"] < named["scored_at"])
    named_ok = named[~named_refused & ~named_before]

    by_applicant = outcomes[outcomes["id_kind"] == "applicant"].sort_values("observed_at")
    callers = decisions["caller_id"].dropna()
    accepted = decisions[~refused & decisions["caller_id"].notna()].sort_values("scored_at")
    known = by_applicant["subject_id"].isin(callers).to_numpy()
    has_accepted = by_applicant["subject_id"].isin(accepted["caller_id"]).to_numpy()
    found = np.zeros(len(by_applicant), dtype=bool)
    by_caller = pd.DataFrame(columns=columns)
    if len(by_applicant) and len(accepted):
        latest = pd.merge_asof(
            by_applicant[["subject_id", "defaulted", "observed_at"]],
            accepted,
            left_on="observed_at",
            right_on="scored_at",
            left_by="subject_id",
            right_by="caller_id",
            direction="backward",
        )
        found = latest["request_id"].notna().to_numpy()
        by_caller = latest[found & ~latest["request_id"].isin(by_request["subject_id"]).to_numpy()][columns]
    parts = [part for part in (named_ok[columns], by_caller) if len(part)]
    joined = pd.concat(parts, ignore_index=True) if parts else named_ok[columns]
    counts = JoinCounts(
        on_refused=int(named_refused.sum()) + int((known & ~has_accepted).sum()),
        before_decision=int(named_before.sum()) + int((has_accepted & ~found).sum()),
        unmatched=int((~by_request["subject_id"].isin(decisions["request_id"])).sum()) + int((~known).sum()),
    )
    return joined, counts


def month_performance(
    decisions: pd.DataFrame, joined: pd.DataFrame, models: pd.DataFrame
) -> list[MonthPerformance]:
    """The figures of every (model tag, decision month) that has decisions, in that order."""
    model_by_tag = {row["model_tag"]: row for row in models.to_dict("records")}
    result = []
    for (tag, month), group in decisions.groupby(["model_tag", "decision_month"], sort=True):
        pairs = joined[(joined["model_tag"] == tag) & (joined["decision_month"] == month)]
        y = pairs["defaulted"].to_numpy(dtype=bool)
        p = pairs["probability"].to_numpy(dtype=float)
        model = model_by_tag.get(tag)
        auc = roc_auc(y, p) if len(y) else float("nan")
        refused = int(group["refused"].astype(bool).sum())
        accepted = group[~group["refused"].astype(bool)]
        awaiting = accepted[~accepted["request_id"].isin(pairs["request_id"])]
        result.append(
            MonthPerformance(
                model_tag=str(tag),
                decision_month=str(month),
                accepted=len(group) - refused,
                refused=refused,
                outcomes=len(y),
                defaults=int(y.sum()),
                auc=auc,
                gini=2 * auc - 1,
                ks=ks_statistic(y, p),
                brier=brier_score(y, p) if len(y) else float("nan"),
                cost_per_1000=_cost_per_1000(y, model),
                holdout_auc=_float(model.get("holdout_auc")) if model is not None else float("nan"),
                holdout_accepted_auc=(
                    _float(model.get("holdout_accepted_auc")) if model is not None else float("nan")
                ),
                awaiting=len(awaiting),
                estimated_auc=expected_auc(awaiting["probability"].to_numpy(dtype=float)),
                bands=_bands(pairs),
            )
        )
    return result


def _float(value: object) -> float:
    return float("nan") if value is None or pd.isna(value) else float(value)  # type: ignore[arg-type]


def _cost_per_1000(defaulted: np.ndarray, model: dict | None) -> float:
    """Cost of accepting these applicants, per 1,000 (every one is a predicted non-default)."""
    if model is None or len(defaulted) == 0:
        return float("nan")
    bad = int(defaulted.sum())
    good = len(defaulted) - bad
    return (model["cost_false_negative"] * bad + model["cost_true_negative"] * good) / len(defaulted) * 1000


def _bands(pairs: pd.DataFrame) -> list[BandFigures]:
    with_band = pairs[pairs["score_band"].notna()]
    out = []
    for band, group in with_band.groupby("score_band", sort=True):
        y = group["defaulted"].to_numpy(dtype=bool)
        out.append(
            BandFigures(
                band=int(band),
                outcomes=len(y),
                defaults=int(y.sum()),
                bad_rate=float(y.mean()),
                mean_probability=float(group["probability"].mean()),
            )
        )
    return out


def compute(engine: Engine, since_month: str | None = None) -> tuple[list[MonthPerformance], JoinCounts]:
    """Realized performance of every model tag and decision month from ``since_month`` on."""
    decisions, outcomes, models = read_store(engine, since_month)
    joined, counts = join_outcomes(decisions, outcomes)
    return month_performance(decisions, joined, models), counts
