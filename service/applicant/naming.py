"""Feature-name rules: only ``[A-Z0-9_]``, so that names are safe as LightGBM feature names and JSON keys."""

from __future__ import annotations

import re

__all__ = ["FEATURE_NAME_PATTERN", "feature_name", "sanitise_label"]

FEATURE_NAME_PATTERN = re.compile(r"^[A-Z0-9_]+$")
"""Every feature name matches this pattern."""

_NOT_ALLOWED = re.compile(r"[^A-Z0-9]+")


def sanitise_label(label: str) -> str:
    """Turn a category label into a name part: upper case, runs of other characters become one ``_``.

    ``"Higher education"`` -> ``"HIGHER_EDUCATION"``, ``"Trade: type 7"`` -> ``"TRADE_TYPE_7"``.
    """
    cleaned = _NOT_ALLOWED.sub("_", str(label).upper()).strip("_")
    if not cleaned:
        raise ValueError(f"category label {label!r} has no letter or digit to name a feature after")
    return cleaned


def feature_name(*parts: str) -> str:
    """Join name parts with ``_`` and check the result against :data:`FEATURE_NAME_PATTERN`."""
    name = "_".join(p for p in parts if p)
    if not FEATURE_NAME_PATTERN.match(name):
        raise ValueError(f"feature name {name!r} is not made of A-Z, 0-9 and _ only")
    return name
