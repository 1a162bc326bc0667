"""The data report: the original project's exploration, automated.

Rows and columns per table, missing values, duplicates, target balance, and the distribution of every
selected feature by target, as markdown plus PNG plots that sit beside the model card. When training on real
tables, it ends with how far the embedded generator is from them (:mod:`training.realism.card_section`).
"""

from __future__ import annotations

import io
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

if TYPE_CHECKING:  # the realism package imports the training pipeline, which imports this module
    from training.realism.card_section import RealismSection

KEY_COLUMNS = {
    "application_train": ["SK_ID_CURR"],
    "application_test": ["SK_ID_CURR"],
    "bureau": ["SK_ID_BUREAU"],
    "bureau_balance": ["SK_ID_BUREAU", "MONTHS_BALANCE"],
    "previous_application": ["SK_ID_PREV"],
    "POS_CASH_balance": ["SK_ID_PREV", "MONTHS_BALANCE"],
    "installments_payments": [
        "SK_ID_PREV",
        "NUM_INSTALMENT_VERSION",
        "NUM_INSTALMENT_NUMBER",
        "DAYS_ENTRY_PAYMENT",
    ],
    "credit_card_balance": ["SK_ID_PREV", "MONTHS_BALANCE"],
}
"""Columns that identify a row of each Kaggle table, used to count duplicated keys."""

PLOT_DIR = "data"
"""Folder (under the bundle's assets) that holds the data report's plots."""


@dataclass
class TableSummary:
    """Shape and quality figures of one input table."""

    name: str
    """Kaggle table name."""
    rows: int
    """Number of rows."""
    columns: int
    """Number of columns."""
    missing_share: float
    """Share of missing cells over the whole table."""
    columns_mostly_missing: int
    """Columns more than 60 % missing."""
    duplicate_rows: int
    """Rows identical to an earlier row on every column."""
    duplicate_keys: int
    """Rows whose identifying key (see :data:`KEY_COLUMNS`) repeats an earlier row's."""
    worst_missing: dict[str, float] = field(default_factory=dict)
    """The five most-missing columns and their missing share."""


@dataclass
class DataReport:
    """The rendered data report."""

    tables: list[TableSummary]
    """One summary per input table, in input order."""
    target_rate: float
    """Share of applicants with TARGET = 1."""
    applicants: int
    """Number of labelled applicants."""
    markdown: str
    """The report as a markdown section (plots linked relative to the model card)."""
    plots: dict[str, bytes]
    """PNG files by path relative to the bundle's assets folder."""
    realism: RealismSection | None = None
    """The generator against the real tables (its markdown and plots are in the two fields above);
    ``None`` for synthetic data, or when switched off."""


def summarise_table(name: str, table: pd.DataFrame) -> TableSummary:
    """Compute the shape, missing-value and duplicate figures of one table."""
    rows, columns = table.shape
    missing = table.isna().mean() if rows else pd.Series(0.0, index=table.columns)
    keys = [c for c in KEY_COLUMNS.get(name, []) if c in table.columns]
    duplicate_rows = int(_hash_rows(table).duplicated().sum()) if rows else 0
    duplicate_keys = int(table.duplicated(subset=keys).sum()) if rows and keys else 0
    return TableSummary(
        name=name,
        rows=int(rows),
        columns=int(columns),
        missing_share=float(missing.mean()) if columns else 0.0,
        columns_mostly_missing=int((missing > 0.6).sum()),
        duplicate_rows=duplicate_rows,
        duplicate_keys=duplicate_keys,
        worst_missing={k: round(float(v), 4) for k, v in missing.nlargest(5).items() if v > 0},
    )


