"""The true default probability: observable inputs only, AUC where the best real models are, and the shapes
the formula promises (humps, thresholds, saturation, interactions, risky missingness, no weight on gender)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import roc_auc_score

from training.synthetic import (
    SyntheticDataset,
    default_probability,
    generate,
    history_aggregates,
    logit_terms,
)
from training.synthetic import target as target_module


def test_true_probability_is_a_function_of_the_tables(small_dataset: SyntheticDataset) -> None:
    tables = small_dataset.tables
    train = tables["application_train"]
    recomputed = default_probability(train, tables)
    np.testing.assert_allclose(recomputed, small_dataset.true_probability["TRUE_PROBABILITY"].to_numpy())


def test_auc_of_the_true_probability_is_realistic() -> None:
    dataset = generate(20_000, seed=0)
    y = dataset.tables["application_train"]["TARGET"]
    auc = roc_auc_score(y, dataset.true_probability["TRUE_PROBABILITY"])
    assert 0.78 <= auc <= 0.82
    assert 0.065 < y.mean() < 0.10


@pytest.mark.slow
@pytest.mark.parametrize("seed", [0, 1])
def test_auc_at_default_scale(seed: int) -> None:
    dataset = generate(seed=seed)
    y = dataset.tables["application_train"]["TARGET"]
    auc = roc_auc_score(y, dataset.true_probability["TRUE_PROBABILITY"])
    assert 0.78 <= auc <= 0.82
    assert 0.07 < y.mean() < 0.095


def test_ext_sources_are_the_strongest_single_signals(small_dataset: SyntheticDataset) -> None:
    train = small_dataset.tables["application_train"]
    aggregates = history_aggregates(train["SK_ID_CURR"].to_numpy(), small_dataset.tables)
    terms = logit_terms(train, aggregates)
    y = train["TARGET"]
    auc = {name: roc_auc_score(y, values) for name, values in terms.items() if values.std() > 0}
    ext = {name: value for name, value in auc.items() if name.startswith("EXT_SOURCE")}
    # the interactions with a low external score read the scores themselves: they are not "other" signals
    others = {
        name: value for name, value in auc.items() if name not in ext and not name.endswith("low_score")
    }
    assert max(ext.values()) > max(others.values()), auc
    history = [auc[name] for name in target_module.AGGREGATES if name in auc]
    assert min(auc["EXT_SOURCE_2"], auc["EXT_SOURCE_3"]) > max(history), auc


def test_missing_scores_carry_risk_and_history_terms_are_monotone(small_dataset: SyntheticDataset) -> None:
    tables = small_dataset.tables
    train = tables["application_train"].head(200).copy()
    aggregates = history_aggregates(train["SK_ID_CURR"].to_numpy(), tables)
    base = logit_terms(train, aggregates)
    blanked = train.assign(EXT_SOURCE_3=np.nan)
    assert (
        logit_terms(blanked, aggregates)["EXT_SOURCE_3"] == target_module.W_EXT_MISSING["EXT_SOURCE_3"]
    ).all()
    # a missing EXT_SOURCE_3 is riskier than a median score
    median = train.assign(EXT_SOURCE_3=target_module.C_EXT["EXT_SOURCE_3"])
    assert (
        logit_terms(median, aggregates)["EXT_SOURCE_3"] < target_module.W_EXT_MISSING["EXT_SOURCE_3"]
    ).all()
    previous = base.sum(axis=1).to_numpy()
    # every history aggregate but the bureau count (more records make a thicker file) only adds risk
    for column in [name for name in target_module.AGGREGATES if name != "bureau_count"]:
        for bump in (1.0, 10.0, 1000.0):
            more = aggregates.copy()
            more[column] = more[column] + (bump if column != "refused_share" else bump / 1000)
            assert (logit_terms(train, more).sum(axis=1).to_numpy() >= previous - 1e-12).all(), column


def _one_applicant(small_dataset: SyntheticDataset, **changes: object):
    """The first training applicant with ``changes`` applied, repeated for each value of a list change."""
    train = small_dataset.tables["application_train"].head(1)
    values = {key: value for key, value in changes.items() if isinstance(value, list)}
    (column, levels), *_ = values.items() or [("SK_ID_CURR", [int(train["SK_ID_CURR"].iloc[0])])]
    rows = train.loc[train.index.repeat(len(levels))].reset_index(drop=True)
    for key, value in changes.items():
        rows[key] = levels if key == column else value
    return rows


def _terms(small_dataset: SyntheticDataset, rows: pd.DataFrame, aggregates=None) -> pd.DataFrame:
    """The logit terms of ``rows`` (copies of one applicant), with that applicant's history by default."""
    if aggregates is None:
        aggregates = history_aggregates(np.unique(rows["SK_ID_CURR"].to_numpy()), small_dataset.tables)
    return logit_terms(rows, aggregates)


def _logit(small_dataset: SyntheticDataset, rows: pd.DataFrame, aggregates=None) -> np.ndarray:
    return _terms(small_dataset, rows, aggregates).sum(axis=1).to_numpy()


def test_gender_carries_no_weight(small_dataset: SyntheticDataset) -> None:
    tables = small_dataset.tables
    train = tables["application_train"]
    women = train.assign(
        CODE_GENDER=pd.Categorical(["F"] * len(train), categories=train["CODE_GENDER"].cat.categories)
    )
    men = women.assign(
        CODE_GENDER=pd.Categorical(["M"] * len(train), categories=train["CODE_GENDER"].cat.categories)
    )
    np.testing.assert_array_equal(default_probability(women, tables), default_probability(men, tables))


