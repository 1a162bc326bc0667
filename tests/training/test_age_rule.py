"""The age rule: which features read age, which way they move with it, and what each rule does to a model."""

from __future__ import annotations

import numpy as np
import pytest

from service.applicant.definitions import feature_names
from service.applicant.protected import features_reading
from tests.training.age_data import (
    SWEEP_AGES,
    age_sweep,
    generated_matrix,
    older_default_more,
    sweep_applicants,
    younger_default_more,
)
from training.age_rule import (
    AGE_RULES,
    DEFAULT_AGE_RULE,
    age_constraints,
    age_direction,
    age_features,
    age_protected,
    check_age_rule,
    monotone_exclusions,
)
from training.modeling import ModelingConfig, train_and_evaluate
from training.models import fit_lightgbm
from training.selection import select_features

FEW_FEATURES = ["DAYS_BIRTH", "APP_EXT_SOURCES_MEAN", "DAYS_EMPLOYED", "APP_CREDIT_INCOME_RATIO"]
"""Age alone and a few strong features of other columns, for small models."""


def test_the_features_that_read_age() -> None:
    assert age_features(feature_names()) == {"DAYS_BIRTH": [], "APP_EMPLOYED_AGE_RATIO": ["DAYS_EMPLOYED"]}
    assert age_features(["AMT_CREDIT", "DAYS_EMPLOYED"]) == {}


def test_which_way_a_feature_of_age_alone_moves_with_days_birth() -> None:
    assert age_direction("DAYS_BIRTH") == 1  # rises with DAYS_BIRTH, falls with age
    assert age_direction("APP_EMPLOYED_AGE_RATIO") == 0  # missing for an applicant with nothing but an age


def test_the_monotone_rule_leaves_out_features_mixing_age_with_other_columns() -> None:
    dropped = monotone_exclusions(feature_names())
    assert list(dropped) == ["APP_EMPLOYED_AGE_RATIO"]
    assert "reads DAYS_BIRTH with DAYS_EMPLOYED" in dropped["APP_EMPLOYED_AGE_RATIO"]
    assert age_constraints(["AMT_CREDIT", "DAYS_BIRTH"], "monotone") == {"DAYS_BIRTH": 1}
    with pytest.raises(ValueError, match="APP_EMPLOYED_AGE_RATIO"):
        age_constraints(["DAYS_BIRTH", "APP_EMPLOYED_AGE_RATIO"], "monotone")
    for rule in ("free", "excluded"):
        assert age_constraints(["DAYS_BIRTH", "APP_EMPLOYED_AGE_RATIO"], rule) == {}


def test_rules_are_checked_against_the_protected_list() -> None:
    assert AGE_RULES == ("free", "monotone", "excluded") and DEFAULT_AGE_RULE == "monotone"
    assert age_protected("excluded") == ("DAYS_BIRTH",)
    assert age_protected("monotone") == age_protected("free") == ()
    check_age_rule("excluded", ["DAYS_BIRTH", "CNT_CHILDREN"])
    check_age_rule("free", ["CNT_CHILDREN"])
    with pytest.raises(ValueError, match="unknown age rule 'monotonic'"):
        check_age_rule("monotonic", [])
    with pytest.raises(ValueError, match="must be 'excluded', not 'free'"):
        check_age_rule("free", ["DAYS_BIRTH"])


def test_the_monotone_constraint_keeps_risk_from_rising_with_age_where_the_data_says_it_does() -> None:
    """In a population whose risk rises again at 62, the free model raises risk with age and the monotone
    one never does, for 300 new applicants at every age from 20 to 75 (applicant feature builder + model)."""
    X, y = generated_matrix()
    X = X[FEW_FEATURES]
    y = older_default_more(X, y)
    sweep = age_sweep(FEW_FEATURES, sweep_applicants())
    rises = {}
    for rule in ("free", "monotone"):
        constraints = age_constraints(FEW_FEATURES, rule)
        monotone = [constraints.get(name, 0) for name in FEW_FEATURES] if constraints else None
        booster, _ = fit_lightgbm(X, y, {}, 150, n_jobs=1, monotone_constraints=monotone)
        by_age = booster.predict(sweep).reshape(-1, len(SWEEP_AGES))
        rises[rule] = int((np.diff(by_age, axis=1) > 0).sum())
    assert rises["free"] > 0, "the check can fail: the free model raises risk with age somewhere"
    assert rises["monotone"] == 0


def _small_config(rule: str) -> ModelingConfig:
    config = ModelingConfig(
        n_folds=2,
        reference_rows=1000,
        tuning_max_trials=1,
        early_stopping_rounds=20,
        max_boost_rounds=300,
        interpretation=False,
        n_jobs=1,
    )
    config.selection.age_rule = rule
    config.selection.max_features = 20
    config.selection.n_jobs = 1
    return config


def test_with_age_excluded_no_feature_reads_it_and_age_never_changes_the_probability() -> None:
    X, y = generated_matrix()
    y = younger_default_more(X, y)
    free = select_features(X, y, _small_config("free").selection)
    assert "DAYS_BIRTH" in free.selected, "age carries signal here: excluding it is a real change"
    outcome = train_and_evaluate(X, y, _small_config("excluded"))
    assert features_reading(outcome.features, ["DAYS_BIRTH"]) == {}
    assert outcome.selection.dropped["DAYS_BIRTH"] == "reads the protected attribute DAYS_BIRTH"
    assert outcome.age_constraints == {}
    by_age = outcome.booster.predict(age_sweep(outcome.features, sweep_applicants())).reshape(
        -1, len(SWEEP_AGES)
    )
    np.testing.assert_array_equal(by_age, np.repeat(by_age[:, :1], len(SWEEP_AGES), axis=1))


def test_modelling_refuses_a_rule_that_contradicts_the_protected_list() -> None:
    X, y = generated_matrix()
    config = _small_config("monotone")
    config.selection.protected_attributes = ("DAYS_BIRTH",)
    with pytest.raises(ValueError, match="must be 'excluded'"):
        train_and_evaluate(X, y, config)
