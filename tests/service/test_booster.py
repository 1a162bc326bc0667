"""The booster module: the one-row fast path (`LGBM_BoosterPredictForMatSingleRowFast`) answers what
`Booster.predict` does, and the private LightGBM names it relies on are still there."""

from __future__ import annotations

import gc
import threading
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

from service.booster import PREDICT_CONTRIB, PREDICT_NORMAL, Scorer, SingleRowPredictor, import_lightgbm
from service.bundle import Bundle, CostWeights, FeatureSpec

N_FEATURES = 25
TOLERANCE = 1e-12


def _train(n_classes: int = 2, n_trees: int = 60, seed: int = 0) -> object:
    """A booster on random data with missing values, zeros and a few strong features."""
    lightgbm = import_lightgbm()
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(3000, N_FEATURES))
    X[rng.random(X.shape) < 0.2] = np.nan
    X[rng.random(X.shape) < 0.1] = 0.0
    logit = np.nan_to_num(X[:, 0]) - 0.8 * np.nan_to_num(X[:, 1]) + 0.5 * np.isnan(X[:, 2])
    if n_classes == 2:
        y = (rng.random(len(X)) < 1 / (1 + np.exp(-logit))).astype(int)
        params = {"objective": "binary"}
    else:
        y = np.digitize(logit + rng.normal(size=len(X)), [-0.5, 0.5])
        params = {"objective": "multiclass", "num_class": n_classes}
    params.update({"num_leaves": 15, "learning_rate": 0.1, "verbose": -1, "seed": seed})
    return lightgbm.train(params, lightgbm.Dataset(X, y), num_boost_round=n_trees)


def _split_thresholds(booster: object) -> np.ndarray:
    """Every numeric split threshold of the booster (values exactly on a split boundary)."""
    found: list[float] = []

    def walk(node: dict) -> None:
        if "threshold" in node:
            found.append(float(node["threshold"]))
            walk(node["left_child"])
            walk(node["right_child"])

    for tree in booster.dump_model()["tree_info"]:  # type: ignore[attr-defined]
        walk(tree["tree_structure"])
    return np.asarray(found)


def _random_rows(booster: object, n: int, seed: int) -> np.ndarray:
    """Rows mixing normal values, NaN, exact zeros, split thresholds and huge magnitudes."""
    rng = np.random.default_rng(seed)
    X = rng.normal(scale=2.0, size=(n, N_FEATURES))
    thresholds = _split_thresholds(booster)
    on_split = rng.random(X.shape) < 0.15
    X[on_split] = rng.choice(thresholds, size=int(on_split.sum()))
    X[rng.random(X.shape) < 0.1] = 0.0
    X[rng.random(X.shape) < 0.02] = 1e30
    X[rng.random(X.shape) < 0.02] = -1e30
    X[rng.random(X.shape) < 0.25] = np.nan
    X[0] = np.nan  # an applicant with nothing known
    return X


@pytest.fixture(scope="module")
def booster() -> object:
    return _train()


@pytest.fixture(scope="module")
def rows(booster: object) -> np.ndarray:
    return _random_rows(booster, 3000, seed=7)


def _bundle(booster: object) -> Bundle:
    return Bundle(
        booster_text=booster.model_to_string(),  # type: ignore[attr-defined]
        features=[FeatureSpec(f"Column_{i}", "float") for i in range(N_FEATURES)],
        threshold=0.5,
        cost=CostWeights(),
        metrics={},
        training_fingerprint="test",
    )


def test_lightgbm_still_has_the_private_names_the_fast_path_uses() -> None:
    basic = import_lightgbm().basic
    missing = [name for name in ("_LIB", "_safe_call") if not hasattr(basic, name)]
    assert not missing, (
        f"lightgbm {import_lightgbm().__version__} has no basic.{', basic.'.join(missing)}: "
        "service/booster.py's SingleRowPredictor must be adapted to this LightGBM release"
    )
    for symbol in (
        "LGBM_BoosterPredictForMatSingleRowFastInit",
        "LGBM_BoosterPredictForMatSingleRowFast",
        "LGBM_BoosterCalcNumPredict",
        "LGBM_FastConfigFree",
    ):
        assert hasattr(basic._LIB, symbol), f"LightGBM's C library no longer exports {symbol}"


