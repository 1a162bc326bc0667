"""A small but real credit scorer for the end-to-end test, trained on the synthetic generator in seconds.

It goes through the real modelling code (feature building, selection, model comparison by cross-validation,
LightGBM, cost-tuned threshold) with a tiny budget, and skips only what a test does not need (the data
report, the model card's plots). Run as ``python -m tests.e2e.small_model`` with ``BENTOML_HOME`` set: BentoML
fixes its model store per process, so registration into a temporary store happens in a fresh interpreter.
It prints the registered tag on its last line.
"""

from __future__ import annotations

import sys

APPLICANTS = 5_000
"""Labelled applicants generated for training (seed 0; the test's traffic uses other seeds)."""

MAX_FEATURES = 40
"""Features kept by selection (as many as the main job keeps, so the sidecar's default ``drift_share``
means the same share of features as in production)."""


def train_and_register() -> str:
    """Train the small model, register it as ``credit_scorer`` in ``$BENTOML_HOME``, return its tag."""
    from service.bundle import PROBABILITY_COLUMN, TARGET_COLUMN, Bundle, register
    from training.feature_spec import build_feature_specs
    from training.fingerprint import fingerprint_tables, library_versions
    from training.loader import clean_table
    from training.modeling import ModelingConfig, train_and_evaluate
    from training.pipeline import build_training_matrix
    from training.synthetic import generate

    dataset = generate(APPLICANTS, seed=0)
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
    config.selection.max_features = MAX_FEATURES
    outcome = train_and_evaluate(features, target, config)
    selected = list(outcome.features)
    reference = outcome.X_holdout[selected].copy()
    reference[PROBABILITY_COLUMN] = outcome.proba_holdout.loc[reference.index]
    reference[TARGET_COLUMN] = outcome.y_holdout.loc[reference.index].astype(int)
    bundle = Bundle(
        booster_text=outcome.booster.model_to_string(),
        features=build_feature_specs(outcome.X_train, selected),
        threshold=float(outcome.threshold),
        cost=config.cost,
        metrics=outcome.metrics,
        training_fingerprint=fingerprint_tables(tables),
        library_versions=library_versions(),
        model_card="# Small end-to-end test model\n\nTrained by tests/e2e/small_model.py; not for use.\n",
        reference=reference.reset_index(drop=True),
        extra={"data_source": f"synthetic generator, {APPLICANTS} applicants, seed 0", "purpose": "e2e test"},
    )
    return register(bundle, labels={"source": "synthetic", "purpose": "e2e-test"})


if __name__ == "__main__":
    print(train_and_register())
    sys.exit(0)
