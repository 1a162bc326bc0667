"""The known default probability of the synthetic data: a function of observable columns only.

For applicant *i* (one ``SK_ID_CURR``), every quantity computed from the RAW tables exactly as written::

    logit p = B0
        + W_EXT[k] * ln((C_EXT[k] + A_EXT) / (min(EXT_SOURCE_k, EXT_PLATEAU) + A_EXT))    k = 1, 2, 3
        + W_EXT_MISSING[k]                                                    if EXT_SOURCE_k is missing
        + W_AGE * ln(AGE_REF / max(age, AGE_PEAK)) - W_UNDER_PEAK * max(AGE_PEAK - age, 0) / 10
        + W_NEW_JOB * [years < 1] - W_TENURE * ln(1 + max(years - 1, 0)) / ln 10
                                              replaced by W_PENSIONER when DAYS_EMPLOYED is 365243
        + W_BURDEN * (clip((annuity_income - BURDEN_FROM) / 0.2, 0, 1)
                      - BURDEN_RELIEF * clip((annuity_income - 0.3) / 0.1, 0, 1))
                                                                              0 if AMT_ANNUITY is missing
        + W_GOODS_SIZE * exp(-(ln(goods / GOODS_PEAK) / GOODS_WIDTH)^2 / 2)
        - W_GOODS_TILT * ln(goods / GOODS_PEAK)
        + W_FINANCED * clip((credit_goods - 1.10) / 0.15, 0, 1.5)           0 if AMT_GOODS_PRICE is missing
        + W_REGION * (REGION_RATING_CLIENT_W_CITY - 2)
        + W_THIN_FILE * thin + W_THIN_NO_SCORE * thin * [EXT_SOURCE_3 missing]
        + W_OVERDUE_INCOME * ln(1 + bureau_overdue / monthly_income)
        + W_BUREAU_DAYS * min(bureau_max_days, 90) / 90
        + (W_LATE + W_LATE_LOW_SCORE * low_score) * (1 - exp(-late_count / LATE_SCALE))
        + W_YOUNG_LOW_SCORE * low_score * max(35 - age, 0) / 10
        + W_UNDERPAID * ln(1 + max(underpaid, 0) / 1000)
        + W_MAXED_OUT * clip((utilisation - 0.8) / 0.2, 0, 1.5)
        + W_POS_DPD * (1 - exp(-pos_dpd / POS_DPD_SCALE))
        + W_REFUSED * refused_share

where

* ``EXT_SOURCE_k`` is clipped below at 0; ``low_score = clip((0.5 - mean_score) / 0.2, 0, 2)`` with
  ``mean_score`` the mean of the available ``EXT_SOURCE_k`` clipped to [0, 1] (0 when none is present);
  ``age = -DAYS_BIRTH / 365.25`` clipped to [20, 70];
  ``years = -DAYS_EMPLOYED / 365.25`` (clipped below at 0);
  ``annuity_income = AMT_ANNUITY / AMT_INCOME_TOTAL``; ``credit_goods = AMT_CREDIT / AMT_GOODS_PRICE``;
  ``goods = AMT_GOODS_PRICE``, or ``AMT_CREDIT`` when the goods price is missing;
  ``monthly_income = AMT_INCOME_TOTAL / 12``;
* ``thin`` is 1 for an applicant without any ``bureau`` row (a thin credit file), else 0;
  ``bureau_overdue`` = sum of ``bureau.AMT_CREDIT_SUM_OVERDUE``;
  ``bureau_max_days`` = max of ``bureau.CREDIT_DAY_OVERDUE``;
* ``late_count`` = number of ``installments_payments`` rows with ``DAYS_ENTRY_PAYMENT > DAYS_INSTALMENT``;
  ``underpaid`` = mean of ``AMT_INSTALMENT - AMT_PAYMENT`` over the rows with a payment amount;
* ``utilisation`` = mean of ``AMT_BALANCE / AMT_CREDIT_LIMIT_ACTUAL`` over the ``credit_card_balance`` rows
  with a positive limit (negative ratios count as 0);
* ``pos_dpd`` = mean of ``POS_CASH_balance.SK_DPD``;
* ``refused_share`` = share of ``previous_application`` rows with ``NAME_CONTRACT_STATUS == "Refused"``.

A history aggregate of an applicant without rows in that table is 0 (no overdue debt, no late payment, no
card, no refusal); having no bureau row at all is a risk of its own (``thin``). ``TARGET ~ Bernoulli(p)``.
``CODE_GENDER`` carries no weight: the models may not read it (issue #16), so the true probability does not
either; gender still shifts income and car ownership as in the real data.

The shapes follow what the real samples (5,000 Kaggle applications, 8.4 % defaults) show, bin by bin: the
default rate rises from the early twenties to a peak near 30 and then falls with age; it is highest in the
first year of a job and falls with tenure, and pensioners (the ``365243`` sentinel) sit near the low end;
it rises with the annuity's share of income and partly falls back above 0.3; it is highest for mid-priced
goods and lower for cheap and dear ones (deciles of ``AMT_GOODS_PRICE``: 0.07, 0.10, 0.07, 0.14, 0.13,
0.06, 0.09, 0.03, 0.06, 0.06); it is flat while the credit is close to the goods price and climbs once the
credit finances much more than the goods (6.7 % at 1.0, 12-14 % above 1.2); external scores above 0.6 lower
it no further; a missing ``EXT_SOURCE_3`` means more risk (10.6 % against 8.4 %), a missing
``EXT_SOURCE_1`` next to none. The amplitudes are larger than those bins alone would support: they are set
so that the default pipeline's LightGBM beats its logistic regression by the margin it does on real data.
What a linear model on the raw columns cannot represent, and a gradient-boosted model can learn: the
humps (age, burden, goods price; the sentinel sits at the far end of ``DAYS_EMPLOYED``), the thresholds
and saturations (score plateau, financed share, card utilisation, the count of late instalments, POS days
past due), and the interactions (low external scores with late payments, and with youth; a thin file
without ``EXT_SOURCE_3``; overdue debt measured against income). The goods-price hump has a downward tilt
so that the pipeline's selection, which keeps columns by their rank correlation with the target, keeps
``AMT_GOODS_PRICE``. The weights give a base rate near 8 % and a ROC AUC of p against the drawn TARGET
near 0.80; ``benchmarks/bench_generator_realism.py`` measures how much of it the default pipeline's
LightGBM and logistic regression recover (BENCHMARKS.md).
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from service.applicant.schema import SENTINEL_DAYS

B0 = -4.7
"""Intercept: sets the base rate."""
W_EXT = {"EXT_SOURCE_1": 0.4, "EXT_SOURCE_2": 0.5, "EXT_SOURCE_3": 0.62}
"""Weight of each external score's log term (the strongest single signals, as in the real data)."""
A_EXT = 0.04
"""Offset inside the external scores' log: keeps a score of 0 finite."""
C_EXT = {"EXT_SOURCE_1": 0.45, "EXT_SOURCE_2": 0.45, "EXT_SOURCE_3": 0.45}
"""Score at which each external score's term is 0 (about its median)."""
EXT_PLATEAU = 0.60
"""External scores above this carry no further decrease of risk (the real default rate levels off)."""
W_EXT_MISSING = {"EXT_SOURCE_1": 0.0, "EXT_SOURCE_2": 0.30, "EXT_SOURCE_3": 0.25}
"""Added when the score is missing: an applicant the external agencies know nothing about is riskier."""
W_AGE = 0.55
"""Weight of the fall of risk with age after the peak."""
AGE_REF = 43.0
"""Age at which the age term is 0."""
AGE_PEAK = 30.0
"""Age of the highest risk: it rises up to it and falls after."""
W_UNDER_PEAK = 0.25
"""Decrease of the logit per 10 years below the peak age."""
W_NEW_JOB = 0.35
"""Added in the first year of employment (probation, unstable income)."""
W_TENURE = 0.45
"""Decrease of the logit with ln(years beyond the first), per ln 10."""
W_PENSIONER = -0.3
"""Added for the pensioner sentinel DAYS_EMPLOYED = 365243."""
W_BURDEN = 0.80
"""Weight of the annuity-to-income burden: rising from BURDEN_FROM to BURDEN_FROM + 0.2."""
BURDEN_FROM = 0.08
"""Annuity-to-income ratio below which the burden term is 0."""
BURDEN_RELIEF = 0.6
"""Share of the burden term given back between ratios 0.3 and 0.4 (the real rate falls again there)."""
W_GOODS_SIZE = 1.8
"""Height of the bump of risk for mid-priced goods (the real rate is lowest for cheap and dear ones)."""
GOODS_PEAK = 350_000.0
"""AMT_GOODS_PRICE of the highest risk (AMT_CREDIT stands in when the goods price is missing)."""
GOODS_WIDTH = 0.35
"""Width of the goods-price bump, in natural log units."""
W_GOODS_TILT = 0.35
"""Decrease of the logit per natural log unit of goods price (dear goods are bought by safer applicants)."""
W_FINANCED = 0.40
"""Weight of the credit financing more than the goods price (1.10 to 1.325 of it, flat beyond)."""
W_REGION = 0.15
"""Per step of REGION_RATING_CLIENT_W_CITY away from 2."""
W_THIN_FILE = 0.15
"""Added for an applicant without any credit bureau record."""
W_THIN_NO_SCORE = 0.55
"""Added on top when the thin file also lacks EXT_SOURCE_3."""
W_OVERDUE_INCOME = 0.55
"""Weight of ln(1 + overdue bureau debt in months of income)."""
W_BUREAU_DAYS = 0.45
"""Weight of the current days overdue at the bureau, saturating at 90 days."""
W_LATE = 0.5
"""Weight of the saturating count of late instalments."""
LATE_SCALE = 1.0
"""Late instalments at which the late term has reached 63 % of its full weight."""
W_LATE_LOW_SCORE = 0.6
"""Interaction: late instalments weigh more for applicants with low external scores."""
W_YOUNG_LOW_SCORE = 0.5
"""Interaction: low external scores weigh more for applicants under 35."""
W_UNDERPAID = 0.15
"""Weight of the log mean underpayment of instalments."""
W_MAXED_OUT = 0.45
"""Weight of card utilisation beyond 80 % (flat beyond 110 %)."""
W_POS_DPD = 0.35
"""Weight of the saturating mean days past due of point-of-sale and cash loans."""
POS_DPD_SCALE = 0.5
"""Mean days past due at which the POS term has reached 63 % of its full weight."""
W_REFUSED = 0.45
"""Weight of the share of refused previous applications."""

