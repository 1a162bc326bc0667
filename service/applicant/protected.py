"""Protected attributes: application columns no model feature may read.

Credit law forbids deciding on some characteristics of a person (sex, in the EU and under the US ECOA;
marital status and the number of children are protected in some jurisdictions and a lender's policy in
others). A feature *reads* a column when its definition (:mod:`service.applicant.definitions`) refers to it
anywhere, alone or combined with other columns: a ratio of income to family size reads the family size.
Training never offers such a feature to the model and the service refuses a bundle that holds one, so
changing only a protected attribute of an applicant can never change the probability.

The payload log keeps a coarse group of each protected attribute of an applicant document
(:mod:`service.applicant.groups`) so that monitoring can count decisions by them; the model never sees them.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Iterable, Iterator

from service.applicant.catalog import APPLICATION
from service.applicant.definitions import feature_definition
from service.applicant.schema import TABLES

__all__ = [
    "ALWAYS_PROTECTED",
    "OPTIONAL_PROTECTED",
    "columns_read",
    "features_reading",
    "protected_list",
]

ALWAYS_PROTECTED: tuple[str, ...] = ("CODE_GENDER",)
"""Application columns that are protected whatever the configuration says (sex)."""

OPTIONAL_PROTECTED: tuple[str, ...] = ("NAME_FAMILY_STATUS", "CNT_CHILDREN", "CNT_FAM_MEMBERS")
"""Application columns a lender may add to the protected list (family status, children, family size)."""

_APPLICATION_COLUMNS = frozenset(column.name for column in TABLES["application_train"].columns)


@functools.cache
def columns_read(name: str) -> frozenset[tuple[str, str]]:
    """The (table, column) pairs feature ``name`` reads; KeyError for an unknown feature."""
    definition = feature_definition(name)
    return frozenset(_columns(definition.computed, definition.table))


def _columns(node: object, table: str) -> Iterator[tuple[str, str]]:
    """Columns named anywhere in an expression tree; a ``rows`` field sets the table below it."""
    if not dataclasses.is_dataclass(node):
        return
    table = getattr(node, "rows", table)
    for item in dataclasses.fields(node):
        value = getattr(node, item.name)
        if item.name == "column":
            yield table, value
        elif item.name == "columns":
            yield from ((table, column) for column in value)
        else:
            yield from _columns(value, table)


def features_reading(names: Iterable[str], protected: Iterable[str]) -> dict[str, list[str]]:
    """For each feature of ``names`` that reads a protected application column, those columns (sorted).

    Features that read none are left out, so an empty answer means the features are clean. A name that is
    not a defined feature (a column given to training as it is) reads the application column of its name.
    """
    shielded = {(APPLICATION, column) for column in protected}
    found: dict[str, list[str]] = {}
    for name in names:
        try:
            read = columns_read(name)
        except KeyError:
            read = frozenset({(APPLICATION, name)})
        hits = sorted(column for table, column in read & shielded)
        if hits:
            found[name] = hits
    return found


def protected_list(*lists: Iterable[str]) -> list[str]:
    """:data:`ALWAYS_PROTECTED` and every column of ``lists``, sorted, each once; ValueError for a name
    that is not a column of the application table."""
    names = sorted({*ALWAYS_PROTECTED, *(name for given in lists for name in given)})
    unknown = [name for name in names if name not in _APPLICATION_COLUMNS]
    if unknown:
        raise ValueError(f"not columns of the application table: {', '.join(unknown)}")
    return names
