"""The age rule: how a model may use the applicant's age (``DAYS_BIRTH``).

Credit law treats age differently from sex. US Regulation B (ECOA) lets an empirically derived credit
scoring system use age, provided an elderly applicant (62 or over) is never given a negative, that is
risk-increasing, factor for their age; EU lenders must be able to justify any use of it. The lender chooses
one of three rules:

``free``
    features that read ``DAYS_BIRTH`` compete like any other, and the model may treat age any way the data
    suggests. The model card shows how many applicants aged 62 or over get a risk-increasing age
    contribution, for the lender to judge.
``monotone`` (the default)
    LightGBM gets a monotone constraint on every feature that reads ``DAYS_BIRTH`` alone, so that the
    predicted risk never rises as the applicant gets older, all else equal. A feature that reads
    ``DAYS_BIRTH`` together with other columns (``APP_EMPLOYED_AGE_RATIO``, years employed over age) cannot
    be constrained in age alone (at a fixed ratio, age and employment move together) and is left out, as is
    a feature of age alone that does not move one way with age.
``excluded``
    ``DAYS_BIRTH`` is added to the protected attributes (:mod:`service.applicant.protected`): no feature
    reads it, the bundle's list holds it, and the service refuses a bundle whose features do.

Columns that merely correlate with age (``DAYS_EMPLOYED``, ``DAYS_ID_PUBLISH``, the length of the credit
history) are not covered by any rule: they are read for what they measure.
"""

from __future__ import annotations

import functools
import itertools
from collections.abc import Iterable
from typing import Literal, get_args

from service.applicant.catalog import APPLICATION
from service.applicant.protected import columns_read, features_reading

__all__ = [
    "AGE_COLUMN",
    "AGE_RULES",
    "AGE_RULE_REASON",
    "DAYS_PER_YEAR",
    "DEFAULT_AGE_RULE",
    "ELDERLY_AGE",
    "AgeRule",
    "age_constraints",
    "age_direction",
    "age_features",
    "age_protected",
    "check_age_rule",
    "monotone_exclusions",
]

AgeRule = Literal["free", "monotone", "excluded"]

AGE_RULES: tuple[str, ...] = get_args(AgeRule)
"""The rules, from the loosest."""

DEFAULT_AGE_RULE: AgeRule = "monotone"
"""The rule of a training run that names none.

``monotone`` keeps age's signal (younger applicants do default more often, in the real sample and in the
generator's true probability; docs/fair-lending.md, "Age") while guaranteeing, by construction, what
Regulation B asks: being older never raises an applicant's risk. ``free`` leaves that to a review of every
retrained model; ``excluded`` gives up the signal (and cost 0.002 of holdout AUC where ``monotone`` cost
none, on 50,000 generated applicants).
"""

AGE_COLUMN = "DAYS_BIRTH"
"""The application column holding the applicant's age (days before the application, negative)."""

ELDERLY_AGE = 62
"""Age in years from which Regulation B calls an applicant elderly."""

AGE_RULE_REASON = "age rule monotone:"
"""Start of the reason recorded for a feature that selection left out under the ``monotone`` rule."""

DAYS_PER_YEAR = 365.25
"""Days in a year, to turn ``DAYS_BIRTH`` into years."""

_SWEEP_YEARS = range(18, 101)
"""Ages at which a feature of age alone is evaluated to find which way it moves with age."""


def check_age_rule(rule: str, protected: Iterable[str]) -> None:
    """ValueError unless ``rule`` is one of :data:`AGE_RULES` and agrees with the protected list.

    Protecting ``DAYS_BIRTH`` while asking for another rule than ``excluded`` is a contradiction, not a
    choice between them, so it is refused rather than resolved silently.
    """
    if rule not in AGE_RULES:
        raise ValueError(f"unknown age rule {rule!r}: choose one of {', '.join(AGE_RULES)}")
    if AGE_COLUMN in set(protected) and rule != "excluded":
        raise ValueError(
            f"{AGE_COLUMN} is a protected attribute, so no feature may read it: the age rule must be "
            f"'excluded', not {rule!r}"
        )


