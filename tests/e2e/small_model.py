"""A small but real credit scorer for the end-to-end test, trained on the synthetic generator in seconds.

It goes through the real modelling code (feature building, selection, model comparison by cross-validation,
LightGBM, cost-tuned threshold) with a tiny budget, and skips only what a test does not need (the data
report, the model card's plots). Run as ``python -m tests.e2e.small_model [SEED [MAX_FEATURES]]`` with
``BENTOML_HOME`` set (:func:`register_in` does): BentoML fixes its model store per process, so registration
into a temporary store happens in a fresh interpreter. It prints the registered tag on its last line.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

APPLICANTS = 5_000
"""Labelled applicants generated for training (seed 0; the test's traffic uses other seeds)."""

MAX_FEATURES = 40
"""Features kept by selection (as many as the main job keeps, so the sidecar's default ``drift_share``
means the same share of features as in production)."""


def train_and_register(seed: int = 0, max_features: int = MAX_FEATURES) -> str:
    """Train the small model, register it as ``credit_scorer`` in ``$BENTOML_HOME``, return its tag.

    ``seed`` seeds the generated data and the modelling; ``max_features`` is selection's limit.
    """
    from service.applicant.definitions import definitions_fingerprint
    from service.bundle import PROBABILITY_COLUMN, TARGET_COLUMN, Bundle, register
    from training.documents import documents_for
    from training.feature_spec import build_feature_specs
    from training.fingerprint import fingerprint_tables, library_versions
    from training.loader import clean_table
    from training.modeling import ModelingConfig, train_and_evaluate
    from training.pipeline import build_training_matrix, development_bins
    from training.synthetic import generate

    dataset = generate(APPLICANTS, seed=seed)
    tables = {name: clean_table(name, table) for name, table in dataset.tables.items()}
    features, target = build_training_matrix(tables)
    config = ModelingConfig(
        n_folds=2,
        reference_rows=2_000,
        tuning_budget_seconds=1.0,
        tuning_max_trials=1,
        early_stopping_rounds=20,
        max_boost_rounds=200,
        interpretation=False,
    )
    config.selection.max_features = max_features
    config.random_state = seed
    outcome = train_and_evaluate(features, target, config)
    selected = list(outcome.features)
    specs = build_feature_specs(outcome.X_train, selected)
    reference = outcome.X_holdout[selected].copy()
    reference[PROBABILITY_COLUMN] = outcome.proba_holdout.loc[reference.index]
    reference[TARGET_COLUMN] = outcome.y_holdout.loc[reference.index].astype(int)
    bundle = Bundle(
        booster_text=outcome.booster.model_to_string(),
        features=specs,
        threshold=float(outcome.threshold),
        cost=config.cost,
        metrics=outcome.metrics,
        training_fingerprint=fingerprint_tables(tables),
        library_versions=library_versions(),
        model_card="# Small end-to-end test model\n\nTrained by tests/e2e/small_model.py; not for use.\n",
        reference=reference.reset_index(drop=True),
        extra={
            "data_source": f"synthetic generator, {APPLICANTS} applicants, seed {seed}",
            "purpose": "e2e test",
        },
        feature_definitions=definitions_fingerprint(selected),
        example_applicants=documents_for(tables, list(reference.index[:100])),
        stability=development_bins(outcome, specs),  # as training cuts them: the PSI panels read them
        protected_attributes=config.selection.protected(),
    )
    return register(bundle, labels={"source": "synthetic", "purpose": "e2e-test"})


def register_in(home: Path, seed: int = 0, max_features: int = MAX_FEATURES) -> str:
    """Train and register the small model into the BentoML home ``home`` (in a fresh interpreter)."""
    env = {**os.environ, "BENTOML_HOME": str(home), "BENTOML_DO_NOT_TRACK": "True"}
    done = subprocess.run(
        [sys.executable, "-m", "tests.e2e.small_model", str(seed), str(max_features)],
        cwd=Path(__file__).resolve().parents[2],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"training the small model failed: {done.stderr[-3000:]}")
    return done.stdout.strip().splitlines()[-1]


if __name__ == "__main__":
    print(train_and_register(*(int(arg) for arg in sys.argv[1:3])))
    sys.exit(0)
