"""Hand-made tiny Home Credit tables (three applicants) whose features are easy to compute by hand."""

from __future__ import annotations

import numpy as np
import pandas as pd

NAN = np.nan
APPLICANTS = (101, 102, 103)
"""Applicant ids, in application-row order."""


def application() -> pd.DataFrame:
    """Three applicants with the columns the derived features use and a few text columns."""
    return pd.DataFrame(
        {
            "SK_ID_CURR": list(APPLICANTS),
            "TARGET": [1, 0, 0],
            "NAME_CONTRACT_TYPE": pd.Categorical(["Cash loans", "Revolving loans", None]),
            "CODE_GENDER": pd.Categorical(["F", "M", "F"]),
            "FLAG_OWN_CAR": pd.Categorical(["Y", "N", None]),
            "NAME_EDUCATION_TYPE": pd.Categorical(
                ["Higher education", "Secondary / secondary special", None]
            ),
            "AMT_INCOME_TOTAL": [100_000.0, 0.0, 50_000.0],
            "AMT_CREDIT": [200_000.0, 300_000.0, 0.0],
            "AMT_ANNUITY": [10_000.0, 15_000.0, NAN],
            "AMT_GOODS_PRICE": [180_000.0, 300_000.0, NAN],
            "DAYS_BIRTH": [-10_000, -20_000, -15_000],
            "DAYS_EMPLOYED": [-2_000.0, NAN, 0.0],
            "CNT_FAM_MEMBERS": [2.0, 1.0, 0.0],
            "EXT_SOURCE_1": [0.2, NAN, NAN],
            "EXT_SOURCE_2": [0.4, 0.5, NAN],
            "EXT_SOURCE_3": [0.6, 0.9, NAN],
        }
    )


def bureau() -> pd.DataFrame:
    """Applicant 101: three credits (two active, one closed); 102: one closed credit; 103: none.

    The last row belongs to an applicant (999) that is not in the application table.
    """
    return pd.DataFrame(
        {
            "SK_ID_CURR": [101, 101, 101, 102, 999],
            "SK_ID_BUREAU": [1, 2, 3, 4, 5],
            "CREDIT_ACTIVE": pd.Categorical(["Active", "Active", "Closed", "Closed", "Active"]),
            "CREDIT_CURRENCY": pd.Categorical(["currency 1"] * 5),
            "DAYS_CREDIT": [-100, -200, -300, -400, -1],
            "CREDIT_DAY_OVERDUE": [0, 30, 0, 0, 99],
            "DAYS_CREDIT_ENDDATE": [100.0, 200.0, -50.0, -10.0, 1.0],
            "DAYS_ENDDATE_FACT": [NAN, NAN, -60.0, -20.0, NAN],
            "AMT_CREDIT_MAX_OVERDUE": [NAN, 500.0, 100.0, NAN, 9.0],
            "CNT_CREDIT_PROLONG": [0, 1, 0, 0, 9],
            "AMT_CREDIT_SUM": [1_000.0, 3_000.0, 2_000.0, 500.0, 9.0],
            "AMT_CREDIT_SUM_DEBT": [500.0, 1_000.0, 0.0, NAN, 9.0],
            "AMT_CREDIT_SUM_LIMIT": [NAN, NAN, NAN, NAN, 9.0],
            "AMT_CREDIT_SUM_OVERDUE": [0.0, 250.0, 0.0, 0.0, 9.0],
            "CREDIT_TYPE": pd.Categorical(
                ["Consumer credit", "Credit card", "Consumer credit", "Microloan", "Car loan"]
            ),
            "DAYS_CREDIT_UPDATE": [-5, -6, -7, -8, -9],
            "AMT_ANNUITY": [NAN, NAN, NAN, NAN, 9.0],
        }
    )


def bureau_balance() -> pd.DataFrame:
    """Credit 1: statuses 0, 1 (two months); credit 2: C, C, C, 0 (four months); credit 3: none.

    Credit 4 (applicant 102): X, 5; credit 5 belongs to the unknown applicant; credit 77 is unknown.
    """
    rows = [
        (1, 0, "0"),
        (1, -1, "1"),
        (2, 0, "C"),
        (2, -1, "C"),
        (2, -2, "C"),
        (2, -3, "0"),
        (4, -5, "X"),
        (4, -6, "5"),
        (5, 0, "5"),
        (77, 0, "4"),
    ]
    frame = pd.DataFrame(rows, columns=["SK_ID_BUREAU", "MONTHS_BALANCE", "STATUS"])
    frame["STATUS"] = frame["STATUS"].astype("category")
    return frame


