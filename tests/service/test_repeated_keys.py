"""The repeated-key check on its own: the counting type it derives, and what it names."""

from __future__ import annotations

from typing import Annotated

import msgspec
import pytest

from service.repeated_keys import RepeatedKeys, counting_type

LONG = "x" * 100
"""A field name longer than the 64 characters the service's errors name."""


class Month(msgspec.Struct, kw_only=True, forbid_unknown_fields=True, omit_defaults=True):
    STATUS: str | None = None


class Credit(msgspec.Struct, kw_only=True, forbid_unknown_fields=True, omit_defaults=True):
    AMOUNT: float | None = None
    months: Annotated[list[Month], msgspec.Meta(max_length=5)] = msgspec.field(default_factory=list)


class Body(msgspec.Struct, kw_only=True, forbid_unknown_fields=True, omit_defaults=True):
    id: str | int | None = None
    credit: Credit | msgspec.UnsetType = msgspec.UNSET
    credits: list[Credit] = msgspec.field(default_factory=list)
    rows: msgspec.Raw | msgspec.UnsetType = msgspec.UNSET


Long = msgspec.defstruct("Long", [(LONG, int | None, None)], kw_only=True, omit_defaults=True)


def test_the_counting_type_keeps_objects_and_lists_of_objects_and_nothing_else() -> None:
    counting = counting_type(Body)
    decoded = msgspec.json.decode(
        b'{"id": 5, "credit": {"AMOUNT": 1.5, "months": [{"STATUS": "C"}]}, "rows": [[1, {"a": 1}]]}',
        type=counting,
    )
    assert bytes(decoded.id) == b"5" and bytes(decoded.rows) == b'[[1, {"a": 1}]]'
    assert bytes(decoded.credit.AMOUNT) == b"1.5"
    assert bytes(decoded.credit.months[0].STATUS) == b'"C"'
    assert decoded.credits is msgspec.UNSET  # absent: left out when encoded again
    assert msgspec.json.encode(decoded).count(b":") == 6 + 1  # six keys kept, one colon inside the rows


@pytest.mark.parametrize(
    "body",
    [
        b'{"id": 1, "id": 1}',
        b'{"id": 1, "id": "\\u003a"}',  # the escaped colon would hide the repeat from the colon count
        b'{"credit": {"AMOUNT": null, "AMOUNT": 2}}',
        b'{"credits": [{}, {"months": [{"STATUS": "a:b", "STATUS": null}]}]}',
        b'{"credit": {"months": []}, "credit": {"months": []}}',
        b'{"id": "\\u003a", "credits": [{"AMOUNT": 1}], "credits": []}',
    ],
)
def test_a_repeat_anywhere_is_refused_and_named(body: bytes) -> None:
    decoded = msgspec.json.decode(body, type=Body)  # what msgspec accepts (the last value wins)
    assert RepeatedKeys(Body).repeated(body, decoded) in ("id", "AMOUNT", "STATUS", "credit", "credits")


@pytest.mark.parametrize(
    "body",
    [
        b"{}",
        b'{"id": "a:b", "credit": {"AMOUNT": null, "months": []}}',
        b'{"id": "\\u003a:", "credits": [{"AMOUNT": 1}, {"AMOUNT": 1}], "rows": [[{"k": 1, "k": 2}]]}',
        b'{ "id" : null , "credit" : { "months" : [ { "STATUS" : ":" } ] } }',
    ],
)
def test_bodies_without_repeats_pass(body: bytes) -> None:
    assert RepeatedKeys(Body).repeated(body, msgspec.json.decode(body, type=Body)) is None


def test_only_bodies_with_explicit_defaults_or_escapes_are_read_again() -> None:
    """The usual body costs one encoding of what msgspec decoded, not a second reading."""
    check = RepeatedKeys(Body)
    check._decoder = None  # type: ignore[assignment]  # any second reading would now fail
    plain = b'{"id": "a:b", "credits": [{"AMOUNT": 1, "months": [{"STATUS": "x: y"}]}]}'
    assert check.repeated(plain, msgspec.json.decode(plain, type=Body)) is None
    for again in (b'{"id": null}', b'{"credits": []}', b'{"id": "\\u0041"}', b'{"id": 1, "id": 2}'):
        with pytest.raises(AttributeError):
            check.repeated(again, msgspec.json.decode(again, type=Body))


def test_a_long_repeated_key_is_named_whole() -> None:
    """(The service cuts it in its error, as it cuts unknown keys.)"""
    body = f'{{"{LONG}": 1, "{LONG}": 2}}'.encode()
    assert RepeatedKeys(Long).repeated(body, msgspec.json.decode(body, type=Long)) == LONG
