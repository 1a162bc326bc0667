"""Serving from a Bento pins an unversioned bundle tag to the model version the Bento was built with."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from service.loader import pinned_bundle_tag, served_bento_model_tags, settings_for_served_bento
from service.settings import ServiceSettings

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