def test_age_and_goods_price_are_humps(small_dataset: SyntheticDataset) -> None:
    ages = [21.0, 25.0, 30.0, 40.0, 60.0]
    rows = _one_applicant(small_dataset, DAYS_BIRTH=[-int(age * 365.25) for age in ages])
    by_age = _logit(small_dataset, rows)
    assert by_age[0] < by_age[1] < by_age[2] > by_age[3] > by_age[4]
    prices = [90_000.0, 200_000.0, 350_000.0, 700_000.0, 2_000_000.0]
    rows = _one_applicant(small_dataset, AMT_GOODS_PRICE=prices, AMT_CREDIT=400_000.0)
    terms = _terms(small_dataset, rows)
    by_price = terms["goods_size"].to_numpy()
    assert by_price[0] < by_price[1] < by_price[2] > by_price[3] > by_price[4]


def test_employment_is_riskiest_in_the_first_year_and_pensioners_sit_low(
    small_dataset: SyntheticDataset,
) -> None:
    days = [-100, -300, -800, -4000, -12000, 365243]
    rows = _one_applicant(small_dataset, DAYS_EMPLOYED=days)
    terms = _terms(small_dataset, rows)
    employment = terms["employment"].to_numpy()
    assert employment[0] == employment[1] > employment[2] > employment[3] > employment[4]
    # the sentinel is not read as 1,000 years of (past) employment nor as a new job
    assert employment[4] < employment[5] < employment[2]


def test_burden_rises_then_falls_back(small_dataset: SyntheticDataset) -> None:
    shares = [0.05, 0.15, 0.28, 0.45]
    rows = _one_applicant(
        small_dataset, AMT_INCOME_TOTAL=100_000.0, AMT_ANNUITY=[s * 100_000.0 for s in shares]
    )
    burden = _terms(small_dataset, rows)["burden"]
    assert burden.iloc[0] == 0.0 < burden.iloc[1] < burden.iloc[2] > burden.iloc[3]


def test_late_instalments_saturate_and_weigh_more_with_low_scores(small_dataset: SyntheticDataset) -> None:
    good = _one_applicant(small_dataset, EXT_SOURCE_1=0.7, EXT_SOURCE_2=0.7, EXT_SOURCE_3=0.7)
    poor = _one_applicant(small_dataset, EXT_SOURCE_1=0.2, EXT_SOURCE_2=0.2, EXT_SOURCE_3=0.2)
    aggregates = history_aggregates(good["SK_ID_CURR"].to_numpy(), small_dataset.tables)  # one applicant
    effects = {}
    for name, rows in (("good", good), ("poor", poor)):
        logits = []
        for late in (0.0, 1.0, 5.0, 50.0, 500.0):
            changed = aggregates.assign(late_count=late)
            logits.append(_logit(small_dataset, rows, changed)[0])
        steps = np.diff(logits)
        assert steps[0] > steps[1] > steps[2] > 0 <= steps[3] < steps[2], name  # rising by ever smaller steps
        assert logits[-1] - logits[0] < 1.01 * (target_module.W_LATE + 2 * target_module.W_LATE_LOW_SCORE)
        effects[name] = logits[-1] - logits[0]
    assert effects["poor"] > effects["good"] + 0.5


def test_thin_file_without_a_score_is_riskier(small_dataset: SyntheticDataset) -> None:
    tables = dict(small_dataset.tables)
    train = tables["application_train"]
    has_bureau = train["SK_ID_CURR"].isin(tables["bureau"]["SK_ID_CURR"]).to_numpy()
    before = default_probability(train, tables)
    tables["bureau"] = tables["bureau"].head(0)
    after = default_probability(train, tables)
    no_score = train["EXT_SOURCE_3"].isna().to_numpy()
    # nothing but the thin-file terms reads the bureau rows of an applicant without overdue debt
    clean = has_bureau & (before > 0)
    lift = np.log(after / (1 - after)) - np.log(before / (1 - before))
    overdue = history_aggregates(train["SK_ID_CURR"].to_numpy(), small_dataset.tables)
    clean &= (overdue["bureau_overdue"].to_numpy() == 0) & (overdue["bureau_max_days"].to_numpy() == 0)
    np.testing.assert_allclose(lift[clean & ~no_score], target_module.W_THIN_FILE)
    np.testing.assert_allclose(
        lift[clean & no_score], target_module.W_THIN_FILE + target_module.W_THIN_NO_SCORE
    )


def test_more_overdue_debt_raises_the_probability(small_dataset: SyntheticDataset) -> None:
    tables = dict(small_dataset.tables)
    train = tables["application_train"]
    before = default_probability(train, tables)
    bureau = tables["bureau"].copy()
    bureau["AMT_CREDIT_SUM_OVERDUE"] = bureau["AMT_CREDIT_SUM_OVERDUE"] + 5000.0
    tables["bureau"] = bureau
    after = default_probability(train, tables)
    has_bureau = train["SK_ID_CURR"].isin(bureau["SK_ID_CURR"]).to_numpy()
    assert (after[has_bureau] > before[has_bureau]).all()
    assert np.array_equal(after[~has_bureau], before[~has_bureau])
