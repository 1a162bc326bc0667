"""Refusing a body that repeats a key within one object.

JSON allows ``{"AMT_CREDIT": 1, "AMT_CREDIT": 2}`` and parsers disagree on what it means: msgspec keeps the
last value, others the first. A gateway, an audit store and this service could then each see a different
applicant in the same body, so the service refuses such a body (400). msgspec cannot report repeats (its issue
#648); the check counts colons, one per key outside text, and never parses the body by hand:

* **Usually, no second reading.** The request as msgspec decoded it, encoded again (the request types omit
  fields left at their default), holds one ``:`` per key msgspec kept with a value other than the default,
  plus the colons of its text. Every key of the body adds one ``:`` and, in a body without ``\\u`` escapes,
  every colon of a decoded text is a colon of the body. So when the body has no more colons than that
  encoding, it has no more keys than msgspec kept: nothing was repeated.
* **Otherwise, an exact second reading.** A body with an explicit default (``null``, ``[]``, ``"explain":
  0``), an escape, or a repeat is decoded into a *counting* type derived from the request type: the same
  objects nested the same way, every other value kept as its raw JSON text (``msgspec.Raw``) and every
  absent field left out. Encoded again, it holds one ``:`` per key kept and the raw values' own colons; the
  body has the same plus one per repeated key and the colons of the values a repeat overwrote. More colons
  in the body means a repeat.

Only when a repeat is found is the body read a third time (the standard library's parser, which shows
every key of an object) to name the key. The check runs on bodies msgspec accepted, so every key is one the
contract knows, except inside the columnar ``rows``, which both encodings copy as they were sent: a repeat
there passes, but rows hold no objects, which their own decoding refuses (422).
"""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

import msgspec
import numpy as np
from msgspec import inspect as msgspec_inspect

__all__ = ["RepeatedKeys", "counting_type"]

_COLON = ord(":")
_NUMPY_FROM_BYTES = 8192
_ENCODER = msgspec.json.Encoder()


def counting_type(request_type: type[msgspec.Struct]) -> type[msgspec.Struct]:
    """The counting type of ``request_type``: its structs, nested alike, with raw values and no defaults."""
    return _struct(msgspec_inspect.type_info(request_type), {})


def _struct(info: msgspec_inspect.StructType, made: dict[type, type[msgspec.Struct]]) -> type[msgspec.Struct]:
    if info.cls not in made:
        fields = [(field.encode_name, _value(field.type, made), msgspec.UNSET) for field in info.fields]
        made[info.cls] = msgspec.defstruct(
            f"Counting{info.cls.__name__}", fields, kw_only=True, omit_defaults=True, gc=False
        )
    return made[info.cls]


def _value(info: msgspec_inspect.Type, made: dict[type, type[msgspec.Struct]]) -> Any:
    """A field's counting type: an object stays an object and a list of objects a list of them; any
    other value is raw text."""
    info = _bare(info)
    if isinstance(info, msgspec_inspect.UnionType):
        nested = [bare for bare in map(_bare, info.types) if _holds_objects(bare)]
        if len(nested) == 1:
            return _value(nested[0], made)
        if nested:  # never in the request types; a union of several object types would need its own rule
            raise TypeError(f"cannot count the keys of {info}")
    if isinstance(info, msgspec_inspect.StructType):
        return _struct(info, made) | msgspec.UnsetType
    if isinstance(info, msgspec_inspect.ListType) and _holds_objects(info):
        return list[_struct(_bare(info.item_type), made)] | msgspec.UnsetType  # type: ignore[misc]
    return msgspec.Raw | msgspec.UnsetType


def _bare(info: msgspec_inspect.Type) -> msgspec_inspect.Type:
    while isinstance(info, msgspec_inspect.Metadata):
        info = info.type
    return info


def _holds_objects(info: msgspec_inspect.Type) -> bool:
    if isinstance(info, msgspec_inspect.ListType):
        return isinstance(_bare(info.item_type), msgspec_inspect.StructType)
    return isinstance(info, msgspec_inspect.StructType)


def _colons(text: bytes) -> int:
    """The number of ``:`` in ``text``: ``bytes.count`` below 8 kB, numpy above (about twice as fast there,
    ~3x slower on a 1.6 kB feature vector for its fixed cost)."""
    if len(text) < _NUMPY_FROM_BYTES:
        return text.count(b":")
    return int(np.count_nonzero(np.frombuffer(text, dtype=np.uint8) == _COLON))


class RepeatedKeys:
    """The repeated-key check of one request type."""

    def __init__(self, request_type: type[msgspec.Struct]) -> None:
        """Derive the counting type of ``request_type`` (once per loaded bundle)."""
        self._decoder = msgspec.json.Decoder(counting_type(request_type))

    def repeated(self, body: bytes, decoded: msgspec.Struct) -> str | None:
        """A key that an object of ``body`` repeats (``""`` if it cannot be named), or ``None``.

        ``decoded`` is ``body`` as msgspec decoded it into the request type, without error.
        """
        colons = _colons(body)
        if (b"\\" not in body or b"\\u" not in body) and colons == _colons(_ENCODER.encode(decoded)):
            return None
        if colons == _colons(_ENCODER.encode(self._decoder.decode(body))):
            return None
        return _first_repeated_key(body)


def _first_repeated_key(body: bytes) -> str:
    """A key that an object of ``body`` repeats (the first found; inner objects are read first)."""
    found: list[str] = []

    def pairs_of(pairs: list[tuple[str, Any]]) -> None:
        if not found and len(pairs) != len({key for key, _ in pairs}):
            found.append(next(key for key, count in Counter(key for key, _ in pairs).items() if count > 1))

    try:
        json.loads(body, object_pairs_hook=pairs_of)
    except (ValueError, RecursionError):  # msgspec read it; the standard parser should too
        return ""
    return found[0] if found else ""
