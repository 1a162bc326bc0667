"""The training job: tables -> features -> selection and model comparison -> cost-tuned threshold -> bundle.

This module only orchestrates; each step lives in its own module. It is what ``python -m training train``
and ``python -m training run`` execute.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from service.applicant.definitions import definitions_fingerprint
from service.applicant.reasons import reason_catalogue_for
from service.applicant.schema import CHILD_TABLES
from service.bundle import PROBABILITY_COLUMN, TARGET_COLUMN, Bundle, FeatureSpec, register
from service.reason_codes import ReasonCatalogue
from service.stability_bins import StabilityBins, build_stability_bins
from training.age_effect import AgeEffect, measure_age_effect
from training.age_rule import AGE_COLUMN, age_features
from training.data_report import DataReport, build_data_report
from training.documents import documents_for
from training.fairness import HoldoutFairness, holdout_fairness
from training.feature_spec import build_feature_specs
from training.features import build_features
from training.fingerprint import fingerprint_tables, library_versions
from training.loader import clean_table, load_tables
from training.model_card import build_model_card
from training.modeling import ModelingConfig, ModelingOutcome, train_and_evaluate
from training.realism import REALISM_SECTION_ROWS
from training.synthetic import DEFAULT_APPLICANTS, generate
from training.tracking import RunTracker

if TYPE_CHECKING:
    from training.realism.card_section import RealismSection

DEFAULT_ARTIFACTS = Path("artifacts")
"""Where runs (bundle copy, model card, plots, runs table) are written by default."""


@dataclass
class TrainingConfig:
    """Everything one training run needs to know."""

    data_dir: Path | None = None
    """Directory of Kaggle CSVs (real or generated); ``None`` trains on freshly generated synthetic data."""
    applicants: int = DEFAULT_APPLICANTS
    """Number of labelled applicants to generate when ``data_dir`` is ``None``."""
    seed: int = 0
    """Seed of the synthetic generator (the modelling seed is ``modeling.random_state``)."""
    artifacts_dir: Path = DEFAULT_ARTIFACTS
    """Root folder of the run folders (``<artifacts_dir>/runs/<run id>``)."""
    register: bool = True
    """Store the bundle in the BentoML model store as ``credit_scorer:<version>``."""
    modeling: ModelingConfig = field(default_factory=ModelingConfig)
    """Selection, cross-validation, tuning and cost settings."""
    progress: bool = True
    """Show progress bars and step timings on stderr."""
    example_applicants: int = 200
    """Holdout applicants stored in the bundle as applicant documents (the request form of ``POST /score``)
    for load tests, smoke tests and documentation; 0 stores none."""
    realism_in_report: bool = True
    """When training on real CSVs (``data_dir`` without the generator's ``true_probability.csv``), end the
    data report with how far the embedded synthetic generator is from them (:mod:`training.realism`'s
    measures without the model ranking; ``python -m training realism`` gives the full report). Nothing is
    added for synthetic data."""
    realism_rows: int | None = REALISM_SECTION_ROWS
    """The most real application rows that comparison reads, drawn at random with ``seed`` (as many
    applicants are generated); ``None`` reads them all. The default adds 6-14 s at Kaggle scale (see
    :data:`training.realism.REALISM_SECTION_ROWS`)."""


@dataclass
class TrainingResult:
    """What a training run produced."""

    run_dir: Path
    """Run folder with ``bundle/`` (holding ``model_card.md`` and its ``assets/``), ``runs.csv`` and
    ``summary.json``."""
    bundle: Bundle
    """The bundle that was saved (and registered when asked)."""
    tag: str | None
    """BentoML tag ``credit_scorer:<version>``, or ``None`` when not registered."""
    outcome: ModelingOutcome
    """Full modelling outcome (models, predictions, plots)."""
    timings: dict[str, float]
    """Seconds spent in each step."""


@dataclass
class TrainingData:
    """Cleaned input tables plus, for synthetic data, the true default probability."""

    tables: dict[str, pd.DataFrame]
    """Kaggle tables after the loader's cleaning (sentinels and XNA to missing)."""
    true_probability: pd.Series | None
    """True probability of default by SK_ID_CURR (synthetic data only; evaluation only)."""
    source: str
    """Human-readable description of where the data came from."""


def load_training_data(config: TrainingConfig) -> TrainingData:
    """Read the Kaggle CSVs at ``config.data_dir``, or generate synthetic tables in memory."""
    if config.data_dir is not None:
        tables = load_tables(config.data_dir, progress=config.progress)
        true_probability = _read_true_probability(Path(config.data_dir))
        return TrainingData(tables, true_probability, f"CSV files in {config.data_dir}")
    dataset = generate(config.applicants, seed=config.seed, progress=config.progress)
    raw = dataset.tables
    # clean table by table, releasing each raw table: at Kaggle scale two copies would not fit the budget
    tables = {name: clean_table(name, raw.pop(name)) for name in list(raw)}
    truth = dataset.true_probability.set_index("SK_ID_CURR")["TRUE_PROBABILITY"]
    return TrainingData(
        tables, truth, f"synthetic generator, {config.applicants:,} applicants, seed {config.seed}"
    )


def build_training_matrix(
    tables: dict[str, pd.DataFrame], *, progress: bool = False
) -> tuple[pd.DataFrame, pd.Series]:
    """Features (one row per labelled applicant) and their TARGET, on the SK_ID_CURR index."""
    application = tables["application_train"]
    inputs = {"application": application, **{name: tables[name] for name in CHILD_TABLES if name in tables}}
    features = build_features(inputs, progress=progress)
    target = application.set_index("SK_ID_CURR")[TARGET_COLUMN].reindex(features.index).astype(int)
    return features, target


def train(config: TrainingConfig, *, log: Callable[[str], None] = print) -> TrainingResult:
    """Run the whole training job and return what it produced."""
    timings: dict[str, float] = {}
    run_id = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    run_dir = Path(config.artifacts_dir) / "runs" / run_id
    run_dir.mkdir(parents=True, exist_ok=True)

    def step(name: str, started: float) -> None:
        timings[name] = round(time.perf_counter() - started, 2)
        log(f"[training] {name}: {timings[name]:.1f} s")

    started = time.perf_counter()
    data = load_training_data(config)
    step("data", started)
    log(f"[training] data: {data.source}")

    started = time.perf_counter()
    features, target = build_training_matrix(data.tables, progress=config.progress)
    step("features", started)
    log(f"[training] features: {features.shape[0]:,} applicants x {features.shape[1]} columns")

    realism = None
    if compares_realism(config, data):  # before modelling: a failure here costs seconds, not the whole run
        started = time.perf_counter()
        realism = _realism_section(config, data)
        step("realism", started)

    started = time.perf_counter()
    truth = data.true_probability.reindex(features.index) if data.true_probability is not None else None
    outcome = train_and_evaluate(
        features,
        target,
        config.modeling,
        tracker=RunTracker(run_dir),
        true_probability=truth,
        progress=config.progress,
    )
    step("modeling", started)

    started = time.perf_counter()
    selected = list(outcome.features)
    labelled_tables = {k: v for k, v in data.tables.items() if k != "application_test"}
    data_report = build_data_report(labelled_tables, features[selected], target, realism=realism)
    age = _measure_age(outcome, features, config.modeling.selection.age_rule)
    fairness = _measure_fairness(outcome, data)
    bundle = _assemble_bundle(outcome, data, data_report, config, run_id, age, fairness)
    bundle.save(run_dir / "bundle")  # model_card.md and the assets/ it links to live in the bundle folder
    step("report", started)

    tag = None
    if config.register:
        source = "synthetic" if config.data_dir is None else "csv"
        tag = register(bundle, labels={"run": run_id, "source": source})
    summary = {"run_id": run_id, "tag": tag, "timings_seconds": timings, "metrics": bundle.metrics}
    (run_dir / "summary.json").write_text(json.dumps(summary, indent=2, default=str))
    return TrainingResult(run_dir, bundle, tag, outcome, timings)


def compares_realism(config: TrainingConfig, data: TrainingData) -> bool:
    """Whether the data report gets its realism section: real CSVs (not the generator's, which come with
    their true probabilities), and ``config.realism_in_report``."""
    return config.realism_in_report and config.data_dir is not None and data.true_probability is None


def _realism_section(config: TrainingConfig, data: TrainingData) -> RealismSection:
    # imported here: training.realism imports this module (build_training_matrix)
    from training.realism.card_section import realism_section

    assert config.data_dir is not None
    return realism_section(data.tables, config.data_dir, rows=config.realism_rows, seed=config.seed)


def development_bins(outcome: ModelingOutcome, specs: list[FeatureSpec]) -> StabilityBins:
    """The stability bins of a trained model's features (``specs``, in booster order).

    Feature bins come from the development sample proper (the training rows); score bands from the holdout's
    probabilities, because in-sample predictions of a boosted model are more spread out than those new
    applicants get, and bands cut on them would show a shift on undrifted traffic.
    """
    return build_stability_bins(
        outcome.X_train,
        [spec.name for spec in specs],
        outcome.proba_holdout.to_numpy(),
        categories={spec.name: spec.categories for spec in specs if spec.categories is not None},
        source="feature bins: training split; score bands: holdout probabilities",
    )


def _measure_age(outcome: ModelingOutcome, features: pd.DataFrame, rule: str) -> AgeEffect:
    """How age acts in the trained model, on the holdout: ``features`` is the full feature matrix (it holds
    every holdout applicant's ``DAYS_BIRTH`` whether or not the model reads it), ``rule`` the age rule."""
    holdout = outcome.X_holdout[outcome.features]
    if AGE_COLUMN in features.columns:
        days_birth = features[AGE_COLUMN].reindex(holdout.index)
    else:
        days_birth = pd.Series(float("nan"), index=holdout.index)
    dropped = outcome.selection.dropped
    return measure_age_effect(
        outcome.booster,
        holdout,
        days_birth,
        rule=rule,
        constraints=outcome.age_constraints,
        left_out={name: dropped[name] for name in age_features(dropped)},
    )


def _measure_fairness(outcome: ModelingOutcome, data: TrainingData) -> HoldoutFairness:
    """The chosen model's decisions per group of each protected attribute, on the holdout applicants."""
    holdout = outcome.X_holdout.index
    application = data.tables["application_train"].drop_duplicates("SK_ID_CURR").set_index("SK_ID_CURR")
    refused = (outcome.proba_holdout.reindex(holdout) >= outcome.threshold).to_numpy()
    defaulted = outcome.y_holdout.reindex(holdout).to_numpy()
    return holdout_fairness(application.reindex(holdout), defaulted, refused)


def _assemble_bundle(
    outcome: ModelingOutcome,
    data: TrainingData,
    data_report: DataReport,
    config: TrainingConfig,
    run_id: str,
    age: AgeEffect,
    fairness: HoldoutFairness,
) -> Bundle:
    selected = list(outcome.features)
    reference = outcome.X_holdout[selected].head(config.modeling.reference_rows).copy()
    reference[PROBABILITY_COLUMN] = outcome.proba_holdout.loc[reference.index]
    reference[TARGET_COLUMN] = outcome.y_holdout.loc[reference.index].astype(int)
    examples = documents_for(data.tables, list(reference.index[: config.example_applicants]))
    reference = reference.reset_index(drop=True)
    specs = build_feature_specs(outcome.X_train, selected)
    protected = config.modeling.selection.protected()
    bundle = Bundle(
        booster_text=outcome.booster.model_to_string(),
        features=specs,
        threshold=float(outcome.threshold),
        cost=config.modeling.cost,
        metrics=outcome.metrics,
        training_fingerprint=fingerprint_tables(data.tables),
        library_versions=library_versions(),
        reference=reference,
        extra={
            "run_id": run_id,
            "data_source": data.source,
            "modeling_config": asdict(config.modeling),
            "age": age.to_json(),
            "fairness": fairness.to_json(),
        },
        feature_definitions=definitions_fingerprint(selected),
        example_applicants=examples,
        stability=development_bins(outcome, specs),
        protected_attributes=protected,
        reasons=ReasonCatalogue.from_json(reason_catalogue_for(selected, protected)),
    )
    bundle.model_card, bundle.assets = build_model_card(
        bundle, outcome, data_report, data.source, age, fairness
    )
    return bundle


def _read_true_probability(directory: Path) -> pd.Series | None:
    """The generator's evaluation-only file, when the CSVs came from it."""
    path = directory / "true_probability.csv"
    if not path.is_file():
        return None
    frame = pd.read_csv(path)
    return frame.set_index("SK_ID_CURR")["TRUE_PROBABILITY"]
