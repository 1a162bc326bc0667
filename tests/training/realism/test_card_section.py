"""The realism section of a training run's data report: training.realism's numbers on loaded tables."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from service.applicant.schema import CHILD_TABLES
from training.loader import clean_table, load_tables
from training.realism.card_section import PLOT_DIR, realism_section
from training.realism.report import RealismConfig, build_report
from training.synthetic import generate

RANDOM_APPLICATIONS = "application_train_random5000"
RANDOM_CHILD_ROWS = "child_tables_random20000"


def _percent(share: float) -> str:
    return f"{share:.1%}"


def test_the_section_has_the_numbers_of_the_full_report_on_the_real_samples(
    homecredit_sample: Path, tmp_path: Path
) -> None:
    """The section, on the samples loaded as training loads them, against the realism report read from disk
    (its child-table correlations on, its model ranking off): same subsample, same generated rows, same
    numbers."""
    applications = homecredit_sample / RANDOM_APPLICATIONS
    children = homecredit_sample / RANDOM_CHILD_ROWS
    present = [name for name in CHILD_TABLES if (children / f"{name}.csv").is_file()]
    tables = load_tables(applications, ["application_train"]) | load_tables(children, present)
    given = {name: len(table) for name, table in tables.items()}

    section = realism_section(tables, applications, rows=2000, seed=3)
    full = build_report(
        RealismConfig(real_dir=applications, history_dir=children, real_rows=2000, seed=3, models=False),
        log=lambda _line: None,
    )

    assert {name: len(table) for name, table in tables.items()} == given  # the tables are not changed
    report = section.report
    assert report.real_rows["application_train"] == full.real_rows["application_train"] == 2000
    assert report.generated_rows == full.generated_rows
    assert report.marginals == full.marginals
    assert report.block == full.block
    assert report.application_correlations.gap == full.application_correlations.gap
    pd.testing.assert_frame_equal(report.application_correlations.real, full.application_correlations.real)
    assert repr(report.row_counts) == repr(full.row_counts)  # repr: NaN (no real counts) equals itself
    assert report.links == full.links
    # the slow parts are left out, and said to be
    assert report.models == [] and report.table_correlations == [] and report.history_correlations is None
    assert full.table_correlations  # the full report has them on the same tables

    markdown = section.markdown
    marginals = report.marginals
    gap = report.application_correlations.gap
    assert markdown.startswith("### Realism: the embedded generator against this data")
    assert "a random 2,000 of the 5,000 real application rows" in markdown
    assert f"| marginal distance, median over 120 application columns | {marginals.median:.3f} |" in markdown
    worst = ", ".join(f"{c.column} {c.distance:.3f}" for c in marginals.columns[:5])
    assert f"| worst 5 columns | {worst} |" in markdown
    assert (
        f"| application correlations, median / max abs difference | {gap.median_abs_difference:.3f} / "
        f"{gap.max_abs_difference:.3f} |"
    ) in markdown
    block = report.block
    assert (
        f"| every block column missing | {_percent(block.real.all_missing)} | "
        f"{_percent(block.generated.all_missing)} |"
    ) in markdown
    # the shared child rows are not the sampled applicants' histories: no real count, the reason given
    for comparison in report.row_counts:
        assert comparison.real is None and comparison.note
        assert f"| {comparison.table} per {comparison.per} |" in markdown
    assert "python -m training realism --real DIR" in markdown
    assert "model ranking" in markdown

    names = ["marginals.png", "block_missingness.png", "application_correlations.png"]
    assert sorted(section.plots) == sorted(f"{PLOT_DIR}/{name}" for name in names)
    for path, png in section.plots.items():
        assert png.startswith(b"\x89PNG")
        assert f"](assets/{path})" in markdown


def test_linked_child_tables_get_their_rows_per_applicant_and_plot() -> None:
    """Generated tables stand in for a full download: every child table links, so every count is taken."""
    dataset = generate(800, seed=21)
    tables = {name: clean_table(name, table) for name, table in dataset.tables.items()}
    section = realism_section(tables, Path("elsewhere"), rows=10_000, seed=4)  # a cap above the rows
    report = section.report
    assert report.real_rows["application_train"] == len(tables["application_train"])
    assert "all 800 real application rows, at most 10,000" in section.markdown
    for comparison in report.row_counts:
        assert comparison.real is not None, comparison.table
        assert comparison.link is not None and comparison.link.linked
        assert f"{comparison.real.mean:.2f}" in section.markdown
        assert 0.0 <= comparison.ks < 0.15, comparison.table
    assert f"{PLOT_DIR}/row_counts.png" in section.plots
    assert f"](assets/{PLOT_DIR}/row_counts.png)" in section.markdown
