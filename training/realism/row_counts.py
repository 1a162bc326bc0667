"""Rows per applicant in every child table (bureau_balance: per bureau credit), real against generated.

A count per applicant means something only when the child table holds *every* row of the applicants
counted. The report cannot prove that, so it checks what it can and assumes the rest:

* **linked**: at least ``LINK_SHARE`` of the child table's rows belong to an applicant of the real
  application tables given (application_train, plus application_test when present), and for
  bureau_balance, to a credit of a linked bureau table. A complete Kaggle table passes (all its rows
  belong to train or test applicants); a random sample of another table's rows, or rows of other
  applicants, does not, and its counts are not measured (the link share is reported instead).
* A linked table is taken to be complete for the applicants it holds: pass whole tables (Kaggle's files,
  or every row of a sample of applicants), never a random sample of a table's rows, whose counts would
  be thinned.

Counts are taken over the application_train applicants (0 for an applicant without rows), and for
bureau_balance over the bureau credits of those applicants. The published row totals of the full Kaggle
tables give a reference mean either way (total rows / all train and test applicants, or / bureau credits).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

from service.applicant.schema import CHILD_TABLES
from training.realism.distances import ks_statistic

__all__ = [
    "KAGGLE_ROWS",
    "LINK_SHARE",
    "CountDistribution",
    "Linkage",
    "RowCountComparison",
    "compare_row_counts",
    "count_distribution",
    "linkage",
    "rows_per_parent",
    "table_links",
]

LINK_SHARE = 0.8
"""Share of a child table's rows that must belong to the given parents for the table to count as linked."""

KAGGLE_ROWS = {
    "application": 307_511 + 48_744,
    "bureau": 1_716_428,
    "bureau_balance": 27_299_925,
    "previous_application": 1_670_214,
    "POS_CASH_balance": 10_001_358,
    "installments_payments": 13_605_401,
    "credit_card_balance": 3_840_312,
}
"""Rows of the full Kaggle tables (``application``: train and test applicants together)."""

QUANTILES = (0.5, 0.75, 0.9, 0.99)
"""Quantiles of the counts reported."""


def _parent(table: str) -> tuple[str, str]:
    """The key a table's rows are counted by, and what that key is."""
    return ("SK_ID_BUREAU", "bureau credit") if table == "bureau_balance" else ("SK_ID_CURR", "applicant")


@dataclass
class Linkage:
    """Whether a real child table's rows belong to the parents given."""

    rows: int
    """Rows of the child table."""
    linked_share: float
    """Share of those rows whose parent key is among the parents (NaN for an empty table)."""
    linked: bool
    """The share reaches :data:`LINK_SHARE` (and, for bureau_balance, bureau is linked too)."""


def linkage(child: pd.DataFrame, key: str, parents: pd.Index | np.ndarray) -> Linkage:
    """The share of ``child`` rows whose ``key`` is one of ``parents``, and whether it counts as linked."""
    rows = len(child)
    if rows == 0:
        return Linkage(0, float("nan"), False)
    share = float(child[key].isin(pd.Index(parents)).mean())
    return Linkage(rows, share, share >= LINK_SHARE)


def table_links(real: Mapping[str, pd.DataFrame]) -> dict[str, Linkage]:
    """The :class:`Linkage` of every real child table present, against all real applicants (train and test).

    bureau_balance is linked only when bureau is linked and its rows belong to bureau's credits.
    """
    applicants = pd.Index(
        np.concatenate(
            [
                real[name]["SK_ID_CURR"].to_numpy()
                for name in ("application_train", "application_test")
                if name in real
            ]
        )
    )
    links = {}
    for table in CHILD_TABLES:
        if table not in real:
            continue
        if table == "bureau_balance":
            credits = real["bureau"]["SK_ID_BUREAU"].to_numpy() if "bureau" in real else np.empty(0)
            link = linkage(real[table], "SK_ID_BUREAU", credits)
            bureau_linked = "bureau" in real and linkage(real["bureau"], "SK_ID_CURR", applicants).linked
            links[table] = Linkage(link.rows, link.linked_share, link.linked and bureau_linked)
        else:
            links[table] = linkage(real[table], "SK_ID_CURR", applicants)
    return links


