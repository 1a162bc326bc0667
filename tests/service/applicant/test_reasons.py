"""The reason catalogue: sources read off the definitions, the reviewed file, a model's catalogue."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from service.applicant.definitions import FEATURES, feature_names
from service.applicant.protected import ALWAYS_PROTECTED, OPTIONAL_PROTECTED, features_reading
from service.applicant.reasons import (
    ReviewedCatalogue,
    automatic_code,
    automatic_statements,
    feature_source,
    read_reviewed_catalogue,
    reason_catalogue_for,
)
from service.reason_codes import ReasonCatalogue
from training.features import build_features
from training.loader import load_tables
from training.selection import SelectionConfig, select_features

SERVABLE = [name for name in feature_names() if not features_reading([name], ALWAYS_PROTECTED)]
"""Every defined feature a model may hold (none reads CODE_GENDER)."""


def catalogue_of(*args: object) -> ReasonCatalogue:
    """:func:`reason_catalogue_for` read back as the service and the bundle hold it."""
    return ReasonCatalogue.from_json(reason_catalogue_for(*args))


def _sources(names: list[str]) -> set[str]:
    return {feature_source(name) for name in names}


class TestSources:
    @pytest.mark.parametrize(
        ("feature", "source"),
        [
            ("AMT_ANNUITY", "application:AMT_ANNUITY"),
            ("APP_CREDIT_INCOME_RATIO", "application:AMT_CREDIT+AMT_INCOME_TOTAL"),
            ("APP_EXT_SOURCES_MISSING_COUNT", "application:EXT_SOURCE_1+EXT_SOURCE_2+EXT_SOURCE_3"),
            ("OCCUPATION_TYPE_LABORERS", "application:OCCUPATION_TYPE"),
            ("BURO_COUNT", "bureau:(rows)"),
            (
                "BURO_ACTIVE_AMT_CREDIT_SUM_OVERDUE_SUM",
                "bureau:AMT_CREDIT_SUM_OVERDUE where CREDIT_ACTIVE=Active",
            ),
            ("BURO_CREDIT_ACTIVE_ACTIVE_COUNT", "bureau:CREDIT_ACTIVE"),
            ("BB_STATUS_X_SHARE_MEAN", "bureau_balance:STATUS"),
            (
                "PREV_REFUSED_DAYS_DECISION_MAX",
                "previous_application:DAYS_DECISION where NAME_CONTRACT_STATUS=Refused",
            ),
            ("INST_LATE_SHARE", "installments_payments:DAYS_ENTRY_PAYMENT+DAYS_INSTALMENT"),
            ("INST_PAYMENT_DELAY_MEAN", "installments_payments:DAYS_ENTRY_PAYMENT+DAYS_INSTALMENT"),
            ("CC_UTILISATION_MAX", "credit_card_balance:AMT_BALANCE+AMT_CREDIT_LIMIT_ACTUAL"),
            ("NOT_A_DEFINED_FEATURE", "application:NOT_A_DEFINED_FEATURE"),
        ],
    )
    def test_source_of_a_feature(self, feature: str, source: str) -> None:
        assert feature_source(feature) == source

    def test_a_subset_of_the_same_column_is_not_a_subset_source(self) -> None:
        """Card utilisation keeps the rows with a positive limit: a condition on its own column."""
        assert " where " not in feature_source("CC_UTILISATION_MEAN")


class TestReviewedFile:
    def test_covers_every_source_a_model_may_hold(self) -> None:
        reviewed = read_reviewed_catalogue()
        uncovered = sorted(_sources(SERVABLE) - set(reviewed.by_source))
        assert not uncovered, f"add entries to service/applicant/reason_catalogue.toml for {uncovered}"

    def test_lists_only_sources_that_exist(self) -> None:
        """A misspelt source would be silently ignored and its features would fall back to AUTO codes."""
        known = _sources([f.name for f in FEATURES])
        unknown = sorted(set(read_reviewed_catalogue().by_source) - known)
        assert not unknown

    def test_sex_has_no_entry(self) -> None:
        assert not any("CODE_GENDER" in source for source in read_reviewed_catalogue().by_source)

    @pytest.mark.parametrize(
        ("text", "message"),
        [
            (
                'version = 1\n[reasons]\nR01 = { sources = ["a:B"] }\nR02 = { sources = ["a:B"] }\n',
                "both R01",
            ),
            ('version = 1\n[reasons]\nX1 = { sources = ["a:B"] }\n', "'X1' must be R"),
            ("version = 1\n[reasons]\nR01 = { sources = [] }\n", "R01.sources"),
            ('version = 1\n[reasons]\nR01 = { sources = ["a:B"], colour = "red" }\n', "R01 may hold only"),
            ('version = 1\n[reasons]\nR01 = { sources = ["a:B"], statement = " " }\n', "R01.statement"),
            ('[reasons]\nR01 = { sources = ["a:B"] }\n', "'version'"),
            ("version = 1\n", "[reasons]"),
            ("version = = 1\n", "not valid TOML"),
        ],
    )
    def test_malformed_files_are_refused_naming_the_entry(
        self, tmp_path: Path, text: str, message: str
    ) -> None:
        path = tmp_path / "catalogue.toml"
        path.write_text(text)
        with pytest.raises(ValueError) as caught:
            read_reviewed_catalogue(path)
        assert message in str(caught.value)


class TestModelCatalogue:
    def test_every_servable_feature_is_under_exactly_one_reviewed_reason(self) -> None:
        catalogue = catalogue_of(SERVABLE)
        catalogue.check_covers(SERVABLE)
        assert not [r.code for r in catalogue.reasons if not r.code.startswith("R")]
        for reason in catalogue.reasons:
            assert reason.statement.strip() and reason.missing_statement.strip()
            assert reason.statement != reason.missing_statement

    def test_features_of_one_characteristic_share_a_reason_in_first_feature_order(self) -> None:
        catalogue = catalogue_of(["INST_LATE_SHARE", "AMT_ANNUITY", "INST_PAYMENT_DELAY_MAX"])
        assert [(r.code, r.features) for r in catalogue.reasons] == [
            ("R069", ("INST_LATE_SHARE", "INST_PAYMENT_DELAY_MAX")),
            ("R005", ("AMT_ANNUITY",)),
        ]
        assert catalogue.reasons[0].statement == "Late payments on previous instalment loans"
        assert catalogue.version == read_reviewed_catalogue().version

    def test_a_source_without_an_entry_gets_a_stable_automatic_reason(self) -> None:
        reviewed = read_reviewed_catalogue()
        source = feature_source("BURO_CNT_CREDIT_PROLONG_MAX")
        without = ReviewedCatalogue(
            reviewed.version, tuple(e for e in reviewed.entries if source not in e.sources)
        )
        catalogue = catalogue_of(["BURO_CNT_CREDIT_PROLONG_MAX", "BURO_CNT_CREDIT_PROLONG_SUM"], (), without)
        (reason,) = catalogue.reasons
        assert reason.code == automatic_code(source) == automatic_code(source)
        assert reason.code.startswith("AUTO-") and reason.code != automatic_code("bureau:AMT_CREDIT_SUM")
        assert reason.statement == "Number of prolongations, on credits reported by other lenders"
        assert (
            reason.missing_statement
            == "No information on: number of prolongations, on credits reported by other lenders"
        )

    def test_automatic_statements_name_the_subset_and_counts(self) -> None:
        statement, _ = automatic_statements(
            "previous_application:AMT_CREDIT where NAME_CONTRACT_STATUS=Refused"
        )
        assert statement == (
            "Amount finally granted, on previous applications with this lender, counting only those where "
            "NAME_CONTRACT_STATUS is Refused"
        )
        assert automatic_statements("bureau:(rows)")[0] == "Number of credits reported by other lenders"
        assert automatic_statements("application:AMT_CREDIT+AMT_INCOME_TOTAL", ["APP_CREDIT_INCOME_RATIO"])[
            0
        ] == ("Amount lent divided by the declared annual income")

    def test_a_feature_reading_a_protected_attribute_is_refused(self) -> None:
        with pytest.raises(ValueError, match="CODE_GENDER_F reads CODE_GENDER"):
            catalogue_of(["AMT_ANNUITY", "CODE_GENDER_F"], ALWAYS_PROTECTED)
        catalogue_of(["APP_INCOME_PER_FAMILY_MEMBER"])  # family size is not protected by default
        with pytest.raises(ValueError, match="APP_INCOME_PER_FAMILY_MEMBER reads CNT_FAM_MEMBERS"):
            catalogue_of(["APP_INCOME_PER_FAMILY_MEMBER"], OPTIONAL_PROTECTED)

    def test_a_catalogue_is_json_round_tripped(self) -> None:
        catalogue = catalogue_of(SERVABLE[:50])
        assert type(catalogue).from_json(catalogue.to_json()) == catalogue


def test_covers_a_model_selected_on_the_real_samples(homecredit_sample: Path) -> None:
    """Feature selection on the real application rows (with their own history rows, when the samples have
    them): every feature it keeps has a reviewed reason."""
    tables = load_tables(homecredit_sample)
    application = tables.pop("application_train")
    tables.pop("application_test", None)
    features = build_features({**tables, "application": application})
    target = pd.Series(application["TARGET"].to_numpy(), index=features.index)
    selected = select_features(features, target, SelectionConfig(importance_rounds=50)).selected
    assert len(selected) >= 10
    catalogue = catalogue_of(selected, ALWAYS_PROTECTED)
    catalogue.check_covers(selected)
    assert all(reason.code.startswith("R") for reason in catalogue.reasons)
