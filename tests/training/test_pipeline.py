"""End-to-end training on small synthetic data: tables -> features -> models -> registered bundle."""

from __future__ import annotations

import json
from pathlib import Path

import lightgbm as lgb
import msgspec
import numpy as np
import pandas as pd
import pytest

from service.applicant.definitions import definitions_fingerprint
from service.applicant.document import applicant_type
from service.applicant.protected import OPTIONAL_PROTECTED, features_reading
from service.applicant.schema import CHILD_TABLES
from service.booster import Scorer
from service.bundle import Bundle, load_registered
from service.loader import applicant_support
from service.request_schema import RequestSchema
from service.stability_bins import psi
from tests.service.applicant.test_protected import EVERY_PROTECTED, with_other_protected_values
from tests.service.applicant.test_reasons import catalogue_of
from tests.training.age_data import SWEEP_AGES, days_at
from training.documents import tables_to_documents
from training.loader import load_tables
from training.modeling import ModelingConfig
from training.pipeline import TrainingConfig, TrainingData, TrainingResult, compares_realism, train
from training.realism.card_section import PLOT_DIR as REALISM_PLOTS
from training.realism.card_section import realism_section
from training.synthetic import generate

SMALL_APPLICANTS = 4000


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> tuple[TrainingResult, Path]:
    """One small training run, registered into a private BentoML home, shared by this module's tests."""
    from bentoml._internal.configuration.containers import BentoMLContainer

    home = tmp_path_factory.mktemp("bentoml")
    previous = BentoMLContainer.bentoml_home.get()
    BentoMLContainer.bentoml_home.set(str(home))
    BentoMLContainer.model_store.reset()
    modeling = ModelingConfig(n_folds=3, tuning_budget_seconds=5, tuning_max_trials=3, reference_rows=800)
    modeling.selection.protected_attributes = OPTIONAL_PROTECTED  # and CODE_GENDER, always
    config = TrainingConfig(
        applicants=SMALL_APPLICANTS,
        seed=7,
        artifacts_dir=tmp_path_factory.mktemp("artifacts"),
        modeling=modeling,
        progress=False,
    )
    result = train(config, log=lambda _line: None)
    yield result, home
    BentoMLContainer.bentoml_home.set(previous)
    BentoMLContainer.model_store.reset()


def test_bundle_is_registered_and_complete(trained: tuple[TrainingResult, Path]) -> None:
    result, _home = trained
    assert result.tag is not None and result.tag.startswith("credit_scorer:")
    bundle = load_registered(result.tag, with_assets=True)
    assert bundle.feature_names == result.outcome.features
    assert 0 < len(bundle.features) <= 40
    assert 0.0 < bundle.threshold < 1.0
    assert bundle.reference is not None and len(bundle.reference) == 800
    assert {"probability", "TARGET", *bundle.feature_names} <= set(bundle.reference.columns)
    for key in ("cv_auc_mean", "cv_auc_std", "holdout_auc", "brier", "cost_at_threshold", "confusion_matrix"):
        assert key in bundle.metrics
    assert "auc_ratio_vs_true" in bundle.metrics and "cost_ratio_vs_true" in bundle.metrics
    assert len(bundle.training_fingerprint) == 64
    assert "lightgbm" in bundle.library_versions
    assert any(path.startswith("model/") for path in bundle.assets)
    assert any(path.startswith("data/") for path in bundle.assets)


def test_bundle_holds_stability_bins_of_the_development_sample(trained: tuple[TrainingResult, Path]) -> None:
    """Feature bins from the training split, score bands from the holdout's probabilities; the holdout, drawn
    from the same applicants, sits well inside the 0.10 band on every feature."""
    result, _home = trained
    bins = load_registered(result.tag).stability
    assert bins is not None and bins == result.bundle.stability
    outcome = result.outcome
    assert bins.feature_names == result.bundle.feature_names
    assert (bins.feature_rows, bins.score_rows) == (len(outcome.X_train), len(outcome.X_holdout))
    for feature in bins.features:
        values = outcome.X_train[feature.name].to_numpy(dtype=float)
        counts = np.bincount(feature.assign(values), minlength=feature.n_bins)
        np.testing.assert_allclose(counts / len(values), feature.expected)
        assert 1 <= len(feature.edges) <= 9
        assert len(feature.edges) == 1 or min(feature.expected[:-1]) >= 0.05
        holdout = outcome.X_holdout[feature.name].to_numpy(dtype=float)
        assert psi(np.bincount(feature.assign(holdout), minlength=feature.n_bins), feature.expected) < 0.1
    probabilities = outcome.proba_holdout.to_numpy()
    assert len(bins.score.expected) == 10
    assert psi(np.bincount(bins.score.assign(probabilities)), bins.score.expected) == pytest.approx(
        0, abs=1e-12
    )


