"""Feature engineering: one numeric row per applicant (SK_ID_CURR) from the Home Credit tables.

Sources and prefixes: the applicant table keeps the Kaggle names (derived columns start with ``APP_``),
``BURO_`` bureau, ``BB_`` bureau_balance (summarised per bureau credit, then per applicant), ``PREV_``
previous_application, ``POS_`` POS_CASH_balance, ``INST_`` installments_payments, ``CC_``
credit_card_balance. The columns are fixed by :mod:`training.schema`, never by the data, so one
applicant's tables and the whole data set give the same columns in the same order.
"""

from training.features.build import build_features, feature_catalog, feature_names
from training.features.catalog import FeatureSpec
from training.features.describe import describe_feature, feature_domain, feature_spec

__all__ = [
    "FeatureSpec",
    "build_features",
    "describe_feature",
    "feature_catalog",
    "feature_domain",
    "feature_names",
    "feature_spec",
]
