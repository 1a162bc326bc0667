"""Monitoring groups of an applicant document (service/applicant/groups.py): the documented labels, the age
band's limits, missing and unknown values, and the one-integer code the worker carries to the payload log."""

from __future__ import annotations

import itertools
from types import SimpleNamespace

import numpy as np
import pytest

from service.applicant.groups import AGE_BAND, MONITORED, NO_GROUPS, group_code, split_codes
from service.applicant.protected import ALWAYS_PROTECTED, OPTIONAL_PROTECTED

BY_NAME = {attribute.name: attribute for attribute in MONITORED}


def document(**columns: object) -> SimpleNamespace:
    """The monitored application columns of a document, missing unless given."""
    values = dict.fromkeys(
        ("CODE_GENDER", "NAME_FAMILY_STATUS", "CNT_CHILDREN", "CNT_FAM_MEMBERS", "DAYS_BIRTH")
    )
    values.update(columns)
    return SimpleNamespace(**values)


def label(attribute: str, **columns: object) -> str:
    group = BY_NAME[attribute]
    return group.labels[group.index(getattr(document(**columns), group.column))]


def test_the_protected_list_and_the_age_band_are_monitored_with_their_documented_labels() -> None:
    assert [a.name for a in MONITORED] == [*ALWAYS_PROTECTED, *OPTIONAL_PROTECTED, AGE_BAND]
    assert {a.name: a.labels for a in MONITORED} == {
        "CODE_GENDER": ("F", "M", "other", "XNA"),
        "NAME_FAMILY_STATUS": (
            "Married", "Single / not married", "Civil marriage", "Separated", "Widow", "Unknown",
            "other", "XNA",
        ),
        "CNT_CHILDREN": ("0", "1", "2", "3+", "XNA"),
        "CNT_FAM_MEMBERS": ("1", "2", "3", "4+", "XNA"),
        "AGE_BAND": ("under_25", "25_to_61", "62_and_over", "XNA"),
    }  # fmt: skip


@pytest.mark.parametrize(
    ("days", "band"),
    [
        (-9131, "under_25"),  # 24.9993 years
        (-9132, "25_to_61"),  # 25.0027 years
        (-22645, "25_to_61"),  # 61.9986 years
        (-22646, "62_and_over"),  # 62.0014 years
        (-36000, "62_and_over"),
        (None, "XNA"),
    ],
)
def test_the_age_band_is_cut_at_25_and_62_years(days: int | None, band: str) -> None:
    assert label(AGE_BAND, DAYS_BIRTH=days) == band


def test_counts_are_bucketed_and_text_labels_kept_as_sent_or_grouped() -> None:
    assert [label("CNT_CHILDREN", CNT_CHILDREN=n) for n in (0, 1, 2, 3, 19, None)] == [
        "0", "1", "2", "3+", "3+", "XNA",
    ]  # fmt: skip
    assert [label("CNT_FAM_MEMBERS", CNT_FAM_MEMBERS=n) for n in (0.0, 1.0, 2.0, 3.0, 4.0, 20.0, None)] == [
        "1", "1", "2", "3", "4+", "4+", "XNA",
    ]  # fmt: skip
    assert [label("CODE_GENDER", CODE_GENDER=g) for g in ("F", "M", "XNA", None, "X")] == [
        "F", "M", "XNA", "XNA", "other",
    ]  # fmt: skip
    assert label("NAME_FAMILY_STATUS", NAME_FAMILY_STATUS="Civil marriage") == "Civil marriage"
    assert label("NAME_FAMILY_STATUS", NAME_FAMILY_STATUS="Polygamous") == "other"


def test_one_code_carries_every_combination_of_groups_and_splits_back() -> None:
    combinations = list(itertools.product(*(range(len(a.labels)) for a in MONITORED)))
    codes = []
    for combination in combinations:
        code = 0
        stride = 1
        for attribute, position in zip(MONITORED, combination, strict=True):
            code += position * stride
            stride *= len(attribute.labels)
        codes.append(code)
    assert len(set(codes)) == len(combinations) == 4 * 8 * 5 * 5 * 4
    parts = split_codes(np.array([*codes, NO_GROUPS]))
    assert np.column_stack(parts)[:-1].tolist() == [list(c) for c in combinations]
    assert [part[-1] for part in parts] == [-1] * len(MONITORED)


def test_group_code_of_a_document_splits_into_its_labels() -> None:
    applicant = document(
        CODE_GENDER="M", NAME_FAMILY_STATUS="Widow", CNT_CHILDREN=2, CNT_FAM_MEMBERS=3.0, DAYS_BIRTH=-25000
    )
    parts = split_codes(np.array([group_code(applicant)]))
    labels = [a.labels[int(part[0])] for a, part in zip(MONITORED, parts, strict=True)]
    assert labels == ["M", "Widow", "2", "3", "62_and_over"]
