"""Monitoring groups: the protected attributes of an applicant document, reduced to a few labels each.

The service logs these labels in the payload log (``docs/payload-log.md``, column ``groups``) so that the
drift sidecar can count decisions per group (:mod:`monitoring.fairness`); the model never sees them. Every
column of the protected list (:data:`service.applicant.protected.ALWAYS_PROTECTED` and
:data:`~service.applicant.protected.OPTIONAL_PROTECTED`) is monitored, plus an age band cut from
``DAYS_BIRTH``. Each attribute has a fixed, short list of labels, so a label is a low-cardinality
Prometheus label value whatever the caller sends:

* text columns (``CODE_GENDER``, ``NAME_FAMILY_STATUS``): the label as sent when the schema knows it,
  ``XNA`` when it is missing (``XNA`` or null), ``other`` for a label the schema does not know;
* counts (``CNT_CHILDREN``: ``0``, ``1``, ``2``, ``3+``; ``CNT_FAM_MEMBERS``: ``1``, ``2``, ``3``, ``4+``),
  ``XNA`` when missing;
* ``AGE_BAND`` from ``DAYS_BIRTH`` (age = -DAYS_BIRTH / 365.25 years): ``under_25``, ``25_to_61``,
  ``62_and_over``, ``XNA`` when missing.

An applicant's labels travel from the request to the payload writer as one small integer
(:func:`group_code`), which the writer splits back per attribute (:func:`split_codes`): an integer is not
tracked by the garbage collector, a tuple per request would be (see ``service/payload_log.py``).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from operator import attrgetter
from typing import Any

import numpy as np

from service.applicant.protected import ALWAYS_PROTECTED, OPTIONAL_PROTECTED
from service.applicant.schema import MISSING_LABEL, TABLES

__all__ = [
    "AGE_BAND",
    "MONITORED",
    "NO_GROUPS",
    "N_COMBINATIONS",
    "GroupedAttribute",
    "group_code",
    "split_codes",
]

AGE_BAND = "AGE_BAND"
"""Name of the monitored attribute cut from ``DAYS_BIRTH``."""
OTHER_LABEL = "other"
"""Group of a text label the schema does not know."""
DAYS_PER_YEAR = 365.25
"""Days per year when ``DAYS_BIRTH`` is turned into an age (as the synthetic generator does)."""
NO_GROUPS = -1
"""The code of a record without groups: an applicant sent as the model's feature vector."""


@dataclass(frozen=True)
class GroupedAttribute:
    """One monitored attribute: its name, its labels and how a column value maps to one of them."""

    name: str
    """Name of the attribute (the application column, or :data:`AGE_BAND`): the ``attribute`` label."""
    labels: tuple[str, ...]
    """Every group label, in code order; the last one is the group of a missing value (``XNA``)."""
    column: str
    """The application column the group is read from."""
    index: Callable[[Any], int]
    """The code (position in :attr:`labels`) of a value of :attr:`column` (``None``: missing)."""


def _labelled(column: str) -> GroupedAttribute:
    known = TABLES["application_train"].column(column).categories
    labels = (*known, OTHER_LABEL, MISSING_LABEL)
    other, missing = len(known), len(known) + 1
    codes: dict[str | None, int] = {label: i for i, label in enumerate(known)}
    codes.update({MISSING_LABEL: missing, None: missing})

    def index(value: str | None) -> int:
        return codes.get(value, other)

    return GroupedAttribute(column, labels, column, index)


def _counted(column: str, first: int, top: int) -> GroupedAttribute:
    """Counts ``first`` .. ``top - 1`` as themselves (fewer as ``first``), ``top`` and more as ``top+``."""
    labels = (*(str(n) for n in range(first, top)), f"{top}+", MISSING_LABEL)
    span, missing = top - first, len(labels) - 1

    def index(value: float | None) -> int:
        if value is None or value != value:
            return missing
        n = int(value) - first
        return 0 if n < 0 else n if n < span else span

    return GroupedAttribute(column, labels, column, index)


AGE_LIMITS = (25.0, 62.0)
"""Age band limits in years: under 25, 25 up to 62 (excluded), 62 and over (the age the issue discusses)."""
_UNDER_25_DAYS, _UNDER_62_DAYS = (-limit * DAYS_PER_YEAR for limit in AGE_LIMITS)


def _age_index(days: float | None) -> int:
    if days is None:
        return 3
    return 0 if days > _UNDER_25_DAYS else 1 if days > _UNDER_62_DAYS else 2


_BY_COLUMN: dict[str, GroupedAttribute] = {
    "CODE_GENDER": _labelled("CODE_GENDER"),
    "NAME_FAMILY_STATUS": _labelled("NAME_FAMILY_STATUS"),
    "CNT_CHILDREN": _counted("CNT_CHILDREN", 0, 3),
    "CNT_FAM_MEMBERS": _counted("CNT_FAM_MEMBERS", 1, 4),
}

MONITORED: tuple[GroupedAttribute, ...] = (
    *(_BY_COLUMN[column] for column in (*ALWAYS_PROTECTED, *OPTIONAL_PROTECTED)),
    GroupedAttribute(
        AGE_BAND, ("under_25", "25_to_61", "62_and_over", MISSING_LABEL), "DAYS_BIRTH", _age_index
    ),
)
"""The monitored attributes, in the order of the payload log's ``groups`` fields: the protected list, then
the age band. A column added to the protected list needs its grouping here (the import fails otherwise)."""

N_COMBINATIONS = math.prod(len(attribute.labels) for attribute in MONITORED)
"""How many different :func:`group_code` values there are (codes 0 to ``N_COMBINATIONS - 1``)."""
_SIZES = [len(attribute.labels) for attribute in MONITORED]
_STRIDES = [math.prod(_SIZES[:i]) for i in range(len(_SIZES))]
_READ = attrgetter(*(attribute.column for attribute in MONITORED))
_INDEXES = tuple(attribute.index for attribute in MONITORED)


def group_code(applicant: Any) -> int:
    """The groups of an applicant document as one integer (mixed radix, first attribute lowest)."""
    code = 0
    for index, value, stride in zip(_INDEXES, _READ(applicant), _STRIDES, strict=True):
        code += index(value) * stride
    return code


def split_codes(codes: np.ndarray) -> list[np.ndarray]:
    """Per monitored attribute, the label position of each record of ``codes`` (:func:`group_code`
    values); :data:`NO_GROUPS` stays -1 in every attribute."""
    codes = np.asarray(codes, dtype=np.int64)
    none = codes < 0
    out = []
    for size, stride in zip(_SIZES, _STRIDES, strict=True):
        part = (codes // stride) % size
        part[none] = -1
        out.append(part)
    return out