def test_reference_probabilities_are_the_served_model_s(trained: tuple[TrainingResult, Path]) -> None:
    result, _home = trained
    bundle = load_registered(result.tag)
    booster = lgb.Booster(model_str=bundle.booster_text)
    rows = bundle.reference[bundle.feature_names].to_numpy(dtype=float)
    np.testing.assert_allclose(booster.predict(rows), bundle.reference["probability"], rtol=1e-9, atol=1e-12)


def test_every_training_row_passes_the_request_contract(trained: tuple[TrainingResult, Path]) -> None:
    """The service's own request types accept every training row as a feature vector, value for value."""
    result, _home = trained
    bundle = result.bundle
    assert all(spec.description for spec in bundle.features)
    schema = RequestSchema(bundle.features, max_batch_size=1000, explain_max_k=0)
    train = result.outcome.X_train[bundle.feature_names]
    for start in range(0, len(train), 1000):
        chunk = train.iloc[start : start + 1000].to_numpy(dtype=float)
        rows = [[None if np.isnan(v) else v for v in row] for row in chunk.tolist()]
        body = json.dumps({"columns": bundle.feature_names, "rows": rows}).encode()
        np.testing.assert_array_equal(schema.parse(body).matrix, chunk)


def test_the_bundle_scores_applicant_documents_as_training_did(trained: tuple[TrainingResult, Path]) -> None:
    """The bundle records its feature definitions, and its example applicants (holdout applicants as
    documents) give, through the service's evaluator, the exact feature rows training built for them."""
    result, _home = trained
    bundle = load_registered(result.tag, with_applicants=True)
    assert bundle.feature_definitions == definitions_fingerprint(bundle.feature_names)
    feature_row, reason = applicant_support(bundle)
    assert feature_row is not None, reason
    examples = bundle.example_applicants
    assert examples is not None and len(examples) == 200
    decoder = msgspec.json.Decoder(applicant_type())
    rows = np.array([feature_row.values(decoder.decode(json.dumps(e))) for e in examples])
    expected = result.outcome.X_holdout[bundle.feature_names].head(200).to_numpy(dtype=float)
    np.testing.assert_allclose(rows, expected, rtol=1e-9, atol=0)
    assert (np.isnan(rows) == np.isnan(expected)).all()


def test_no_feature_reads_a_protected_attribute_and_the_card_says_which_were_left_out(
    trained: tuple[TrainingResult, Path],
) -> None:
    result, _home = trained
    bundle = load_registered(result.tag)
    assert bundle.protected_attributes == sorted(EVERY_PROTECTED)
    assert features_reading(bundle.feature_names, EVERY_PROTECTED) == {}
    dropped = result.outcome.selection.dropped
    for name in (
        "CODE_GENDER_M",
        "CNT_CHILDREN",
        "APP_INCOME_PER_FAMILY_MEMBER",
        "NAME_FAMILY_STATUS_MARRIED",
    ):
        assert dropped[name].startswith("reads the protected attribute"), name
        assert f"| `{name}` | reads the protected attribute" in result.bundle.model_card
    assert "## Protected attributes" in result.bundle.model_card


def test_the_card_and_bundle_show_the_decisions_per_protected_group_on_the_holdout(
    trained: tuple[TrainingResult, Path],
) -> None:
    result, _home = trained
    fairness = load_registered(result.tag).extra["fairness"]
    sexes = {g["group"]: g for g in fairness["groups"] if g["attribute"] == "CODE_GENDER"}
    holdout = len(result.outcome.y_holdout)
    assert sum(g["applicants"] for g in sexes.values()) == holdout
    refused = result.outcome.proba_holdout >= result.outcome.threshold
    assert set(sexes) <= {"F", "M", "XNA"} and "F" in sexes and "M" in sexes
    approved = sum(g["applicants"] * g["approval_rate"] for g in (sexes["F"], sexes["M"]))
    unknown = sexes.get("XNA", {"applicants": 0})["applicants"]
    assert approved <= holdout * (1 - float(refused.mean())) + 1e-6 <= approved + unknown + 2e-6
    assert "## Fairness on the holdout" in result.bundle.model_card


