"""How the applicant's age acts in a trained model: the age contribution of applicants, by age band.

The *age contribution* of an applicant is the sum of the SHAP contributions (LightGBM's ``pred_contrib``, in
log-odds of default) of every model feature that reads ``DAYS_BIRTH``. Positive means the applicant's age
pushed the score toward refusal: what Regulation B calls a negative factor, forbidden for an elderly
applicant (:data:`training.age_rule.ELDERLY_AGE` or over) in a scoring system that uses age. The model card
shows it per age band (:func:`measure_age_effect`), next to the age rule in force.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

import lightgbm as lgb
import numpy as np
import pandas as pd

from training.age_rule import DAYS_PER_YEAR, ELDERLY_AGE, age_features

__all__ = ["AGE_BANDS", "AgeBand", "AgeEffect", "age_contributions", "measure_age_effect"]

AGE_BANDS: tuple[tuple[int, int | None], ...] = (
    (0, 25),
    (25, 35),
    (35, 45),
    (45, 55),
    (55, ELDERLY_AGE),
    (ELDERLY_AGE, 65),
    (65, None),
)
"""Age bands in whole years, ``[low, high)``, ``None`` for no upper end; the elderly start a band of their
own so that the card shows where among them age raises risk."""


@dataclass
class AgeBand:
    """The age contributions of the applicants of one age band."""

    label: str
    """The band as people read it (``25-34``, ``65 and over``)."""
    applicants: int
    """Applicants of the band (with a known age)."""
    mean_contribution: float | None
    """Mean age contribution of the band, log-odds of default; ``None`` when the band is empty."""
    raising: int
    """Applicants of the band whose age contribution is positive (raises their risk)."""


@dataclass
class AgeEffect:
    """How age acts in one model, measured on a sample of applicants (the training holdout)."""

    rule: str
    """The age rule the model was trained under (:data:`training.age_rule.AGE_RULES`)."""
    features: list[str]
    """Model features that read ``DAYS_BIRTH``; empty when none does."""
    constraints: dict[str, int] = field(default_factory=dict)
    """LightGBM monotone constraint of each constrained feature (1: risk may only rise with the feature)."""
    left_out: dict[str, str] = field(default_factory=dict)
    """Candidate features reading ``DAYS_BIRTH`` that selection left out, with its reason."""
    bands: list[AgeBand] = field(default_factory=list)
    """The applicants' age contributions by band (:data:`AGE_BANDS`)."""
    elderly: int = 0
    """Applicants aged :data:`~training.age_rule.ELDERLY_AGE` or over."""
    elderly_raising: int = 0
    """Of them, those whose age contribution is positive (raises their risk)."""
    unknown_age: int = 0
    """Applicants of the sample whose ``DAYS_BIRTH`` is missing (in no band)."""

    @property
    def elderly_share_raising(self) -> float | None:
        """Share of the elderly applicants whose age raises their risk; ``None`` when there are none."""
        return self.elderly_raising / self.elderly if self.elderly else None

    def to_json(self) -> dict[str, Any]:
        """The measurement as JSON-friendly values (the bundle keeps it under ``extra["age"]``)."""
        share = self.elderly_share_raising
        return {**asdict(self), "elderly_age": ELDERLY_AGE, "elderly_share_raising": share}


def age_contributions(booster: lgb.Booster, X: pd.DataFrame) -> np.ndarray:
    """Each row's age contribution: the summed SHAP contributions of the columns of ``X`` (the booster's
    features, in its order) that read ``DAYS_BIRTH``; zeros when none does."""
    names = list(X.columns)
    if names != booster.feature_name():
        raise ValueError("X must hold the booster's features in its order")
    reading = [names.index(name) for name in age_features(names)]
    if not reading:
        return np.zeros(len(X))
    contributions = booster.predict(X.to_numpy(dtype=np.float64), pred_contrib=True)
    return contributions[:, reading].sum(axis=1)


def _label(low: int, high: int | None) -> str:
    if high is None:
        return f"{low} and over"
    return f"under {high}" if low == 0 else f"{low}-{high - 1}"


def measure_age_effect(
    booster: lgb.Booster,
    X: pd.DataFrame,
    days_birth: pd.Series | np.ndarray,
    *,
    rule: str,
    constraints: dict[str, int] | None = None,
    left_out: dict[str, str] | None = None,
) -> AgeEffect:
    """The age contributions of the applicants ``X`` (the booster's features) by age band.

    ``days_birth`` holds each row's ``DAYS_BIRTH`` (NaN when unknown), whether or not a feature reads it;
    ``rule``, ``constraints`` and ``left_out`` are recorded as given.
    """
    days = np.asarray(days_birth, dtype=np.float64)
    if len(days) != len(X):
        raise ValueError(f"{len(X)} applicants but {len(days)} DAYS_BIRTH values")
    contribution = age_contributions(booster, X)
    years = -days / DAYS_PER_YEAR
    known = ~np.isnan(years)
    bands = []
    for low, high in AGE_BANDS:
        inside = known & (years >= low) & (years < high if high is not None else True)
        count = int(inside.sum())
        bands.append(
            AgeBand(
                label=_label(low, high),
                applicants=count,
                mean_contribution=float(contribution[inside].mean()) if count else None,
                raising=int((contribution[inside] > 0).sum()),
            )
        )
    elderly = known & (years >= ELDERLY_AGE)
    return AgeEffect(
        rule=rule,
        features=list(age_features(X.columns)),
        constraints=dict(constraints or {}),
        left_out=dict(left_out or {}),
        bands=bands,
        elderly=int(elderly.sum()),
        elderly_raising=int((contribution[elderly] > 0).sum()),
        unknown_age=int((~known).sum()),
    )