def rows_per_parent(child: pd.DataFrame, key: str, parents: pd.Index | np.ndarray) -> np.ndarray:
    """Number of ``child`` rows of each parent, in the order of ``parents`` (0 for a parent without rows)."""
    counts = child[key].value_counts()
    return counts.reindex(pd.Index(parents), fill_value=0).to_numpy(dtype=np.int64)


@dataclass
class CountDistribution:
    """Distribution of the number of rows per parent."""

    parents: int
    """Parents counted (applicants, or bureau credits)."""
    zero_share: float
    """Share of parents without any row."""
    mean: float
    """Mean rows per parent."""
    quantiles: dict[str, float]
    """Quantiles of the rows per parent (``p50``, ``p75``, ``p90``, ``p99``) and ``max``."""


def count_distribution(counts: np.ndarray) -> CountDistribution:
    """Summary of an array of rows-per-parent counts."""
    counts = np.asarray(counts, dtype=np.float64)
    if counts.size == 0:
        return CountDistribution(0, float("nan"), float("nan"), {})
    quantiles = {f"p{round(q * 100)}": float(np.quantile(counts, q)) for q in QUANTILES}
    quantiles["max"] = float(counts.max())
    return CountDistribution(int(counts.size), float((counts == 0).mean()), float(counts.mean()), quantiles)


@dataclass
class RowCountComparison:
    """Rows per parent of one child table, real against generated."""

    table: str
    """Kaggle child table."""
    per: str
    """What a count is per: ``applicant`` or ``bureau credit``."""
    generated: CountDistribution
    """The generated data's counts."""
    real: CountDistribution | None
    """The real data's counts; ``None`` when they could not be measured (see ``note``)."""
    ks: float
    """KS statistic between the real and the generated counts (NaN when the real ones are missing)."""
    link: Linkage | None
    """How the real table links to the real parents; ``None`` when the real table is absent."""
    kaggle_mean: float
    """Mean rows per parent in the full Kaggle data, from its published row totals."""
    note: str
    """Why the real counts are absent, or an empty string."""


def _parents(tables: Mapping[str, pd.DataFrame], table: str) -> np.ndarray:
    """The parents counted: application_train applicants, or their bureau credits."""
    applicants = tables["application_train"]["SK_ID_CURR"].to_numpy()
    if table != "bureau_balance":
        return applicants
    bureau = tables.get("bureau")
    if bureau is None:
        return np.empty(0, dtype=np.int64)
    return bureau.loc[bureau["SK_ID_CURR"].isin(applicants), "SK_ID_BUREAU"].to_numpy()


def _real_counts(
    real: Mapping[str, pd.DataFrame], table: str, links: Mapping[str, Linkage]
) -> tuple[np.ndarray | None, str]:
    link = links.get(table)
    if link is None:
        return None, "no real table"
    if not link.linked:
        if table == "bureau_balance" and not links.get("bureau", Linkage(0, 0.0, False)).linked:
            return (
                None,
                "the real bureau table is not linked to the real applicants, so neither are its credits",
            )
        parents = "bureau credits" if table == "bureau_balance" else "applicants"
        return None, (
            f"only {link.linked_share:.1%} of the real rows belong to the real {parents}: the rows are not "
            "their histories"
        )
    key, _ = _parent(table)
    return rows_per_parent(real[table], key, _parents(real, table)), ""


def compare_row_counts(
    real: Mapping[str, pd.DataFrame], generated: Mapping[str, pd.DataFrame], links: Mapping[str, Linkage]
) -> list[RowCountComparison]:
    """Rows per parent in every child table, real (where linked) against generated.

    Args:
        real: the real tables (``application_train`` and whichever child tables are present).
        generated: the generated tables (all of them).
        links: the :class:`Linkage` of each real child table present.
    """
    comparisons = []
    for table in CHILD_TABLES:
        key, per = _parent(table)
        gen_counts = rows_per_parent(generated[table], key, _parents(generated, table))
        real_counts, note = _real_counts(real, table, links)
        parent_total = KAGGLE_ROWS["bureau"] if table == "bureau_balance" else KAGGLE_ROWS["application"]
        comparisons.append(
            RowCountComparison(
                table=table,
                per=per,
                generated=count_distribution(gen_counts),
                real=None if real_counts is None else count_distribution(real_counts),
                ks=float("nan") if real_counts is None else ks_statistic(real_counts, gen_counts),
                link=links.get(table),
                kaggle_mean=KAGGLE_ROWS[table] / parent_total,
                note=note,
            )
        )
    return comparisons
