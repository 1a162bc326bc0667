"""Round trip and validation of the model bundle (service/bundle.py)."""

from __future__ import annotations

import json
import logging
from dataclasses import replace
from pathlib import Path

import lightgbm as lgb
import numpy as np
import pandas as pd
import pytest

from service.bundle import (
    BUNDLE_FORMAT_VERSION,
    Bundle,
    BundleError,
    FeatureSpec,
    is_registered,
    load_registered,
    register,
    resolve_tag,
)
from service.stability_bins import STABILITY_FORMAT_VERSION
from tests.factories import make_tiny_bundle
from tests.service.applicant.test_reasons import catalogue_of


def test_save_load_round_trip(tmp_path: Path) -> None:
    bundle = make_tiny_bundle()
    bundle.save(tmp_path / "b")
    loaded = Bundle.load(tmp_path / "b", with_assets=True)
    assert loaded.features == bundle.features
    assert loaded.threshold == bundle.threshold
    assert loaded.cost == bundle.cost
    assert loaded.metrics == {"holdout_auc": 0.71, "confusion": [1, 2]}
    assert loaded.assets == bundle.assets
    assert loaded.model_card == "# card"
    pd.testing.assert_frame_equal(loaded.reference, bundle.reference)
    booster = lgb.Booster(model_str=loaded.booster_text)
    np.testing.assert_allclose(
        booster.predict(bundle.reference[loaded.feature_names].to_numpy()), bundle.reference["probability"]
    )


def test_load_without_reference_skips_parquet(tmp_path: Path) -> None:
    make_tiny_bundle().save(tmp_path)
    assert Bundle.load(tmp_path, with_reference=False).reference is None


def test_rejects_newer_format_and_missing_files(tmp_path: Path) -> None:
    make_tiny_bundle().save(tmp_path)
    meta = json.loads((tmp_path / "bundle.json").read_text())
    meta["format_version"] = BUNDLE_FORMAT_VERSION + 1
    (tmp_path / "bundle.json").write_text(json.dumps(meta))
    with pytest.raises(BundleError, match="not supported"):
        Bundle.load(tmp_path)
    with pytest.raises(BundleError, match=r"bundle\.json is missing"):
        Bundle.load(tmp_path / "nowhere")


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"threshold": 1.5}, "outside"),
        ({"features": []}, "at least one"),
        ({"features": [FeatureSpec("A", "float"), FeatureSpec("A", "float")]}, "unique"),
    ],
)
def test_save_validates(tmp_path: Path, change: dict, message: str) -> None:
    bundle = make_tiny_bundle()
    for key, value in change.items():
        setattr(bundle, key, value)
    with pytest.raises(BundleError, match=message):
        bundle.save(tmp_path)


def test_reference_must_hold_features_and_probability(tmp_path: Path) -> None:
    bundle = make_tiny_bundle()
    bundle.reference = bundle.reference.drop(columns=["probability"])
    with pytest.raises(BundleError, match="probability"):
        bundle.save(tmp_path)


def test_definitions_fingerprint_and_example_applicants_survive_a_round_trip(tmp_path: Path) -> None:
    bundle = make_tiny_bundle()
    assert bundle.feature_definitions == ""  # its features are not defined features
    bundle.feature_definitions = "v1-0123456789abcdef"
    bundle.example_applicants = [{"AMT_CREDIT": 1000.0, "bureau": [{"CREDIT_ACTIVE": "Active"}]}, {}]
    bundle.save(tmp_path)
    assert Bundle.load(tmp_path).example_applicants is None  # only read when asked
    loaded = Bundle.load(tmp_path, with_applicants=True)
    assert loaded.feature_definitions == bundle.feature_definitions
    assert loaded.example_applicants == bundle.example_applicants


