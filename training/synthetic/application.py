"""The application table (train and test rows together): one row per applicant, 121 Kaggle columns.

Applicants are drawn in a causal order that keeps the Kaggle relations: income type first (pensioners have
``DAYS_EMPLOYED = 365243``, ``ORGANIZATION_TYPE = "XNA"`` and no occupation), then age, family, income, the
loan (``AMT_GOODS_PRICE`` ~ ``AMT_CREDIT``, annuity from credit, monthly rate and term), employment shorter
than adult life, and the external scores. A latent ``risk`` (standard normal, never written anywhere) makes
the external scores and the history tables' behaviour (late payments, overdue debt, card use, refusals)
agree with each other the way they do in real data; the target itself only ever sees observable columns.

Marginals (category frequencies, missing-value rates, quantiles) follow the real samples in
``homecredit-sample/``; the tables below are rounded summaries of them. The building-information block
(``*_AVG``, ``*_MODE``, ``*_MEDI`` and the text modes) is drawn as a block with the real samples' pattern:
about half of the applicants have no building data at all, a quarter have every attribute, a quarter a
partial record where the "detailed" attributes go missing together (:func:`_building_presence`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.special import ndtr

from service.applicant.schema import SENTINEL_DAYS
from training.synthetic._util import (
    categorical,
    draw_codes,
    draw_labels,
    frame,
    from_quantiles,
    round_to,
    sigmoid,
)

TABLE = "application_train"

INCOME_TYPES = {
    "Working": 0.5163,
    "Commercial associate": 0.2329,
    "Pensioner": 0.1800,
    "State servant": 0.0706,
    "Unemployed": 0.00007,
    "Student": 0.00006,
    "Businessman": 0.00003,
    "Maternity leave": 0.00002,
}
EDUCATION = {
    "Secondary / secondary special": 0.7102,
    "Higher education": 0.2434,
    "Incomplete higher": 0.0334,
    "Lower secondary": 0.0124,
    "Academic degree": 0.0005,
}
FAMILY = {
    "Married": 0.6387,
    "Single / not married": 0.1478,
    "Civil marriage": 0.0968,
    "Separated": 0.0643,
    "Widow": 0.0523,
    "Unknown": 0.00001,
}
HOUSING = {
    "House / apartment": 0.8873,
    "With parents": 0.0483,
    "Municipal apartment": 0.0364,
    "Rented apartment": 0.0159,
    "Office apartment": 0.0085,
    "Co-op apartment": 0.0036,
}
SUITE = {
    "Unaccompanied": 0.8082,
    "Family": 0.1306,
    "Spouse, partner": 0.0370,
    "Children": 0.0106,
    "Other_B": 0.0058,
    "Other_A": 0.0028,
    "Group of people": 0.0009,
}
OCCUPATION = {
    "Laborers": 0.2614,
    "Sales staff": 0.1521,
    "Core staff": 0.1344,
    "Managers": 0.1035,
    "Drivers": 0.0903,
    "High skill tech staff": 0.0554,
    "Accountants": 0.0476,
    "Medicine staff": 0.0415,
    "Security staff": 0.0326,
    "Cooking staff": 0.0289,
    "Cleaning staff": 0.0226,
    "Private service staff": 0.0129,
    "Low-skill Laborers": 0.0099,
    "Waiters/barmen staff": 0.0065,
    "Secretaries": 0.0063,
    "Realty agents": 0.0036,
    "HR staff": 0.0028,
    "IT staff": 0.0026,
}
ORGANIZATION = {
    "Business Entity Type 3": 1071,
    "Self-employed": 616,
    "Other": 277,
    "Medicine": 178,
    "Government": 165,
    "Business Entity Type 2": 164,
    "School": 146,
    "Trade: type 7": 131,
    "Kindergarten": 108,
    "Business Entity Type 1": 104,
    "Construction": 93,
    "Transport: type 4": 88,
    "Industry: type 9": 67,
    "Industry: type 3": 64,
    "Trade: type 3": 53,
    "Agriculture": 52,
    "Security": 48,
    "Military": 46,
    "Housing": 46,
    "Industry: type 11": 43,
    "Bank": 42,
    "Trade: type 2": 38,
    "Transport: type 2": 38,
    "University": 34,
    "Postal": 32,
    "Police": 31,
    "Services": 25,
    "Security Ministries": 23,
    "Restaurant": 22,
    "Electricity": 22,
    "Industry: type 7": 21,
    "Industry: type 1": 21,
    "Telecom": 17,
    "Hotel": 16,
    "Transport: type 3": 15,
    "Industry: type 4": 14,
    "Industry: type 5": 13,
    "Trade: type 6": 12,
    "Emergency": 11,
    "Industry: type 2": 9,
    "Realtor": 8,
    "Culture": 7,
    "Transport: type 1": 6,
    "Insurance": 6,
    "Trade: type 1": 6,
    "Industry: type 12": 6,
    "Mobile": 5,
    "Advertising": 5,
    "Legal Services": 5,
    "Industry: type 10": 3,
    "Trade: type 5": 3,
    "Industry: type 6": 3,
    "Religion": 3,
    "Trade: type 4": 3,
    "Cleaning": 2,
    "Industry: type 13": 1,
    "Industry: type 8": 0.5,
}
WEEKDAYS = {
    "MONDAY": 0.1649,
    "TUESDAY": 0.1753,
    "WEDNESDAY": 0.1689,
    "THURSDAY": 0.1645,
    "FRIDAY": 0.1637,
    "SATURDAY": 0.1101,
    "SUNDAY": 0.0526,
}
# Quantiles (every 5 %) of the non-missing external scores in the 5,000-row real sample.
EXT_SOURCE_QUANTILES = {
    "EXT_SOURCE_1": (
        0.0146,
        0.1538,
        0.2092,
        0.2494,
        0.2880,
        0.3251,
        0.3635,
        0.3968,
        0.4390,
        0.4746,
        0.5095,
        0.5431,
        0.5755,
        0.6077,
        0.6419,
        0.6752,
        0.7070,
        0.7451,
        0.7845,
        0.8345,
        0.9627,
    ),
    "EXT_SOURCE_2": (
        0.0000,
        0.1357,
        0.2083,
        0.2692,
        0.3304,
        0.3840,
        0.4324,
        0.4753,
        0.5068,
        0.5359,
        0.5615,
        0.5837,
        0.6048,
        0.6244,
        0.6442,
        0.6617,
        0.6816,
        0.6998,
        0.7235,
        0.7489,
        0.8550,
    ),
    "EXT_SOURCE_3": (
        0.0005,
        0.1644,
        0.2327,
        0.2896,
        0.3313,
        0.3719,
        0.4101,
        0.4401,
        0.4705,
        0.5011,
        0.5317,
        0.5549,
        0.5832,
        0.6093,
        0.6364,
        0.6642,
        0.6926,
        0.7180,
        0.7490,
        0.7861,
        0.8960,
    ),
}
EXT_SOURCE_MISSING = {"EXT_SOURCE_1": 0.5638, "EXT_SOURCE_2": 0.0021, "EXT_SOURCE_3": 0.1983}
# Loadings of the external scores on (-risk, standardised age); the rest is independent noise.
EXT_SOURCE_LOADINGS = {
    "EXT_SOURCE_1": (0.45, 0.40),
    "EXT_SOURCE_2": (0.55, 0.08),
    "EXT_SOURCE_3": (0.55, 0.20),
}

# Building block, drawn as a block (the real samples: 51 % of applicants have some building data; of those,
# 53 % have all 14 attributes and the rest a partial record, where five "detailed" attributes tend to be
# missing together). Each attribute is missing or present in its _AVG, _MODE and _MEDI columns at once.
BUILDING_PRESENT = 0.512
"""Share of applicants with any building data."""
BUILDING_COMPLETE = 0.53
"""Share of the applicants with building data whose record holds all 14 attributes."""
BUILDING_DETAILED = ("YEARS_BUILD", "COMMONAREA", "FLOORSMIN", "LIVINGAPARTMENTS", "NONLIVINGAPARTMENTS")
"""Attributes that a partial record holds together or not at all (mostly)."""
BUILDING_DETAILED_PARTIAL = 0.30
"""Share of the partial records holding the detailed attributes."""
BUILDING_ATTRIBUTES = {
    # name: (present share among applicants with building data, median, log-sd); values normalised to [0, 1]
    "APARTMENTS": (0.950, 0.0876, 0.75),
    "BASEMENTAREA": (0.812, 0.0763, 0.70),
    "YEARS_BEGINEXPLUATATION": (0.994, 0.9816, 0.0),
    "YEARS_BUILD": (0.669, 0.7552, 0.0),
    "COMMONAREA": (0.600, 0.0211, 1.10),
    "ELEVATORS": (0.914, 0.0800, 0.0),
    "ENTRANCES": (0.963, 0.1379, 0.0),
    "FLOORSMAX": (0.973, 0.1667, 0.0),
    "FLOORSMIN": (0.640, 0.2083, 0.0),
    "LANDAREA": (0.806, 0.0481, 1.00),
    "LIVINGAPARTMENTS": (0.633, 0.0756, 0.75),
    "LIVINGAREA": (0.968, 0.0745, 0.80),
    "NONLIVINGAPARTMENTS": (0.609, 0.0070, 1.00),
    "NONLIVINGAREA": (0.871, 0.0200, 1.30),
}
FLOOR_LEVELS = {
    # level (numerator over 24): share among present values, in the real samples (tall blocks are rare)
    "FLOORSMAX": {
        0: 19,
        1: 91,
        2: 50,
        3: 49,
        4: 412,
        5: 19,
        6: 18,
        7: 9,
        8: 207,
        9: 59,
        11: 17,
        13: 13,
        15: 13,
        16: 8,
        20: 16,
    },
    "FLOORSMIN": {
        0: 24,
        1: 187,
        2: 50,
        3: 42,
        4: 42,
        5: 347,
        6: 21,
        7: 10,
        8: 9,
        9: 168,
        10: 42,
        12: 13,
        14: 10,
        16: 12,
        20: 23,
    },
}
"""Normalised floor counts take a few values (Kaggle's /24 scale); frequencies of the real samples."""
NONLIVING_ZERO = {"NONLIVINGAPARTMENTS": 0.57, "NONLIVINGAREA": 0.41}
"""Share of exact zeros among the present NONLIVING* values (buildings without non-residential space)."""
NONLIVING_MODE_EXTRA_ZERO = 0.10
"""Further share of the NONLIVING*_MODE values that are 0 (the mode of a building group is often empty)."""
DOCUMENT_RATES = {
    2: 0.00004,
    4: 0.00008,
    5: 0.0151,
    7: 0.0002,
    9: 0.0039,
    10: 0.00002,
    11: 0.0039,
    12: 0.00001,
    13: 0.0035,
    14: 0.0029,
    15: 0.0012,
    16: 0.0099,
    17: 0.0003,
    18: 0.0081,
    19: 0.0006,
    20: 0.0005,
    21: 0.0003,
}


@dataclass(frozen=True)
class PopulationShift:
    """Knobs a drift scenario turns on the applicant population (defaults = the Kaggle-like baseline)."""

    age_factor: float = 1.0
    """Years above 21 are multiplied by this (below 1 = younger applicants)."""
    pensioner_factor: float = 1.0
    """Multiplies the share of pensioners."""
    income_factor: float = 1.0
    """Multiplies declared incomes."""
    revolving_share: float = 0.0952
    """Share of revolving loans in NAME_CONTRACT_TYPE."""
    credit_factor: float = 1.0
    """Multiplies credit amounts (and so the annuities)."""


@dataclass(frozen=True)
class Applicants:
    """The generated application rows plus the latent variables the history tables need."""

    frame: pd.DataFrame
    risk: np.ndarray
    age_years: np.ndarray
    income: np.ndarray


def _regions() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A fixed map of 81 regions: relative population, share of applicants, region rating (1 best).

    Six big regions rated 1 (the biggest, 0.072508, is Kaggle's largest value) hold about 10 % of the
    applicants; a quarter of the other regions, mostly small ones, are rated 3.
    """
    fixed = np.random.default_rng(20180517)
    big = np.array([0.072508, 0.04622, 0.045, 0.04, 0.0366, 0.035])
    others = np.sort(np.clip(fixed.lognormal(np.log(0.0135), 0.62, 75), 0.00029, 0.0345))[::-1]
    population = np.round(np.concatenate([big, others]), 6)
    weight = np.concatenate(
        [np.array([0.027, 0.05, 0.01, 0.008, 0.006, 0.004]), 0.895 * others**0.5 / (others**0.5).sum()]
    )
    small_bias = np.linspace(0.1, 0.45, 75)
    rating = np.concatenate([np.ones(6, dtype=np.int64), np.where(fixed.random(75) < small_bias, 3, 2)])
    return population, weight / weight.sum(), rating


REGION_POPULATION, REGION_WEIGHT, REGION_RATING = _regions()


def _bernoulli(rng: np.random.Generator, p: np.ndarray | float, n: int) -> np.ndarray:
    return (rng.random(n) < p).astype(np.int64)


def make_applicants(rng: np.random.Generator, n: int, shift: PopulationShift | None = None) -> Applicants:
    """Draw ``n`` applicants: the 121 application columns (no TARGET) in Kaggle order, raw form."""
    shift = shift or PopulationShift()
    cols: dict[str, object] = {}
    risk = rng.standard_normal(n)

    # income type, age, employment
    weights = dict(INCOME_TYPES)
    weights["Pensioner"] *= shift.pensioner_factor
    income_type, income_labels = draw_labels(rng, weights, n)
    pensioner = income_type == income_labels.index("Pensioner")
    not_employed = pensioner | (income_type == income_labels.index("Unemployed"))
    age = np.where(pensioner, 69.0 - 24.0 * rng.beta(1.6, 2.8, n), 21.0 + 44.0 * rng.beta(1.7, 2.1, n))
    age = 21.0 + (age - 21.0) * shift.age_factor
    age = np.clip(age, 20.6, 69.1)
    days_birth = -np.floor(age * 365.25).astype(np.int64)
    age_std = (age - 43.9) / 11.9
    years_employed = np.minimum(rng.gamma(1.1, 5.9, n), np.maximum(age - 18.5, 0.05))
    days_employed = np.where(not_employed, SENTINEL_DAYS, -np.maximum(np.round(years_employed * 365.25), 1))

    gender = draw_codes(rng, [0.6583, 0.3417, 0.000013], n)  # F, M, XNA
    male = gender == 1
    education, education_labels = draw_labels(rng, EDUCATION, n)
    higher = education == education_labels.index("Higher education")

    family, family_labels = draw_labels(rng, FAMILY, n)
    widow = rng.random(n) < np.clip((age - 52.0) / 17.0, 0, 1) * 0.30
    single = rng.random(n) < np.clip((30.0 - age) / 9.0, 0, 1) * 0.35
    family = np.where(widow, family_labels.index("Widow"), family)
    family = np.where(single, family_labels.index("Single / not married"), family)
    couple = np.isin(family, [family_labels.index("Married"), family_labels.index("Civil marriage")])
    p_children = np.where(age < 24, 0.12, np.where(age < 50, np.where(couple, 0.50, 0.32), 0.07))
    has_children = rng.random(n) < p_children
    children = np.where(has_children, 1 + draw_codes(rng, [0.66, 0.29, 0.042, 0.006, 0.0015, 0.0005], n), 0)
    fam_members = (children + np.where(couple, 2, 1)).astype(np.float64)
    fam_members[rng.random(n) < 0.0000065] = np.nan

    # income and the loan
    log_income = (
        np.log(147150.0)
        + 0.22 * male
        + 0.25 * higher
        - 0.30 * pensioner
        + 0.12 * (income_type == income_labels.index("Commercial associate"))
        + rng.normal(0.0, 0.47, n)
    )
    income = np.exp(log_income) * shift.income_factor
    step = np.where(rng.random(n) < 0.75, 22500.0, np.where(rng.random(n) < 0.92, 4500.0, 1.0))
    income = np.clip(round_to(income / step, 1.0) * step, 25650.0, 13_500_000.0)

    revolving = rng.random(n) < shift.revolving_share
    goods = income**0.75 * 147150.0**0.25 * np.exp(rng.normal(np.log(2.75), 0.48, n)) * shift.credit_factor
    goods = np.clip(goods, 40500.0, 4_050_000.0)
    goods_step = np.where(rng.random(n) < 0.58, 45000.0, np.where(rng.random(n) < 0.27, 22500.0, 4500.0))
    goods = np.maximum(round_to(goods, 1.0) // goods_step * goods_step, 45000.0)
    goods_ratio = from_quantiles(
        rng.random(n), [0, 0.01, 0.05, 0.25, 0.5, 0.72, 1], [0.6, 0.7, 0.716, 0.835, 0.89, 1, 1]
    )
    credit_cash = round_to(goods / goods_ratio, 0.5)
    credit_revolving = np.clip(
        round_to(income * np.exp(rng.normal(np.log(1.4), 0.45, n)) * shift.credit_factor, 22500.0),
        45000.0,
        1_350_000.0,
    )
    credit = np.where(revolving, credit_revolving, credit_cash)
    goods = np.where(revolving, credit_revolving, goods)
    # the term is chosen so that the annuity fits the income (within the lender's terms of 10 to 60 months)
    rate = rng.uniform(0.012, 0.028, n)
    wished = income * np.exp(rng.normal(np.log(0.16), 0.38, n)) * shift.credit_factor**0.8
    with np.errstate(invalid="ignore", divide="ignore"):
        months = -np.log1p(-np.minimum(credit * rate / wished, 0.95)) / np.log1p(rate)
    term = np.clip(np.round(np.nan_to_num(months, nan=60.0) / 6.0) * 6.0, 12.0, 60.0)
    term = np.where(term == 12.0, np.where(rng.random(n) < 0.3, 10.0, 12.0), term)
    annuity_cash = credit * rate / (1.0 - (1.0 + rate) ** -term)
    annuity = round_to(np.where(revolving, credit * 0.05, annuity_cash), 0.5)
    annuity[rng.random(n) < 0.00004] = np.nan
    goods[revolving & (rng.random(n) < 0.0095)] = np.nan

    cols["SK_ID_CURR"] = np.zeros(n, dtype=np.int64)  # assigned by the caller
    cols["NAME_CONTRACT_TYPE"] = categorical(
        revolving.astype(np.int16), ["Cash loans", "Revolving loans"], TABLE, "NAME_CONTRACT_TYPE"
    )
    cols["CODE_GENDER"] = categorical(gender, ["F", "M", "XNA"], TABLE, "CODE_GENDER")
    own_car = rng.random(n) < sigmoid(-0.95 + 1.0 * male + 0.7 * np.log(income / 147150.0) - 0.6 * pensioner)
    cols["FLAG_OWN_CAR"] = categorical(own_car.astype(np.int16), ["N", "Y"], TABLE, "FLAG_OWN_CAR")
    cols["FLAG_OWN_REALTY"] = categorical(
        (rng.random(n) < 0.694).astype(np.int16), ["N", "Y"], TABLE, "FLAG_OWN_REALTY"
    )
    cols["CNT_CHILDREN"] = children
    cols["AMT_INCOME_TOTAL"] = income
    cols["AMT_CREDIT"] = credit
    cols["AMT_ANNUITY"] = annuity
    cols["AMT_GOODS_PRICE"] = goods
    suite, suite_labels = draw_labels(rng, SUITE, n)
    cols["NAME_TYPE_SUITE"] = categorical(
        suite, suite_labels, TABLE, "NAME_TYPE_SUITE", missing=rng.random(n) < 0.0042
    )
    cols["NAME_INCOME_TYPE"] = categorical(income_type, income_labels, TABLE, "NAME_INCOME_TYPE")
    cols["NAME_EDUCATION_TYPE"] = categorical(education, education_labels, TABLE, "NAME_EDUCATION_TYPE")
    cols["NAME_FAMILY_STATUS"] = categorical(family, family_labels, TABLE, "NAME_FAMILY_STATUS")
    housing, housing_labels = draw_labels(rng, HOUSING, n)
    with_parents = rng.random(n) < np.clip((30.0 - age) / 9.0, 0, 1) * 0.25
    housing = np.where(with_parents, housing_labels.index("With parents"), housing)
    cols["NAME_HOUSING_TYPE"] = categorical(housing, housing_labels, TABLE, "NAME_HOUSING_TYPE")

    region = draw_codes(rng, REGION_WEIGHT, n)
    cols["REGION_POPULATION_RELATIVE"] = REGION_POPULATION[region]
    cols["DAYS_BIRTH"] = days_birth
    cols["DAYS_EMPLOYED"] = days_employed.astype(np.int64)
    cols["DAYS_REGISTRATION"] = -np.round((age - 17.0) * 365.25 * rng.beta(1.4, 1.4, n))
    id_days = from_quantiles(
        rng.random(n), [0, 0.05, 0.25, 0.5, 0.75, 0.95, 1], [1, 413, 1704, 3260, 4307, 4934, 7197]
    )
    cols["DAYS_ID_PUBLISH"] = -np.maximum(np.round(np.minimum(id_days, (age - 14.0) * 365.25)), 1)
    car_age = np.minimum(np.round(rng.gamma(1.9, 6.0, n)), 57.0)
    car_age = np.where(rng.random(n) < 0.012, 64.0 + (rng.random(n) < 0.5), car_age)
    cols["OWN_CAR_AGE"] = np.where(own_car & (rng.random(n) > 0.0001), car_age, np.nan)
    cols["FLAG_MOBIL"] = np.ones(n, dtype=np.int64)
    employed = ~not_employed
    cols["FLAG_EMP_PHONE"] = np.where(employed, 1, 0) ^ _bernoulli(rng, 0.0003, n)
    cols["FLAG_WORK_PHONE"] = _bernoulli(rng, np.where(employed, 0.235, 0.03), n)
    cols["FLAG_CONT_MOBILE"] = _bernoulli(rng, 0.9981, n)
    cols["FLAG_PHONE"] = _bernoulli(rng, np.where(pensioner, 0.42, 0.25), n)
    cols["FLAG_EMAIL"] = _bernoulli(rng, np.where(age < 40, 0.075, 0.042), n)
    occupation, occupation_labels = draw_labels(rng, OCCUPATION, n)
    no_occupation = not_employed | (rng.random(n) < 0.173)
    cols["OCCUPATION_TYPE"] = categorical(
        occupation, occupation_labels, TABLE, "OCCUPATION_TYPE", missing=no_occupation
    )
    cols["CNT_FAM_MEMBERS"] = fam_members
    rating = REGION_RATING[region]
    city_better = (rating > 1) & (rng.random(n) < np.where(rating == 3, 0.10, 0.006))
    cols["REGION_RATING_CLIENT"] = rating
    cols["REGION_RATING_CLIENT_W_CITY"] = rating - city_better
    weekday, weekday_labels = draw_labels(rng, WEEKDAYS, n)
    cols["WEEKDAY_APPR_PROCESS_START"] = categorical(
        weekday, weekday_labels, TABLE, "WEEKDAY_APPR_PROCESS_START"
    )
    cols["HOUR_APPR_PROCESS_START"] = np.clip(np.round(rng.normal(12.06, 3.27, n)), 0, 23)
    live_city_not_work = _bernoulli(rng, np.where(employed, 0.22, 0.0), n)
    cols["REG_REGION_NOT_LIVE_REGION"] = _bernoulli(rng, 0.0151, n)
    reg_region_not_work = _bernoulli(rng, np.where(employed, 0.062, 0.0), n)
    cols["REG_REGION_NOT_WORK_REGION"] = reg_region_not_work
    cols["LIVE_REGION_NOT_WORK_REGION"] = reg_region_not_work & _bernoulli(rng, 0.8, n)
    cols["REG_CITY_NOT_LIVE_CITY"] = _bernoulli(rng, np.where(age < 35, 0.13, 0.05), n)
    cols["REG_CITY_NOT_WORK_CITY"] = np.maximum(
        live_city_not_work, _bernoulli(rng, np.where(employed, 0.07, 0.0), n)
    )
    cols["LIVE_CITY_NOT_WORK_CITY"] = live_city_not_work
    organization, organization_labels = draw_labels(rng, ORGANIZATION, n)
    organization = np.where(not_employed, len(organization_labels), organization)
    cols["ORGANIZATION_TYPE"] = categorical(
        organization, [*organization_labels, "XNA"], TABLE, "ORGANIZATION_TYPE"
    )

    levels = np.linspace(0.0, 1.0, 21)
    for name, (loading_risk, loading_age) in EXT_SOURCE_LOADINGS.items():
        noise = np.sqrt(1.0 - loading_risk**2 - loading_age**2)
        z = -loading_risk * risk + loading_age * age_std + noise * rng.standard_normal(n)
        values = from_quantiles(ndtr(z), levels, EXT_SOURCE_QUANTILES[name])
        values[rng.random(n) < EXT_SOURCE_MISSING[name]] = np.nan
        cols[name] = values

    cols.update(_building(rng, n))
    cols.update(_social_circle(rng, n))
    phone = -np.minimum(np.round(rng.gamma(1.05, 960.0, n)), 4292.0)
    phone[rng.random(n) < 0.122] = 0.0
    phone[rng.random(n) < 0.000003] = np.nan
    cols["DAYS_LAST_PHONE_CHANGE"] = phone + 0.0
    document = draw_codes(rng, [0.7100, 0.0881, 0.0814, 0.1205], n)  # document 3, 6, 8, none of them
    for k in range(2, 22):
        if k in (3, 6, 8):
            cols[f"FLAG_DOCUMENT_{k}"] = (document == (3, 6, 8).index(k)).astype(np.int64)
        else:
            cols[f"FLAG_DOCUMENT_{k}"] = _bernoulli(rng, DOCUMENT_RATES[k], n)
    cols.update(_bureau_requests(rng, n))

    return Applicants(frame=frame("application_test", cols), risk=risk, age_years=age, income=income)


def _building_presence(
    rng: np.random.Generator, n: int
) -> tuple[np.ndarray, np.ndarray, dict[str, np.ndarray]]:
    """Who has building data, whose record is complete, and per attribute who has it (a block pattern)."""
    present = rng.random(n) < BUILDING_PRESENT
    complete = present & (rng.random(n) < BUILDING_COMPLETE)
    partial = present & ~complete
    detailed = partial & (rng.random(n) < BUILDING_DETAILED_PARTIAL)
    keep: dict[str, np.ndarray] = {}
    for attribute, (share, _, _) in BUILDING_ATTRIBUTES.items():
        # share = complete share + partial share * (rate inside the partial records)
        rate = (share - BUILDING_COMPLETE) / (1.0 - BUILDING_COMPLETE)
        if attribute in BUILDING_DETAILED:
            inside = detailed & (rng.random(n) < min(rate / BUILDING_DETAILED_PARTIAL, 1.0))
        else:
            inside = partial & (rng.random(n) < rate)
        keep[attribute] = complete | inside
    return present, complete, keep


def _building(rng: np.random.Generator, n: int) -> dict[str, object]:
    """The 47 normalised building columns (and their 4 text modes), present or missing as a block."""
    cols: dict[str, object] = {}
    present, complete, keep_by_attribute = _building_presence(rng, n)

    def text_present(share: float, in_complete: float) -> np.ndarray:
        """Present for ``share`` of the applicants with building data, ``in_complete`` of complete ones."""
        in_partial = (share - BUILDING_COMPLETE * in_complete) / (1.0 - BUILDING_COMPLETE)
        return present & (rng.random(n) < np.where(complete, in_complete, in_partial))

    size = rng.normal(0.0, 1.0, n)  # bigger buildings: more apartments, area, entrances, floors
    floors = np.clip(np.round(np.exp(rng.normal(np.log(4.6), 0.5, n) + 0.25 * size)), 1, 25)
    for attribute, (_, median, spread) in BUILDING_ATTRIBUTES.items():
        keep = keep_by_attribute[attribute]
        if attribute == "YEARS_BEGINEXPLUATATION":
            base = 1.0 - np.exp(rng.normal(np.log(0.019), 0.6, n))
        elif attribute == "YEARS_BUILD":
            base = np.clip(rng.normal(0.755, 0.11, n), 0.0, 1.0)
        elif attribute == "ELEVATORS":
            base = np.where(
                floors > 5, np.clip(np.round(floors / 3.0 + rng.normal(0, 1.5, n)), 0, 25) / 25.0, 0.0
            )
        elif attribute == "ENTRANCES":
            base = np.clip(np.round(np.exp(rng.normal(np.log(4.0), 0.55, n) + 0.3 * size)), 1, 29) / 29.0
        elif attribute in FLOOR_LEVELS:
            levels = np.array(list(FLOOR_LEVELS[attribute]), dtype=np.float64)
            weights = np.array(list(FLOOR_LEVELS[attribute].values()), dtype=np.float64)
            cumulative = np.cumsum(weights / weights.sum())
            rank = ndtr(0.8 * size + 0.6 * rng.standard_normal(n))  # taller in bigger buildings
            base = levels[np.minimum(np.searchsorted(cumulative, rank), len(levels) - 1)] / 24.0
        else:
            base = np.exp(np.log(median) + spread * (0.55 * size + 0.84 * rng.standard_normal(n)))
        base = np.clip(base, 0.0, 1.0)
        zero = rng.random(n) < NONLIVING_ZERO.get(attribute, 0.0)
        mode_zero = zero | ((attribute in NONLIVING_ZERO) & (rng.random(n) < NONLIVING_MODE_EXTRA_ZERO))
        scale = 0.05 if attribute.startswith("YEARS_BEGIN") else 1.0
        for suffix, jitter in (("AVG", 0.0), ("MODE", 0.06 * scale), ("MEDI", 0.02 * scale)):
            values = np.clip(base * (1.0 + jitter * rng.standard_normal(n)), 0.0, 1.0)
            values = np.where(mode_zero if suffix == "MODE" else zero, 0.0, values)
            cols[f"{attribute}_{suffix}"] = np.where(keep, np.round(values, 4), np.nan)
    fond = draw_codes(rng, [0.7256, 0.1275, 0.0617, 0.0577], n)
    fond_missing = ~text_present(0.62, 0.97)
    cols["FONDKAPREMONT_MODE"] = categorical(
        fond,
        ["reg oper account", "reg oper spec account", "org spec account", "not specified"],
        TABLE,
        "FONDKAPREMONT_MODE",
        missing=fond_missing,
    )
    house = draw_codes(rng, [0.9820, 0.0098, 0.0082], n)
    house_missing = ~text_present(0.965, 1.0)
    cols["HOUSETYPE_MODE"] = categorical(
        house,
        ["block of flats", "specific housing", "terraced house"],
        TABLE,
        "HOUSETYPE_MODE",
        missing=house_missing,
    )
    total = np.clip(np.exp(np.log(0.0688) + 0.9 * (0.55 * size + 0.84 * rng.standard_normal(n))), 0.0, 1.0)
    cols["TOTALAREA_MODE"] = np.where(text_present(0.998, 1.0), np.round(total, 4), np.nan)
    walls = draw_codes(rng, [0.4328, 0.4361, 0.0612, 0.0352, 0.0154, 0.0118, 0.0108], n)
    walls_missing = ~text_present(0.956, 1.0)
    cols["WALLSMATERIAL_MODE"] = categorical(
        walls,
        ["Stone, brick", "Panel", "Block", "Wooden", "Mixed", "Monolithic", "Others"],
        TABLE,
        "WALLSMATERIAL_MODE",
        missing=walls_missing,
    )
    emergency = (rng.random(n) < 0.0143).astype(np.int16)
    emergency_missing = ~(present | (rng.random(n) < 0.016))
    cols["EMERGENCYSTATE_MODE"] = categorical(
        emergency, ["No", "Yes"], TABLE, "EMERGENCYSTATE_MODE", missing=emergency_missing
    )
    return cols


def _social_circle(rng: np.random.Generator, n: int) -> dict[str, np.ndarray]:
    observed = rng.negative_binomial(0.45, 0.45 / (0.45 + 1.42), n).astype(np.float64)
    observed = np.minimum(observed, 348.0)
    observed_60 = np.maximum(observed - (rng.random(n) < 0.03), 0)
    default_30 = rng.binomial(observed.astype(np.int64), 0.10).astype(np.float64)
    default_60 = rng.binomial(default_30.astype(np.int64), 0.70).astype(np.float64)
    missing = rng.random(n) < 0.0033
    out = {
        "OBS_30_CNT_SOCIAL_CIRCLE": observed,
        "DEF_30_CNT_SOCIAL_CIRCLE": default_30,
        "OBS_60_CNT_SOCIAL_CIRCLE": observed_60,
        "DEF_60_CNT_SOCIAL_CIRCLE": default_60,
    }
    for values in out.values():
        values[missing] = np.nan
    return out


def _bureau_requests(rng: np.random.Generator, n: int) -> dict[str, np.ndarray]:
    missing = rng.random(n) < 0.1350
    means = {"HOUR": 0.0064, "DAY": 0.0070, "WEEK": 0.0344, "MON": 0.2674, "QRT": 0.2655, "YEAR": 1.8999}
    activity = rng.gamma(1.2, 1.0 / 1.2, n)  # some applicants shop around for credit much more than others
    out = {}
    for period, mean in means.items():
        values = rng.poisson(mean * activity).astype(np.float64)
        values[missing] = np.nan
        out[f"AMT_REQ_CREDIT_BUREAU_{period}"] = values
    return out
