"""Drift scenarios: same schema, and each shifts what it promises."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from service.applicant.schema import TABLES
from training.synthetic import SCENARIOS, SyntheticDataset, default_probability, generate, get_scenario

N = 4_000


@pytest.fixture(scope="module")
def baseline() -> SyntheticDataset:
    return generate(N, seed=3)


@pytest.fixture(scope="module")
def drifted() -> dict[str, SyntheticDataset]:
    return {
        name: generate(N, seed=3, scenario=name)
        for name in ("young_high_income", "ext_source_bug", "revolving_mix")
    }


def test_registry() -> None:
    assert {"young_high_income", "ext_source_bug", "revolving_mix"} <= set(SCENARIOS)
    codes = [scenario.code for scenario in SCENARIOS.values()]
    assert len(set(codes)) == len(codes) and min(codes) >= 1
    for name, scenario in SCENARIOS.items():
        assert scenario.name == name
        assert scenario.description and "\n" not in scenario.description
    assert get_scenario(None) is None
    with pytest.raises(ValueError, match="known scenarios: young_high_income"):
        get_scenario("meteor")


def test_same_schema_and_no_id_collisions(
    baseline: SyntheticDataset, drifted: dict[str, SyntheticDataset]
) -> None:
    for name, dataset in drifted.items():
        assert dataset.scenario == name
        for table, df in dataset.tables.items():
            assert list(df.columns) == TABLES[table].column_names
            assert (
                df.dtypes.to_numpy() == baseline.tables[table].dtypes.to_numpy()
            ).all() or table.startswith("application")
        for table, key in (
            ("application_train", "SK_ID_CURR"),
            ("bureau", "SK_ID_BUREAU"),
            ("previous_application", "SK_ID_PREV"),
        ):
            assert not dataset.tables[table][key].isin(baseline.tables[table][key]).any(), (name, table)


def _age(dataset: SyntheticDataset) -> pd.Series:
    return -dataset.tables["application_train"]["DAYS_BIRTH"] / 365.25


def test_young_high_income(baseline: SyntheticDataset, drifted: dict[str, SyntheticDataset]) -> None:
    young = drifted["young_high_income"]
    assert _age(young).mean() < _age(baseline).mean() - 8
    income = "AMT_INCOME_TOTAL"
    assert (
        young.tables["application_train"][income].median()
        > 1.5 * baseline.tables["application_train"][income].median()
    )
    share = (young.tables["application_train"]["NAME_INCOME_TYPE"] == "Pensioner").mean()
    assert share < 0.08


def test_ext_source_bug(baseline: SyntheticDataset, drifted: dict[str, SyntheticDataset]) -> None:
    buggy = drifted["ext_source_bug"].tables["application_train"]
    clean = baseline.tables["application_train"]
    assert (clean["EXT_SOURCE_2"].dropna() <= 1).all()
    # the corrupted scores stay valid (the service accepts them), but a share of them collapse near 0
    assert buggy["EXT_SOURCE_2"].dropna().between(0, 1).all()
    collapsed = (buggy["EXT_SOURCE_2"] < 0.01).mean() - (clean["EXT_SOURCE_2"] < 0.01).mean()
    assert collapsed == pytest.approx(0.5, abs=0.05)
    assert buggy["EXT_SOURCE_3"].isna().mean() > clean["EXT_SOURCE_3"].isna().mean() + 0.3
    # the applicants' risk is unchanged: the target was drawn before the feed broke
    dataset = drifted["ext_source_bug"]
    assert not np.allclose(
        default_probability(buggy, dataset.tables), dataset.true_probability["TRUE_PROBABILITY"]
    )
    assert 0.065 < buggy["TARGET"].mean() < 0.10


def test_revolving_mix(baseline: SyntheticDataset, drifted: dict[str, SyntheticDataset]) -> None:
    mix = drifted["revolving_mix"].tables["application_train"]
    base = baseline.tables["application_train"]
    assert (mix["NAME_CONTRACT_TYPE"] == "Revolving loans").mean() > 0.35
    assert (base["NAME_CONTRACT_TYPE"] == "Revolving loans").mean() < 0.15
    cash = mix["NAME_CONTRACT_TYPE"] == "Cash loans"
    base_cash = base["NAME_CONTRACT_TYPE"] == "Cash loans"
    assert mix.loc[cash, "AMT_CREDIT"].median() > 1.3 * base.loc[base_cash, "AMT_CREDIT"].median()
    assert mix.loc[cash, "AMT_ANNUITY"].median() > 1.3 * base.loc[base_cash, "AMT_ANNUITY"].median()
