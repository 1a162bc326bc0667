"""The realism report's plots, as PNG bytes by file name (matplotlib, Agg backend: no display needed)."""

from __future__ import annotations

import io
from collections.abc import Callable, Collection

import numpy as np

from training.realism.correlations import CorrelationComparison
from training.realism.report import RealismReport

__all__ = ["draw_plots"]

REAL_COLOR = "#4c72b0"
GENERATED_COLOR = "#dd8452"
SHOWN_COLUMNS = 30
"""Columns shown in the marginal-distance plot (the largest distances)."""


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _png(fig) -> bytes:
    plt = _pyplot()
    buffer = io.BytesIO()
    fig.tight_layout()
    fig.savefig(buffer, format="png", dpi=90)
    plt.close(fig)
    return buffer.getvalue()


def _marginals(report: RealismReport) -> bytes:
    plt = _pyplot()
    shown = report.marginals.columns[:SHOWN_COLUMNS][::-1]
    fig, ax = plt.subplots(figsize=(8, 0.22 * len(shown) + 1.4))
    colors = ["#c44e52" if c.distance > report.marginals.threshold else REAL_COLOR for c in shown]
    ax.barh([f"{c.column} ({c.measure})" for c in shown], [c.distance for c in shown], color=colors)
    ax.axvline(report.marginals.threshold, color="black", linestyle="--", linewidth=1)
    ax.set_xlabel("distance: the larger of the present-value measure and the missing-share gap")
    ax.set_title(
        f"Largest marginal distances (median {report.marginals.median:.3f} over "
        f"{len(report.marginals.columns)} columns)",
        fontsize=9,
    )
    ax.tick_params(axis="y", labelsize=7)
    return _png(fig)


def _block(report: RealismReport) -> bytes:
    plt = _pyplot()
    block = report.block
    counts = np.arange(block.columns + 1)
    real = [block.real.present_counts.get(int(k), 0.0) for k in counts]
    generated = [block.generated.present_counts.get(int(k), 0.0) for k in counts]
    fig, ax = plt.subplots(figsize=(7, 3))
    ax.bar(counts - 0.2, real, width=0.4, color=REAL_COLOR, label="real")
    ax.bar(counts + 0.2, generated, width=0.4, color=GENERATED_COLOR, label="generated")
    ax.set_xlabel(f"building-information columns present (of {block.columns})")
    ax.set_ylabel("share of applicants")
    ax.set_title(
        f"Building-information block: present columns per row (TVD {block.distance:.3f})", fontsize=9
    )
    ax.legend(fontsize=8)
    return _png(fig)


def _heatmaps(comparison: CorrelationComparison) -> bytes:
    plt = _pyplot()
    panels = (
        ("real", comparison.real, "coolwarm", -1.0, 1.0),
        ("generated", comparison.generated, "coolwarm", -1.0, 1.0),
        ("|real - generated|", (comparison.real - comparison.generated).abs(), "Reds", 0.0, 1.0),
    )
    rows, cols = comparison.real.shape
    fig, axes = plt.subplots(1, 3, figsize=(15, 0.2 * rows + 2.5))
    for ax, (title, matrix, cmap, low, high) in zip(axes, panels, strict=True):
        image = ax.imshow(matrix.to_numpy(dtype=np.float64), cmap=cmap, vmin=low, vmax=high)
        ax.set_title(title, fontsize=9)
        ax.set_xticks(range(cols), comparison.real.columns, rotation=90, fontsize=6)
        ax.set_yticks(range(rows), comparison.real.index, fontsize=6)
        fig.colorbar(image, ax=ax, shrink=0.6)
    fig.suptitle(
        f"Spearman correlations, {comparison.name}: median |difference| "
        f"{comparison.gap.median_abs_difference:.3f}, max {comparison.gap.max_abs_difference:.3f}",
        fontsize=10,
    )
    return _png(fig)


def _row_counts(report: RealismReport) -> bytes:
    plt = _pyplot()
    comparisons = report.row_counts
    labels = ("p50", "p75", "p90", "p99")
    positions = np.arange(len(labels))
    fig, axes = plt.subplots(2, 3, figsize=(12, 6))
    for ax, comparison in zip(axes.ravel(), comparisons, strict=False):
        generated = comparison.generated
        title = (
            f"{comparison.table} rows per {comparison.per}\nzero rows: generated {generated.zero_share:.0%}"
        )
        ax.bar(
            positions + 0.2,
            [generated.quantiles.get(k, np.nan) for k in labels],
            width=0.4,
            color=GENERATED_COLOR,
            label="generated",
        )
        if comparison.real is not None:
            real = comparison.real
            ax.bar(
                positions - 0.2,
                [real.quantiles.get(k, np.nan) for k in labels],
                width=0.4,
                color=REAL_COLOR,
                label="real",
            )
            title += f", real {real.zero_share:.0%}"
        else:
            title += ", real not measurable"
        ax.set_xticks(positions, labels, fontsize=7)
        ax.set_title(title, fontsize=8)
        ax.legend(fontsize=7)
    for ax in axes.ravel()[len(comparisons) :]:
        ax.axis("off")
    return _png(fig)


def _models(report: RealismReport) -> bytes:
    plt = _pyplot()
    runs = report.models
    names = list(runs[0].holdout_auc)
    fig, ax = plt.subplots(figsize=(8, 3.5))
    width = 0.8 / len(runs)
    positions = np.arange(len(names))
    for i, run in enumerate(runs):
        ax.bar(
            positions + (i - (len(runs) - 1) / 2) * width,
            [run.holdout_auc[n] for n in names],
            width=width,
            label=f"{run.label} (gap {run.gap:+.3f})",
        )
        if run.true_probability_auc is not None:
            ax.axhline(run.true_probability_auc, linestyle=":", linewidth=1, color=f"C{i}")
    ax.set_xticks(positions, names)
    ax.set_ylim(0.45, 1.0)
    ax.set_ylabel("holdout ROC AUC")
    ax.set_title("Model ranking (dotted: true probability's AUC on the generated holdout)", fontsize=9)
    ax.legend(fontsize=7)
    return _png(fig)


def draw_plots(report: RealismReport, names: Collection[str] | None = None) -> dict[str, bytes]:
    """Every plot of the report by file name, or only those of ``names`` the report can draw."""
    drawers: dict[str, Callable[[], bytes]] = {
        "marginals.png": lambda: _marginals(report),
        "block_missingness.png": lambda: _block(report),
        "application_correlations.png": lambda: _heatmaps(report.application_correlations),
        "row_counts.png": lambda: _row_counts(report),
    }
    history = report.history_correlations
    if history is not None:
        drawers["history_correlations.png"] = lambda: _heatmaps(history)
    if report.models:
        drawers["models.png"] = lambda: _models(report)
    return {name: draw() for name, draw in drawers.items() if names is None or name in names}
