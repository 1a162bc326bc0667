"""The generator's drift scenarios as the sidecar sees them: feature rows, probabilities, decisions.

Applicants come from :func:`training.synthetic.generate` (all tables), are cleaned by the loader and turned
into features by :func:`training.features.build_features`, exactly as the training pipeline does; the bundle's
booster scores them and its threshold decides. A window is then what the payload log would carry for those
applicants. Used by ``test_scenarios.py`` (small, default run), ``test_scenarios_slow.py`` and
``benchmarks/bench_drift_scenarios.py``.
"""

from __future__ import annotations

import tempfile
import time
import warnings
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from monitoring.drift import DriftDetector, DriftResult
from monitoring.settings import MonitorSettings
from monitoring.window import WindowView
from service.bundle import PROBABILITY_COLUMN, Bundle, CostWeights

CHILD_TABLE_PREFIXES = ("BURO_", "BB_", "PREV_", "POS_", "INST_", "CC_")
"""Feature name prefixes of the history tables; a scenario's key features are applicant-level ones."""

KEY_FEATURE_PARTS: dict[str, tuple[str, ...]] = {
    "young_high_income": ("BIRTH", "INCOME", "EMPLOYED", "PENSIONER"),
    "ext_source_bug": ("EXT_SOURCE",),
    "revolving_mix": ("CREDIT", "ANNUITY", "GOODS", "CONTRACT_TYPE", "REVOLVING"),
}
"""Name parts of the applicant-level features each scenario changes directly (its key features)."""


def key_features(scenario: str, feature_names: list[str]) -> list[str]:
    """The bundle features a scenario changes directly: applicant-level, name containing one of its parts."""
    parts = KEY_FEATURE_PARTS[scenario]
    return [
        name
        for name in feature_names
        if not name.startswith(CHILD_TABLE_PREFIXES) and any(part in name for part in parts)
    ]


def applicant_features(
    n_applicants: int, *, seed: int, scenario: str | None = None, columns: list[str] | None = None
) -> tuple[pd.DataFrame, pd.Series]:
    """Features (and TARGET) of ``n_applicants`` freshly generated applicants, built as the pipeline does."""
    from service.applicant.schema import CHILD_TABLES
    from training.features import build_features
    from training.loader import clean_table
    from training.synthetic import generate

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        dataset = generate(n_applicants, seed=seed, scenario=scenario, test_share=0.0)
        tables = {
            name: clean_table(name, table)
            for name, table in dataset.tables.items()
            if name != "application_test"
        }
        application = tables["application_train"]
        inputs = {
            "application": application,
            **{name: tables[name] for name in CHILD_TABLES if name in tables},
        }
        features = build_features(inputs)
    target = application.set_index("SK_ID_CURR")["TARGET"].reindex(features.index).astype(int)
    return (features if columns is None else features[columns]), target


def feature_chunks(
    n_applicants: int, *, seed: int, columns: list[str], scenario: str | None = None, chunk: int = 25_000
) -> Iterator[pd.DataFrame]:
    """``n_applicants`` applicants in chunks, each drawn with its own seed (``seed``, ``seed + 1``, ...)."""
    for i, start in enumerate(range(0, n_applicants, chunk)):
        size = min(chunk, n_applicants - start)
        yield applicant_features(size, seed=seed + i, scenario=scenario, columns=columns)[0]


@dataclass
class Scored:
    """Records as the payload log carries them: features in bundle order, probability, decision."""

    features: np.ndarray
    """Feature matrix (records x bundle features), NaN where missing."""
    probabilities: np.ndarray
    """Probability of default from the bundle's booster."""
    refused: np.ndarray
    """Decision from the bundle's threshold."""

    def __len__(self) -> int:
        return len(self.probabilities)

    def rows(self, start: int, stop: int) -> Scored:
        """Records ``start`` to ``stop`` (exclusive)."""
        return Scored(self.features[start:stop], self.probabilities[start:stop], self.refused[start:stop])

    @staticmethod
    def concat(parts: list[Scored]) -> Scored:
        """The records of ``parts``, one after the other."""
        return Scored(
            np.concatenate([p.features for p in parts]),
            np.concatenate([p.probabilities for p in parts]),
            np.concatenate([p.refused for p in parts]),
        )

    def view(self) -> WindowView:
        """These records as the window a drift computation sees."""
        return WindowView(np.zeros(len(self)), self.features, self.probabilities, self.refused)


