"""How the chosen model's decisions fall on the groups of each protected attribute, measured on the holdout.

The drift sidecar counts approvals per group in production (``monitoring/fairness.py``), but a refused
applicant never gets an outcome, so the measures that need one (how many of a group's defaulters the model
refuses, how many of its good clients) cannot be taken on served traffic: among accepted applicants every
decision is "accept". The holdout is where every applicant's outcome is known; this module measures there,
per group of each monitored attribute (the groups of ``service.applicant.groups``, the same the sidecar uses):

* approval rate, and its ratio to the most approved group of the attribute (the adverse-impact ratio that
  ``CreditScoringAdverseImpact`` watches in production, under four-fifths);
* true-positive rate: the share of the group's defaulters the model refuses;
* false-positive rate: the share of the group's good clients it refuses (a refused good client is the harm
  a fairness review looks at first);
* per attribute, the largest gap of each rate between groups (fairlearn's equalized-odds difference is the
  larger of the two).

A group with fewer than ``min_group`` holdout applicants (or, for a rate, fewer than ``min_group / 10`` of
the applicants it is computed on) is listed without that rate: its rate would be noise.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd

from service.applicant.groups import MONITORED

__all__ = [
    "MIN_GROUP",
    "AttributeGaps",
    "GroupOutcome",
    "HoldoutFairness",
    "fairness_section",
    "holdout_fairness",
]

MIN_GROUP = 100
"""Holdout applicants a group needs for its rates to be given (the rules' minimum count in production)."""


@dataclass(frozen=True)
class GroupOutcome:
    """The decisions of one group of one attribute on the holdout."""

    attribute: str
    """Monitored attribute (``CODE_GENDER``, ..., ``AGE_BAND``)."""
    group: str
    """The group's label, as the sidecar's ``group`` label."""
    applicants: int
    """Holdout applicants in the group."""
    defaulters: int
    """Of them, those who defaulted (TARGET = 1)."""
    approval_rate: float | None
    """Share accepted; ``None`` for a group under the minimum."""
    adverse_impact_ratio: float | None
    """Approval rate over the most approved judged group's of the attribute; ``None`` when not judged."""
    true_positive_rate: float | None
    """Share of the group's defaulters refused; ``None`` when too few defaulters."""
    false_positive_rate: float | None
    """Share of the group's good clients refused; ``None`` when too few good clients."""


@dataclass(frozen=True)
class AttributeGaps:
    """Largest differences between the judged groups of one attribute."""

    attribute: str
    """Monitored attribute."""
    lowest_adverse_impact_ratio: float | None
    """The smallest adverse-impact ratio of its groups (fairlearn's demographic-parity ratio of approvals)."""
    true_positive_rate_gap: float | None
    """Largest minus smallest true-positive rate."""
    false_positive_rate_gap: float | None
    """Largest minus smallest false-positive rate."""


@dataclass(frozen=True)
class HoldoutFairness:
    """Every group's outcome and every attribute's gaps."""

    groups: list[GroupOutcome]
    """One row per group of each attribute, groups with no applicant left out."""
    gaps: list[AttributeGaps]
    """One row per attribute."""
    min_group: int
    """The minimum group size the rates were given for."""

    def to_json(self) -> dict:
        """The numbers as stored in the bundle (``extra["fairness"]``)."""
        return {
            "min_group": self.min_group,
            "groups": [asdict(g) for g in self.groups],
            "gaps": [asdict(g) for g in self.gaps],
        }


def _rate(hits: np.ndarray, mask: np.ndarray, minimum: int) -> float | None:
    n = int(mask.sum())
    return float(hits[mask].mean()) if n >= minimum else None


def holdout_fairness(
    application: pd.DataFrame, defaulted: np.ndarray, refused: np.ndarray, min_group: int = MIN_GROUP
) -> HoldoutFairness:
    """Group outcomes of the holdout: ``application`` holds its application rows (the monitored columns,
    missing values as NaN), ``defaulted`` and ``refused`` one 0/1 per row, in the same order."""
    y = np.asarray(defaulted, dtype=bool)
    refusal = np.asarray(refused, dtype=bool)
    if not len(y) == len(refusal) == len(application):
        raise ValueError("application, defaulted and refused must have one entry per holdout applicant")
    minimum_rate = max(1, min_group // 10)
    groups: list[GroupOutcome] = []
    gaps: list[AttributeGaps] = []
    for attribute in MONITORED:
        column = application[attribute.column]
        values = column.astype(object).where(column.notna(), None)
        codes = np.fromiter((attribute.index(v) for v in values), dtype=np.int64, count=len(values))
        rows = []
        for position, label in enumerate(attribute.labels):
            member = codes == position
            n = int(member.sum())
            if n == 0:
                continue
            judged = n >= min_group
            rows.append(
                {
                    "attribute": attribute.name,
                    "group": label,
                    "applicants": n,
                    "defaulters": int(y[member].sum()),
                    "approval_rate": float(1.0 - refusal[member].mean()) if judged else None,
                    "true_positive_rate": _rate(refusal, member & y, minimum_rate) if judged else None,
                    "false_positive_rate": _rate(refusal, member & ~y, minimum_rate) if judged else None,
                }
            )
        best = max((r["approval_rate"] for r in rows if r["approval_rate"] is not None), default=None)
        for r in rows:
            rate = r["approval_rate"]
            ratio = rate / best if rate is not None and best else None
            groups.append(GroupOutcome(adverse_impact_ratio=ratio, **r))
        gaps.append(_gaps(attribute.name, groups))
    return HoldoutFairness(groups, gaps, min_group)


def _gaps(attribute: str, groups: list[GroupOutcome]) -> AttributeGaps:
    own = [g for g in groups if g.attribute == attribute]

    def spread(values: list[float | None]) -> float | None:
        known = [v for v in values if v is not None]
        return max(known) - min(known) if len(known) >= 2 else None

    ratios = [g.adverse_impact_ratio for g in own if g.adverse_impact_ratio is not None]
    return AttributeGaps(
        attribute,
        min(ratios) if ratios else None,
        spread([g.true_positive_rate for g in own]),
        spread([g.false_positive_rate for g in own]),
    )


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{value:.1%}"


def _num(value: float | None) -> str:
    return "-" if value is None else f"{value:.3f}"


def fairness_section(fairness: HoldoutFairness) -> str:
    """The model card's "Fairness on the holdout" section."""
    lines = [
        "## Fairness on the holdout",
        "",
        "How the decisions fall on the groups of each protected attribute and age band, on the holdout, "
        "where every applicant's outcome is known (refused applicants never get one in production, so the "
        "rates that need an outcome can only be measured here). The model reads none of these attributes; a "
        "gap comes through correlated features. *Approval ratio*: the group's approval rate over the most "
        "approved group's (production alerts under 0.8); *defaulters refused* and *good clients refused*: "
        f"the true- and false-positive rates. Groups under {fairness.min_group} applicants are not judged.",
        "",
        "| attribute | group | applicants | defaulters | approved | approval ratio | defaulters refused | "
        "good clients refused |",
        "|---|---|---:|---:|---:|---:|---:|---:|",
    ]
    for g in fairness.groups:
        lines.append(
            f"| {g.attribute} | {g.group} | {g.applicants:,} | {g.defaulters:,} | {_pct(g.approval_rate)} | "
            f"{_num(g.adverse_impact_ratio)} | {_pct(g.true_positive_rate)} | {_pct(g.false_positive_rate)} |"
        )
    lines += [
        "",
        "| attribute | lowest approval ratio | gap in defaulters refused | gap in good clients refused |",
        "|---|---:|---:|---:|",
    ]
    for gap in fairness.gaps:
        lines.append(
            f"| {gap.attribute} | {_num(gap.lowest_adverse_impact_ratio)} | "
            f"{_pct(gap.true_positive_rate_gap)} | {_pct(gap.false_positive_rate_gap)} |"
        )
    return "\n".join(lines) + "\n"