AGGREGATES = (
    "bureau_count",
    "bureau_overdue",
    "bureau_max_days",
    "late_count",
    "underpaid",
    "utilisation",
    "pos_dpd",
    "refused_share",
)
"""The history aggregates the probability uses, in the order of :func:`history_aggregates`' columns."""


def _mean(values: np.ndarray, positions: np.ndarray, n: int) -> np.ndarray:
    ok = ~np.isnan(values) & (positions >= 0)
    count = np.bincount(positions[ok], minlength=n)
    total = np.bincount(positions[ok], weights=values[ok], minlength=n)
    out = np.zeros(n)
    np.divide(total, count, out=out, where=count > 0)
    return out


def history_aggregates(sk_id_curr: np.ndarray, tables: Mapping[str, pd.DataFrame]) -> pd.DataFrame:
    """The history aggregates of the formula, one row per applicant of ``sk_id_curr`` (0 if no rows).

    Rows of other applicants in ``tables`` are ignored.
    """
    ids = pd.Index(np.asarray(sk_id_curr))

    def positions(child: pd.DataFrame) -> np.ndarray:
        return ids.get_indexer(child["SK_ID_CURR"].to_numpy())

    n = len(ids)
    out = pd.DataFrame(index=ids)

    bureau = tables["bureau"]
    pos = positions(bureau)
    mine = pos >= 0
    out["bureau_count"] = np.bincount(pos[mine], minlength=n).astype(np.float64)
    overdue = bureau["AMT_CREDIT_SUM_OVERDUE"].to_numpy(dtype=np.float64)
    out["bureau_overdue"] = np.bincount(pos[mine], weights=np.nan_to_num(overdue[mine]), minlength=n)
    days = np.zeros(n)
    day_overdue = np.nan_to_num(bureau["CREDIT_DAY_OVERDUE"].to_numpy(dtype=np.float64))
    np.maximum.at(days, pos[mine], day_overdue[mine])
    out["bureau_max_days"] = days

    inst = tables["installments_payments"]
    pos = positions(inst)
    mine = pos >= 0
    entry = inst["DAYS_ENTRY_PAYMENT"].to_numpy(dtype=np.float64)
    due = inst["DAYS_INSTALMENT"].to_numpy(dtype=np.float64)
    late = (entry > due) & mine  # a comparison with NaN is False: rows without a payment day are not late
    out["late_count"] = np.bincount(pos[late], minlength=n).astype(np.float64)
    gap = inst["AMT_INSTALMENT"].to_numpy(dtype=np.float64) - inst["AMT_PAYMENT"].to_numpy(dtype=np.float64)
    out["underpaid"] = _mean(gap, pos, n)

    cards = tables["credit_card_balance"]
    pos = positions(cards)
    limit = cards["AMT_CREDIT_LIMIT_ACTUAL"].to_numpy(dtype=np.float64)
    balance = cards["AMT_BALANCE"].to_numpy(dtype=np.float64)
    ratio = np.full(len(limit), np.nan)
    np.divide(balance, limit, out=ratio, where=limit > 0)
    out["utilisation"] = _mean(np.where(np.isnan(ratio), np.nan, np.maximum(ratio, 0.0)), pos, n)

    pos_cash = tables["POS_CASH_balance"]
    pos = positions(pos_cash)
    out["pos_dpd"] = _mean(pos_cash["SK_DPD"].to_numpy(dtype=np.float64), pos, n)

    previous = tables["previous_application"]
    pos = positions(previous)
    refused = (previous["NAME_CONTRACT_STATUS"].astype("object") == "Refused").to_numpy(dtype=np.float64)
    out["refused_share"] = _mean(refused, pos, n)
    return out


