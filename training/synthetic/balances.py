"""The monthly tables of previous credits: POS_CASH_balance, installments_payments, credit_card_balance.

* POS_CASH_balance: one row per month of every approved cash or consumer loan, from the decision month (at
  most 96 months back) to the month before the application, or to the month after its last instalment,
  which is ``Completed``. Some loans fall into arrears: their days past due (``SK_DPD``) grow by a month
  every month.
* installments_payments: one row per instalment due before the application (``NUM_INSTALMENT_VERSION`` 1,
  sometimes 2 after a rescheduling; some instalments are paid in two or three parts, one row each), plus
  one row (version 0) per card payment, or per missed minimum card payment (with nothing paid).
  Whether a payment is late (``DAYS_ENTRY_PAYMENT > DAYS_INSTALMENT``) or short (``AMT_PAYMENT <
  AMT_INSTALMENT``) depends on the applicant's latent risk and on the credit. An instalment not paid yet when
  the applicant applied has no payment date nor amount (as in Kaggle).
* credit_card_balance: one row per month of every approved card, from its decision month to the month before
  the application (or to its closing). Utilisation (balance over limit) is higher, and payments are missed
  more often, for applicants of high latent risk.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from training.synthetic._util import (
    DAYS_PER_MONTH,
    categorical,
    expand,
    frame,
    group_starts,
    round_to,
    sigmoid,
)
from training.synthetic.previous import CARD_LIMITS, CASH, CONSUMER, REVOLVING, CreditBook

POS_STATUSES = (
    "Active",
    "Completed",
    "Signed",
    "Demand",
    "Returned to the store",
    "Approved",
    "Amortized debt",
    "Canceled",
    "XNA",
)
CARD_STATUSES = ("Active", "Completed", "Signed", "Demand", "Sent proposal", "Refused", "Approved")


def _month(day: np.ndarray) -> np.ndarray:
    return np.floor(np.asarray(day, dtype=np.float64) / DAYS_PER_MONTH)


def make_balances(
    rng: np.random.Generator, book: CreditBook, sk_id_curr: np.ndarray, risk: np.ndarray
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """POS_CASH_balance, installments_payments and credit_card_balance for the credits of ``book``."""
    loans = np.flatnonzero(np.isin(book.kind, [CASH, CONSUMER]))
    cards = np.flatnonzero(book.kind == REVOLVING)
    r_credit = risk[book.owner]
    # credit-level behaviour: arrears and payment habits
    delinquent = rng.random(len(book.owner)) < sigmoid(-3.4 + 1.0 * r_credit)
    late_habit = sigmoid(-3.0 + 0.85 * r_credit + 1.2 * delinquent + rng.normal(0.0, 0.5, len(r_credit)))
    short_habit = sigmoid(-3.4 + 0.85 * r_credit + 0.8 * delinquent + rng.normal(0.0, 0.5, len(r_credit)))

    pos = _pos(rng, book, loans, sk_id_curr, delinquent)
    split_habit = sigmoid(-2.7 + 0.5 * r_credit)
    loan_instalments = _loan_instalments(rng, book, loans, sk_id_curr, late_habit, short_habit, split_habit)
    cc, card_instalments = _cards(rng, book, cards, sk_id_curr, r_credit, delinquent, late_habit)
    instalments = pd.concat([loan_instalments, card_instalments], ignore_index=True)
    return pos, instalments, cc


def _pos(
    rng: np.random.Generator,
    book: CreditBook,
    loans: np.ndarray,
    sk_id_curr: np.ndarray,
    delinquent: np.ndarray,
) -> pd.DataFrame:
    opening = np.where(rng.random(len(loans)) < 0.85, book.decision[loans], book.first_due[loans])
    first_month = np.maximum(_month(opening), -96).astype(np.int64)
    completed = book.completed[loans]
    last_month = np.where(completed, np.minimum(_month(book.end_day[loans]) + 1, -1), -1).astype(np.int64)
    last_month = np.maximum(last_month, first_month)
    counts = last_month - first_month + 1
    credit, position = expand(counts)
    loan = loans[credit]
    month = first_month[credit] + position
    n = len(month)

    term = book.term[loan]
    due_so_far = np.clip(
        np.floor((month * DAYS_PER_MONTH - book.first_due[loan]) / DAYS_PER_MONTH) + 1, 0, None
    )
    paid = np.minimum(due_so_far, book.paid_terms[loan])
    future = np.clip(term - paid, 0, None)
    is_last = position == counts[credit] - 1
    status = np.zeros(n, dtype=np.int16)
    status[is_last & completed[credit]] = 1
    future[status == 1] = 0.0
    status[(position == 0) & (rng.random(n) < 0.08) & ~is_last] = 2
    rare = rng.random(n)
    status[(rare < 0.0007) & (status == 0)] = 3
    status[(rare > 0.9995) & (status == 0)] = 4
    status[(rare > 0.0007) & (rare < 0.0012) & (status == 0)] = 5
    status[(rare > 0.0012) & (rare < 0.00126) & (status == 0)] = 6
    cnt_instalment = term.copy()
    no_count = rng.random(n) < 0.0026
    cnt_instalment[no_count] = np.nan
    future[no_count] = np.nan

    # arrears: from a start month on, days past due grow by a month every month; half of them are cured
    start = first_month + np.floor(rng.random(len(loans)) * counts).astype(np.int64)
    cured_after = np.where(rng.random(len(loans)) < 0.5, 1 + np.floor(rng.random(len(loans)) * 3), 10_000)
    since = month - start[credit]
    in_arrears = delinquent[loan] & (since >= 0) & (since < cured_after[credit]) & (status != 1)
    first_days = rng.integers(1, 31, len(loans))[credit]
    dpd = np.where(in_arrears, since * 30 + first_days, 0)
    sloppy = rng.random(n) < 0.012
    dpd = np.where(~in_arrears & sloppy & (status == 0), rng.integers(1, 16, n), dpd)
    strict = rng.random(len(loans)) < 0.35
    dpd_def = np.where(in_arrears & strict[credit], dpd, 0)
    return frame(
        "POS_CASH_balance",
        {
            "SK_ID_PREV": book.sk_id_prev[loan],
            "SK_ID_CURR": sk_id_curr[book.owner[loan]],
            "MONTHS_BALANCE": month,
            "CNT_INSTALMENT": cnt_instalment,
            "CNT_INSTALMENT_FUTURE": future,
            "NAME_CONTRACT_STATUS": categorical(
                status, POS_STATUSES, "POS_CASH_balance", "NAME_CONTRACT_STATUS"
            ),
            "SK_DPD": dpd,
            "SK_DPD_DEF": dpd_def,
        },
    )


def _pay(
    rng: np.random.Generator,
    due_day: np.ndarray,
    amount_due: np.ndarray,
    late_p: np.ndarray,
    short_p: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """Payment day and amount for instalments; NaN for those not paid by the application day."""
    n = len(due_day)
    late = rng.random(n) < late_p
    delay = np.where(late, 1 + np.round(rng.gamma(0.7, 14.0, n)), -np.round(rng.gamma(1.1, 8.5, n)))
    entry = due_day + delay
    short = rng.random(n) < short_p
    over = ~short & (rng.random(n) < 0.015)
    paid = np.where(
        short,
        amount_due * rng.beta(0.6, 0.6, n),
        np.where(over, amount_due * (1 + rng.exponential(0.3, n)), amount_due),
    )
    paid = np.round(paid, 3)
    unpaid = entry > -1
    entry = np.where(unpaid, np.nan, entry)
    paid = np.where(unpaid, np.nan, paid)
    return entry, paid


def _split_payments(
    rng: np.random.Generator, cols: dict[str, np.ndarray], split_p: np.ndarray | float
) -> dict[str, np.ndarray]:
    """Some instalments are paid in two or three parts: one row per part, same instalment, later days."""
    paid = cols["AMT_PAYMENT"]
    n = len(paid)
    splittable = ~np.isnan(paid) & (paid > 0)
    parts = np.where(splittable & (rng.random(n) < split_p), np.where(rng.random(n) < 0.25, 3, 2), 1)
    row, part = expand(parts)
    out = {name: values[row] for name, values in cols.items()}
    weight = rng.uniform(0.2, 1.0, len(row))
    share = weight / np.bincount(row, weights=weight, minlength=n)[row]
    out["AMT_PAYMENT"] = np.round(paid[row] * share, 3)
    later = np.round(rng.gamma(1.0, 5.0, len(row))) * part
    out["DAYS_ENTRY_PAYMENT"] = np.minimum(cols["DAYS_ENTRY_PAYMENT"][row] + later, -1.0)
    return out


def _loan_instalments(
    rng: np.random.Generator,
    book: CreditBook,
    loans: np.ndarray,
    sk_id_curr: np.ndarray,
    late_habit: np.ndarray,
    short_habit: np.ndarray,
    split_habit: np.ndarray,
) -> pd.DataFrame:
    first_due = book.first_due[loans]
    due_before = np.floor((-1 - first_due) / DAYS_PER_MONTH) + 1
    counts = np.clip(np.minimum(due_before, book.paid_terms[loans]), 0, None).astype(np.int64)
    credit, position = expand(counts)
    loan = loans[credit]
    number = position + 1
    due = first_due[credit] + np.round(position * DAYS_PER_MONTH)
    amount = book.annuity[loan].copy()
    # an early repayment settles the rest of the principal with the last instalment
    early_end = book.completed[loans] & (book.paid_terms[loans] < book.term[loans])
    last = number == counts[credit]
    settle = early_end[credit] & last
    remaining = book.term[loan] - book.paid_terms[loan]
    amount[settle] = amount[settle] * (1 + remaining[settle] * 0.85)
    amount = np.round(np.maximum(amount, 0.045), 3)
    rescheduled = rng.random(len(loans)) < 0.07
    change_at = 1 + np.floor(rng.random(len(loans)) * np.maximum(counts, 1))
    version = np.where(rescheduled[credit] & (number >= change_at[credit]), 2.0, 1.0)
    entry, paid = _pay(rng, due, amount, late_habit[loan], short_habit[loan])
    cols = {
        "SK_ID_PREV": book.sk_id_prev[loan],
        "SK_ID_CURR": sk_id_curr[book.owner[loan]],
        "NUM_INSTALMENT_VERSION": version,
        "NUM_INSTALMENT_NUMBER": number,
        "DAYS_INSTALMENT": due,
        "DAYS_ENTRY_PAYMENT": entry,
        "AMT_INSTALMENT": amount,
        "AMT_PAYMENT": paid,
    }
    return frame("installments_payments", _split_payments(rng, cols, split_habit[loan]))


def _cards(
    rng: np.random.Generator,
    book: CreditBook,
    cards: np.ndarray,
    sk_id_curr: np.ndarray,
    r_credit: np.ndarray,
    delinquent: np.ndarray,
    late_habit: np.ndarray,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    first_month = np.maximum(_month(book.decision[cards]), -96).astype(np.int64)
    closed = book.completed[cards]
    last_month = np.where(closed, np.minimum(_month(book.end_day[cards]) + 2, -1), -1).astype(np.int64)
    last_month = np.maximum(last_month, first_month)
    counts = last_month - first_month + 1
    credit, position = expand(counts)
    card = cards[credit]
    month = first_month[credit] + position
    n = len(month)
    m = len(cards)

    used = ~np.isnan(book.first_due[cards])
    limit_card = book.credit[cards]
    # limits move a little over time, and are zero before activation, after closing and on idle cards
    raise_at = np.floor(rng.random(m) * counts * 1.5)
    limit = np.where(position >= raise_at[credit], limit_card[credit] * 1.5, limit_card[credit])
    limit = np.minimum(CARD_LIMITS[-1] * 2.25, limit)
    after_close = closed[credit] & (month > _month(book.end_day[card]))
    zero_limit = (
        (~used[credit] & (rng.random(m) < 0.45)[credit])
        | after_close
        | (position == 0) & (rng.random(n) < 0.5)
    )
    limit = np.where(zero_limit, 0.0, limit)

    activity = rng.beta(2.0, 0.9, m)
    level = sigmoid(rng.normal(0.9 + 1.1 * r_credit[cards], 1.1))
    active = used[credit] & (rng.random(n) < activity[credit]) & (limit > 0) & ~after_close
    balance = np.where(active, limit * np.clip(level[credit] + rng.normal(0.0, 0.08, n), 0.0, 1.12), 0.0)
    balance = np.round(balance, 3)

    drawn = active & (rng.random(n) < 0.45)
    spent = np.where(drawn, limit * level[credit] * rng.uniform(0.02, 0.5, n), 0.0)
    atm_share = rng.beta(1.0, 1.0, m)[credit]
    atm = np.where(drawn, round_to(spent * atm_share, 4500.0), 0.0)
    other = np.where(drawn & (rng.random(n) < 0.004), np.round(spent * 0.2, 2), 0.0)
    pos_spent = np.where(drawn, np.round(np.maximum(spent - atm - other, 0.0), 3), 0.0)
    atm_count = np.ceil(atm / 18000.0)
    pos_count = np.minimum(np.ceil(pos_spent / 5000.0), 82.0)
    other_count = (other > 0).astype(np.float64)
    total_drawn = atm + other + pos_spent
    total_count = (atm_count + pos_count + other_count).astype(np.int64)

    min_due = np.round(np.where(balance > 0, np.maximum(balance * 0.05, 0.0), 0.0), 3)
    missed = (min_due > 0) & (rng.random(n) < sigmoid(-3.4 + 1.0 * r_credit[card] + 1.5 * delinquent[card]))
    pays_all = rng.random(n) < 0.05
    payment = np.where(pays_all, balance, min_due * (1.0 + rng.exponential(0.8, n)))
    payment = np.where(
        min_due > 0, np.where(missed, 0.0, np.round(np.minimum(payment, balance * 1.05), 3)), 0.0
    )
    # a month after an active one, an idle card is usually paid off
    starts = group_starts(counts)
    previous_balance = np.concatenate([[0.0], balance[:-1]])
    previous_balance[starts] = 0.0
    pays_off = (balance == 0) & (previous_balance > 0) & (rng.random(n) < 0.8)
    payment = np.where(pays_off, previous_balance, payment)
    quiet = ~active & ~drawn & (rng.random(n) < 0.36)
    payment_current = np.where(quiet, np.nan, payment)
    payment_total = np.where(rng.random(n) < 0.97, payment, np.round(payment * rng.uniform(0.5, 1.0, n), 3))
    no_regularity = (position == 0) & (rng.random(n) < 0.9) | (rng.random(n) < 0.04)
    regularity = np.where(no_regularity, np.nan, min_due)
    mature_month = (used[credit] & (limit > 0) & ~after_close).astype(np.int64)
    cumulative = np.cumsum(mature_month) - np.repeat(
        np.cumsum(mature_month)[starts] - mature_month[starts], counts
    )
    mature = np.where(no_regularity, np.nan, cumulative.astype(np.float64))

    status = np.zeros(n, dtype=np.int16)
    status[after_close] = 1
    status[(position == 0) & (rng.random(n) < 0.05) & (status == 0)] = 2
    rare = rng.random(n)
    status[(rare < 0.00003) & (status == 0)] = 3
    status[(rare > 0.99998) & (status == 0)] = 4
    status[(rare > 0.00003) & (rare < 0.00005) & (status == 0)] = 5
    status[(rare > 0.00005) & (rare < 0.00008) & (status == 0)] = 6
    start = first_month + np.floor(rng.random(m) * counts).astype(np.int64)
    since = month - start[credit]
    arrears = delinquent[card] & (since >= 0) & (balance > 0)
    dpd = np.where(arrears, since * 30 + rng.integers(1, 31, m)[credit], 0)
    dpd_def = np.where(arrears & (dpd <= 60) & (rng.random(n) < 0.3), dpd, 0)

    breakdown_missing = quiet
    cc = frame(
        "credit_card_balance",
        {
            "SK_ID_PREV": book.sk_id_prev[card],
            "SK_ID_CURR": sk_id_curr[book.owner[card]],
            "MONTHS_BALANCE": month,
            "AMT_BALANCE": balance,
            "AMT_CREDIT_LIMIT_ACTUAL": limit,
            "AMT_DRAWINGS_ATM_CURRENT": np.where(breakdown_missing, np.nan, atm),
            "AMT_DRAWINGS_CURRENT": total_drawn,
            "AMT_DRAWINGS_OTHER_CURRENT": np.where(breakdown_missing, np.nan, other),
            "AMT_DRAWINGS_POS_CURRENT": np.where(breakdown_missing, np.nan, pos_spent),
            "AMT_INST_MIN_REGULARITY": regularity,
            "AMT_PAYMENT_CURRENT": payment_current,
            "AMT_PAYMENT_TOTAL_CURRENT": payment_total,
            "AMT_RECEIVABLE_PRINCIPAL": np.round(balance * rng.uniform(0.93, 1.0, n), 3),
            "AMT_RECIVABLE": balance,
            "AMT_TOTAL_RECEIVABLE": balance,
            "CNT_DRAWINGS_ATM_CURRENT": np.where(breakdown_missing, np.nan, atm_count),
            "CNT_DRAWINGS_CURRENT": total_count,
            "CNT_DRAWINGS_OTHER_CURRENT": np.where(breakdown_missing, np.nan, other_count),
            "CNT_DRAWINGS_POS_CURRENT": np.where(breakdown_missing, np.nan, pos_count),
            "CNT_INSTALMENT_MATURE_CUM": mature,
            "NAME_CONTRACT_STATUS": categorical(
                status, CARD_STATUSES, "credit_card_balance", "NAME_CONTRACT_STATUS"
            ),
            "SK_DPD": dpd,
            "SK_DPD_DEF": dpd_def,
        },
    )

    # every card payment is an instalment row too (version 0): one to three payments in a paying month, the
    # amount due being what was paid; a missed minimum payment leaves a row with nothing paid
    payments_in_month = np.where(payment > 0, 1 + np.minimum(rng.poisson(1.1, n), 4), np.where(missed, 1, 0))
    row, _ = expand(payments_in_month)
    row_card = credit[row]
    per_card = np.bincount(row_card, minlength=m)
    number = np.arange(len(row)) - np.repeat(group_starts(per_card), per_card) + 1
    due = np.minimum(np.round(month[row] * DAYS_PER_MONTH + rng.integers(0, 28, len(row))), -1).astype(
        np.float64
    )
    weight = rng.uniform(0.2, 1.0, len(row))
    share = weight / np.bincount(row, weights=weight, minlength=n)[row]
    amount_due = np.where(payment[row] > 0, np.round(payment[row] * share, 3), min_due[row])
    late_p = late_habit[card[row]] * 0.5
    entry, paid = _pay(rng, due, amount_due, late_p, np.where(payment[row] > 0, 0.03, 1.0))
    paid = np.where(missed[row] & ~np.isnan(paid), 0.0, paid)
    instalments = frame(
        "installments_payments",
        {
            "SK_ID_PREV": book.sk_id_prev[card[row]],
            "SK_ID_CURR": sk_id_curr[book.owner[card[row]]],
            "NUM_INSTALMENT_VERSION": np.zeros(len(row)),
            "NUM_INSTALMENT_NUMBER": number,
            "DAYS_INSTALMENT": due,
            "DAYS_ENTRY_PAYMENT": entry,
            "AMT_INSTALMENT": amount_due,
            "AMT_PAYMENT": paid,
        },
    )
    return cc, instalments
