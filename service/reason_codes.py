"""Principal reasons of a refusal: feature contributions grouped into characteristics an applicant can read.

A bundle's reason catalogue (built at training by ``service.applicant.reasons``) puts every model feature
under one reason: a stable code and a plain-language statement of a characteristic (``R21`` "Late payments
on previous instalment loans"). For a refused applicant, the SHAP contributions (log-odds of default) of a
reason's features are added up; the reasons that pushed the score toward refusal (positive sum) are given,
strongest first, at most :data:`MAX_PRINCIPAL_REASONS` (US Regulation B's usual limit).

A reason all of whose features are missing for the applicant is given only as that: the lack of
information is what moved the score, and the answer says so (``value_missing`` and the catalogue's
statement for a missing value). Counts and flags are never missing (a thin file has 0 bureau credits, not an
unknown number), so they do not take part in that test: the external scores' mean (missing) and the count
of missing scores (3) together mean "no external score".

Protected attributes never appear: training refuses to build a catalogue holding a feature that reads one,
and the service refuses to load a bundle whose features read one.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np

__all__ = ["MAX_PRINCIPAL_REASONS", "PrincipalReasons", "Reason", "ReasonCatalogue"]

MAX_PRINCIPAL_REASONS = 4
"""Most reasons given for one refusal."""


@dataclass(frozen=True)
class Reason:
    """One characteristic of the catalogue and the model features it covers."""

    code: str
    """Stable code (``R`` and digits when reviewed, ``AUTO-`` and a digest before review)."""
    statement: str
    """The characteristic in plain language."""
    missing_statement: str
    """What the answer says when every feature of the characteristic is missing for the applicant."""
    features: tuple[str, ...]
    """The model features of this characteristic."""


@dataclass(frozen=True)
class ReasonCatalogue:
    """The reasons of one model: each of its features under exactly one reason."""

    version: int
    """Version of the reviewed catalogue the reasons were built from."""
    reasons: tuple[Reason, ...]
    """The reasons, each with a distinct code."""

    def to_json(self) -> dict[str, Any]:
        """The catalogue as stored in ``bundle.json`` and shown by ``GET /spec``."""
        return {
            "version": self.version,
            "reasons": [
                {
                    "code": r.code,
                    "statement": r.statement,
                    "missing_statement": r.missing_statement,
                    "features": list(r.features),
                }
                for r in self.reasons
            ],
        }

    @classmethod
    def from_json(cls, data: Any) -> ReasonCatalogue:
        """Read :meth:`to_json`'s form back; ValueError naming what is malformed."""
        if not isinstance(data, dict) or not isinstance(data.get("version"), int):
            raise ValueError("a reason catalogue is an object with an integer 'version'")
        items = data.get("reasons")
        if not isinstance(items, list) or not items:
            raise ValueError("a reason catalogue needs a non-empty 'reasons' list")
        reasons = []
        for index, item in enumerate(items):
            texts = [item.get(key) if isinstance(item, dict) else None for key in _TEXT_KEYS]
            features = item.get("features") if isinstance(item, dict) else None
            if not all(isinstance(text, str) and text for text in texts) or not (
                isinstance(features, list) and features and all(isinstance(f, str) for f in features)
            ):
                raise ValueError(f"reason {index} needs {', '.join(_TEXT_KEYS)} (text) and features (names)")
            reasons.append(Reason(texts[0], texts[1], texts[2], tuple(features)))
        catalogue = cls(data["version"], tuple(reasons))
        codes = [r.code for r in catalogue.reasons]
        if len(set(codes)) != len(codes):
            raise ValueError("reason codes repeat")
        return catalogue

    def check_covers(self, feature_names: list[str]) -> None:
        """ValueError unless each of ``feature_names`` is under exactly one reason, and nothing else is."""
        listed = [feature for reason in self.reasons for feature in reason.features]
        repeated = sorted({f for f in listed if listed.count(f) > 1})
        missing = sorted(set(feature_names) - set(listed))
        unknown = sorted(set(listed) - set(feature_names))
        checks = (("under two reasons", repeated), ("under none", missing), ("not model features", unknown))
        problems = [f"{label}: {', '.join(names[:5])}" for label, names in checks if names]
        if problems:
            raise ValueError("the reason catalogue does not match the features (" + "; ".join(problems) + ")")


_TEXT_KEYS = ("code", "statement", "missing_statement")


class PrincipalReasons:
    """Turns contributions into principal reasons, for one catalogue and one feature order."""

    def __init__(
        self,
        catalogue: ReasonCatalogue,
        feature_names: list[str],
        never_missing: Iterable[str] = (),
        limit: int = MAX_PRINCIPAL_REASONS,
    ):
        """``never_missing``: features that always have a value (counts, flags), left out of the test of
        whether a reason's value was missing."""
        catalogue.check_covers(feature_names)
        self.catalogue = catalogue
        self.limit = limit
        column = {name: index for index, name in enumerate(feature_names)}
        self._membership = np.zeros((len(feature_names), len(catalogue.reasons)))
        for index, reason in enumerate(catalogue.reasons):
            for feature in reason.features:
                self._membership[column[feature], index] = 1.0
        self._can_miss = self._membership.copy()
        for name in set(never_missing) & set(column):
            self._can_miss[column[name], :] = 0.0
        self._can_miss_count = self._can_miss.sum(axis=0)

    def of(self, matrix: np.ndarray, contributions: np.ndarray) -> list[list[dict[str, Any]]]:
        """The principal reasons of each row of ``matrix`` from its contributions (base value last)."""
        pushed = contributions[:, :-1] @ self._membership
        missing_count = np.isnan(matrix).astype(np.float64) @ self._can_miss
        all_missing = (missing_count == self._can_miss_count) & (self._can_miss_count > 0)
        order = np.argsort(-pushed, axis=1, kind="stable")[:, : self.limit]
        reasons = self.catalogue.reasons
        answers = []
        for row, columns in enumerate(order.tolist()):
            row_reasons = []
            for col in columns:
                weight = float(pushed[row, col])
                if not weight > 0.0:
                    break
                reason = reasons[col]
                missing = bool(all_missing[row, col])
                row_reasons.append(
                    {
                        "code": reason.code,
                        "reason": reason.missing_statement if missing else reason.statement,
                        "value_missing": missing,
                        "contribution": weight,
                    }
                )
            answers.append(row_reasons)
        return answers
