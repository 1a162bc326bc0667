"""The realism section of a training run's data report: the embedded generator against the real tables.

When training reads real Kaggle CSVs, :func:`realism_section` runs
:func:`training.realism.report.build_report` on the tables training already loaded, without its two slow
parts (the model ranking, and the correlations that need child-table features on both sides), and renders
the section and its plots for the model card.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from training.realism import REALISM_SECTION_ROWS
from training.realism.plots import draw_plots
from training.realism.render import render_training_section, training_section_plots
from training.realism.report import RealismConfig, RealismReport, build_report

__all__ = ["PLOT_DIR", "RealismSection", "realism_section"]

PLOT_DIR = "data/realism"
"""Folder (under the bundle's assets) that holds the section's plots."""


@dataclass
class RealismSection:
    """The realism section of the data report."""

    report: RealismReport
    """Everything measured (no model ranking, no child-table correlations)."""
    markdown: str
    """The section, a level-3 heading and what follows; plots linked relative to the model card."""
    plots: dict[str, bytes]
    """PNG files by path relative to the bundle's assets folder."""


def realism_section(
    tables: Mapping[str, pd.DataFrame],
    data_dir: Path,
    *,
    rows: int | None = REALISM_SECTION_ROWS,
    seed: int = 0,
) -> RealismSection:
    """Compare the generator with the real tables training loaded and render the data report's section.

    Args:
        tables: the cleaned tables training loaded from ``data_dir`` (application_train, optionally
            application_test and child tables); not changed.
        data_dir: where they were read from (named in the section).
        rows: the most real application rows compared, drawn at random (``None``: all); as many applicants
            are generated.
        seed: seed of that draw and of the generator.
    """
    config = RealismConfig(
        real_dir=Path(data_dir), seed=seed, real_rows=rows, models=False, child_correlations=False
    )
    report = build_report(config, tables=tables)
    started = time.perf_counter()
    drawn = draw_plots(report, training_section_plots(report))
    report.timings["plots"] = round(time.perf_counter() - started, 2)
    report.timings["total"] = round(report.timings["total"] + report.timings["plots"], 2)
    markdown = render_training_section(
        report, f"assets/{PLOT_DIR}/", real_total=len(tables["application_train"]), row_cap=rows
    )
    return RealismSection(report, markdown, {f"{PLOT_DIR}/{name}": png for name, png in drawn.items()})
