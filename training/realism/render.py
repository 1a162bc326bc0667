"""Write a :class:`~training.realism.report.RealismReport`: ``realism.md``, ``realism.json``, PNG plots."""

from __future__ import annotations

import dataclasses
import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from training.realism.correlations import CorrelationComparison
from training.realism.plots import draw_plots
from training.realism.ranking import ModelRun
from training.realism.report import RealismReport
from training.realism.row_counts import CountDistribution

__all__ = [
    "JSON_FILE",
    "MARKDOWN_FILE",
    "render_markdown",
    "render_training_section",
    "report_json",
    "training_section_plots",
    "write_report",
]

MARKDOWN_FILE = "realism.md"
"""The report as a Markdown document (tables, plots linked beside it)."""

JSON_FILE = "realism.json"
"""Every number of the report as JSON (NaN written as null)."""

WORST_SHOWN = 5
"""Columns named in the summary's worst-columns line."""


def _number(value: float | None, digits: int = 3) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "n/a"
    return f"{value:.{digits}f}"


def _share(value: float | None) -> str:
    if value is None or math.isnan(value):
        return "n/a"
    return f"{value:.1%}"


def _plain(value: Any) -> Any:
    """``value`` made JSON-ready: dataclasses and frames to dicts, NaN to None, numpy scalars to Python."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        out = {f.name: _plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
        if isinstance(value, ModelRun):
            out["ranking"] = value.ranking
            out["lightgbm_share_of_true"] = _plain(value.lightgbm_share_of_true)
        return out
    if isinstance(value, pd.DataFrame):
        return {
            "rows": [str(i) for i in value.index],
            "columns": [str(c) for c in value.columns],
            "values": _plain(value.to_numpy(dtype=np.float64).tolist()),
        }
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def report_json(report: RealismReport) -> dict[str, Any]:
    """Every number of the report as a JSON-ready dict (the fields of :class:`RealismReport`)."""
    return _plain(report)


def _summary(report: RealismReport) -> list[str]:
    marginals = report.marginals
    worst = ", ".join(f"{c.column} {c.distance:.3f}" for c in marginals.columns[:WORST_SHOWN])
    lines = [
        "| measure | value |",
        "|---|---|",
        f"| marginal distance, median over {len(marginals.columns)} application columns | "
        f"{_number(marginals.median)} |",
        f"| marginal distance, max | {_number(marginals.maximum)} ({marginals.columns[0].column}) |",
        f"| columns above {marginals.threshold:.2f} | {len(marginals.flagged)}"
        f"{': ' + ', '.join(marginals.flagged) if marginals.flagged else ''} |",
        f"| worst {WORST_SHOWN} columns | {worst} |",
        f"| building block entirely missing, real / generated | {_share(report.block.real.all_missing)} / "
        f"{_share(report.block.generated.all_missing)} |",
        f"| application correlations, median / max abs difference | "
        f"{_number(report.application_correlations.gap.median_abs_difference)} / "
        f"{_number(report.application_correlations.gap.max_abs_difference)} |",
    ]
    history = report.history_correlations
    if history is None:
        lines.append(f"| application vs child-aggregate correlations | {report.history_note} |")
    else:
        lines.append(
            f"| application vs child-aggregate correlations, median / max abs difference | "
            f"{_number(history.gap.median_abs_difference)} / {_number(history.gap.max_abs_difference)} |"
        )
    for run in report.models:
        true = ""
        if run.true_probability_auc is not None:
            true = f"; true probability {_number(run.true_probability_auc)}"
        lines.append(
            f"| model ranking, {run.label} | LightGBM {_number(run.holdout_auc['lightgbm'])}, logistic "
            f"{_number(run.holdout_auc['logistic_regression'])}, gap {run.gap:+.3f}{true} |"
        )
    lines.append(f"| run time | {report.timings.get('total', float('nan')):.0f} s |")
    return lines


def _marginal_section(report: RealismReport) -> list[str]:
    marginals = report.marginals
    lines = [
        "## 1. Marginals of the application columns",
        "",
        "Numeric columns: Kolmogorov-Smirnov statistic (KS); text columns and 0/1 flags: total variation "
        "distance (TVD). A column's distance is the larger of the measure on the present values "
        "(`present only`) and the difference of the missing shares. `missing as a value` is the measure "
        "with missing taken as one more label (TVD) or as a point mass below every value (KS), which "
        "weighs a difference of the present values by their share. Both sides are cleaned like training "
        "data (the 365243 day sentinel and XNA are missing).",
        "",
        f"Median {_number(marginals.median)}, max {_number(marginals.maximum)}; flagged (above "
        f"{marginals.threshold:.2f}): {', '.join(marginals.flagged) or 'none'}.",
        "",
        "### The building-information block (`*_AVG`, `*_MODE`, `*_MEDI`)",
        "",
        *_block_table(report, ""),
        "### Every column, largest distance first",
        "",
        "![marginal distances](marginals.png)",
        "",
        "| column | kind | measure | distance | present only | missing as a value | missing real "
        "| missing generated | flag |",
        "|---|---|---|---:|---:|---:|---:|---:|---|",
    ]
    for c in marginals.columns:
        flag = "**above**" if c.distance > marginals.threshold else ""
        lines.append(
            f"| {c.column} | {c.kind} | {c.measure} | {_number(c.distance)} | "
            f"{_number(c.present_distance)} | {_number(c.missing_as_value)} | {_share(c.missing_real)} | "
            f"{_share(c.missing_generated)} | "
            f"{flag} |"
        )
    return lines


def _block_table(report: RealismReport, plots: str) -> list[str]:
    """The building-information block's pattern; ``plots`` prefixes the plot's file name."""
    block = report.block
    return [
        f"{block.columns} columns. TVD between the distributions of the number of block columns present in a "
        f"row: {_number(block.distance)}.",
        "",
        "| rows | real | generated |",
        "|---|---:|---:|",
        f"| every block column missing | {_share(block.real.all_missing)} | "
        f"{_share(block.generated.all_missing)} |",
        f"| partly present | {_share(block.real.partly_present)} | "
        f"{_share(block.generated.partly_present)} |",
        f"| every block column present | {_share(block.real.all_present)} | "
        f"{_share(block.generated.all_present)} |",
        "",
        f"![building-information block]({plots}block_missingness.png)",
        "",
    ]


def _correlation_lines(comparison: CorrelationComparison, plot: str | None) -> list[str]:
    gap = comparison.gap
    worst = " x ".join(gap.worst_pair) if gap.worst_pair else "n/a"
    lines = [
        f"Selection: {comparison.selection}. {gap.pairs} pairs compared; median |real - generated| "
        f"{_number(gap.median_abs_difference)}, max {_number(gap.max_abs_difference)} ({worst}).",
        "",
    ]
    if plot:
        lines += [f"![{comparison.name}]({plot})", ""]
    return lines


def _correlation_section(report: RealismReport) -> list[str]:
    lines = [
        "## 2. Joint structure (Spearman rank correlations, pairwise-complete rows)",
        "",
        "### Among application columns",
        "",
        *_correlation_lines(report.application_correlations, "application_correlations.png"),
        "### Application columns against child-table aggregates",
        "",
    ]
    if report.history_correlations is None:
        lines += [report.history_note[:1].upper() + report.history_note[1:] + ".", ""]
    else:
        lines += _correlation_lines(report.history_correlations, "history_correlations.png")
    lines += [
        "### Within each child table, row by row",
        "",
        "These need no link between the tables (a random sample of a table's rows keeps them).",
        "",
        "| table | columns | pairs | median abs difference | max abs difference | worst pair |",
        "|---|---:|---:|---:|---:|---|",
    ]
    for comparison in report.table_correlations:
        gap = comparison.gap
        lines.append(
            f"| {comparison.name.removeprefix('rows of ')} | {len(comparison.real.columns)} | {gap.pairs} | "
            f"{_number(gap.median_abs_difference)} | {_number(gap.max_abs_difference)} | "
            f"{' x '.join(gap.worst_pair) if gap.worst_pair else 'n/a'} |"
        )
    return [*lines, ""]


def _distribution(counts: CountDistribution | None) -> str:
    if counts is None:
        return "n/a"
    q = counts.quantiles
    quantiles = "/".join(_number(q.get(k), 0) for k in ("p50", "p90", "p99", "max"))
    return f"{_share(counts.zero_share)}, {_number(counts.mean, 2)}, {quantiles}"


def _row_count_section(report: RealismReport) -> list[str]:
    return [
        "## 3. Rows per applicant in each child table",
        "",
        *_row_count_table(report),
        "",
        "![rows per applicant](row_counts.png)",
        "",
    ]


def _row_count_table(report: RealismReport) -> list[str]:
    lines = [
        "Counted over the application_train applicants (bureau_balance: over their bureau credits), zero "
        "rows included. Real counts are measured only for a real table whose rows belong to the real "
        "applicants (at least 80 % of its rows; the report then assumes the table holds their whole "
        "history). The Kaggle mean is the full data's published row total divided by all its train and "
        "test applicants (or its bureau credits).",
        "",
        "| table | real rows linked | real: zero, mean, p50/p90/p99/max "
        "| generated: zero, mean, p50/p90/p99/max | KS | Kaggle mean | note |",
        "|---|---:|---|---|---:|---:|---|",
    ]
    for c in report.row_counts:
        linked = "absent" if c.link is None else _share(c.link.linked_share)
        lines.append(
            f"| {c.table} per {c.per} | {linked} | {_distribution(c.real)} | {_distribution(c.generated)} | "
            f"{_number(c.ks)} | {_number(c.kaggle_mean, 2)} | {c.note} |"
        )
    return lines


def _model_section(report: RealismReport) -> list[str]:
    if not report.models:
        return ["## 4. Model ranking", "", "Not run (`--no-models`).", ""]
    names = list(report.models[0].holdout_auc)
    lines = [
        "## 4. Model ranking (the default pipeline's comparison, holdout ROC AUC)",
        "",
        "Each row is one run of the training pipeline's model comparison (selection, cross-validated "
        "baselines, time-boxed LightGBM tuning, refits) without interpretation. The gap is LightGBM minus "
        "logistic regression, with the 5th-95th percentiles of a paired bootstrap over the holdout rows. The "
        "true probability is the generator's default probability of each holdout applicant.",
        "",
        f"| data | tables | applicants | holdout | base rate | features | {' | '.join(names)} | gap (5-95 %) "
        "| true probability | LightGBM / true | seconds |",
        f"|---|---|---:|---:|---:|---:|{'---:|' * len(names)}---|---:|---:|---:|",
    ]
    for run in report.models:
        aucs = " | ".join(_number(run.holdout_auc[n]) for n in names)
        lines.append(
            f"| {run.label} | {', '.join(run.tables)} | {run.applicants} | {run.holdout_rows} | "
            f"{_share(run.base_rate)} | {run.features} | {aucs} | {run.gap:+.3f} ({run.gap_low:+.3f} to "
            f"{run.gap_high:+.3f}) | {_number(run.true_probability_auc)} | "
            f"{_number(run.lightgbm_share_of_true)} | {run.seconds:.0f} |"
        )
    lines += [
        "",
        "Ranking, best first: " + "; ".join(f"{r.label}: {' > '.join(r.ranking)}" for r in report.models),
    ]
    return [*lines, "", "![model ranking](models.png)", ""]


def training_section_plots(report: RealismReport) -> list[str]:
    """The plots a training run's realism section links: marginals, block, application correlations, and
    rows per applicant when some real counts were measured."""
    names = ["marginals.png", "block_missingness.png", "application_correlations.png"]
    if any(c.real is not None for c in report.row_counts):
        names.append("row_counts.png")
    return names


def render_training_section(
    report: RealismReport, plots: str, *, real_total: int, row_cap: int | None
) -> str:
    """The realism section of a training run's data report (a level-3 heading and what follows).

    Args:
        report: measured without the model ranking and the child-table correlations.
        plots: prefix of the plots' paths as the Markdown links them (e.g. ``assets/data/realism/``); the
            plots linked are those of :func:`training_section_plots`.
        real_total: real application_train rows before any subsampling.
        row_cap: the most real rows compared (``None``: all).
    """
    compared = report.real_rows["application_train"]
    sample = f"all {compared:,} real application rows"
    if compared < real_total:
        sample = (
            f"a random {compared:,} of the {real_total:,} real application rows (drawn with the "
            "generator's seed)"
        )
    cap = "no cap" if row_cap is None else f"at most {row_cap:,}"
    lines = [
        "### Realism: the embedded generator against this data",
        "",
        "How far the synthetic generator behind the default model (`training/synthetic/`) is from the real "
        f"tables trained on here: {sample}, {cap} (`TrainingConfig.realism_rows`, "
        "`--realism-rows`), against as many generated applicants, both cleaned like training data. The "
        "measures are those of the realism report (docs/realism.md); the full report, "
        "`python -m training realism --real DIR`, adds the model ranking and the correlations that involve "
        "child tables, too slow for every training run. `--no-realism-in-report` leaves this section out.",
        "",
        f"- Real: {report.real_source}.",
        f"- Generated: {report.generated_source}.",
        f"- TARGET = 1: real {_share(report.base_rates['real'])}, generated "
        f"{_share(report.base_rates['generated'])}.",
        "",
        *_summary(report),
        "",
        f"![marginal distances]({plots}marginals.png)",
        "",
        f"![application correlations]({plots}application_correlations.png)",
        "",
        "#### The building-information block (`*_AVG`, `*_MODE`, `*_MEDI`)",
        "",
        *_block_table(report, plots),
        "#### Rows per applicant in each child table",
        "",
        *_row_count_table(report),
        "",
    ]
    if "row_counts.png" in training_section_plots(report):
        lines += [f"![rows per applicant]({plots}row_counts.png)", ""]
    return "\n".join(lines)


def render_markdown(report: RealismReport) -> str:
    """The report as a Markdown document; plots are linked by file name (written beside it)."""
    tables = ", ".join(f"{name} {rows:,}" for name, rows in report.real_rows.items())
    links = ", ".join(
        f"{name} {_share(link.linked_share)}{'' if link.linked else ' (not linked)'}"
        for name, link in report.links.items()
    )
    lines = [
        "# Realism report: generated data against real Kaggle-schema tables",
        "",
        f"- Real: {report.real_source}; rows: {tables}.",
        f"- Real child rows belonging to the real applicants: {links or 'no child table'}.",
        f"- Generated: {report.generated_source}; application_train rows "
        f"{report.generated_rows['application_train']:,}.",
        f"- TARGET = 1: real {_share(report.base_rates['real'])}, generated "
        f"{_share(report.base_rates['generated'])}.",
        "",
        "## Summary",
        "",
        *_summary(report),
        "",
        *_marginal_section(report),
        "",
        *_correlation_section(report),
        *_row_count_section(report),
        *_model_section(report),
        "## Timings (seconds)",
        "",
        "| step | seconds |",
        "|---|---:|",
        *(f"| {name} | {seconds:.1f} |" for name, seconds in report.timings.items()),
    ]
    return "\n".join(lines) + "\n"


def write_report(report: RealismReport, out_dir: Path) -> dict[str, Path]:
    """Write the Markdown, the JSON and the plots into ``out_dir`` (created); the paths by file name."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    written = {}
    for name, data in draw_plots(report).items():
        written[name] = out_dir / name
        written[name].write_bytes(data)
    written[MARKDOWN_FILE] = out_dir / MARKDOWN_FILE
    written[MARKDOWN_FILE].write_text(render_markdown(report))
    written[JSON_FILE] = out_dir / JSON_FILE
    written[JSON_FILE].write_text(json.dumps(report_json(report), indent=2, allow_nan=False) + "\n")
    return written
