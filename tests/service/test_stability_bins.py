"""Frozen stability bins and the PSI (service/stability_bins.py): edges, merges, missing and category bins,
score bands, the vectorised assignment, the JSON layout."""

from __future__ import annotations

import math

import numpy as np
import pytest

from service.stability_bins import (
    MISSING_BIN,
    PSI_EPSILON,
    FeatureBins,
    ScoreBands,
    StabilityBins,
    UnsupportedBinsError,
    assign_bins,
    assign_codes,
    assign_columns,
    build_feature_bins,
    build_score_bands,
    build_stability_bins,
    padded_edges,
    psi,
    quantile_edges,
)


def _shares_of(values: np.ndarray, bins: FeatureBins) -> np.ndarray:
    return np.bincount(bins.assign(values), minlength=bins.n_bins) / len(values)


def test_continuous_values_get_ten_bins_of_a_tenth_at_the_deciles() -> None:
    values = np.random.default_rng(0).normal(size=10_000)
    bins = build_feature_bins("x", values)
    assert bins.n_bins == 11 and bins.labels == (*map(str, range(10)), MISSING_BIN)
    deciles = np.quantile(values, np.arange(1, 10) / 10, method="inverted_cdf")
    np.testing.assert_array_equal(bins.edges, deciles)
    np.testing.assert_allclose(bins.expected, [0.1] * 10 + [0.0])
    np.testing.assert_allclose(_shares_of(values, bins), bins.expected)


def test_few_distinct_values_get_one_bin_each() -> None:
    flags = np.array([0.0] * 880 + [1.0] * 120)
    bins = build_feature_bins("flag", flags)
    assert bins.edges == (0.0,)
    assert bins.expected == pytest.approx((0.88, 0.12, 0.0))
    counts = np.repeat([0.0, 1.0, 2.0, 3.0, 4.0], [200, 300, 250, 150, 100])
    assert build_feature_bins("count", counts).edges == (0.0, 1.0, 2.0, 3.0)


def test_a_value_many_rows_share_stays_whole_in_one_bin() -> None:
    """A mostly-zero amount: the zeros are one bin (right-closed edges), the rest cut by quantiles."""
    rng = np.random.default_rng(1)
    values = np.where(rng.random(10_000) < 0.8, 0.0, rng.gamma(2.0, 1_000.0, 10_000))
    bins = build_feature_bins("overdue", values)
    assert bins.edges[0] == 0.0
    assert bins.expected[0] == pytest.approx(np.mean(values == 0.0))
    assert all(share >= 0.05 for share in bins.expected[:-1])


def test_bins_under_the_minimum_share_merge_into_their_smaller_neighbour() -> None:
    # value 1 holds 2 % of the rows: merged with value 2 (30 %), not value 0 (40 %)
    values = np.repeat([0.0, 1.0, 2.0, 3.0], [40, 2, 30, 28])
    assert quantile_edges(values, min_share=0.05) == (0.0, 2.0)
    # a small last bin merges downwards, a small first bin upwards
    assert quantile_edges(np.repeat([0.0, 1.0, 2.0], [50, 47, 3]), min_share=0.05) == (0.0,)
    assert quantile_edges(np.repeat([0.0, 1.0, 2.0], [3, 47, 50]), min_share=0.05) == (1.0,)
    assert quantile_edges(values, min_share=0.0) == (0.0, 1.0, 2.0)


def test_the_minimum_share_counts_missing_rows_and_one_bin_always_remains() -> None:
    values = np.full(1_000, np.nan)
    values[:30] = np.arange(30)  # 3 % present, in 30 distinct values
    bins = build_feature_bins("sparse", values)
    assert bins.edges == ()
    assert bins.expected == pytest.approx((0.03, 0.97))
    empty = build_feature_bins("empty", np.full(10, np.nan))
    assert empty.edges == () and empty.expected == (0.0, 1.0)
    assert empty.assign(np.array([np.nan, 5.0])).tolist() == [1, 0]


def test_infinite_development_values_fall_in_the_end_bins_without_moving_the_edges() -> None:
    values = np.r_[np.arange(100.0), [np.inf] * 3, [-np.inf] * 2]
    bins = build_feature_bins("ratio", values)
    assert bins.edges == build_feature_bins("ratio", np.arange(100.0)).edges
    counts = np.bincount(bins.assign(values), minlength=bins.n_bins)
    assert counts[0] == 10 + 2 and counts[-2] == 10 + 3
    assert build_feature_bins("inf", np.array([np.inf, 1.0, np.inf])).edges == ()