def test_the_bundle_carries_reviewed_reason_codes_for_every_feature(
    trained: tuple[TrainingResult, Path],
) -> None:
    result, _home = trained
    bundle = load_registered(result.tag)
    assert bundle.reasons is not None
    bundle.reasons.check_covers(bundle.feature_names)
    assert bundle.reasons == catalogue_of(bundle.feature_names)
    assert all(reason.code.startswith("R") for reason in bundle.reasons.reasons)
    assert "## Reason codes" in result.bundle.model_card
    for reason in bundle.reasons.reasons:
        assert f"| {reason.code} | {reason.statement} |" in result.bundle.model_card


def _served_probabilities(result: TrainingResult, applicants: list[dict]) -> np.ndarray:
    """Probabilities of ``applicants`` (documents) through the applicant form of the request contract and
    the registered model, as the service computes them."""
    bundle = load_registered(result.tag)
    feature_row, reason = applicant_support(bundle)
    assert feature_row is not None, reason
    schema = RequestSchema(bundle.features, max_batch_size=1000, explain_max_k=0, feature_row=feature_row)
    scorer = Scorer(bundle, result.tag)
    out = []
    for start in range(0, len(applicants), 1000):
        chunk = [{"applicant": a} for a in applicants[start : start + 1000]]
        out.append(scorer.probabilities(schema.parse(json.dumps({"applicants": chunk}).encode()).matrix))
    return np.concatenate(out)


def test_changing_only_protected_attributes_never_changes_the_probability(
    trained: tuple[TrainingResult, Path],
) -> None:
    """5,000 new generated applicants through the applicant form of the request contract and the model."""
    result, _home = trained
    documents = tables_to_documents(generate(5_000, seed=62, test_share=0.0).tables, keep_ids=False)
    changed = [with_other_protected_values(d, i) for i, d in enumerate(documents)]
    np.testing.assert_array_equal(
        _served_probabilities(result, documents), _served_probabilities(result, changed)
    )


def test_the_bundle_records_the_age_rule_and_the_card_says_how_age_acts(
    trained: tuple[TrainingResult, Path],
) -> None:
    result, _home = trained
    bundle = load_registered(result.tag)
    age = bundle.extra["age"]
    assert age == Bundle.load(result.run_dir / "bundle").extra["age"] == result.bundle.extra["age"]
    assert age["rule"] == bundle.extra["modeling_config"]["selection"]["age_rule"] == "monotone"
    assert "DAYS_BIRTH" in bundle.feature_names, "age carries signal here: the constraint has work to do"
    assert age["features"] == ["DAYS_BIRTH"] and age["constraints"] == {"DAYS_BIRTH": 1}
    assert age["left_out"]["APP_EMPLOYED_AGE_RATIO"].startswith("age rule monotone: reads DAYS_BIRTH with")
    assert "DAYS_BIRTH" not in bundle.protected_attributes
    # the served booster carries the constraint (its parameters are part of the model text)
    expected = [1 if name == "DAYS_BIRTH" else 0 for name in bundle.feature_names]
    assert f"[monotone_constraints: {','.join(map(str, expected))}]" in bundle.booster_text
    holdout = result.outcome.X_holdout[bundle.feature_names]
    contributions = lgb.Booster(model_str=bundle.booster_text).predict(
        holdout.to_numpy(float), pred_contrib=True
    )
    age_contribution = contributions[:, bundle.feature_names.index("DAYS_BIRTH")]
    elderly = -holdout["DAYS_BIRTH"].to_numpy() / 365.25 >= 62
    assert age["elderly"] == int(elderly.sum()) > 0
    assert age["elderly_raising"] == int((age_contribution[elderly] > 0).sum())
    card = result.bundle.model_card
    assert "## Age\n\nAge rule in force: **monotone**." in card
    assert (
        "Model features that read `DAYS_BIRTH`: `DAYS_BIRTH` (monotone constraint +1: risk never falls as "
        "`DAYS_BIRTH` rises, so never rises with age)."
    ) in card
    assert f"Of the {age['elderly']:,} applicants aged 62 or over, **{age['elderly_raising']:,} (" in card


def test_under_the_monotone_age_rule_risk_never_rises_with_age(trained: tuple[TrainingResult, Path]) -> None:
    """100 new generated applicants, each at every age from 20 to 75, through the applicant form of the
    request contract and the registered model: an older applicant's probability is never higher."""
    result, _home = trained
    documents = tables_to_documents(generate(100, seed=63, test_share=0.0).tables, keep_ids=False)
    swept = [{**d, "DAYS_BIRTH": days_at(years)} for d in documents for years in SWEEP_AGES]
    by_age = _served_probabilities(result, swept).reshape(len(documents), len(SWEEP_AGES))
    assert (np.diff(by_age, axis=1) <= 0).all()
    assert (np.diff(by_age, axis=1) < 0).any(), "age moves the probability: the check is not vacuous"


