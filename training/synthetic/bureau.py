"""bureau (other lenders' credits, about 4.8 per applicant of train+test, 14 % of applicants have none) and
bureau_balance (monthly status of about 45 % of those credits, about 16 rows per bureau credit overall).

Keys: ``bureau.SK_ID_CURR`` is an applicant, ``SK_ID_BUREAU`` starts at 5,000,000 and is shuffled across
applicants like in Kaggle; every ``bureau_balance.SK_ID_BUREAU`` is a bureau credit. Overdue amounts and
days (and the DPD buckets of bureau_balance) are rare and concentrated on applicants of high latent risk;
the current overdue days agree with the latest monthly status.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from training.synthetic._util import (
    DAYS_PER_MONTH,
    categorical,
    draw_labels,
    expand,
    frame,
    from_quantiles,
    negative_binomial,
    round_to,
    sigmoid,
)

CREDIT_TYPES = {
    "Consumer credit": 0.7292,
    "Credit card": 0.2344,
    "Car loan": 0.0161,
    "Mortgage": 0.0107,
    "Microloan": 0.0072,
    "Loan for business development": 0.0012,
    "Another type of loan": 0.0006,
    "Unknown type of loan": 0.0003,
    "Loan for working capital replenishment": 0.00027,
    "Cash loan (non-earmarked)": 0.00003,
    "Real estate loan": 0.000016,
    "Loan for the purchase of equipment": 0.000011,
    "Loan for purchase of shares (margin lending)": 0.000002,
    "Interbank credit": 0.000001,
    "Mobile operator loan": 0.000001,
}
# median amount and planned duration (days) per credit type
_AMOUNT = {
    "Consumer credit": 122_000,
    "Credit card": 117_000,
    "Car loan": 1_000_000,
    "Mortgage": 3_500_000,
    "Microloan": 22_500,
    "Loan for business development": 558_000,
}
_DURATION = {"Consumer credit": 420, "Credit card": 1100, "Car loan": 1600, "Mortgage": 5000, "Microloan": 60}
DAYS_CREDIT_QUANTILES = (
    -2922,
    -2674,
    -2446,
    -2149,
    -1859,
    -1670,
    -1501,
    -1366,
    -1236,
    -1110,
    -992,
    -878,
    -765,
    -668,
    -572,
    -481,
    -390,
    -310,
    -224,
    -139,
    0,
)
BUREAU_ID_START = 5_000_000
SHARE_WITH_BALANCE = 0.415
STATUS_LABELS = ("C", "X", "0", "1", "2", "3", "4", "5")


def make_bureau(
    rng: np.random.Generator,
    sk_id_curr: np.ndarray,
    risk: np.ndarray,
    age_years: np.ndarray,
    income: np.ndarray,
    id_offset: int = 0,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """bureau and bureau_balance for the given applicants (raw Kaggle form)."""
    n_applicants = len(sk_id_curr)
    has_any = rng.random(n_applicants) < np.clip(0.858 + 0.06 * (age_years - 43.9) / 11.9, 0.6, 0.97)
    extra_mean = 4.30 * np.exp(0.22 * (age_years - 43.9) / 11.9)
    counts = np.where(has_any, 1 + negative_binomial(rng, extra_mean, 1.6), 0)
    owner, _ = expand(counts)
    n = len(owner)
    r = risk[owner]

    type_code, type_labels = draw_labels(rng, CREDIT_TYPES, n)
    days_credit = np.round(
        from_quantiles(rng.random(n), np.linspace(0, 1, 21), DAYS_CREDIT_QUANTILES)
    ).astype(np.int64)

    median_amount = np.array([_AMOUNT.get(t, 300_000) for t in type_labels], dtype=np.float64)[type_code]
    spread = np.where(type_code == type_labels.index("Credit card"), 0.85, 1.2)
    amount = median_amount * np.exp(rng.normal(0.0, spread, n) + 0.35 * np.log(income[owner] / 147150.0))
    amount = np.where(rng.random(n) < 0.6, round_to(amount, 4500.0), round_to(amount, 0.005))
    amount = np.where(rng.random(n) < 0.012, 0.0, amount)
    is_card = type_code == type_labels.index("Credit card")

    median_duration = np.array([_DURATION.get(t, 900) for t in type_labels], dtype=np.float64)[type_code]
    duration = np.round(median_duration * np.exp(rng.normal(0.0, 0.6, n)))
    far_future = is_card & (rng.random(n) < 0.10)  # the "until 2100" cards of the real data
    duration = np.where(far_future, rng.integers(25_000, 31_200, n) - days_credit, duration)
    planned_end = days_credit + duration
    enddate = np.where(rng.random(n) < 0.061, np.nan, planned_end.astype(np.float64))

    p_active = np.where(planned_end > 0, 0.86, np.where(is_card, 0.18, 0.06))
    active = rng.random(n) < p_active
    sold = ~active & (rng.random(n) < 0.006)
    status_code = np.where(active, 1, np.where(sold, 2, 0)).astype(np.int16)  # Closed, Active, Sold
    bad_debt = ~active & (rng.random(n) < 0.00001)
    status_code[bad_debt] = 3
    closed = status_code == 0

    span = np.minimum(np.where(np.isnan(enddate), 0, planned_end), 0) - days_credit
    span = np.where(span <= 0, -days_credit, span)
    actual_end = days_credit + np.round(span * rng.beta(2.0, 1.6, n))
    has_fact = closed | (sold & (rng.random(n) < 0.25))
    enddate_fact = np.where(has_fact, np.minimum(actual_end, 0).astype(np.float64), np.nan)

    # debt, limit, overdue
    elapsed = np.clip(-days_credit / np.maximum(duration, 30), 0, 1)
    card_use = np.clip(rng.beta(0.7, 1.4, n) + 0.12 * r, 0, 1)
    debt = np.where(
        is_card, amount * card_use, amount * np.clip((1 - elapsed) * rng.uniform(0.8, 1.1, n), 0, 1)
    )
    debt = np.where(active, round_to(debt, 0.005), 0.0)
    debt = np.where(rng.random(n) < np.where(active, 0.106, 0.16), np.nan, debt)
    limit = np.where(
        is_card & active & (rng.random(n) < 0.2), np.maximum(amount - np.nan_to_num(debt), 0.0), 0.0
    )
    limit = np.where(rng.random(n) < np.where(active, 0.30, 0.41), np.nan, limit)

    overdue_now = active & (rng.random(n) < sigmoid(-5.6 + 1.15 * r))
    day_overdue = np.where(
        overdue_now, np.clip(np.round(np.exp(rng.normal(np.log(25.0), 1.25, n))), 1, 2900), 0
    )
    overdue_amount = np.where(
        overdue_now,
        round_to(np.minimum(np.exp(rng.normal(np.log(3500.0), 1.2, n)), np.maximum(amount, 1.0)), 0.005),
        0.0,
    )
    had_overdue = overdue_now | (rng.random(n) < sigmoid(-2.55 + 0.9 * r))
    max_overdue = np.where(
        had_overdue,
        np.maximum(round_to(np.exp(rng.normal(np.log(5000.0), 1.4, n)), 0.005), overdue_amount),
        0.0,
    )
    max_overdue = np.where(rng.random(n) < 0.655, np.nan, max_overdue)
    max_overdue = np.where(overdue_now, np.maximum(np.nan_to_num(max_overdue), overdue_amount), max_overdue)

    update = np.where(
        active,
        -np.round(rng.exponential(25.0, n)),
        np.nan_to_num(enddate_fact, nan=0.0) + np.round(rng.gamma(1.0, 35.0, n)),
    )
    update = np.clip(update, days_credit, 0)
    old_quirk = rng.random(n) < 0.00005
    update = np.where(old_quirk, -rng.integers(3000, 41_000, n), update)

    annuity = np.where(
        rng.random(n) < 0.5, 0.0, round_to(amount / np.maximum(duration / DAYS_PER_MONTH, 1) * 1.15, 0.005)
    )
    annuity = np.where(rng.random(n) < 0.575, np.nan, annuity)

    sk_id_bureau = BUREAU_ID_START + id_offset + rng.permutation(n).astype(np.int64)
    currency = np.minimum(
        np.searchsorted([0.99917, 0.99991, 0.99999], rng.random(n), side="right"), 3
    ).astype(np.int16)
    prolong = np.searchsorted([0.9948, 0.9995], rng.random(n), side="right")

    table = "bureau"
    bureau = frame(
        table,
        {
            "SK_ID_CURR": sk_id_curr[owner],
            "SK_ID_BUREAU": sk_id_bureau,
            "CREDIT_ACTIVE": categorical(
                status_code, ["Closed", "Active", "Sold", "Bad debt"], table, "CREDIT_ACTIVE"
            ),
            "CREDIT_CURRENCY": categorical(
                currency, ["currency 1", "currency 2", "currency 3", "currency 4"], table, "CREDIT_CURRENCY"
            ),
            "DAYS_CREDIT": days_credit,
            "CREDIT_DAY_OVERDUE": day_overdue,
            "DAYS_CREDIT_ENDDATE": enddate,
            "DAYS_ENDDATE_FACT": enddate_fact,
            "AMT_CREDIT_MAX_OVERDUE": max_overdue,
            "CNT_CREDIT_PROLONG": prolong,
            "AMT_CREDIT_SUM": amount,
            "AMT_CREDIT_SUM_DEBT": debt,
            "AMT_CREDIT_SUM_LIMIT": limit,
            "AMT_CREDIT_SUM_OVERDUE": overdue_amount,
            "CREDIT_TYPE": categorical(type_code, type_labels, table, "CREDIT_TYPE"),
            "DAYS_CREDIT_UPDATE": update,
            "AMT_ANNUITY": annuity,
        },
    )
    balance = _make_balance(rng, sk_id_bureau, days_credit, enddate_fact, closed, day_overdue, had_overdue, r)
    return bureau, balance


def _make_balance(
    rng: np.random.Generator,
    sk_id_bureau: np.ndarray,
    days_credit: np.ndarray,
    enddate_fact: np.ndarray,
    closed: np.ndarray,
    day_overdue: np.ndarray,
    had_overdue: np.ndarray,
    risk_of_credit: np.ndarray,
) -> pd.DataFrame:
    """Monthly statuses, MONTHS_BALANCE from the opening month (at most 96 months back) to 0."""
    n = len(sk_id_bureau)
    with_history = np.flatnonzero(rng.random(n) < SHARE_WITH_BALANCE)
    first_month = np.maximum(np.floor(days_credit[with_history] / DAYS_PER_MONTH), -96).astype(np.int64)
    counts = 1 - first_month
    credit, position = expand(counts)
    month = (first_month[credit] + position).astype(np.int64)
    del position

    c = with_history  # positions into bureau rows, indexed by credit
    close_month = np.where(closed[c], np.floor(np.nan_to_num(enddate_fact[c], nan=0.0) / DAYS_PER_MONTH), 1)
    status = np.where(month > close_month[credit], 0, 2).astype(np.int8)  # "C" after closing, else "0"
    # unknown months: whole credits reported as X, and scattered months of old credits
    all_unknown = rng.random(len(c)) < 0.13
    scattered = rng.random(len(month)) < np.where(month < -24, 0.12, 0.03)
    status[all_unknown[credit] | scattered] = 1
    # past delinquency episodes of 1-4 months, likelier for risky applicants and credits that had an overdue
    episode = rng.random(len(c)) < sigmoid(-2.9 + 0.9 * risk_of_credit[c] + 1.5 * had_overdue[c])
    start = first_month + np.floor(rng.random(len(c)) * counts * 0.9).astype(np.int64)
    length = 1 + np.floor(rng.random(len(c)) * 4).astype(np.int64)
    offset = month - start[credit]
    in_episode = episode[credit] & (offset >= 0) & (offset < length[credit]) & (status != 0)
    status[in_episode] = (3 + np.minimum(offset[in_episode] // 2, 1)).astype(np.int8)
    # written-off debts stay in the last bucket for the rest of their history
    written_off = rng.random(len(c)) < sigmoid(-6.0 + 1.0 * risk_of_credit[c])
    status[written_off[credit] & (offset >= 0) & (status != 0)] = 7
    # the current delinquency ends in the bucket matching CREDIT_DAY_OVERDUE
    buckets = np.ceil(day_overdue[c] / 30.0).astype(np.int64)
    months_back = -month
    current = (buckets[credit] > 0) & (months_back < buckets[credit])
    status[current] = (2 + np.minimum(buckets[credit][current] - months_back[current], 5)).astype(np.int8)
    return frame(
        "bureau_balance",
        {
            "SK_ID_BUREAU": sk_id_bureau[c][credit],
            "MONTHS_BALANCE": month,
            "STATUS": categorical(status, STATUS_LABELS, "bureau_balance", "STATUS"),
        },
    )