def test_register_and_load_from_model_store(bentoml_home: Path) -> None:
    import bentoml

    assert not is_registered()
    tag = register(make_tiny_bundle(), labels={"source": "test"})
    assert tag.startswith("credit_scorer:")
    assert resolve_tag() == tag
    assert bentoml.models.get(tag).info.labels == {"source": "test"}
    loaded = load_registered(tag)
    assert loaded.threshold == 0.3
    assert loaded.reference is not None and len(loaded.reference) == 300


def test_stability_bins_survive_a_round_trip(tmp_path: Path) -> None:
    bundle = make_tiny_bundle()
    assert bundle.stability is not None
    assert bundle.stability.feature_names == bundle.feature_names
    bundle.save(tmp_path)
    stored = json.loads((tmp_path / "bundle.json").read_text())["stability"]
    assert stored["version"] == STABILITY_FORMAT_VERSION
    assert [f["name"] for f in stored["features"]] == bundle.feature_names
    loaded = Bundle.load(tmp_path, with_reference=False)
    assert loaded.stability == bundle.stability
    assert loaded.stability.fingerprint() == bundle.stability.fingerprint()


def test_a_bundle_without_stability_bins_still_loads(tmp_path: Path) -> None:
    """Bundles trained before the bins existed have no ``stability`` key; they load, without bins."""
    make_tiny_bundle().save(tmp_path)
    meta = json.loads((tmp_path / "bundle.json").read_text())
    del meta["stability"]
    (tmp_path / "bundle.json").write_text(json.dumps(meta))
    loaded = Bundle.load(tmp_path)
    assert loaded.stability is None
    assert loaded.feature_names == ["AMT_X", "CNT_Y", "FLAG_Z"]
    loaded.save(tmp_path / "again")  # and is written back without the key
    assert "stability" not in json.loads((tmp_path / "again" / "bundle.json").read_text())


def test_bins_of_a_newer_layout_are_ignored_and_broken_bins_refused(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    make_tiny_bundle().save(tmp_path)
    meta = json.loads((tmp_path / "bundle.json").read_text())
    meta["stability"]["version"] = STABILITY_FORMAT_VERSION + 1
    (tmp_path / "bundle.json").write_text(json.dumps(meta))
    with caplog.at_level(logging.WARNING, logger="service.bundle"):
        assert Bundle.load(tmp_path).stability is None
    assert f"stability bins format {STABILITY_FORMAT_VERSION + 1}" in caplog.text
    meta["stability"]["version"] = STABILITY_FORMAT_VERSION
    meta["stability"]["score"]["expected"][0] += 0.5
    (tmp_path / "bundle.json").write_text(json.dumps(meta))
    with pytest.raises(BundleError, match="invalid stability bins: score bands: shares"):
        Bundle.load(tmp_path)


def test_stability_bins_must_match_the_features(tmp_path: Path) -> None:
    bundle = make_tiny_bundle()
    assert bundle.stability is not None
    bundle.stability = replace(bundle.stability, features=bundle.stability.features[::-1])
    with pytest.raises(BundleError, match="stability bins must cover the model's features"):
        bundle.save(tmp_path)


def test_reason_catalogue_survives_a_round_trip_and_must_match_the_features(tmp_path: Path) -> None:
    bundle = make_tiny_bundle()
    bundle.reasons = catalogue_of(bundle.feature_names)
    bundle.save(tmp_path)
    assert Bundle.load(tmp_path).reasons == bundle.reasons
    meta = json.loads((tmp_path / "bundle.json").read_text())
    meta["reasons"]["reasons"][0]["features"] = ["NOT_A_FEATURE"]
    (tmp_path / "bundle.json").write_text(json.dumps(meta))
    with pytest.raises(BundleError, match=r"invalid reason catalogue: .*not model features: NOT_A_FEATURE"):
        Bundle.load(tmp_path)
    del meta["reasons"]
    (tmp_path / "bundle.json").write_text(json.dumps(meta))
    assert Bundle.load(tmp_path).reasons is None  # written before reason codes: the service builds them
    bundle.reasons = catalogue_of(bundle.feature_names[:-1])
    with pytest.raises(BundleError, match="under none"):
        bundle.save(tmp_path / "again")