def _low_score(application: pd.DataFrame) -> np.ndarray:
    """How far the mean of the available external scores is below 0.5, in units of 0.2 (0 to 2)."""
    scores = application[list(W_EXT)].to_numpy(dtype=np.float64)
    available = ~np.isnan(scores)
    count = available.sum(axis=1)
    total = np.where(available, np.clip(scores, 0.0, 1.0), 0.0).sum(axis=1)
    mean_score = np.where(count > 0, total / np.maximum(count, 1), 0.0)
    return np.clip((0.5 - mean_score) / 0.2, 0.0, 2.0)


def logit_terms(application: pd.DataFrame, aggregates: pd.DataFrame) -> pd.DataFrame:
    """Each term of the logit, one column per term, rows aligned with ``application`` (raw form)."""
    terms = pd.DataFrame(index=application.index)
    for name, weight in W_EXT.items():
        values = application[name].to_numpy(dtype=np.float64)
        present = weight * np.log((C_EXT[name] + A_EXT) / (np.clip(values, 0.0, EXT_PLATEAU) + A_EXT))
        terms[name] = np.where(np.isnan(values), W_EXT_MISSING[name], present)
    age = np.clip(-application["DAYS_BIRTH"].to_numpy(dtype=np.float64) / 365.25, 20.0, 70.0)
    terms["age"] = (
        W_AGE * np.log(AGE_REF / np.maximum(age, AGE_PEAK))
        - W_UNDER_PEAK * np.maximum(AGE_PEAK - age, 0.0) / 10.0
    )
    employed = application["DAYS_EMPLOYED"].to_numpy(dtype=np.float64)
    pensioner = employed == SENTINEL_DAYS
    years = np.clip(-np.where(pensioner, 0.0, employed) / 365.25, 0.0, None)
    working = W_NEW_JOB * (years < 1.0) - W_TENURE * np.log1p(np.maximum(years - 1.0, 0.0)) / np.log(10.0)
    terms["employment"] = np.where(pensioner, W_PENSIONER, working)
    income = application["AMT_INCOME_TOTAL"].to_numpy(dtype=np.float64)
    annuity_income = application["AMT_ANNUITY"].to_numpy(dtype=np.float64) / income
    burden = np.clip((annuity_income - BURDEN_FROM) / 0.2, 0.0, 1.0) - BURDEN_RELIEF * np.clip(
        (annuity_income - 0.3) / 0.1, 0.0, 1.0
    )
    terms["burden"] = np.nan_to_num(W_BURDEN * burden)
    with np.errstate(divide="ignore", invalid="ignore"):
        credit_goods = application["AMT_CREDIT"].to_numpy(dtype=np.float64) / application[
            "AMT_GOODS_PRICE"
        ].to_numpy(dtype=np.float64)
    goods = application["AMT_GOODS_PRICE"].to_numpy(dtype=np.float64)
    size = np.log(
        np.where(np.isnan(goods), application["AMT_CREDIT"].to_numpy(dtype=np.float64), goods) / GOODS_PEAK
    )
    terms["goods_size"] = W_GOODS_SIZE * np.exp(-0.5 * (size / GOODS_WIDTH) ** 2) - W_GOODS_TILT * size
    terms["financed"] = np.nan_to_num(W_FINANCED * np.clip((credit_goods - 1.10) / 0.15, 0.0, 1.5))
    rating = application["REGION_RATING_CLIENT_W_CITY"].to_numpy(dtype=np.float64)
    terms["region"] = np.nan_to_num(W_REGION * (rating - 2.0))

    agg = aggregates.reindex(application["SK_ID_CURR"].to_numpy()).fillna(0.0)
    low_score = _low_score(application)
    thin = (agg["bureau_count"].to_numpy() == 0).astype(np.float64)
    no_score_3 = application["EXT_SOURCE_3"].isna().to_numpy()
    terms["thin_file"] = W_THIN_FILE * thin + W_THIN_NO_SCORE * thin * no_score_3
    terms["overdue_income"] = W_OVERDUE_INCOME * np.log1p(agg["bureau_overdue"].to_numpy() / (income / 12.0))
    terms["bureau_max_days"] = W_BUREAU_DAYS * np.minimum(agg["bureau_max_days"].to_numpy(), 90.0) / 90.0
    late = 1.0 - np.exp(-agg["late_count"].to_numpy() / LATE_SCALE)
    terms["late_count"] = W_LATE * late
    terms["late_low_score"] = W_LATE_LOW_SCORE * late * low_score
    terms["young_low_score"] = W_YOUNG_LOW_SCORE * low_score * np.maximum(35.0 - age, 0.0) / 10.0
    terms["underpaid"] = W_UNDERPAID * np.log1p(np.maximum(agg["underpaid"].to_numpy(), 0.0) / 1000.0)
    terms["maxed_out"] = W_MAXED_OUT * np.clip((agg["utilisation"].to_numpy() - 0.8) / 0.2, 0.0, 1.5)
    terms["pos_dpd"] = W_POS_DPD * (1.0 - np.exp(-agg["pos_dpd"].to_numpy() / POS_DPD_SCALE))
    terms["refused_share"] = W_REFUSED * agg["refused_share"].to_numpy()
    return terms


def default_probability(application: pd.DataFrame, tables: Mapping[str, pd.DataFrame]) -> np.ndarray:
    """The true default probability of each row of ``application`` given the history ``tables`` (raw form)."""
    aggregates = history_aggregates(application["SK_ID_CURR"].to_numpy(), tables)
    logit = B0 + logit_terms(application, aggregates).sum(axis=1).to_numpy()
    return 1.0 / (1.0 + np.exp(-logit))