@pytest.mark.parametrize(
    ("predict_type", "kwargs"),
    [
        (PREDICT_NORMAL, {}),
        (PREDICT_CONTRIB, {"pred_contrib": True}),
    ],
)
def test_fast_path_equals_booster_predict_on_random_rows(
    booster: object, rows: np.ndarray, predict_type: int, kwargs: dict
) -> None:
    fast = SingleRowPredictor(booster)
    for i in range(len(rows)):
        row = rows[i : i + 1]
        expected = booster.predict(row, num_threads=1, **kwargs)  # type: ignore[attr-defined]
        got = fast.predict(row, predict_type)
        assert got.shape == expected.shape
        np.testing.assert_allclose(got, expected, rtol=0, atol=TOLERANCE)
    # and what the whole matrix gives in one Booster.predict call
    batch = booster.predict(rows, num_threads=1, **kwargs)  # type: ignore[attr-defined]
    one_by_one = np.concatenate([fast.predict(rows[i : i + 1], predict_type) for i in range(len(rows))])
    np.testing.assert_allclose(one_by_one, batch, rtol=0, atol=TOLERANCE)


def test_scorer_one_row_matches_the_booster_path(booster: object, rows: np.ndarray) -> None:
    fast = Scorer(_bundle(booster), "test:1")
    plain = Scorer(_bundle(booster), "test:1", single_row_fast=False)
    assert fast.single_row is not None
    assert plain.single_row is None
    for method in ("probabilities", "contributions"):
        for i in range(0, len(rows), 7):
            row = rows[i : i + 1]
            got, expected = getattr(fast, method)(row), getattr(plain, method)(row)
            assert got.shape == expected.shape
            np.testing.assert_allclose(got, expected, rtol=0, atol=TOLERANCE)
        # several rows still go through Booster.predict
        np.testing.assert_array_equal(getattr(fast, method)(rows[:5]), getattr(plain, method)(rows[:5]))


def test_concurrent_one_row_and_batch_predictions_stay_correct(booster: object, rows: np.ndarray) -> None:
    scorer = Scorer(_bundle(booster), "test:1")
    reference = Scorer(_bundle(booster), "test:1", single_row_fast=False)
    expected_p = reference.probabilities(rows)
    expected_c = reference.contributions(rows)
    start = threading.Barrier(9)

    def one_rows(worker: int) -> int:
        start.wait()
        checked = 0
        for i in range(worker, len(rows), 8):
            row = rows[i : i + 1]
            np.testing.assert_allclose(
                scorer.probabilities(row), expected_p[i : i + 1], rtol=0, atol=TOLERANCE
            )
            np.testing.assert_allclose(
                scorer.contributions(row), expected_c[i : i + 1], rtol=0, atol=TOLERANCE
            )
            checked += 1
        return checked

    def batches() -> int:
        start.wait()
        for j in range(0, len(rows), 250):
            np.testing.assert_allclose(
                scorer.probabilities(rows[j : j + 250]), expected_p[j : j + 250], rtol=0, atol=TOLERANCE
            )
        return 0

    with ThreadPoolExecutor(max_workers=9) as pool:
        futures = [pool.submit(one_rows, w) for w in range(8)] + [pool.submit(batches)]
        checked = sum(f.result(timeout=300) for f in futures)
    assert checked == len(rows)


def test_wrong_shapes_are_refused_before_reaching_lightgbm(booster: object, rows: np.ndarray) -> None:
    fast = SingleRowPredictor(booster)
    with pytest.raises(ValueError, match="one row"):
        fast.predict(rows[:2])
    with pytest.raises(ValueError, match="one row"):
        fast.predict(rows[:1, :-1])
    with pytest.raises(ValueError, match="one row"):
        fast.predict(rows[0])


def test_fast_configs_are_freed_with_the_predictor(booster: object, rows: np.ndarray) -> None:
    fast = SingleRowPredictor(booster)
    fast.predict(rows[:1])
    finalizer = fast._finalizer
    assert finalizer.alive
    del fast
    gc.collect()
    assert not finalizer.alive


def test_multiclass_boosters_keep_booster_predict() -> None:
    booster = _train(n_classes=3, n_trees=10)
    with pytest.raises(ValueError, match="binary"):
        SingleRowPredictor(booster)
    bundle = _bundle(booster)
    scorer = Scorer(bundle, "test:1")
    assert scorer.single_row is None
    row = _random_rows(booster, 1, seed=1)
    np.testing.assert_array_equal(scorer.probabilities(row), booster.predict(row, num_threads=1))
