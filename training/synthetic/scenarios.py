"""Named drift scenarios: the same schema, a shifted population (or a broken upstream feed).

A scenario changes either who applies (:class:`~training.synthetic.application.PopulationShift`, used when
the applicants are drawn; the target is then drawn from the shifted data with the unchanged probability
function), or what the service is sent (``corrupt``: applied to the application rows after the target was
drawn, since a pipeline bug changes the data, not the applicants' risk), or both.

Each scenario has a stable ``code`` (1, 2, ...): it seeds its own random stream and offsets its keys by
``code * ID_OFFSET_STEP`` so that its SK_ID_CURR, SK_ID_BUREAU and SK_ID_PREV never collide with the baseline
run's (for fewer than 1.7 million applicants).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from training.synthetic.application import PopulationShift

ID_OFFSET_STEP = 10_000_000

Corruption = Callable[[pd.DataFrame, np.random.Generator], pd.DataFrame]


@dataclass(frozen=True)
class Scenario:
    """A named drift scenario."""

    name: str
    description: str
    code: int
    shift: PopulationShift = field(default_factory=PopulationShift)
    corrupt: Corruption | None = None

    @property
    def id_offset(self) -> int:
        """Added to every key of the scenario's tables."""
        return self.code * ID_OFFSET_STEP


DECLARED_INCOME_FACTOR = 1.8
"""How much more than they earn the young_high_income applicants declare."""


def _declared_income(application: pd.DataFrame, rng: np.random.Generator) -> pd.DataFrame:
    """AMT_INCOME_TOTAL arrives :data:`DECLARED_INCOME_FACTOR` times what the applicant earns.

    Applied after the target was drawn, like a feed bug: the applicants' risk follows the income they earn
    (and the credit they can afford on it), while the service sees the income they declare. With the income
    drawn 1.8x higher instead, the generator's affordability terms made the population as safe as the
    baseline, and its predictions would not drift.
    """
    out = application.copy()
    out["AMT_INCOME_TOTAL"] = out["AMT_INCOME_TOTAL"] * DECLARED_INCOME_FACTOR
    return out


EXT_SOURCE_BUG_SHARE = 0.5
"""Share of the applications hit by the ext_source_bug."""


def _ext_source_bug(application: pd.DataFrame, rng: np.random.Generator) -> pd.DataFrame:
    """EXT_SOURCE_2 arrives divided by 100 and EXT_SOURCE_3 arrives empty, for part of the traffic.

    The corrupted score stays inside its valid range [0, 1], so the service accepts it and only the drift
    monitor can notice: a percentage conversion applied to a value that already was a fraction.
    """
    hit = rng.random(len(application)) < EXT_SOURCE_BUG_SHARE
    out = application.copy()
    out.loc[hit, "EXT_SOURCE_2"] = out.loc[hit, "EXT_SOURCE_2"] / 100.0
    out.loc[hit, "EXT_SOURCE_3"] = np.nan
    return out


SCENARIOS: dict[str, Scenario] = {
    s.name: s
    for s in (
        Scenario(
            "young_high_income",
            "younger applicants (ages pulled toward 21, few pensioners) declaring "
            f"{DECLARED_INCOME_FACTOR:g}x the income they earn (their risk follows what they earn)",
            code=1,
            shift=PopulationShift(age_factor=0.55, pensioner_factor=0.25),
            corrupt=_declared_income,
        ),
        Scenario(
            "ext_source_bug",
            "an upstream bug divides EXT_SOURCE_2 by 100 and blanks EXT_SOURCE_3 for "
            f"{EXT_SOURCE_BUG_SHARE:.0%} "
            "of applications (the applicants' risk is unchanged)",
            code=2,
            corrupt=_ext_source_bug,
        ),
        Scenario(
            "revolving_mix",
            "a new product mix: 45 % revolving loans instead of 10 %, credits (and annuities) 1.6x larger",
            code=3,
            shift=PopulationShift(revolving_share=0.45, credit_factor=1.6),
        ),
    )
}
"""The drift scenarios by name."""


def get_scenario(name: str | None) -> Scenario | None:
    """The scenario called ``name`` (None for the baseline); ValueError listing the names otherwise."""
    if name is None:
        return None
    try:
        return SCENARIOS[name]
    except KeyError:
        raise ValueError(f"unknown scenario {name!r}; known scenarios: {', '.join(SCENARIOS)}") from None
