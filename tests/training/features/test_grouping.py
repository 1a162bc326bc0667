"""The grouped-statistics engine against pandas groupby on random data with gaps and unknown keys."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from training.features.grouping import Groups, _stable_group_order, label_codes, safe_ratio


@pytest.fixture(scope="module")
def random_rows() -> tuple[np.ndarray, np.ndarray, int]:
    rng = np.random.default_rng(7)
    n_groups, n_rows = 50, 2_000
    positions = rng.integers(-1, n_groups - 5, size=n_rows)  # -1: unknown key; the last groups stay empty
    values = rng.normal(size=n_rows)
    values[rng.random(n_rows) < 0.2] = np.nan
    values[positions == 3] = np.nan  # a group whose values are all missing
    return positions, values, n_groups


@pytest.mark.parametrize(
    ("stat", "reference"),
    [
        ("MEAN", lambda g: g.mean()),
        ("MAX", lambda g: g.max()),
        ("MIN", lambda g: g.min()),
        ("SUM", lambda g: g.sum(min_count=1)),
        ("MEDIAN", lambda g: g.median()),
        ("STD", lambda g: g.std(ddof=0)),
    ],
)
def test_statistics_match_pandas(
    random_rows: tuple[np.ndarray, np.ndarray, int], stat: str, reference
) -> None:
    positions, values, n = random_rows
    groups = Groups(positions, n)
    got = groups.stats({"v": groups.rows(values)}, {"v": (stat,)})[("v", stat)]
    kept = positions >= 0
    expected = reference(pd.Series(values[kept]).groupby(positions[kept])).reindex(range(n)).to_numpy()
    np.testing.assert_allclose(got, expected, rtol=1e-12, atol=1e-12, equal_nan=True)


def test_counts_ignore_unknown_keys(random_rows: tuple[np.ndarray, np.ndarray, int]) -> None:
    positions, _, n = random_rows
    groups = Groups(positions, n)
    expected = np.bincount(positions[positions >= 0], minlength=n)
    np.testing.assert_array_equal(groups.count(), expected)
    assert groups.count()[-5:].tolist() == [0] * 5


def test_distinct_count_and_label_counts() -> None:
    groups = Groups(np.array([1, 0, 1, 1, -1, 0]), 3)
    keys = groups.rows(np.array([10.0, 20.0, 10.0, 30.0, 10.0, np.nan]))
    assert groups.distinct_count(keys).tolist() == [1, 2, 0]
    frame = pd.DataFrame({"s": ["a", "b", "a", None, "a", "zz"]})
    codes = groups.rows(label_codes(frame, "s", ("a", "b")))
    assert groups.label_counts(codes, 2).tolist() == [[0, 1], [2, 0], [0, 0]]


def test_label_codes_of_category_and_object_columns_agree() -> None:
    frame = pd.DataFrame({"s": ["Y", "N", None, "maybe", "Y"]})
    as_object = label_codes(frame, "s", ("N", "Y"))
    as_category = label_codes(frame.astype({"s": "category"}), "s", ("N", "Y"))
    assert as_object.tolist() == as_category.tolist() == [1, 0, -1, -1, 1]
    assert label_codes(frame, "absent", ("N", "Y")).tolist() == [-1] * 5


def test_safe_ratio_never_gives_infinity() -> None:
    got = safe_ratio(np.array([1.0, 0.0, -1.0, 2.0, np.nan]), np.array([0.0, 0.0, 0.0, 4.0, 1.0]))
    assert np.isnan(got[[0, 1, 2, 4]]).all()
    assert got[3] == 0.5


@pytest.mark.parametrize(
    ("n_rows", "n_groups"), [(0, 0), (1, 1), (1000, 7), (200_000, 70_000), (50_000, 3_000_000)]
)
def test_group_order_is_a_stable_sort(n_rows: int, n_groups: int) -> None:
    codes = np.random.default_rng(n_rows).integers(0, max(n_groups, 1), n_rows)
    np.testing.assert_array_equal(_stable_group_order(codes, n_groups), np.argsort(codes, kind="stable"))
