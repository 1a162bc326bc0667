"""feature_domain and describe_feature."""

from __future__ import annotations

import pytest

from training.features import describe_feature, feature_domain, feature_names


@pytest.mark.parametrize(
    ("name", "domain"),
    [
        ("EXT_SOURCE_2", (0.0, 1.0)),
        ("DAYS_BIRTH", (None, 0.0)),
        ("DAYS_EMPLOYED", (None, 0.0)),
        ("AMT_INCOME_TOTAL", (0.0, None)),
        ("FLAG_DOCUMENT_3", (0.0, 1.0)),
        ("FLAG_OWN_CAR", (0.0, 1.0)),
        ("NAME_EDUCATION_TYPE_HIGHER_EDUCATION", (0.0, 1.0)),
        ("APP_CREDIT_INCOME_RATIO", (0.0, None)),
        ("APP_EXT_SOURCES_MEAN", (0.0, 1.0)),
        ("BURO_COUNT", (0.0, None)),
        ("BURO_AMT_CREDIT_SUM_OVERDUE_SUM", (0.0, None)),
        ("BURO_CREDIT_DAY_OVERDUE_MAX", (0.0, None)),
        ("BURO_DAYS_CREDIT_MEAN", (None, 0.0)),
        ("BURO_DAYS_CREDIT_MIN", (None, 0.0)),
        # debts can be negative in the bureau data; planned end dates lie in the future
        ("BURO_AMT_CREDIT_SUM_DEBT_SUM", (None, None)),
        ("BURO_DAYS_CREDIT_ENDDATE_MAX", (None, None)),
        ("BURO_CREDIT_TYPE_MICROLOAN_SHARE", (0.0, 1.0)),
        ("BB_WORST_STATUS_MAX", (0.0, 5.0)),
        ("BB_MONTHS_BALANCE_MIN_MIN", (None, 0.0)),
        ("PREV_NAME_CONTRACT_STATUS_REFUSED_SHARE", (0.0, 1.0)),
        ("PREV_AMT_DOWN_PAYMENT_MIN", (None, None)),
        ("POS_SK_DPD_MAX", (0.0, None)),
        ("INST_PAYMENT_DELAY_MEAN", (None, None)),
        ("INST_PAYMENT_DELAY_SUM", (None, None)),
        ("INST_DAYS_INSTALMENT_MEAN", (None, 0.0)),
        ("INST_LATE_SHARE", (0.0, 1.0)),
        ("INST_UNDERPAYMENT_MEAN", (None, None)),
        ("CC_UTILISATION_MEAN", (None, None)),
        ("CC_AMT_BALANCE_MIN", (None, None)),
        ("CC_AMT_CREDIT_LIMIT_ACTUAL_MAX", (0.0, None)),
    ],
)
def test_feature_domain(name: str, domain: tuple[float | None, float | None]) -> None:
    assert feature_domain(name) == domain


def test_every_domain_is_ordered() -> None:
    for name in feature_names():
        low, high = feature_domain(name)
        assert low is None or high is None or low <= high, name


def test_every_feature_has_a_sentence_naming_its_table() -> None:
    tables = {
        "application",
        "bureau",
        "bureau_balance",
        "previous_application",
        "POS_CASH_balance",
        "installments_payments",
        "credit_card_balance",
    }
    for name in feature_names():
        text = describe_feature(name)
        assert text.endswith(".") and len(text) > 20, name
        assert any(f"table {table})" in text for table in tables), name


def test_descriptions_follow_the_name_parts() -> None:
    assert "Total" in describe_feature("BURO_AMT_CREDIT_SUM_OVERDUE_SUM")
    assert "overdue" in describe_feature("BURO_AMT_CREDIT_SUM_OVERDUE_SUM")
    assert "Largest" in describe_feature("POS_SK_DPD_MAX")
    assert "'Refused'" in describe_feature("PREV_NAME_CONTRACT_STATUS_REFUSED_SHARE")
    assert "installments_payments" in describe_feature("INST_LATE_SHARE")


def test_unknown_names_are_refused() -> None:
    with pytest.raises(KeyError, match="NOT_A_FEATURE"):
        feature_domain("NOT_A_FEATURE")
    with pytest.raises(KeyError):
        describe_feature("TARGET")