def test_missing_values_have_their_own_last_bin() -> None:
    values = np.r_[np.arange(90.0), [np.nan] * 10]
    bins = build_feature_bins("x", values)
    assert bins.expected[-1] == pytest.approx(0.1)
    assert sum(bins.expected[:-1]) == pytest.approx(0.9)
    assert bins.assign(np.array([np.nan]))[0] == bins.n_bins - 1


def test_categorical_features_have_a_bin_per_category_then_missing() -> None:
    codes = np.array([0.0] * 50 + [1.0] * 30 + [2.0] * 15 + [np.nan] * 5)
    bins = build_feature_bins("contract", codes, ["Cash loans", "Revolving loans", "Other"])
    assert bins.labels == ("Cash loans", "Revolving loans", "Other", MISSING_BIN)
    assert bins.expected == pytest.approx((0.5, 0.3, 0.15, 0.05))
    # a code that names no category (negative, too large, fractional) counts as missing
    assert bins.assign(np.array([2.0, 0.0, 3.0, -1.0, 1.5, np.nan, 1.0])).tolist() == [2, 0, 3, 3, 3, 3, 1]
    assert assign_codes(np.array([0.0, 4.0]), 4).tolist() == [0, 4]
    with pytest.raises(ValueError, match="categories must be unique"):
        FeatureBins("c", (0.5, 0.5), categories=(MISSING_BIN,))


def test_bins_are_right_closed_and_infinities_fall_at_the_ends() -> None:
    edges = (0.0, 1.0, 2.5)
    values = np.array([-np.inf, -3.0, 0.0, 1e-12, 1.0, 2.5, 2.6, np.inf, np.nan])
    assert assign_bins(values, edges).tolist() == [0, 0, 0, 1, 1, 2, 3, 3, 4]
    np.testing.assert_array_equal(assign_bins(values[:-1], edges), np.searchsorted(edges, values[:-1]))
    assert assign_bins(np.array([7.0, np.nan]), ()).tolist() == [0, 1]


def test_many_features_at_once_match_one_feature_at_a_time() -> None:
    rng = np.random.default_rng(2)
    edge_lists = [tuple(np.sort(rng.choice(20, size=k, replace=False)).astype(float)) for k in (9, 1, 0, 4)]
    columns = rng.integers(-2, 22, size=(4, 500)).astype(float)  # many values equal to an edge
    columns[rng.random(columns.shape) < 0.1] = np.nan
    columns[0, :3] = (np.inf, -np.inf, np.nan)
    together = assign_columns(columns, padded_edges(edge_lists))
    for j, edges in enumerate(edge_lists):
        np.testing.assert_array_equal(together[j], assign_bins(columns[j], edges))
    assert padded_edges([(1.0,), ()]).tolist() == [[1.0], [np.inf]]


def test_score_bands_hold_equal_development_shares() -> None:
    probabilities = np.random.default_rng(3).beta(2.0, 12.0, 20_000)
    bands = build_score_bands(probabilities)
    assert bands.labels == tuple(map(str, range(10)))
    np.testing.assert_allclose(bands.expected, [0.1] * 10)
    assert np.bincount(bands.assign(probabilities)).tolist() == [2_000] * 10
    # tied scores (a small booster has few distinct outputs) give fewer bands, never empty ones
    tied = np.repeat([0.05, 0.1, 0.2, 0.4], [5_000, 3_000, 1_500, 500])
    coarse = build_score_bands(tied)
    assert coarse.edges == (0.05, 0.1, 0.2)
    assert coarse.expected == pytest.approx((0.5, 0.3, 0.15, 0.05))
    with pytest.raises(ValueError, match="no missing one"):
        build_score_bands(np.array([0.1, np.nan]))


def test_psi_is_zero_on_the_development_shares_and_sums_the_bins() -> None:
    expected = [0.5, 0.4, 0.1]
    assert psi([500, 400, 100], expected) == pytest.approx(0.0, abs=1e-15)
    assert psi([5, 4, 1], expected) == pytest.approx(0.0, abs=1e-15)  # only shares matter
    by_hand = (0.3 - 0.5) * math.log(0.3 / 0.5) + (0.55 - 0.4) * math.log(0.55 / 0.4)
    by_hand += (0.15 - 0.1) * math.log(0.15 / 0.1)
    assert psi([30, 55, 15], expected) == pytest.approx(by_hand, rel=1e-12)
    assert math.isnan(psi([0, 0, 0], expected))
    with pytest.raises(ValueError, match="3 counts for 2 shares"):
        psi([1, 2, 3], [0.5, 0.5])