class BundleScorer:
    """Scores feature rows with a bundle's booster and threshold (what the service logs)."""

    def __init__(self, bundle: Bundle) -> None:
        import lightgbm as lgb

        self.bundle = bundle
        self.booster = lgb.Booster(model_str=bundle.booster_text)

    def score(self, frame: pd.DataFrame) -> Scored:
        """Probabilities and decisions of the rows of ``frame`` (columns: at least the bundle's features)."""
        features = frame[self.bundle.feature_names].to_numpy(dtype=np.float64)
        probabilities = self.booster.predict(features, num_threads=1)
        return Scored(features, probabilities, probabilities >= self.bundle.threshold)


def quick_bundle(n_train: int, n_reference: int, *, seed: int, n_features: int = 40) -> Bundle:
    """A bundle built in seconds: LightGBM on the generator's features, the top features by gain kept.

    A stand-in for :func:`training.pipeline.train` (minutes) in the default test run: same data and feature
    code, a simpler selection and no tuning. The reference sample is a separate draw of applicants.
    """
    import lightgbm as lgb

    from training.feature_spec import build_feature_specs

    train, target = applicant_features(n_train, seed=seed)
    params = {"objective": "binary", "learning_rate": 0.1, "num_leaves": 15, "verbose": -1, "num_threads": 1}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        wide = lgb.train(params, lgb.Dataset(train.astype(np.float64), label=target), num_boost_round=60)
        gain = pd.Series(wide.feature_importance("gain"), index=train.columns)
        selected = list(gain.sort_values(ascending=False).index[:n_features])
        booster = lgb.train(
            params, lgb.Dataset(train[selected].astype(np.float64), label=target), num_boost_round=60
        )
    reference, _ = applicant_features(n_reference, seed=seed + 1, columns=selected)
    reference = reference.astype(np.float64).reset_index(drop=True)
    reference[PROBABILITY_COLUMN] = booster.predict(reference[selected], num_threads=1)
    return Bundle(
        booster_text=booster.model_to_string(),
        features=build_feature_specs(train, selected),
        threshold=float(np.quantile(reference[PROBABILITY_COLUMN], 0.8)),
        cost=CostWeights(),
        metrics={},
        training_fingerprint=f"generated-{seed}",
        reference=reference,
    )


def trained_bundle(applicants: int, *, seed: int) -> Bundle:
    """A bundle from the real training pipeline on the generator's baseline population (fast settings)."""
    from training.modeling import ModelingConfig
    from training.pipeline import TrainingConfig, train

    modeling = ModelingConfig(n_folds=3, tuning_budget_seconds=5, tuning_max_trials=3)
    with tempfile.TemporaryDirectory() as tmp, warnings.catch_warnings():
        warnings.simplefilter("ignore")
        config = TrainingConfig(
            applicants=applicants,
            seed=seed,
            artifacts_dir=Path(tmp),
            register=False,
            modeling=modeling,
            progress=False,
        )
        return train(config, log=lambda _line: None).bundle


def make_detector(bundle: Bundle, window_records: int, **overrides: object) -> DriftDetector:
    """A calibrated detector for ``bundle`` with the sidecar's default drift settings (or ``overrides``)."""
    assert bundle.reference is not None
    settings = MonitorSettings(
        window_records=window_records,
        min_records=min(1_000, window_records),
        **overrides,  # type: ignore[arg-type]
    )
    detector = DriftDetector(bundle.reference, bundle.features, bundle.threshold, settings)
    detector.calibrate()
    return detector


def flagged(result: DriftResult, keys: list[str]) -> bool:
    """Whether a window raised the alarm for a scenario: dataset drift, or one of its key features drifted."""
    return result.dataset_drifted or any(f.drifted for f in result.features if f.name in keys)


def ext_source_bug_version() -> str:
    """Which ``ext_source_bug`` the generator has: EXT_SOURCE_2 x100 (out of [0, 1]) or divided by 100."""
    from training.synthetic import generate

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        application = generate(400, seed=0, scenario="ext_source_bug", test_share=0.0).tables[
            "application_train"
        ]
    return "x100 (outside [0, 1])" if application["EXT_SOURCE_2"].max() > 1.0 else "/100 (inside [0, 1])"


@dataclass
class FalseAlarms:
    """Alarms raised on undrifted windows."""

    windows: int
    """Windows scored."""
    dataset_drifted: int
    """Windows flagged as dataset drift."""
    feature_drifted: dict[str, int]
    """Windows in which each feature drifted (features that never drifted are absent)."""
    prediction_drifted: int
    """Windows in which the predicted probability drifted."""
    seconds_data: float = 0.0
    """Time spent generating applicants, building their features and scoring them."""
    seconds_drift: float = 0.0
    """Time spent in drift computations."""
    shares: list[float] = field(default_factory=list)
    """Share of drifted features of each window, in order (what ``drift_share`` is compared with)."""

    @property
    def worst_feature(self) -> tuple[str | None, int]:
        """The feature that drifted in the most windows, and in how many."""
        if not self.feature_drifted:
            return None, 0
        name = max(self.feature_drifted, key=lambda k: self.feature_drifted[k])
        return name, self.feature_drifted[name]


