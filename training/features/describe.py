"""Lookups by feature name: the values a feature can take in reality, and what it is."""

from __future__ import annotations

import functools

from training.features.build import feature_catalog
from training.features.catalog import FeatureSpec

__all__ = ["describe_feature", "feature_domain", "feature_spec"]


@functools.cache
def _by_name() -> dict[str, FeatureSpec]:
    return {spec.name: spec for spec in feature_catalog()}


def feature_spec(name: str) -> FeatureSpec:
    """The spec of feature ``name``; KeyError when build_features does not produce it."""
    try:
        return _by_name()[name]
    except KeyError:
        raise KeyError(f"{name!r} is not a feature built by training.features") from None


def feature_domain(name: str) -> tuple[float | None, float | None]:
    """Lowest and highest value feature ``name`` can take in reality (None = unbounded on that side)."""
    return feature_spec(name).domain


def describe_feature(name: str) -> str:
    """One sentence saying what feature ``name`` is and which table it comes from."""
    return feature_spec(name).description