def test_run_folder_holds_card_runs_table_and_summary(trained: tuple[TrainingResult, Path]) -> None:
    result, _home = trained
    run_dir = result.run_dir
    card = (run_dir / "bundle" / "model_card.md").read_text()
    for heading in ("# Model card", "## Model comparison", "## Chosen model", "## Features", "## Data"):
        assert heading in card
    assert "true-probability ROC AUC" in card
    for link in [part.split(")")[0] for part in card.split("](assets/")[1:]]:
        assert (run_dir / "bundle" / "assets" / link).is_file(), link
    runs = (run_dir / "runs.csv").read_text().splitlines()
    assert len(runs) >= 1 + 4
    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["tag"] == result.tag
    assert Bundle.load(run_dir / "bundle").threshold == result.bundle.threshold


def test_synthetic_training_adds_no_realism_section(trained: tuple[TrainingResult, Path]) -> None:
    result, _home = trained
    assert "Realism" not in result.bundle.model_card
    assert not [path for path in result.bundle.assets if path.startswith(f"{REALISM_PLOTS}/")]
    summary = json.loads((result.run_dir / "summary.json").read_text())
    assert "realism" not in summary["timings_seconds"]


def test_only_real_csvs_get_the_realism_section(tmp_path: Path) -> None:
    real = TrainingData(tables={}, true_probability=None, source="CSV files")
    generated_csvs = TrainingData(tables={}, true_probability=pd.Series([0.1]), source="CSV files")
    assert compares_realism(TrainingConfig(data_dir=tmp_path), real)
    assert not compares_realism(TrainingConfig(data_dir=tmp_path, realism_in_report=False), real)
    assert not compares_realism(TrainingConfig(data_dir=tmp_path), generated_csvs)
    assert not compares_realism(TrainingConfig(), real)


@pytest.mark.slow
def test_training_on_the_real_samples_ends_the_data_report_with_the_realism_section(
    homecredit_sample: Path, tmp_path: Path
) -> None:
    """The random real applications with the random real child rows (and the first previous applications,
    absent from those) in one Kaggle folder, trained on with the section's default settings but a smaller
    row cap: the card holds the section, its numbers those of training.realism on the same tables."""
    data_dir = tmp_path / "real"
    data_dir.mkdir()
    (data_dir / "application_train.csv").symlink_to(
        homecredit_sample / "application_train_random5000" / "application_train.csv"
    )
    for name in CHILD_TABLES:
        source = homecredit_sample / "child_tables_random20000" / f"{name}.csv"
        (data_dir / f"{name}.csv").symlink_to(
            source if source.is_file() else homecredit_sample / f"{name}.csv"
        )
    modeling = ModelingConfig(n_folds=3, tuning_budget_seconds=5, tuning_max_trials=3, reference_rows=200)
    config = TrainingConfig(
        data_dir=data_dir,
        seed=3,
        artifacts_dir=tmp_path / "artifacts",
        register=False,
        modeling=modeling,
        progress=False,
        realism_rows=3000,
    )
    result = train(config, log=lambda _line: None)

    card = (result.run_dir / "bundle" / "model_card.md").read_text()
    assert "### Realism: the embedded generator against this data" in card
    assert "a random 3,000 of the 5,000 real application rows" in card
    expected = realism_section(load_tables(data_dir), data_dir, rows=3000, seed=3).report
    marginals = expected.marginals
    assert f"| marginal distance, median over 120 application columns | {marginals.median:.3f} |" in card
    assert f"| marginal distance, max | {marginals.maximum:.3f} ({marginals.columns[0].column}) |" in card
    gap = expected.application_correlations.gap
    assert f"{gap.median_abs_difference:.3f} / {gap.max_abs_difference:.3f} |" in card
    links = [part.split(")")[0] for part in card.split("](assets/")[1:]]
    assert {f"{REALISM_PLOTS}/marginals.png", f"{REALISM_PLOTS}/block_missingness.png"} <= set(links)
    for link in links:
        assert (result.run_dir / "bundle" / "assets" / link).is_file(), link
    summary = json.loads((result.run_dir / "summary.json").read_text())
    assert summary["timings_seconds"]["realism"] > 0
