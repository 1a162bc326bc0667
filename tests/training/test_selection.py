"""Each selection rule on constructed frames, and determinism."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy.stats import spearmanr

from training.selection import SelectionConfig, select_features


def _frame(n: int = 4000, seed: int = 0) -> tuple[pd.DataFrame, pd.Series]:
    rng = np.random.default_rng(seed)
    strong = rng.normal(size=n)
    medium = rng.normal(size=n)
    weak = rng.normal(size=n)
    logit = -2.3 + 1.5 * strong + 0.8 * medium + 0.3 * weak
    y = pd.Series((rng.random(n) < 1 / (1 + np.exp(-logit))).astype(int), name="TARGET")
    X = pd.DataFrame(
        {
            "strong": strong,
            "medium": medium,
            "weak": weak,
            "noise": rng.normal(size=n),
            "strong_echo": strong + rng.normal(0, 0.3, n),  # correlated ~0.95, noisier
            "gappy": np.where(rng.random(n) < 0.7, np.nan, strong),
            "constant": np.ones(n),
            "label": ["a"] * n,
        }
    )
    return X, y


def test_missing_share_rule():
    X, y = _frame()
    result = select_features(X, y, SelectionConfig(max_missing_share=0.6))
    assert "gappy" not in result.selected
    assert result.dropped["gappy"].startswith("missing 70% > 60%")
    loose = select_features(X, y, SelectionConfig(max_missing_share=0.8, max_pair_correlation=0.99))
    assert "gappy" in loose.selected or not loose.dropped["gappy"].startswith("missing")


def test_spearman_rule_drops_noise_and_keeps_signals():
    X, y = _frame()
    result = select_features(X, y, SelectionConfig(min_abs_spearman=0.02))
    assert {"strong", "medium", "weak"} <= set(result.selected)
    assert result.dropped["noise"].startswith("|spearman|")
    assert "< 0.02" in result.dropped["noise"]
    strict = select_features(X, y, SelectionConfig(min_abs_spearman=0.2))
    assert "weak" not in strict.selected and "strong" in strict.selected


def test_spearman_matches_scipy_with_missing_values():
    X, y = _frame()
    result = select_features(X, y, SelectionConfig(max_missing_share=0.9))
    expected = spearmanr(X["strong"], y).statistic
    assert result.spearman["strong"] == pytest.approx(expected, abs=1e-9)
    present = X["gappy"].notna()
    expected_gappy = spearmanr(X.loc[present, "gappy"], y[present]).statistic
    assert result.spearman["gappy"] == pytest.approx(expected_gappy, abs=1e-9)


def test_correlated_pair_keeps_the_more_predictive_column():
    X, y = _frame()
    for frame in (X, X[X.columns[::-1]]):  # column order must not matter
        result = select_features(frame, y, SelectionConfig())
        assert "strong" in result.selected
        assert "strong_echo" not in result.selected
        assert result.dropped["strong_echo"].startswith("correlated 0.9")
        assert "with strong (kept, more predictive)" in result.dropped["strong_echo"]


def test_unusable_columns_are_dropped_with_a_reason():
    X, y = _frame()
    result = select_features(X, y)
    assert result.dropped["constant"] == "constant"
    assert result.dropped["label"].startswith("not numeric")


def test_importance_cap_keeps_the_most_important():
    X, y = _frame()
    result = select_features(X, y, SelectionConfig(max_features=2, n_jobs=1))
    assert set(result.selected) == {"strong", "medium"}
    assert result.dropped["weak"] == "importance rank 3 > 2"
    assert result.importance is not None and list(result.importance.index[:2]) == ["strong", "medium"]


def test_selection_is_deterministic_and_keeps_input_order():
    X, y = _frame(seed=4)
    first = select_features(X, y, SelectionConfig(max_features=3, n_jobs=1), random_state=1)
    second = select_features(X.copy(), y.copy(), SelectionConfig(max_features=3, n_jobs=1), random_state=1)
    assert first.selected == second.selected
    assert first.dropped == second.dropped
    assert first.selected == [c for c in X.columns if c in set(first.selected)]


def test_subsampled_correlations_still_select_the_signals():
    X, y = _frame(n=6000)
    result = select_features(X, y, SelectionConfig(correlation_max_rows=2000, min_abs_spearman=0.08))
    assert {"strong", "medium"} <= set(result.selected)
    assert "noise" not in result.selected


def test_summary_lists_every_column():
    X, y = _frame()
    summary = select_features(X, y).summary()
    assert list(summary["feature"]) == list(X.columns)
    assert summary.loc[summary["feature"] == "strong", "selected"].item()


def test_features_reading_a_protected_attribute_are_never_kept_whatever_their_signal():
    X, y = _frame()
    X["CODE_GENDER_M"] = y.to_numpy().astype(float)  # the target itself, under sex
    X["APP_INCOME_PER_FAMILY_MEMBER"] = X["strong"].to_numpy()
    X["CNT_CHILDREN"] = X["medium"].round().to_numpy()
    default = select_features(X, y)
    assert "CODE_GENDER_M" not in default.selected
    assert default.dropped["CODE_GENDER_M"] == "reads the protected attribute CODE_GENDER"
    assert {"CNT_CHILDREN", "APP_INCOME_PER_FAMILY_MEMBER"} <= set(default.selected) | set(default.dropped)
    assert "protected" not in default.dropped.get("CNT_CHILDREN", "")
    family = select_features(X, y, SelectionConfig(protected_attributes=("CNT_CHILDREN", "CNT_FAM_MEMBERS")))
    assert family.dropped["CNT_CHILDREN"] == "reads the protected attribute CNT_CHILDREN"
    assert family.dropped["APP_INCOME_PER_FAMILY_MEMBER"] == "reads the protected attribute CNT_FAM_MEMBERS"
    assert not {"CODE_GENDER_M", "CNT_CHILDREN", "APP_INCOME_PER_FAMILY_MEMBER"} & set(family.selected)
    with pytest.raises(ValueError, match="not columns of the application table"):
        select_features(X, y, SelectionConfig(protected_attributes=("SK_DPD",)))


def test_the_age_rule_decides_which_features_reading_age_are_candidates():
    X, y = _frame()
    X["DAYS_BIRTH"] = -12_000 - 3_000 * X["strong"].to_numpy()  # age carries the best signal
    X = X.drop(columns=["strong", "strong_echo"])
    X["APP_EMPLOYED_AGE_RATIO"] = X["medium"].to_numpy()  # reads age and employment
    free = select_features(X, y, SelectionConfig(age_rule="free"))
    assert {"DAYS_BIRTH", "APP_EMPLOYED_AGE_RATIO"} <= set(free.selected)
    monotone = select_features(X, y, SelectionConfig(age_rule="monotone"))
    assert "DAYS_BIRTH" in monotone.selected
    assert monotone.dropped["APP_EMPLOYED_AGE_RATIO"].startswith(
        "age rule monotone: reads DAYS_BIRTH with DAYS_EMPLOYED"
    )
    excluded = select_features(X, y, SelectionConfig(age_rule="excluded"))
    assert (
        excluded.dropped["DAYS_BIRTH"]
        == excluded.dropped["APP_EMPLOYED_AGE_RATIO"]
        == ("reads the protected attribute DAYS_BIRTH")
    )
    assert SelectionConfig(age_rule="excluded").protected() == ["CODE_GENDER", "DAYS_BIRTH"]
    with pytest.raises(ValueError, match="unknown age rule"):
        select_features(X, y, SelectionConfig(age_rule="sometimes"))  # type: ignore[arg-type]