def build_data_report(
    tables: Mapping[str, pd.DataFrame],
    features: pd.DataFrame,
    target: pd.Series,
    *,
    max_plots: int = 40,
    realism: RealismSection | None = None,
) -> DataReport:
    """Summarise the input tables and plot the selected features by target.

    ``features`` holds the selected feature columns of the labelled applicants and ``target`` their TARGET,
    on the same index. ``realism`` (:func:`training.realism.card_section.realism_section`) is appended as
    the report's last section, its plots added to the report's.
    """
    summaries = [summarise_table(name, table) for name, table in tables.items()]
    plots = {f"{PLOT_DIR}/target_balance.png": _plot_target_balance(target)}
    for column in list(features.columns)[:max_plots]:
        plots[f"{PLOT_DIR}/feature_{column}.png"] = _plot_feature_by_target(features[column], target)
    target_rate = float(target.mean())
    markdown = _render(summaries, target, target_rate, list(features.columns)[:max_plots])
    if realism is not None:
        markdown += "\n" + realism.markdown
        plots.update(realism.plots)
    return DataReport(summaries, target_rate, len(target), markdown, plots, realism)


def _hash_rows(table: pd.DataFrame) -> pd.Series:
    """One 64-bit hash per row: cheaper than comparing wide rows for duplicates."""
    return pd.util.hash_pandas_object(table, index=False)


def _render(summaries: list[TableSummary], target: pd.Series, rate: float, plotted: list[str]) -> str:
    lines = [
        "## Data",
        "",
        "| table | rows | columns | missing cells | columns > 60 % missing | duplicate rows "
        "| duplicate keys |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for s in summaries:
        lines.append(
            f"| {s.name} | {s.rows:,} | {s.columns} | {s.missing_share:.1%} | {s.columns_mostly_missing} "
            f"| {s.duplicate_rows:,} | {s.duplicate_keys:,} |"
        )
    lines += ["", "Most-missing columns per table:", ""]
    for s in summaries:
        worst = ", ".join(f"{k} {v:.0%}" for k, v in s.worst_missing.items()) or "none missing"
        lines.append(f"- **{s.name}**: {worst}")
    positives = int(target.sum())
    lines += [
        "",
        f"Target balance: {positives:,} defaults among {len(target):,} applicants ({rate:.2%}).",
        "",
        f"![target balance](assets/{PLOT_DIR}/target_balance.png)",
        "",
        "### Selected features by target",
        "",
    ]
    lines += [f"![{c}](assets/{PLOT_DIR}/feature_{c}.png)" for c in plotted]
    return "\n".join(lines) + "\n"


def _plot_target_balance(target: pd.Series) -> bytes:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    counts = target.value_counts().reindex([0, 1], fill_value=0)
    fig, ax = plt.subplots(figsize=(4, 3))
    ax.bar(["repaid (0)", "default (1)"], counts.to_numpy(), color=["#4c72b0", "#c44e52"])
    ax.set_ylabel("applicants")
    ax.set_title("Target balance")
    return _png(fig)


def _plot_feature_by_target(values: pd.Series, target: pd.Series) -> bytes:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5, 3))
    finite = values.replace([np.inf, -np.inf], np.nan)
    present = finite.dropna()
    if present.empty:
        ax.text(0.5, 0.5, "all values missing", ha="center", va="center")
    else:
        low, high = present.quantile([0.005, 0.995])
        bins = np.linspace(low, high, 40) if high > low else 10
        for label, color in ((0, "#4c72b0"), (1, "#c44e52")):
            subset = finite[target == label].dropna()
            if not subset.empty:
                ax.hist(
                    subset.clip(low, high),
                    bins=bins,
                    density=True,
                    alpha=0.5,
                    color=color,
                    label=f"TARGET={label}",
                )
        ax.legend(fontsize=7)
    ax.set_title(f"{values.name} (missing {values.isna().mean():.0%})", fontsize=9)
    return _png(fig)


def _png(fig: object) -> bytes:
    import matplotlib.pyplot as plt

    buffer = io.BytesIO()
    fig.tight_layout()  # type: ignore[attr-defined]
    fig.savefig(buffer, format="png", dpi=80)  # type: ignore[attr-defined]
    plt.close(fig)  # type: ignore[arg-type]
    return buffer.getvalue()
