"""The feature definitions and their one-applicant evaluator: fingerprints, generated code, no history."""

from __future__ import annotations

import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import msgspec
import numpy as np
import pandas as pd
import pytest

import service.applicant.definitions as definitions
from service.applicant.definitions import FEATURES, definitions_fingerprint, feature_definition, feature_names
from service.applicant.document import applicant_type
from service.applicant.evaluate import FeatureRow
from service.applicant.expressions import Raw, Stat

REPO_ROOT = Path(__file__).resolve().parents[3]


def test_names_are_unique_and_every_feature_has_words_and_a_definition() -> None:
    names = feature_names()
    assert len(names) == len(set(names)) == len(FEATURES) > 500
    for definition in FEATURES:
        assert definition.description.endswith(".") and definition.computed is not None


def test_the_fingerprint_covers_the_definition_and_the_order_but_not_the_wording(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    names = ["BURO_AMT_CREDIT_SUM_SUM", "DAYS_BIRTH"]
    original = definitions_fingerprint(names)
    assert original.startswith(f"v{definitions.DEFINITIONS_VERSION}-")
    assert definitions_fingerprint(list(reversed(names))) != original
    definition = feature_definition("BURO_AMT_CREDIT_SUM_SUM")
    reworded = replace(definition, description="Another sentence.")
    changed = replace(definition, computed=Stat("bureau", Raw("AMT_CREDIT_SUM"), "MEAN"))
    for variant, same in ((reworded, True), (changed, False)):
        monkeypatch.setitem(definitions._BY_NAME, variant.name, variant)
        definitions._feature_digest.cache_clear()
        assert (definitions_fingerprint(names) == original) is same
    definitions._feature_digest.cache_clear()


def test_the_fingerprint_is_the_same_in_another_process() -> None:
    names = feature_names()[::7]
    code = (
        "from service.applicant.definitions import definitions_fingerprint, feature_names\n"
        "print(definitions_fingerprint(feature_names()[::7]))"
    )
    other = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO_ROOT, capture_output=True, text=True, check=True
    ).stdout.strip()
    assert other == definitions_fingerprint(names)


def test_an_applicant_without_anything_gets_training_s_missing_conventions() -> None:
    """No value at all: counts are 0, values missing, exactly as the batch build gives a bare applicant."""
    from training.features import build_features

    row = FeatureRow(feature_names())
    values = np.array(row.values(applicant_type()()))
    batch = build_features({"application": pd.DataFrame({"SK_ID_CURR": [1]})}).to_numpy()[0]
    np.testing.assert_array_equal(np.isnan(values), np.isnan(batch))
    np.testing.assert_array_equal(values[~np.isnan(values)], batch[~np.isnan(batch)])


def test_the_generated_function_computes_a_shared_node_once() -> None:
    """BURO_DEBT_CREDIT_RATIO reuses the two sums: the sums appear once in the generated code."""
    row = FeatureRow(["BURO_AMT_CREDIT_SUM_SUM", "BURO_AMT_CREDIT_SUM_DEBT_SUM", "BURO_DEBT_CREDIT_RATIO"])
    assert row.source.count("_sum(") == 2
    document = {"bureau": [{"AMT_CREDIT_SUM": 100.0, "AMT_CREDIT_SUM_DEBT": 25.0}, {"AMT_CREDIT_SUM": 300.0}]}
    assert row.values(msgspec.convert(document, applicant_type())) == [400.0, 25.0, 25.0 / 400.0]


def test_an_unknown_feature_name_is_refused() -> None:
    with pytest.raises(KeyError, match="NOT_A_FEATURE"):
        FeatureRow(["DAYS_BIRTH", "NOT_A_FEATURE"])
