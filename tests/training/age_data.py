"""Generated applicants for the age tests: features, targets, and applicant documents to sweep ages on."""

from __future__ import annotations

import functools

import msgspec
import numpy as np
import orjson
import pandas as pd

from service.applicant.document import applicant_type
from service.applicant.evaluate import FeatureRow
from training.age_rule import AGE_COLUMN, DAYS_PER_YEAR, ELDERLY_AGE
from training.documents import tables_to_documents
from training.loader import clean_table
from training.pipeline import build_training_matrix
from training.synthetic import generate

SWEEP_AGES = np.arange(20, 76)
"""Ages in years (increasing) every swept applicant is given in turn."""


@functools.cache
def generated_matrix(applicants: int = 3000, seed: int = 11) -> tuple[pd.DataFrame, pd.Series]:
    """Every feature and the target of ``applicants`` generated applicants (cached: treat as read-only)."""
    tables = generate(applicants, seed=seed, test_share=0.0).tables
    return build_training_matrix({name: clean_table(name, table) for name, table in tables.items()})


def older_default_more(X: pd.DataFrame, y: pd.Series, share: float = 0.2, seed: int = 0) -> pd.Series:
    """``y`` with ``share`` of the applicants aged :data:`ELDERLY_AGE` or over turned into defaulters.

    The generator's true risk falls with age all the way; this population's rises again at 62, which a free
    model learns and a monotone one may not.
    """
    years = -X[AGE_COLUMN].to_numpy() / DAYS_PER_YEAR
    extra = (years >= ELDERLY_AGE) & (np.random.default_rng(seed).random(len(y)) < share)
    return (y.astype(bool) | extra).astype(np.int64)


def younger_default_more(X: pd.DataFrame, y: pd.Series, share: float = 0.15, seed: int = 0) -> pd.Series:
    """``y`` with ``share`` of the applicants under 30 turned into defaulters.

    The generator's age effect is too weak for feature selection to keep ``DAYS_BIRTH`` among a few
    thousand applicants; in this population age is one of the strongest features, so leaving it out is a
    real change.
    """
    years = -X[AGE_COLUMN].to_numpy() / DAYS_PER_YEAR
    extra = (years < 30) & (np.random.default_rng(seed).random(len(y)) < share)
    return (y.astype(bool) | extra).astype(np.int64)


@functools.cache
def sweep_applicants(applicants: int = 300, seed: int = 12) -> tuple[msgspec.Struct, ...]:
    """Decoded applicant documents of new generated applicants (the request form of ``POST /score``)."""
    decoder = msgspec.json.Decoder(applicant_type())
    documents = tables_to_documents(generate(applicants, seed=seed, test_share=0.0).tables, keep_ids=False)
    return tuple(decoder.decode(orjson.dumps(document)) for document in documents)


def days_at(years: float) -> int:
    """``DAYS_BIRTH`` of an applicant ``years`` old."""
    return -round(years * DAYS_PER_YEAR)


def age_sweep(features: list[str], applicants: tuple[msgspec.Struct, ...]) -> np.ndarray:
    """The model's ``features`` of every applicant at every age of :data:`SWEEP_AGES`, computed by the
    applicant feature builder: rows are applicant by applicant, ages increasing within each."""
    row = FeatureRow(features)
    return np.array(
        [
            row.values(msgspec.structs.replace(applicant, **{AGE_COLUMN: days_at(years)}))
            for applicant in applicants
            for years in SWEEP_AGES
        ],
        dtype=np.float64,
    )
