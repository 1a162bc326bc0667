"""Payload records with monitoring groups, and the fairness numbers fairlearn computes on them."""

from __future__ import annotations

from collections.abc import Collection

import numpy as np
import pandas as pd
from fairlearn.metrics import MetricFrame, demographic_parity_ratio, selection_rate

from service.applicant.groups import MONITORED

# How often a refused and an accepted applicant carry each label of CODE_GENDER and AGE_BAND (the others are
# drawn alike for both): refused applicants are more often F and young, so their groups' ratios fall.
_LEANING = {
    "CODE_GENDER": ({"F": 0.62, "M": 0.34, "XNA": 0.04}, {"F": 0.45, "M": 0.54, "XNA": 0.01}),
    "AGE_BAND": (
        {"under_25": 0.3, "25_to_61": 0.55, "62_and_over": 0.15},
        {"under_25": 0.1, "25_to_61": 0.75, "62_and_over": 0.15},
    ),
}


def with_groups(records: list[dict], seed: int, feature_vectors: int = 0) -> list[dict]:
    """``records`` sent as application documents, with groups drawn by decision; the last
    ``feature_vectors`` of them sent as feature vectors instead (no groups)."""
    rng = np.random.default_rng(seed)
    out = []
    for i, record in enumerate(records):
        if i >= len(records) - feature_vectors:
            out.append({**record, "input": "features", "groups": None})
            continue
        refused = record["decision"] == "refuse"
        groups = {}
        for attribute in MONITORED:
            leaning = _LEANING.get(attribute.name)
            if leaning is None:
                labels = [label for label in attribute.labels if label != "other"]
                groups[attribute.name] = str(rng.choice(labels))
            else:
                shares = leaning[0] if refused else leaning[1]
                groups[attribute.name] = str(rng.choice(list(shares), p=list(shares.values())))
        out.append({**record, "input": "applicant", "groups": groups})
    return out


def fairlearn_numbers(
    records: list[dict], attribute: str, kept: Collection[str] | None = None
) -> tuple[dict[str, float], dict[str, float], float]:
    """fairlearn's approval rate per group of ``attribute``, each group's rate over the highest (the
    adverse-impact ratio), and its demographic-parity ratio, over the records sent with groups, of the
    groups in ``kept`` (default: all)."""
    labelled = [r for r in records if r.get("groups")]
    frame = pd.DataFrame(
        {
            "approved": [int(r["decision"] == "accept") for r in labelled],
            "group": [r["groups"][attribute] for r in labelled],
        }
    )
    if kept is not None:
        frame = frame[frame["group"].isin(list(kept))]
    by_group = MetricFrame(
        metrics=selection_rate,
        y_true=frame["approved"],
        y_pred=frame["approved"],
        sensitive_features=frame["group"],
    ).by_group
    rates = {str(group): float(rate) for group, rate in by_group.items()}
    best = max(rates.values())
    ratios = {group: rate / best for group, rate in rates.items()}
    parity = float(
        demographic_parity_ratio(frame["approved"], frame["approved"], sensitive_features=frame["group"])
    )
    return rates, ratios, parity
