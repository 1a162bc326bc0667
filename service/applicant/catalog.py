"""What a feature is: its name, kind, source table, description, real-world range and definition."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from service.applicant.domains import Domain
from service.applicant.expressions import Aggregate, Expr

__all__ = ["APPLICATION", "FeatureDefinition", "FeatureKind"]

APPLICATION = "application"
"""Name of the applicant table (application_train/application_test) in feature definitions."""

FeatureKind = Literal["value", "count", "flag"]
"""``value``: float64, NaN when unknown; ``count``: int64, 0 when there is nothing to count;
``flag``: int64 0/1 indicator (one-hot of a text column, 0 when the text is missing or unknown)."""


@dataclass(frozen=True)
class FeatureDefinition:
    """One feature: an output column of training's feature build and an input the model may use."""

    name: str
    """Column name, only ``[A-Z0-9_]``."""
    kind: FeatureKind
    """Storage and missing-value convention, see :data:`FeatureKind`."""
    table: str
    """Kaggle table the feature is computed from."""
    description: str
    """One sentence saying what the feature is."""
    domain: Domain
    """Values that can exist in reality (``None`` = unbounded on that side)."""
    computed: Expr | Aggregate
    """The definition: an expression of the application record (``table`` "application"), or an
    aggregate over the applicant's rows of a history table."""
