"""The automated data report."""

from __future__ import annotations

import numpy as np
import pandas as pd

from training.data_report import build_data_report, summarise_table


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