def previous_application() -> pd.DataFrame:
    """Applicant 101: approved, refused, refused, canceled; 102: one approved with a zero amount granted."""
    return pd.DataFrame(
        {
            "SK_ID_PREV": [11, 12, 13, 14, 15, 16],
            "SK_ID_CURR": [101, 101, 101, 101, 102, 999],
            "NAME_CONTRACT_STATUS": pd.Categorical(
                ["Approved", "Refused", "Refused", "Canceled", "Approved", "Refused"]
            ),
            "AMT_APPLICATION": [1_000.0, 2_000.0, 4_000.0, 500.0, 300.0, 1.0],
            "AMT_CREDIT": [1_100.0, 2_000.0, 0.0, 500.0, 0.0, 1.0],
            "AMT_ANNUITY": [100.0, NAN, NAN, NAN, 30.0, 1.0],
            "DAYS_DECISION": [-10, -20, -30, -40, -50, -1],
        }
    )


def pos_cash_balance() -> pd.DataFrame:
    """Applicant 101: two loans, four months, DPD in one; 103: one month without DPD."""
    return pd.DataFrame(
        {
            "SK_ID_PREV": [21, 21, 22, 22, 23, 24],
            "SK_ID_CURR": [101, 101, 101, 101, 103, 999],
            "MONTHS_BALANCE": [-1, -2, -1, -2, -3, -1],
            "CNT_INSTALMENT": [12.0, 12.0, 6.0, 6.0, 24.0, 1.0],
            "CNT_INSTALMENT_FUTURE": [10.0, 11.0, 0.0, 1.0, 20.0, 1.0],
            "NAME_CONTRACT_STATUS": pd.Categorical(
                ["Active", "Active", "Completed", "Active", "Active", "Demand"]
            ),
            "SK_DPD": [0, 15, 0, 0, 0, 500],
            "SK_DPD_DEF": [0, 0, 0, 0, 0, 500],
        }
    )


def installments_payments() -> pd.DataFrame:
    """Applicant 101: paid 5 days late and short by 100, then 3 days early in full; 102: a zero instalment."""
    return pd.DataFrame(
        {
            "SK_ID_PREV": [31, 31, 32, 33],
            "SK_ID_CURR": [101, 101, 102, 999],
            "NUM_INSTALMENT_VERSION": [1.0, 1.0, 0.0, 1.0],
            "NUM_INSTALMENT_NUMBER": [1, 2, 1, 1],
            "DAYS_INSTALMENT": [-60.0, -30.0, -10.0, -5.0],
            "DAYS_ENTRY_PAYMENT": [-55.0, -33.0, -10.0, 100.0],
            "AMT_INSTALMENT": [1_000.0, 1_000.0, 0.0, 1.0],
            "AMT_PAYMENT": [900.0, 1_000.0, 50.0, 0.0],
        }
    )


def credit_card_balance() -> pd.DataFrame:
    """Applicant 102: three months of one card, one with a zero limit; 103: nothing."""
    return pd.DataFrame(
        {
            "SK_ID_PREV": [41, 41, 41, 42],
            "SK_ID_CURR": [102, 102, 102, 999],
            "MONTHS_BALANCE": [-1, -2, -3, -1],
            "AMT_BALANCE": [500.0, 1_000.0, 300.0, 1.0],
            "AMT_CREDIT_LIMIT_ACTUAL": [1_000, 1_000, 0, 1],
            "AMT_DRAWINGS_ATM_CURRENT": [100.0, 0.0, NAN, 1.0],
            "AMT_DRAWINGS_POS_CURRENT": [50.0, 25.0, 0.0, 1.0],
            "AMT_DRAWINGS_CURRENT": [150.0, 25.0, 0.0, 1.0],
            "AMT_INST_MIN_REGULARITY": [100.0, 0.0, 50.0, 1.0],
            "AMT_PAYMENT_TOTAL_CURRENT": [50.0, 10.0, 100.0, 1.0],
            "NAME_CONTRACT_STATUS": pd.Categorical(["Active", "Active", "Completed", "Active"]),
            "SK_DPD": [0, 3, 0, 0],
            "SK_DPD_DEF": [0, 0, 0, 0],
        }
    )


def all_tables() -> dict[str, pd.DataFrame]:
    """The applicant table and the six child tables under the names build_features expects."""
    return {
        "application": application(),
        "bureau": bureau(),
        "bureau_balance": bureau_balance(),
        "previous_application": previous_application(),
        "POS_CASH_balance": pos_cash_balance(),
        "installments_payments": installments_payments(),
        "credit_card_balance": credit_card_balance(),
    }