def age_protected(rule: str) -> tuple[str, ...]:
    """The columns the age rule adds to the protected attributes: ``DAYS_BIRTH`` under ``excluded``."""
    return (AGE_COLUMN,) if rule == "excluded" else ()


def age_features(names: Iterable[str]) -> dict[str, list[str]]:
    """For each of ``names`` that reads ``DAYS_BIRTH``, the other columns it reads (empty: age alone).

    Columns of other tables are named ``table.column``. A name that is not a defined feature (a column
    given to training as it is) reads the application column of its name.
    """
    found: dict[str, list[str]] = {}
    for name in features_reading(names, [AGE_COLUMN]):
        try:
            read = columns_read(name)
        except KeyError:
            read = frozenset({(APPLICATION, name)})
        found[name] = sorted(
            column if table == APPLICATION else f"{table}.{column}"
            for table, column in read
            if (table, column) != (APPLICATION, AGE_COLUMN)
        )
    return found


@functools.cache
def age_direction(name: str) -> int:
    """Which way feature ``name`` (of age alone) moves as ``DAYS_BIRTH`` rises, that is as age falls.

    1 when it never falls as ``DAYS_BIRTH`` rises, -1 when it never rises, 0 when it does both or is
    missing somewhere between ages 18 and 100. Found by evaluating the feature's definition (the service's
    one-applicant evaluator, which the parity test ties to training's) on applicants holding nothing but
    their age. A name that is not a defined feature is the column itself: 1.
    """
    from service.applicant.definitions import feature_definition

    try:
        feature_definition(name)
    except KeyError:
        return 1
    import msgspec

    from service.applicant.document import applicant_type
    from service.applicant.evaluate import FeatureRow

    decoder = msgspec.json.Decoder(applicant_type())
    row = FeatureRow([name])
    # oldest first, so that the list runs in increasing DAYS_BIRTH
    days = [-round(years * DAYS_PER_YEAR) for years in reversed(_SWEEP_YEARS)]
    values = [row.values(decoder.decode(f'{{"{AGE_COLUMN}": {day}}}'.encode()))[0] for day in days]
    if any(value != value for value in values):
        return 0
    steps = [after - before for before, after in itertools.pairwise(values)]
    if all(step >= 0 for step in steps):
        return 1
    if all(step <= 0 for step in steps):
        return -1
    return 0


def monotone_exclusions(names: Iterable[str]) -> dict[str, str]:
    """Features of ``names`` the ``monotone`` rule leaves out, with the reason.

    A feature that reads ``DAYS_BIRTH`` with other columns, or that does not move one way with age, cannot
    carry a constraint that keeps risk from rising with age.
    """
    dropped: dict[str, str] = {}
    for name, others in age_features(names).items():
        if others:
            dropped[name] = (
                f"{AGE_RULE_REASON} reads {AGE_COLUMN} with {', '.join(others)}, so its effect cannot be "
                "kept from rising with age"
            )
        elif age_direction(name) == 0:
            dropped[name] = f"{AGE_RULE_REASON} does not move one way with {AGE_COLUMN}"
    return dropped


def age_constraints(names: Iterable[str], rule: str) -> dict[str, int]:
    """LightGBM monotone constraint of each feature of ``names`` that the age rule constrains.

    Under ``monotone``, a feature of age alone gets the direction in which risk may move with it so that
    risk never rises with age: 1 (risk non-decreasing in the feature) when the feature rises with
    ``DAYS_BIRTH``, as ``DAYS_BIRTH`` itself does, -1 when it falls. Empty under the other rules. ValueError
    for a feature the rule should have left out (:func:`monotone_exclusions`).
    """
    if rule != "monotone":
        return {}
    names = list(names)
    left_in = monotone_exclusions(names)
    if left_in:
        raise ValueError(f"features the monotone age rule leaves out are still present: {sorted(left_in)}")
    return {name: age_direction(name) for name in age_features(names)}
