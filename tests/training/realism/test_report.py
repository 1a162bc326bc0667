"""The realism report: its distances on hand-made samples with known answers, and the command end to end."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy.stats import ks_2samp

from training.cli import main
from training.loader import clean_table
from training.realism.correlations import compare_application_correlations, most_target_correlated
from training.realism.distances import correlation_gap, ks_statistic, ks_with_missing, total_variation
from training.realism.marginals import block_columns, compare_block_missingness, compare_column
from training.realism.ranking import gap_interval
from training.realism.row_counts import count_distribution, linkage, rows_per_parent, table_links
from training.synthetic import generate, write_dataset

NAN = float("nan")

# ------------------------------------------------------------------------------------------ distances


def test_ks_of_identical_samples_is_zero_and_of_disjoint_samples_is_one() -> None:
    values = np.array([3.0, 1.0, 2.0, 2.0, 5.0])
    assert ks_statistic(values, values[::-1]) == 0.0
    assert ks_statistic([1.0, 2.0, 3.0], [10.0, 11.0]) == 1.0


def test_ks_known_value_and_agreement_with_scipy() -> None:
    # ECDFs of {1,2,3,4} and {3,4,5,6} are 0.5 apart between 2 and 3
    assert ks_statistic([1, 2, 3, 4], [3, 4, 5, 6]) == pytest.approx(0.5)
    rng = np.random.default_rng(0)
    a, b = rng.normal(size=300), rng.normal(0.3, 1.2, size=450)
    assert ks_statistic(a, b) == pytest.approx(ks_2samp(a, b).statistic)


def test_ks_ignores_missing_values_and_the_folded_form_counts_them() -> None:
    real = [1.0, 2.0, NAN, NAN]
    generated = [1.0, 1.0, 2.0, 2.0]
    assert ks_statistic(real, generated) == 0.0  # same present values
    # half the real mass sits on the missing atom: the gap there is 0.5, above it at most 0.25
    assert ks_with_missing(real, generated) == pytest.approx(0.5)
    assert ks_with_missing([NAN, NAN], [NAN]) == 0.0
    assert ks_with_missing([NAN, NAN], [1.0, 2.0]) == 1.0
    assert math.isnan(ks_statistic([NAN], [1.0]))


def test_total_variation_examples() -> None:
    assert total_variation(["a", "b"], ["b", "a"]) == 0.0
    assert total_variation(["a", "a"], ["b", "c"]) == 1.0
    # shares a: 1/2 vs 1/4, b: 1/2 vs 3/4
    assert total_variation(["a", "a", "b", "b"], ["a", "b", "b", "b"]) == pytest.approx(0.25)
    # a category column and an object column with the same labels
    assert total_variation(pd.Series(["x", "y"], dtype="category"), np.array(["y", "x"], dtype=object)) == 0.0
    # missing is a label of its own, unless left out
    assert total_variation(["a", None], ["a", "a"]) == pytest.approx(0.5)
    assert total_variation(["a", None], ["a", "a"], missing=False) == 0.0
    # 0/1 flags, int on one side and float on the other
    assert total_variation(np.array([0, 1, 1, 1]), np.array([0.0, 0.0, 1.0, 1.0])) == pytest.approx(0.25)


def test_correlation_gap_on_hand_made_matrices() -> None:
    labels = ["a", "b", "c"]
    real = pd.DataFrame([[1, 0.5, 0.2], [0.5, 1, 0.1], [0.2, 0.1, 1]], index=labels, columns=labels)
    generated = pd.DataFrame([[1, 0.4, 0.2], [0.4, 1, 0.5], [0.2, 0.5, 1]], index=labels, columns=labels)
    gap = correlation_gap(real, generated, symmetric=True)  # pairs ab 0.1, ac 0.0, bc 0.4
    assert gap.pairs == 3
    assert gap.median_abs_difference == pytest.approx(0.1)
    assert gap.max_abs_difference == pytest.approx(0.4)
    assert gap.worst_pair == ("b", "c")

    cross_real = pd.DataFrame([[0.3, NAN], [-0.2, 0.6]], index=["x", "y"], columns=["u", "v"])
    cross_gen = pd.DataFrame([[0.1, 0.9], [-0.2, 0.0]], index=["x", "y"], columns=["u", "v"])
    cross = correlation_gap(cross_real, cross_gen, symmetric=False)  # 0.2, 0.0, 0.6; the NaN left out
    assert (cross.pairs, cross.worst_pair) == (3, ("y", "v"))
    assert cross.median_abs_difference == pytest.approx(0.2)
    assert cross.max_abs_difference == pytest.approx(0.6)
    with pytest.raises(ValueError):
        correlation_gap(real, cross_gen, symmetric=False)


def test_correlation_comparison_on_constructed_frames() -> None:
    a = np.arange(200, dtype=np.float64)
    noise = np.random.default_rng(1).permutation(200).astype(np.float64)
    real = pd.DataFrame({"a": a, "b": a, "c": -a, "d": noise})
    generated = pd.DataFrame({"a": a, "b": a, "c": a, "d": noise})
    comparison = compare_application_correlations(real, generated, ["a", "b", "c"])
    # rank correlations: ab 1 on both sides, ac and bc -1 against +1
    assert comparison.gap.pairs == 3
    assert comparison.gap.median_abs_difference == pytest.approx(2.0)
    assert comparison.gap.max_abs_difference == pytest.approx(2.0)
    target = pd.Series((a > 150).astype(int))
    assert most_target_correlated(real, target, ["d", "c", "a", "b"], 2) == ["a", "b"]  # ties by name


# ------------------------------------------------------------------------------------------ marginals


def test_column_distance_takes_the_larger_of_values_and_missing_share() -> None:
    # present-value KS 0.25 (at 3: 1 against 0.75); missing shares 0.25 against 0
    column = compare_column("X", pd.Series([1.0, 2.0, 3.0, NAN]), pd.Series([1.0, 2.0, 3.0, 4.0]), "float")
    assert (column.kind, column.measure) == ("numeric", "KS")
    assert column.present_distance == pytest.approx(0.25)
    assert column.distance == pytest.approx(0.25)
    assert (column.missing_real, column.missing_generated) == (0.25, 0.0)
    mostly_missing = compare_column(
        "Y", pd.Series([NAN] * 8 + [1.0, 2.0]), pd.Series([NAN] * 8 + [5.0, 6.0]), "float"
    )
    assert mostly_missing.distance == 1.0  # disjoint present values are not excused by the missing share
    assert mostly_missing.missing_as_value == pytest.approx(0.2)
    flag = compare_column("FLAG", pd.Series([0, 1, 1, 0]), pd.Series([1, 1, 1, 1]), "int")
    assert (flag.kind, flag.measure, flag.distance) == ("flag", "TVD", 0.5)
    text = compare_column("T", pd.Series(["a", "b"]), pd.Series(["a", "a"]), "str")
    assert (text.kind, text.distance) == ("categorical", 0.5)


def test_building_block_pattern() -> None:
    application = clean_table("application_train", generate(300, seed=3).tables["application_train"])
    same = compare_block_missingness(application, application)
    assert same.distance == 0.0
    assert same.columns == len(block_columns()) == 47
    pattern = same.real
    assert pattern.all_missing + pattern.partly_present + pattern.all_present == pytest.approx(1.0)
    emptied = application.copy()
    emptied[block_columns()] = np.nan
    gone = compare_block_missingness(application, emptied)
    assert gone.generated.all_missing == 1.0
    assert gone.distance == pytest.approx(1.0 - pattern.all_missing)


# ------------------------------------------------------------------------------------------ row counts


def test_rows_per_parent_and_their_distribution() -> None:
    child = pd.DataFrame({"SK_ID_CURR": [1, 1, 2, 9]})
    counts = rows_per_parent(child, "SK_ID_CURR", [1, 2, 3])
    assert counts.tolist() == [2, 1, 0]
    summary = count_distribution(counts)
    assert summary.zero_share == pytest.approx(1 / 3)
    assert summary.mean == pytest.approx(1.0)
    assert summary.quantiles["max"] == 2.0
    link = linkage(child, "SK_ID_CURR", [1, 2, 3])
    assert (link.linked_share, link.linked) == (0.75, False)


def test_bureau_balance_is_linked_only_through_a_linked_bureau() -> None:
    application = pd.DataFrame({"SK_ID_CURR": [1, 2]})
    bureau = pd.DataFrame({"SK_ID_CURR": [1, 2, 2], "SK_ID_BUREAU": [10, 11, 12]})
    balance = pd.DataFrame({"SK_ID_BUREAU": [10, 10, 12]})
    links = table_links({"application_train": application, "bureau": bureau, "bureau_balance": balance})
    assert links["bureau"].linked and links["bureau_balance"].linked
    stranger = bureau.assign(SK_ID_CURR=[7, 8, 9])
    links = table_links({"application_train": application, "bureau": stranger, "bureau_balance": balance})
    assert not links["bureau"].linked
    assert links["bureau_balance"].linked_share == 1.0 and not links["bureau_balance"].linked


def test_gap_interval_of_a_perfect_against_a_random_score() -> None:
    rng = np.random.default_rng(0)
    y = (rng.random(400) < 0.3).astype(int)
    low, high = gap_interval(y, y + rng.random(400) * 0.1, rng.random(400))
    assert 0.3 < low <= high < 0.7


# ------------------------------------------------------------------------------------------ command


def _run(argv: list[str], out: Path) -> dict:
    assert main(["realism", *argv, "--out", str(out), "--quiet"]) == 0
    for name in ("realism.md", "realism.json", "marginals.png", "application_correlations.png"):
        assert (out / name).stat().st_size > 0, name
    return json.loads((out / "realism.json").read_text())


def _check_ranges(report: dict) -> None:
    marginals = report["marginals"]
    distances = [c["distance"] for c in marginals["columns"]]
    assert len(distances) == 120  # every application_train column but the id and TARGET
    assert all(0.0 <= d <= 1.0 for d in distances)
    assert 0.0 <= marginals["median"] <= marginals["maximum"] <= 1.0
    gap = report["application_correlations"]["gap"]
    assert gap["pairs"] > 100
    assert 0.0 <= gap["median_abs_difference"] <= gap["max_abs_difference"] <= 2.0


def test_report_on_the_real_samples(homecredit_sample: Path, tmp_path: Path) -> None:
    """The shared random samples: 1,000 real applications; child rows sampled from other applicants."""
    report = _run(
        [
            "--real",
            str(homecredit_sample / "application_train_random5000"),
            "--real-history",
            str(homecredit_sample / "child_tables_random20000"),
            "--real-rows",
            "1000",
            "--tuning-trials",  # a fixed number of trials, not a time budget: the same ranking every run
            "2",
            "--tuning-seconds",
            "600",
            "--folds",
            "3",
        ],
        tmp_path,
    )
    _check_ranges(report)
    assert report["real_rows"]["application_train"] == 1000
    assert report["generated_rows"]["application_train"] == 1000
    # the random child rows are not the sampled applicants' histories: counted only on the generated side
    assert report["history_correlations"] is None
    for comparison in report["row_counts"]:
        assert comparison["real"] is None and comparison["generated"]["parents"] > 0
        if comparison["link"] is not None:
            assert comparison["link"]["linked_share"] < 0.1
    compared = {c["name"] for c in report["table_correlations"]}
    assert compared >= {"rows of bureau", "rows of credit_card_balance"}
    runs = {run["label"]: run for run in report["models"]}
    assert set(runs) == {"real", "generated, same tables as real", "generated, all tables"}
    for run in runs.values():
        assert run["holdout_auc"]["dummy"] == 0.5
        assert 0.5 < run["holdout_auc"]["lightgbm"] <= 1.0
        assert run["gap"] == pytest.approx(
            run["holdout_auc"]["lightgbm"] - run["holdout_auc"]["logistic_regression"]
        )
        assert run["gap_low"] <= run["gap_high"]
    assert runs["real"]["true_probability_auc"] is None
    assert 0.6 < runs["generated, all tables"]["true_probability_auc"] < 1.0
    assert (tmp_path / "models.png").is_file()


def test_report_against_generated_csvs_with_linked_histories(tmp_path: Path) -> None:
    """Generated CSVs stand in for a full download: every child table links, so every measure is taken."""
    real_dir = write_dataset(generate(1500, seed=11), tmp_path / "other-seed")
    report = _run(["--real", str(real_dir), "--no-models", "--seed", "2"], tmp_path / "report")
    _check_ranges(report)
    # the same generator with another seed: close marginals, nothing flagged
    assert report["marginals"]["median"] < 0.06
    assert report["marginals"]["flagged"] == []
    assert report["block"]["distance"] < 0.1
    assert all(link["linked"] for link in report["links"].values())
    history = report["history_correlations"]
    assert history is not None and len(history["real"]["columns"]) == 20
    assert history["gap"]["median_abs_difference"] < 0.1
    for comparison in report["row_counts"]:
        assert comparison["real"] is not None, comparison["table"]
        assert comparison["ks"] < 0.1, comparison["table"]
    assert report["models"] == []
    assert (tmp_path / "report" / "history_correlations.png").is_file()
    assert "Not run" in (tmp_path / "report" / "realism.md").read_text()
