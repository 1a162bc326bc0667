"""previous_application: earlier applications at the lender, about 4.7 per applicant of train+test.

Each row is a cash loan, a consumer (point-of-sale) loan or a revolving card, with an outcome (approved,
canceled, refused, unused offer). Refusals are more frequent for applicants of high latent risk. Approved rows
carry the Kaggle due-date columns, with ``365243`` where a date does not apply (no separate first drawing for
instalment loans, a still-running credit has no last due date, cards have no planned last due date).
Canceled rows look like Kaggle's: zero amounts, no annuity nor term, ``XNA`` in most descriptive columns.

Besides the table, :func:`make_previous` returns the :class:`CreditBook` that the monthly tables
(POS_CASH_balance, installments_payments, credit_card_balance) are drawn from.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from service.applicant.schema import SENTINEL_DAYS
from training.synthetic._util import (
    DAYS_PER_MONTH,
    categorical,
    draw_codes,
    draw_labels,
    expand,
    frame,
    from_quantiles,
    logit,
    negative_binomial,
    round_to,
    sigmoid,
)

TABLE = "previous_application"
PREV_ID_START = 1_000_000

CASH, CONSUMER, REVOLVING, XNA_KIND = 0, 1, 2, 3
APPROVED, REFUSED, CANCELED, UNUSED = 0, 1, 2, 3
# outcome probabilities (approved, refused, canceled, unused offer) per contract kind
OUTCOMES = np.array(
    [
        [0.45, 0.20, 0.35, 0.00],
        [0.86, 0.08, 0.02, 0.04],
        [0.50, 0.30, 0.20, 0.00],
        [0.00, 0.00, 1.00, 0.00],
    ]
)
DAYS_DECISION_QUANTILES = ([0, 0.05, 0.25, 0.5, 0.75, 0.95, 1], [-2922, -2460, -1300, -581, -280, -60, -1])
YIELDS = ("high", "middle", "low_normal", "low_action")
MONTHLY_RATE = np.array([0.033, 0.021, 0.013, 0.003])
CARD_LIMITS = np.array(
    [45000, 67500, 90000, 112500, 135000, 180000, 225000, 270000, 450000], dtype=np.float64
)
CARD_LIMIT_WEIGHTS = [13, 10, 10, 8, 16, 18, 8, 7, 10]
GOODS = {
    "Mobile": 0.310,
    "Consumer Electronics": 0.168,
    "Computers": 0.147,
    "Audio/Video": 0.138,
    "Furniture": 0.073,
    "Photo / Cinema Equipment": 0.035,
    "Construction Materials": 0.035,
    "Clothing and Accessories": 0.032,
    "Auto Accessories": 0.010,
    "Jewelry": 0.008,
    "Homewares": 0.007,
    "Medical Supplies": 0.005,
    "Vehicles": 0.005,
    "Sport and Leisure": 0.004,
    "Gardening": 0.003,
    "Other": 0.004,
    "Office Appliances": 0.003,
    "Tourism": 0.002,
    "Medicine": 0.002,
    "Direct Sales": 0.001,
    "Fitness": 0.0003,
    "Additional Service": 0.0002,
    "Education": 0.0002,
    "Weapon": 0.0001,
    "Insurance": 0.0001,
    "House Construction": 0.00001,
    "Animals": 0.00001,
}
_POS_KIND = {
    "Mobile": "mobile",
    "Furniture": "industry",
    "Construction Materials": "industry",
    "Auto Accessories": "industry",
    "Gardening": "industry",
    "Vehicles": "industry",
    "House Construction": "industry",
    "Consumer Electronics": "household",
    "Computers": "household",
    "Audio/Video": "household",
    "Photo / Cinema Equipment": "household",
    "Homewares": "household",
}
SELLER_INDUSTRY = {
    "Consumer electronics": 0.49,
    "Connectivity": 0.34,
    "Furniture": 0.07,
    "Construction": 0.036,
    "Clothing": 0.03,
    "Industry": 0.023,
    "Auto technology": 0.006,
    "Jewelry": 0.003,
    "MLM partners": 0.0013,
    "Tourism": 0.0006,
}
PURPOSES = {
    "Repairs": 0.142,
    "Other": 0.093,
    "Urgent needs": 0.050,
    "Buying a used car": 0.017,
    "Building a house or an annex": 0.016,
    "Everyday expenses": 0.014,
    "Medicine": 0.013,
    "Payments on other loans": 0.012,
    "Education": 0.0095,
    "Journey": 0.0074,
    "Purchase of electronic equipment": 0.0064,
    "Buying a new car": 0.0061,
    "Wedding / gift / holiday": 0.0058,
    "Buying a home": 0.0050,
    "Car repairs": 0.0047,
    "Furniture": 0.0044,
    "Buying a holiday home / land": 0.0032,
    "Business development": 0.0026,
    "Gasification / water supply": 0.0018,
    "Buying a garage": 0.0008,
    "Hobby": 0.0003,
    "Money for a third person": 0.0001,
    "Refusal to name the goal": 0.0001,
}
SUITE = {
    "Unaccompanied": 0.60,
    "Family": 0.25,
    "Spouse, partner": 0.08,
    "Children": 0.04,
    "Other_B": 0.02,
    "Other_A": 0.01,
    "Group of people": 0.002,
}


@dataclass(frozen=True)
class CreditBook:
    """Approved credits with dates, as the monthly tables need them (one entry per previous application)."""

    sk_id_prev: np.ndarray
    owner: np.ndarray  # applicant position
    kind: np.ndarray  # CASH / CONSUMER / REVOLVING
    decision: np.ndarray  # DAYS_DECISION
    first_due: np.ndarray  # day of the first instalment (loans); NaN for unused cards
    term: np.ndarray  # CNT_PAYMENT (loans)
    paid_terms: np.ndarray  # instalments until the credit ended or will end (early repayment shortens it)
    completed: np.ndarray  # ended before the application
    end_day: np.ndarray  # last due day (completed credits), NaN otherwise
    annuity: np.ndarray
    credit: np.ndarray  # AMT_CREDIT (the card limit for cards)


def make_previous(
    rng: np.random.Generator,
    sk_id_curr: np.ndarray,
    risk: np.ndarray,
    income: np.ndarray,
    id_offset: int = 0,
) -> tuple[pd.DataFrame, CreditBook]:
    """previous_application for the given applicants (raw Kaggle form) and its approved credits."""
    n_applicants = len(sk_id_curr)
    has_any = rng.random(n_applicants) < 0.951
    counts = np.where(has_any, 1 + negative_binomial(rng, np.full(n_applicants, 4.05), 1.3), 0)
    owner, position = expand(counts)
    n = len(owner)
    r = risk[owner]
    rel_income = income[owner] / 147150.0

    kind = draw_codes(rng, [0.4476, 0.4366, 0.1156, 0.0002], n)
    base = OUTCOMES[kind]
    p_refused = np.where(
        base[:, REFUSED] > 0, sigmoid(logit(np.clip(base[:, REFUSED], 1e-9, 1 - 1e-9)) + 0.8 * r), 0.0
    )
    rest = base[:, [APPROVED, CANCELED, UNUSED]]
    rest = rest / rest.sum(axis=1, keepdims=True)
    u = rng.random(n)
    other = np.array([APPROVED, CANCELED, UNUSED])[(u[:, None] > np.cumsum(rest, axis=1)[:, :-1]).sum(axis=1)]
    outcome = np.where(rng.random(n) < p_refused, REFUSED, other).astype(np.int16)
    approved = outcome == APPROVED
    canceled = outcome == CANCELED
    is_cash, is_consumer, is_card = kind == CASH, kind == CONSUMER, kind == REVOLVING

    u_decision = rng.random(n) ** np.where(is_card, 1.8, 1.0)
    decision = np.round(from_quantiles(u_decision, *DAYS_DECISION_QUANTILES)).astype(np.int64)

    # yield group and products
    interest_free = is_consumer & (rng.random(n) < 0.20)
    yield_code = np.where(interest_free, 3, draw_codes(rng, [0.31, 0.34, 0.28, 0.07], n))
    yield_missing = canceled | is_card | (kind == XNA_KIND)
    rate = np.where(yield_missing, 0.0, MONTHLY_RATE[yield_code])

    # amounts
    goods_price = np.round(np.exp(rng.normal(np.log(60000.0), 0.85, n)) * rel_income**0.3)
    cash_amount = round_to(np.exp(rng.normal(np.log(180000.0), 0.8, n)) * rel_income**0.4, 4500.0)
    cash_amount = np.maximum(cash_amount, 22500.0)
    limit = CARD_LIMITS[draw_codes(rng, CARD_LIMIT_WEIGHTS, n)]
    application = np.select([is_cash, is_consumer, is_card], [cash_amount, goods_price, limit], 0.0)
    # a down payment (zero for half of them) on consumer loans and a few cash loans: at most 60 % of the price
    has_down = is_consumer | (kind == CASH) & (rng.random(n) < 0.05)
    paid_down = has_down & (rng.random(n) < 0.5)
    down = np.where(paid_down, np.round(application * rng.beta(1.0, 5.0, n) * 0.6, 2), 0.0)
    insurance = np.where(rng.random(n) < np.where(is_cash, 0.55, 0.3), rng.uniform(0.05, 0.2, n), 0.0)
    insurance = np.where(is_card, 0.0, insurance)
    credit = round_to((application - down) * (1.0 + insurance), 0.5)
    term = np.select(
        [is_cash, is_consumer],
        [
            np.array([6, 12, 18, 24, 30, 36, 48, 60])[draw_codes(rng, [14, 38, 9, 20, 2, 10, 4, 3], n)],
            np.array([4, 6, 8, 10, 12, 18, 24, 30, 36])[draw_codes(rng, [5, 20, 6, 20, 30, 7, 8, 1, 3], n)],
        ],
        0,
    ).astype(np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        annuity_loan = np.where(rate > 0, credit * rate / (1.0 - (1.0 + rate) ** -term), credit / term)
    annuity = np.where(is_card, limit * 0.05, annuity_loan)
    annuity = round_to(annuity, 0.005)
    application = np.where(is_card & (rng.random(n) < 0.3), 0.0, application)
    goods = np.where(
        is_card, np.where(rng.random(n) < 0.5, limit, np.nan), np.where(is_cash, application, goods_price)
    )
    # canceled applications never got to amounts
    application = np.where(canceled, 0.0, application)
    credit = np.where(canceled, 0.0, credit)
    annuity = np.where(canceled, np.nan, annuity)
    goods = np.where(canceled, np.nan, goods)
    term = np.where(canceled, np.nan, term)
    down = np.where(has_down & ~canceled, down, np.nan)
    rate_down = np.where(np.isnan(down), np.nan, down / np.maximum(application, 1.0))
    primary = approved & is_consumer & (rng.random(n) < 0.008)
    rate_primary = np.where(primary, np.clip(rng.normal(0.19, 0.09, n), 0.035, 1.0), np.nan)
    rate_privileged = np.where(primary, np.clip(rng.normal(0.80, 0.1, n), 0.37, 1.0), np.nan)

    # due dates of approved credits
    dated = approved & (rng.random(n) > 0.039)
    loan = dated & (is_cash | is_consumer)
    card = dated & is_card
    first_due = np.minimum(decision + rng.integers(10, 46, n), -2).astype(np.float64)
    scheduled_last = first_due + np.round((np.nan_to_num(term) - 1) * DAYS_PER_MONTH)
    early = rng.random(n) < 0.40
    paid_terms = np.where(
        early, np.maximum(np.ceil(np.nan_to_num(term) * rng.uniform(0.2, 0.9, n)), 1), np.nan_to_num(term)
    )
    last_due = first_due + np.round((paid_terms - 1) * DAYS_PER_MONTH)
    loan_completed = loan & (last_due <= -1)
    card_used = card & (rng.random(n) < 0.6)
    card_drawn = card_used & (rng.random(n) < 0.55)
    card_closed = card & (rng.random(n) < 0.35)
    card_close_day = np.round(decision + (-1 - decision) * rng.uniform(0.2, 1.0, n))
    completed = loan_completed | card_closed
    end_day = np.where(loan_completed, last_due, np.where(card_closed, card_close_day, np.nan))

    sentinel = float(SENTINEL_DAYS)
    first_drawing = np.where(card_drawn, np.minimum(decision + rng.integers(0, 300, n), -1), sentinel)
    first_due_col = np.where(loan, first_due, np.where(card_used, first_due, sentinel))
    last_due_1st = np.where(loan, scheduled_last, sentinel)
    last_due_col = np.where(completed, end_day, sentinel)
    termination = np.where(completed, end_day + np.where(loan, rng.integers(0, 12, n), 0), sentinel)
    insured = np.where(loan, (insurance > 0).astype(np.float64), 0.0)
    for values in (first_drawing, first_due_col, last_due_1st, last_due_col, termination, insured):
        values[~dated] = np.nan

    sk_id_prev = PREV_ID_START + id_offset + rng.permutation(n).astype(np.int64)
    cols = _descriptive(rng, n, kind, outcome, position, yield_code, yield_missing, interest_free)
    cols.update(
        {
            "SK_ID_PREV": sk_id_prev,
            "SK_ID_CURR": sk_id_curr[owner],
            "AMT_ANNUITY": annuity,
            "AMT_APPLICATION": application,
            "AMT_CREDIT": credit,
            "AMT_DOWN_PAYMENT": down,
            "AMT_GOODS_PRICE": goods,
            "RATE_DOWN_PAYMENT": rate_down,
            "RATE_INTEREST_PRIMARY": rate_primary,
            "RATE_INTEREST_PRIVILEGED": rate_privileged,
            "DAYS_DECISION": decision,
            "CNT_PAYMENT": term,
            "DAYS_FIRST_DRAWING": first_drawing,
            "DAYS_FIRST_DUE": first_due_col,
            "DAYS_LAST_DUE_1ST_VERSION": last_due_1st,
            "DAYS_LAST_DUE": last_due_col,
            "DAYS_TERMINATION": termination,
            "NFLAG_INSURED_ON_APPROVAL": insured,
        }
    )
    table = frame(TABLE, cols)

    keep = np.flatnonzero(loan | card)
    book = CreditBook(
        sk_id_prev=sk_id_prev[keep],
        owner=owner[keep],
        kind=kind[keep],
        decision=decision[keep],
        first_due=np.where(loan | card_used, first_due, np.nan)[keep],
        term=np.nan_to_num(term)[keep],
        paid_terms=paid_terms[keep],
        completed=completed[keep],
        end_day=end_day[keep],
        annuity=np.nan_to_num(annuity)[keep],
        credit=credit[keep],
    )
    return table, book


def _descriptive(
    rng: np.random.Generator,
    n: int,
    kind: np.ndarray,
    outcome: np.ndarray,
    position: np.ndarray,
    yield_code: np.ndarray,
    yield_missing: np.ndarray,
    interest_free: np.ndarray,
) -> dict[str, object]:
    """The text columns and the small integer ones, consistent with the kind and the outcome."""
    is_cash, is_consumer, is_card = kind == CASH, kind == CONSUMER, kind == REVOLVING
    canceled = outcome == CANCELED
    refused = outcome == REFUSED
    cols: dict[str, object] = {}
    cols["NAME_CONTRACT_TYPE"] = categorical(
        kind, ["Cash loans", "Consumer loans", "Revolving loans", "XNA"], TABLE, "NAME_CONTRACT_TYPE"
    )
    weekday = draw_codes(rng, [0.152, 0.153, 0.153, 0.151, 0.152, 0.144, 0.095], n)
    cols["WEEKDAY_APPR_PROCESS_START"] = categorical(
        weekday,
        ["MONDAY", "TUESDAY", "WEDNESDAY", "THURSDAY", "FRIDAY", "SATURDAY", "SUNDAY"],
        TABLE,
        "WEEKDAY_APPR_PROCESS_START",
    )
    cols["HOUR_APPR_PROCESS_START"] = np.clip(np.round(rng.normal(12.5, 3.3, n)), 0, 23)
    cols["FLAG_LAST_APPL_PER_CONTRACT"] = categorical(
        (rng.random(n) > 0.0051).astype(np.int16), ["N", "Y"], TABLE, "FLAG_LAST_APPL_PER_CONTRACT"
    )
    cols["NFLAG_LAST_APPL_IN_DAY"] = (rng.random(n) > 0.0035).astype(np.int64)

    purpose, purpose_labels = draw_labels(rng, PURPOSES, n)
    purpose_code = np.where(
        is_cash, np.where(rng.random(n) < 0.90, len(purpose_labels) + 1, purpose), len(purpose_labels)
    )
    purpose_code = np.where(kind == 3, len(purpose_labels) + 1, purpose_code)
    cols["NAME_CASH_LOAN_PURPOSE"] = categorical(
        purpose_code, [*purpose_labels, "XAP", "XNA"], TABLE, "NAME_CASH_LOAN_PURPOSE"
    )
    cols["NAME_CONTRACT_STATUS"] = categorical(
        outcome, ["Approved", "Refused", "Canceled", "Unused offer"], TABLE, "NAME_CONTRACT_STATUS"
    )
    pay = np.where(canceled | is_card | (kind == 3), 3, draw_codes(rng, [0.984, 0.013, 0.003], n))
    pay = np.where(refused & (rng.random(n) < 0.6), 3, pay)
    cols["NAME_PAYMENT_TYPE"] = categorical(
        pay,
        [
            "Cash through the bank",
            "Non-cash from your account",
            "Cashless from the account of the employer",
            "XNA",
        ],
        TABLE,
        "NAME_PAYMENT_TYPE",
    )
    reason = draw_codes(rng, [0.58, 0.19, 0.13, 0.045, 0.018, 0.012, 0.0004], n)  # given refusal
    reason_code = np.where(refused, reason + 1, np.where(outcome == UNUSED, 8, 0))
    cols["CODE_REJECT_REASON"] = categorical(
        reason_code,
        ["XAP", "HC", "LIMIT", "SCO", "SCOFR", "XNA", "VERIF", "SYSTEM", "CLIENT"],
        TABLE,
        "CODE_REJECT_REASON",
    )
    suite, suite_labels = draw_labels(rng, SUITE, n)
    suite_missing = (canceled | is_card | (is_cash & (rng.random(n) < 0.7))) & (rng.random(n) < 0.95)
    cols["NAME_TYPE_SUITE"] = categorical(
        suite, suite_labels, TABLE, "NAME_TYPE_SUITE", missing=suite_missing
    )
    first = position == 0
    client = np.where(
        first & (rng.random(n) < 0.55), 1, draw_codes(rng, [0.885, 0.010, 0.104, 0.001], n)
    )  # Repeater, New, Refreshed, XNA
    cols["NAME_CLIENT_TYPE"] = categorical(
        client, ["Repeater", "New", "Refreshed", "XNA"], TABLE, "NAME_CLIENT_TYPE"
    )
    goods, goods_labels = draw_labels(rng, GOODS, n)
    goods_code = np.where(is_consumer, goods, len(goods_labels))
    cols["NAME_GOODS_CATEGORY"] = categorical(
        goods_code, [*goods_labels, "XNA"], TABLE, "NAME_GOODS_CATEGORY"
    )
    portfolio = np.select([canceled | (kind == 3), is_cash, is_consumer, is_card], [4, 1, 0, 2], 4)
    portfolio = np.where(is_consumer & ~canceled & (rng.random(n) < 0.0003), 3, portfolio)
    cols["NAME_PORTFOLIO"] = categorical(
        portfolio, ["POS", "Cash", "Cards", "Cars", "XNA"], TABLE, "NAME_PORTFOLIO"
    )
    x_sell = rng.random(n) < np.where(is_cash, 0.80, 0.5)
    product_type = np.where(is_consumer | (kind == 3) | canceled, 2, np.where(x_sell, 0, 1))
    cols["NAME_PRODUCT_TYPE"] = categorical(
        product_type, ["x-sell", "walk-in", "XNA"], TABLE, "NAME_PRODUCT_TYPE"
    )
    channel = np.where(
        is_consumer,
        draw_codes(rng, [0, 0.60, 0.26, 0.13, 0, 0, 0.008, 0.001], n),
        draw_codes(rng, [0.72, 0.02, 0.0, 0.02, 0.12, 0.10, 0.01, 0.0], n),
    )
    cols["CHANNEL_TYPE"] = categorical(
        channel,
        [
            "Credit and cash offices",
            "Country-wide",
            "Stone",
            "Regional / Local",
            "Contact center",
            "AP+ (Cash loan)",
            "Channel of corporate sales",
            "Car dealer",
        ],
        TABLE,
        "CHANNEL_TYPE",
    )
    seller_area = np.where(is_consumer, np.minimum(np.round(np.exp(rng.normal(3.2, 2.0, n))), 4_000_000), -1)
    seller_area = np.where(is_consumer & (rng.random(n) < 0.05), 0, seller_area)
    cols["SELLERPLACE_AREA"] = seller_area.astype(np.int64)
    industry, industry_labels = draw_labels(rng, SELLER_INDUSTRY, n)
    industry = np.where(is_consumer, industry, len(industry_labels))
    cols["NAME_SELLER_INDUSTRY"] = categorical(
        industry, [*industry_labels, "XNA"], TABLE, "NAME_SELLER_INDUSTRY"
    )
    cols["NAME_YIELD_GROUP"] = categorical(
        np.where(yield_missing, 4, yield_code), [*YIELDS, "XNA"], TABLE, "NAME_YIELD_GROUP"
    )

    # PRODUCT_COMBINATION from kind, channel of sale, goods and yield
    labels = list(previous_product_labels())
    band = np.array(["high", "middle", "low", "low"])[yield_code]
    pos_kind = np.array([_POS_KIND.get(g, "other") for g in goods_labels] + ["other"])[goods_code]
    combination = np.full(n, "Cash", dtype=object)
    cash_named = is_cash & ~yield_missing
    combination[cash_named] = np.char.add(
        np.where(x_sell[cash_named], "Cash X-Sell: ", "Cash Street: ").astype(str),
        band[cash_named].astype(str),
    )
    combination[is_card] = np.where(x_sell[is_card], "Card X-Sell", "Card Street")
    pos = is_consumer
    interest = np.where(interest_free[pos], " without interest", " with interest")
    pos_label = np.char.add(np.char.add("POS ", pos_kind[pos].astype(str)), interest.astype(str))
    pos_label = np.where(pos_label == "POS other without interest", "POS others without interest", pos_label)
    combination[pos] = pos_label
    code = pd.Categorical(combination, categories=labels).codes.astype(np.int16)
    code[rng.random(n) < 0.0002] = -1
    cols["PRODUCT_COMBINATION"] = categorical(code, labels, TABLE, "PRODUCT_COMBINATION")
    return cols


def previous_product_labels() -> tuple[str, ...]:
    """Kaggle's PRODUCT_COMBINATION labels."""
    from service.applicant.schema import TABLES

    return TABLES[TABLE].column("PRODUCT_COMBINATION").categories