def test_psi_floors_empty_bins_on_either_side_at_epsilon() -> None:
    # a bin empty at development that now holds 10 % of the records
    assert psi([45, 45, 10], [0.5, 0.5, 0.0]) == pytest.approx(
        2 * (0.45 - 0.5) * math.log(0.45 / 0.5) + (0.1 - PSI_EPSILON) * math.log(0.1 / PSI_EPSILON)
    )
    # a bin that emptied
    assert psi([50, 50, 0], [0.45, 0.45, 0.1]) == pytest.approx(
        2 * (0.5 - 0.45) * math.log(0.5 / 0.45) + (PSI_EPSILON - 0.1) * math.log(PSI_EPSILON / 0.1)
    )
    assert psi([50, 50, 0], [0.5, 0.5, 0.0]) == pytest.approx(0.0, abs=1e-15)


def _bins() -> StabilityBins:
    rng = np.random.default_rng(4)
    columns = {
        "AMT": np.where(rng.random(2_000) < 0.1, np.nan, rng.gamma(2.0, 100.0, 2_000)),
        "FLAG": (rng.random(2_000) < 0.3).astype(float),
        "CODE": rng.integers(0, 3, 2_000).astype(float),
    }
    return build_stability_bins(
        columns,
        ["AMT", "FLAG", "CODE"],
        rng.random(500),
        categories={"CODE": ["a", "b", "c"]},
        source="test",
    )


def test_build_keeps_the_feature_order_and_the_sample_sizes() -> None:
    bins = _bins()
    assert bins.feature_names == ["AMT", "FLAG", "CODE"]
    assert (bins.feature_rows, bins.score_rows, bins.source) == (2_000, 500, "test")
    assert bins.features[2].categories == ("a", "b", "c")
    assert len(bins.score.expected) == 10
    with pytest.raises(ValueError, match="different lengths"):
        build_stability_bins({"A": np.zeros(3), "B": np.zeros(4)}, ["A", "B"], np.array([0.5]))


def test_json_round_trip_and_fingerprint() -> None:
    bins = _bins()
    stored = bins.to_json()
    assert stored["version"] == 1
    again = StabilityBins.from_json(stored)
    assert again == bins
    assert again.fingerprint() == bins.fingerprint() and len(bins.fingerprint()) == 12
    moved = {**stored, "score": {**stored["score"], "edges": [e + 1e-9 for e in stored["score"]["edges"]]}}
    assert StabilityBins.from_json(moved).fingerprint() != bins.fingerprint()
    renamed = {**stored, "source": "elsewhere"}
    assert StabilityBins.from_json(renamed).fingerprint() == bins.fingerprint()


@pytest.mark.parametrize(
    ("change", "error", "message"),
    [
        ({"version": 2}, UnsupportedBinsError, "format 2"),
        ({"version": None}, UnsupportedBinsError, "format None"),
        ({"score": {"edges": [0.5], "expected": [0.7, 0.7]}}, ValueError, "sum to 1"),
        ({"score": {"edges": [0.5, 0.2], "expected": [0.3, 0.3, 0.4]}}, ValueError, "increasing"),
        ({"features": [{"name": "A", "edges": [1.0], "expected": [1.0]}]}, ValueError, "1 shares for 3 bins"),
        (
            {"features": [{"name": "A", "edges": [1.0, 1.0], "expected": [0.5, 0.5, 0, 0]}]},
            ValueError,
            "increasing",
        ),
        ({"score_rows": None}, ValueError, "incomplete"),
        ({"features": [{"edges": [], "expected": [1.0, 0.0]}]}, ValueError, "incomplete"),
    ],
)
def test_from_json_refuses_other_versions_and_broken_content(
    change: dict, error: type[Exception], message: str
) -> None:
    with pytest.raises(error, match=message):
        StabilityBins.from_json({**_bins().to_json(), **change})


def test_score_bands_validate_their_shares() -> None:
    with pytest.raises(ValueError, match="2 shares for 3 bands"):
        ScoreBands(edges=(0.1, 0.2), expected=(0.5, 0.5))
