"""Serving from a Bento pins an unversioned bundle tag to the model version the Bento was built with."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from service.bundle import Bundle, BundleError, FeatureSpec, register
from service.loader import load_model, pinned_bundle_tag, served_bento_model_tags, settings_for_served_bento
from service.settings import ServiceSettings
from tests.factories import train_tiny_bundle

SHIPPED = ["credit_scorer:shipped1", "other_model:v9"]


@pytest.mark.parametrize(
    ("requested", "expected"),
    [
        ("credit_scorer:latest", "credit_scorer:shipped1"),
        ("credit_scorer", "credit_scorer:shipped1"),
        ("credit_scorer:explicit7", "credit_scorer:explicit7"),
        ("other_model:latest", "other_model:v9"),
        ("absent_model:latest", "absent_model:latest"),
    ],
)
def test_pinned_bundle_tag(requested: str, expected: str) -> None:
    assert pinned_bundle_tag(requested, SHIPPED) == expected


def test_outside_a_bento_the_requested_tag_is_kept() -> None:
    assert pinned_bundle_tag("credit_scorer:latest", []) == "credit_scorer:latest"


def test_served_bento_model_tags_reads_the_bento_manifest() -> None:
    models = [SimpleNamespace(tag="credit_scorer:shipped1"), SimpleNamespace(tag="other_model:v9")]
    service = SimpleNamespace(bento=SimpleNamespace(info=SimpleNamespace(all_models=models)))
    assert served_bento_model_tags(service) == SHIPPED
    assert served_bento_model_tags(SimpleNamespace(bento=None)) == []
    assert served_bento_model_tags(object()) == []


def test_settings_for_served_bento_pins_only_the_bundle_tag() -> None:
    models = [SimpleNamespace(tag="credit_scorer:shipped1")]
    service = SimpleNamespace(bento=SimpleNamespace(info=SimpleNamespace(all_models=models)))
    settings = ServiceSettings(bundle_tag="credit_scorer:latest", max_batch_size=7)
    pinned = settings_for_served_bento(settings, service)
    assert pinned.bundle_tag == "credit_scorer:shipped1" and pinned.max_batch_size == 7
    assert settings_for_served_bento(settings, SimpleNamespace(bento=None)) == settings


def _bundle_with(names: list[str], protected: list[str]) -> Bundle:
    rng = np.random.default_rng(3)
    frame = pd.DataFrame(rng.random((200, len(names))), columns=names)
    target = (frame[names[0]] + rng.random(200) > 1.0).astype(int).to_numpy()
    bundle = train_tiny_bundle(
        frame, target, [FeatureSpec(n, "float") for n in names], frame, n_trees=5, training_fingerprint="t"
    )
    bundle.protected_attributes = protected
    return bundle


def test_a_bundle_whose_features_read_a_protected_attribute_is_refused(bentoml_home: Path) -> None:
    sex = register(_bundle_with(["AMT_CREDIT", "CODE_GENDER_M"], ["CODE_GENDER"]))
    with pytest.raises(BundleError, match=r"CODE_GENDER_M reads CODE_GENDER\); retrain"):
        load_model(ServiceSettings(bundle_tag=sex))
    family = register(_bundle_with(["AMT_CREDIT", "APP_INCOME_PER_FAMILY_MEMBER"], []))
    assert load_model(ServiceSettings(bundle_tag=family)).tag == family  # not protected by default
    with pytest.raises(BundleError, match="APP_INCOME_PER_FAMILY_MEMBER reads CNT_FAM_MEMBERS"):
        load_model(ServiceSettings(bundle_tag=family, protected_attributes=["CNT_FAM_MEMBERS"]))
    listed = register(_bundle_with(["AMT_CREDIT", "CNT_CHILDREN"], ["CNT_CHILDREN", "CODE_GENDER"]))
    with pytest.raises(BundleError, match="CNT_CHILDREN reads CNT_CHILDREN"):  # the bundle's own list
        load_model(ServiceSettings(bundle_tag=listed))


def test_a_bundle_trained_under_the_monotone_age_rule_must_carry_the_constraint(bentoml_home: Path) -> None:
    """A booster that lost its monotone constraint (edited by hand, or from another run) is refused."""
    bundle = _bundle_with(["DAYS_BIRTH", "AMT_CREDIT"], ["CODE_GENDER"])
    bundle.extra["age"] = {"rule": "monotone", "constraints": {"DAYS_BIRTH": 1}}
    unconstrained = register(bundle)
    with pytest.raises(
        BundleError, match="monotone age rule but its booster lacks the constraint on DAYS_BIRTH"
    ):
        load_model(ServiceSettings(bundle_tag=unconstrained))
    rng = np.random.default_rng(4)
    frame = pd.DataFrame({"DAYS_BIRTH": -rng.uniform(7000, 25000, 300), "AMT_CREDIT": rng.random(300)})
    target = (rng.random(300) < 0.3).astype(int)
    constrained = train_tiny_bundle(
        frame,
        target,
        [FeatureSpec(n, "float") for n in frame.columns],
        frame,
        n_trees=5,
        params={"monotone_constraints": [1, 0]},
        training_fingerprint="t",
    )
    constrained.extra["age"] = {"rule": "monotone", "constraints": {"DAYS_BIRTH": 1}}
    tag = register(constrained)
    assert load_model(ServiceSettings(bundle_tag=tag)).tag == tag
    constrained.extra["age"]["constraints"] = {"DAYS_BIRTH": -1}  # the other direction than trained
    with pytest.raises(BundleError, match="lacks the constraint on DAYS_BIRTH"):
        load_model(ServiceSettings(bundle_tag=register(constrained)))
