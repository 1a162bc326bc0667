"""Feature engineering for training: the feature definitions evaluated over whole Kaggle tables.

The definitions themselves (what each of the ~600 features is) live in
:mod:`service.applicant.definitions`, which the scoring service evaluates for one applicant at a time;
this package is their batch evaluator (:func:`build_features`).
"""

from service.applicant.catalog import FeatureDefinition
from service.applicant.definitions import describe_feature, feature_definition, feature_domain
from training.features.build import build_features, feature_catalog, feature_names

__all__ = [
    "FeatureDefinition",
    "build_features",
    "describe_feature",
    "feature_catalog",
    "feature_definition",
    "feature_domain",
    "feature_names",
]
