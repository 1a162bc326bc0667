"""Synthetic feature frames with a known default probability, for the modelling tests.

Independent of the Kaggle-schema generator: a handful of named signals, a non-linear part only trees can
capture, noise columns, a near-duplicate of the strongest signal and columns with many missing values.
"""

from __future__ import annotations

import numpy as np
import pandas as pd


def make_credit_frame(n_rows: int = 6000, seed: int = 0) -> tuple[pd.DataFrame, pd.Series, pd.Series]:
    """Return (features, target, true probability of default) for ``n_rows`` applicants.

    Risk falls with ``score_a``/``score_b``/``score_c``, rises with ``age_years`` away from 35 (U-shaped,
    mostly rising), with ``overdue_months`` (linearly) and with ``late_share`` above 0.3 (a step);
    ``score_a`` and ``overdue_months`` interact.
    ``score_a_copy`` is a noisier duplicate of ``score_a``; ``noise_*`` carry nothing; ``mostly_missing``
    is missing in about 80 % of rows.
    """
    rng = np.random.default_rng(seed)
    score_a = rng.beta(4, 3, n_rows)
    score_b = rng.beta(4, 3, n_rows)
    score_c = rng.beta(3, 3, n_rows)
    age = rng.uniform(20, 69, n_rows)
    overdue = np.where(rng.random(n_rows) < 0.75, 0, rng.geometric(0.25, n_rows)).astype(np.float64)
    late_share = rng.beta(1, 6, n_rows)
    income = rng.lognormal(11.8, 0.5, n_rows)
    logit = (
        1.4
        - 4.0 * score_a
        - 3.5 * score_b
        - 2.0 * score_c
        + 0.0015 * (age - 35) ** 2
        + 0.1 * overdue
        + 1.2 * (late_share > 0.3)
        + 1.8 * (score_a < 0.4) * (overdue > 0)
    )
    proba = 1.0 / (1.0 + np.exp(-logit))
    target = (rng.random(n_rows) < proba).astype(np.int64)
    frame = pd.DataFrame(
        {
            "score_a": score_a,
            "score_b": score_b,
            "score_c": score_c,
            "age_years": age,
            "overdue_months": overdue,
            "late_share": late_share,
            "income": income,
            "score_a_copy": score_a + rng.normal(0, 0.08, n_rows),
            "mostly_missing": np.where(rng.random(n_rows) < 0.8, np.nan, score_b),
        }
    )
    for i in range(4):
        frame[f"noise_{i}"] = rng.normal(size=n_rows)
    frame.loc[rng.random(n_rows) < 0.2, "score_c"] = np.nan
    index = pd.RangeIndex(100_000, 100_000 + n_rows, name="SK_ID_CURR")
    frame.index = index
    return frame, pd.Series(target, index=index, name="TARGET"), pd.Series(proba, index=index, name="p_true")
