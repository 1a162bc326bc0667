"""Every feature, in output order: the one definition that training and serving both evaluate.

Sources and prefixes: the applicant table keeps the Kaggle names (derived columns start with ``APP_``),
``BURO_`` bureau, ``BB_`` bureau_balance (summarised per bureau credit, then per applicant), ``PREV_``
previous_application, ``POS_`` POS_CASH_balance, ``INST_`` installments_payments, ``CC_``
credit_card_balance. The features are fixed by the schema, never by the data.
"""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Iterable

from service.applicant.catalog import FeatureDefinition
from service.applicant.definitions import application, bureau, credit_card, installments, pos_cash, previous
from service.applicant.domains import Domain

__all__ = [
    "DEFINITIONS_VERSION",
    "FEATURES",
    "definitions_fingerprint",
    "describe_feature",
    "feature_definition",
    "feature_domain",
    "feature_names",
]

DEFINITIONS_VERSION = 1
"""Version of the feature-definition vocabulary; recorded in every bundle beside the fingerprint."""


def _ordered() -> tuple[FeatureDefinition, ...]:
    features = (
        *application.FEATURES,
        *bureau.FEATURES,
        *previous.FEATURES,
        *pos_cash.FEATURES,
        *installments.FEATURES,
        *credit_card.FEATURES,
    )
    names = [f.name for f in features]
    if len(set(names)) != len(names):
        repeated = sorted({n for n in names if names.count(n) > 1})
        raise RuntimeError(f"feature names repeat: {repeated}")
    return features


FEATURES: tuple[FeatureDefinition, ...] = _ordered()
"""Every feature, in output order."""

_BY_NAME: dict[str, FeatureDefinition] = {f.name: f for f in FEATURES}


def feature_names() -> list[str]:
    """Names of every feature, in output order."""
    return [f.name for f in FEATURES]


def feature_definition(name: str) -> FeatureDefinition:
    """The definition of feature ``name``; KeyError when no such feature exists."""
    try:
        return _BY_NAME[name]
    except KeyError:
        raise KeyError(f"{name!r} is not a feature defined in service.applicant.definitions") from None


def feature_domain(name: str) -> Domain:
    """Lowest and highest value feature ``name`` can take in reality (None = unbounded on that side)."""
    return feature_definition(name).domain


def describe_feature(name: str) -> str:
    """One sentence saying what feature ``name`` is and which table it comes from."""
    return feature_definition(name).description


@functools.cache
def _feature_digest(name: str) -> str:
    definition = feature_definition(name)
    text = f"{definition.name}|{definition.kind}|{definition.computed!r}"
    return hashlib.sha256(text.encode()).hexdigest()


def definitions_fingerprint(names: Iterable[str]) -> str:
    """A digest of how the features ``names`` (in this order) are computed from an applicant.

    It covers each feature's kind and definition (not its wording), so a bundle records the fingerprint of
    its features at training, and a service whose definitions would compute any of them differently sees a
    different one. KeyError for an unknown name.
    """
    digest = hashlib.sha256()
    for name in names:
        digest.update(_feature_digest(name).encode())
    return f"v{DEFINITIONS_VERSION}-{digest.hexdigest()[:32]}"