def false_alarms(
    detector: DriftDetector,
    scorer: BundleScorer,
    *,
    windows: int,
    window_records: int,
    seed: int,
    chunk: int = 25_000,
    keep: int = 0,
) -> tuple[FalseAlarms, list[Scored]]:
    """Score ``windows`` disjoint windows of fresh baseline applicants; return the first ``keep`` as well.

    Every window holds different applicants (chunks of ``chunk`` applicants per generator seed, cut into
    windows), so the windows are independent draws of the training distribution.
    """
    chunk = max(window_records, chunk - chunk % window_records)
    result = FalseAlarms(windows=0, dataset_drifted=0, feature_drifted={}, prediction_drifted=0)
    kept: list[Scored] = []
    started = time.perf_counter()
    for frame in feature_chunks(
        windows * window_records, seed=seed, columns=scorer.bundle.feature_names, chunk=chunk
    ):
        scored = scorer.score(frame)
        result.seconds_data += time.perf_counter() - started
        for start in range(0, len(scored) - window_records + 1, window_records):
            window = scored.rows(start, start + window_records)
            if len(kept) < keep:
                kept.append(window)
            drift = detector.compute(window.view())
            result.seconds_drift += drift.duration_seconds
            result.windows += 1
            result.dataset_drifted += drift.dataset_drifted
            result.prediction_drifted += drift.prediction.drifted
            result.shares.append(drift.drifted_share)
            for feature in drift.features:
                if feature.drifted:
                    result.feature_drifted[feature.name] = result.feature_drifted.get(feature.name, 0) + 1
        started = time.perf_counter()
    return result, kept


@dataclass
class Detection:
    """How fast one scenario was flagged after the shift, over several trials."""

    scenario: str
    """Scenario name."""
    key_features: list[str]
    """The bundle features the scenario changes directly."""
    trials: int = 0
    """Trials run."""
    first_window: int = 0
    """Trials flagged on the window that straddles the shift."""
    within_two: int = 0
    """Trials flagged on the straddling window or the next one."""
    seconds_data: float = 0.0
    """Time spent generating applicants, building their features and scoring them."""
    straddling_shares: list[float] = field(default_factory=list)
    """Share of drifted features of each trial's straddling window."""
    drifted_shares: list[float] = field(default_factory=list)
    """Share of drifted features of each trial's second window (drifted records only)."""
    drifted_features: dict[str, int] = field(default_factory=dict)
    """Trials whose second window flagged each feature (features never flagged there are absent)."""

    @property
    def rate(self) -> float:
        """Share of trials flagged within two windows."""
        return self.within_two / self.trials if self.trials else 0.0


def detection(
    detector: DriftDetector,
    scorer: BundleScorer,
    scenario: str,
    *,
    baseline: list[Scored],
    trials: int,
    window_records: int,
    seed: int,
) -> Detection:
    """Shift from baseline to ``scenario`` traffic at a random point of a window, ``trials`` times.

    The first window after the shift straddles it (a random number of baseline records, then drifted ones),
    the second holds drifted records only; each trial uses freshly generated drifted applicants and its own
    baseline window from ``baseline``. Both windows are scored in every trial, so the shares of drifted
    features of both are recorded even when the first window already raised the alarm.
    """
    rng = np.random.default_rng(seed)
    result = Detection(scenario, key_features(scenario, scorer.bundle.feature_names))
    for trial in range(trials):
        before = int(rng.integers(1, window_records))
        started = time.perf_counter()
        frame, _ = applicant_features(
            2 * window_records - before,
            seed=seed + trial,
            scenario=scenario,
            columns=scorer.bundle.feature_names,
        )
        drifted = scorer.score(frame)
        result.seconds_data += time.perf_counter() - started
        straddling = Scored.concat(
            [baseline[trial % len(baseline)].rows(0, before), drifted.rows(0, window_records - before)]
        )
        after = drifted.rows(window_records - before, 2 * window_records - before)
        first_drift, after_drift = detector.compute(straddling.view()), detector.compute(after.view())
        first = flagged(first_drift, result.key_features)
        result.trials += 1
        result.first_window += first
        result.within_two += first or flagged(after_drift, result.key_features)
        result.straddling_shares.append(first_drift.drifted_share)
        result.drifted_shares.append(after_drift.drifted_share)
        for feature in after_drift.features:
            if feature.drifted:
                result.drifted_features[feature.name] = result.drifted_features.get(feature.name, 0) + 1
    return result
