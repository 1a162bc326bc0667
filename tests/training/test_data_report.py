"""The automated data report."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from training.data_report import build_data_report, summarise_table
from training.loader import clean_table
from training.realism.card_section import realism_section
from training.synthetic import generate


def test_summary_counts_missing_and_duplicates() -> None:
    bureau = pd.DataFrame(
        {
            "SK_ID_CURR": [1, 1, 2, 2],
            "SK_ID_BUREAU": [10, 10, 11, 12],
            "AMT_CREDIT_SUM": [5.0, 5.0, np.nan, np.nan],
            "AMT_ANNUITY": [np.nan, np.nan, np.nan, 1.0],
        }
    )
    summary = summarise_table("bureau", bureau)
    assert (summary.rows, summary.columns) == (4, 4)
    assert summary.duplicate_rows == 1
    assert summary.duplicate_keys == 1
    assert summary.columns_mostly_missing == 1
    assert summary.missing_share == 5 / 16
    assert summary.worst_missing == {"AMT_ANNUITY": 0.75, "AMT_CREDIT_SUM": 0.5}


def test_report_has_tables_target_balance_and_one_plot_per_feature() -> None:
    rng = np.random.default_rng(0)
    target = pd.Series(rng.integers(0, 2, 200), name="TARGET")
    features = pd.DataFrame({"EXT_SOURCE_2": rng.random(200), "ALL_MISSING": np.nan})
    tables = {"application_train": pd.DataFrame({"SK_ID_CURR": range(200), "TARGET": target})}
    report = build_data_report(tables, features, target)
    assert report.applicants == 200
    assert report.target_rate == target.mean()
    assert set(report.plots) == {
        "data/target_balance.png",
        "data/feature_EXT_SOURCE_2.png",
        "data/feature_ALL_MISSING.png",
    }
    assert all(png.startswith(b"\x89PNG") for png in report.plots.values())
    assert "| application_train | 200 |" in report.markdown
    assert "assets/data/feature_EXT_SOURCE_2.png" in report.markdown


def test_the_realism_section_ends_the_report_and_adds_its_plots() -> None:
    dataset = generate(400, seed=8)
    tables = {name: clean_table(name, table) for name, table in dataset.tables.items()}
    application = tables["application_train"]
    target = application.set_index("SK_ID_CURR")["TARGET"]
    features = application.set_index("SK_ID_CURR")[["EXT_SOURCE_2"]]
    realism = realism_section(tables, Path("real"), seed=1)
    report = build_data_report(tables, features, target, realism=realism)
    assert report.realism is realism
    assert report.markdown.startswith("## Data")
    assert report.markdown.endswith(realism.markdown)
    assert "### Selected features by target" in report.markdown.removesuffix(realism.markdown)
    assert set(realism.plots) <= set(report.plots)
    assert "data/feature_EXT_SOURCE_2.png" in report.plots
    plain = build_data_report(tables, features, target)
    assert plain.realism is None and "Realism" not in plain.markdown
    assert set(report.plots) - set(plain.plots) == set(realism.plots)
