"""A short, stable fingerprint of the training data, so a model can be traced to the rows it learnt from."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping

import pandas as pd


def fingerprint_tables(tables: Mapping[str, pd.DataFrame]) -> str:
    """SHA-256 (hex) over every table's name, column names and row contents, in sorted table order.

    Row order matters (a shuffled table gets a new fingerprint); the in-memory dtype of text columns
    (object or category) does not.
    """
    digest = hashlib.sha256()
    for name in sorted(tables):
        table = tables[name]
        digest.update(name.encode())
        digest.update("\x1f".join(map(str, table.columns)).encode())
        normalised = table.apply(
            lambda c: c.astype(object) if isinstance(c.dtype, pd.CategoricalDtype) else c
        )
        digest.update(pd.util.hash_pandas_object(normalised, index=False).to_numpy().tobytes())
    return digest.hexdigest()


def library_versions() -> dict[str, str]:
    """Versions of the libraries that shape a trained model, for the bundle and the model card."""
    from importlib.metadata import PackageNotFoundError, version

    versions = {}
    for package in ("lightgbm", "scikit-learn", "pandas", "numpy", "shap", "bentoml", "credit-scoring"):
        try:
            versions[package] = version(package)
        except PackageNotFoundError:
            continue
    import platform

    versions["python"] = platform.python_version()
    return versions
