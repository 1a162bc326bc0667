"""Frozen stability bins: the development distribution of every model feature and of the score, and PSI.

Training cuts each feature of the development sample into bins once and stores them in the bundle with the
share of development rows in each bin; the score (the predicted probability of default) gets bands of equal
development share. Afterwards the bins never move: the drift sidecar counts live records per bin, the
counters add up across pods in Prometheus, and the population stability index compares the live shares with
the development shares bin by bin.

Bins of a numeric feature are right-closed intervals between quantile edges ``e_0 < e_1 < ... < e_{k-2}``:
bin 0 is ``(-inf, e_0]``, bin ``i`` is ``(e_{i-1}, e_i]``, the last bin ``(e_{k-2}, +inf)``, followed by one
bin for missing values (NaN). Right-closed intervals keep a value that many rows share (the 0 of a mostly-zero
amount, each count of a small count) whole in one bin. A categorical feature (one whose spec lists
categories; its values are the category codes the service writes, 0 for the first category) has one bin per
category, then the missing bin, which also takes a code that names no category.

PSI = sum over bins of ``(a - e) * ln(a / e)``, with ``a`` the live share and ``e`` the development share of a
bin. A bin with no rows on one side would make the logarithm infinite, so both shares are floored at
:data:`PSI_EPSILON` first (no renormalisation). The Prometheus recording rules in
``helm/credit-scoring/rules/credit-scoring.rules.yaml`` apply the same floor (``clamp_min``) and report no PSI
for a window of fewer than :data:`PSI_MIN_RECORDS` records.

Only numpy is imported here, so training, the service and the sidecar can all use this module.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

STABILITY_FORMAT_VERSION = 1
"""Version of the bins' JSON layout in ``bundle.json``; readers ignore bins written with another version."""

DEFAULT_BINS = 10
"""Bins per numeric feature when its values allow (fewer distinct values or merged small bins give fewer)."""

DEFAULT_MIN_SHARE = 0.05
"""Least share of development rows in a value bin; smaller bins are merged with a neighbour."""

SCORE_BANDS = 10
"""Bands of the score, each holding an equal share of the development rows (fewer when scores tie)."""

PSI_EPSILON = 1e-4
"""Floor of both shares in the PSI formula, so that an empty bin on either side gives a finite index. The
recording rules use the same number (``clamp_min(..., 0.0001)``)."""

PSI_MIN_RECORDS = 1_000
"""Least records in a window for a PSI to be reported (the recording rules' guard). Without drift the index
of ``n`` records over ``k`` bins is about a chi-square with ``k - 1`` degrees of freedom divided by ``n``:
0.01 on average and under 0.03 in 999 windows of 1,000 out of 1,000 for 11 bins, far below the 0.10 band."""

PSI_WARNING = 0.10
"""PSI from which a distribution counts as having moved (industry band; the warning alerts)."""

PSI_CRITICAL = 0.25
"""PSI from which a distribution counts as having shifted materially (industry band; the critical alerts)."""

MISSING_BIN = "missing"
"""Label of the bin of missing values (the last bin of every feature)."""


@dataclass(frozen=True)
class FeatureBins:
    """The frozen bins of one feature and the development share of each."""

    name: str
    """Feature name, as in the bundle's feature spec."""
    expected: tuple[float, ...]
    """Share of development rows in each bin, in bin order, the missing bin last (they sum to 1)."""
    edges: tuple[float, ...] = ()
    """Numeric feature: the increasing upper edges of all value bins but the last (right-closed)."""
    categories: tuple[str, ...] | None = None
    """Categorical feature: the categories, in code order (code ``i`` is ``categories[i]``); else ``None``."""

    def __post_init__(self) -> None:
        if len(self.expected) != self.n_bins:
            raise ValueError(f"{self.name}: {len(self.expected)} shares for {self.n_bins} bins")
        if any(not np.isfinite(e) for e in self.edges) or any(
            b <= a for a, b in zip(self.edges, self.edges[1:], strict=False)
        ):
            raise ValueError(f"{self.name}: bin edges must be finite and increasing")
        if self.categories is not None and (
            self.edges or MISSING_BIN in self.categories or len(set(self.categories)) != len(self.categories)
        ):
            raise ValueError(
                f"{self.name}: categories must be unique, not {MISSING_BIN!r}, and without edges"
            )
        _check_shares(self.name, self.expected)

    @property
    def n_bins(self) -> int:
        """Number of bins, the missing bin included."""
        values = len(self.categories) if self.categories is not None else len(self.edges) + 1
        return values + 1

    @property
    def labels(self) -> tuple[str, ...]:
        """Bin labels as exported (Prometheus label ``bin``): ``"0"``, ``"1"``, ... for numeric bins, the
        category for categorical ones, then ``"missing"``."""
        values = (
            self.categories if self.categories is not None else tuple(map(str, range(len(self.edges) + 1)))
        )
        return (*values, MISSING_BIN)

    def assign(self, values: np.ndarray) -> np.ndarray:
        """Bin index (``0`` to ``n_bins - 1``) of each value (:func:`assign_bins`, :func:`assign_codes`)."""
        if self.categories is not None:
            return assign_codes(values, len(self.categories))
        return assign_bins(values, self.edges)


@dataclass(frozen=True)
class ScoreBands:
    """Bands of the predicted probability of default and the development share of each."""

    edges: tuple[float, ...]
    """Increasing upper edges of all bands but the last (right-closed, as numeric feature bins)."""
    expected: tuple[float, ...]
    """Share of development rows in each band, in band order (they sum to 1)."""

    def __post_init__(self) -> None:
        if len(self.expected) != len(self.edges) + 1:
            raise ValueError(f"score bands: {len(self.expected)} shares for {len(self.edges) + 1} bands")
        if any(b <= a for a, b in zip(self.edges, self.edges[1:], strict=False)):
            raise ValueError("score bands: edges must be increasing")
        _check_shares("score bands", self.expected)

    @property
    def labels(self) -> tuple[str, ...]:
        """Band labels as exported (Prometheus label ``band``): ``"0"`` (lowest probabilities) upwards."""
        return tuple(map(str, range(len(self.expected))))

    def assign(self, probabilities: np.ndarray) -> np.ndarray:
        """Band index of each probability (a missing probability, which no valid record has, lands in the top
        band)."""
        return np.minimum(assign_bins(probabilities, self.edges), len(self.edges))


@dataclass(frozen=True)
class StabilityBins:
    """Frozen bins of every model feature (in the booster's order) and the score bands, as the bundle holds
    them."""

    features: tuple[FeatureBins, ...]
    """One entry per model feature, in the bundle's feature order."""
    score: ScoreBands
    """Bands of the predicted probability of default."""
    feature_rows: int
    """Development rows the feature bins and shares were computed on."""
    score_rows: int
    """Rows whose out-of-sample probabilities gave the score bands and shares."""
    source: str = ""
    """Where the rows came from, in words (e.g. "training split" and "holdout")."""

    @property
    def feature_names(self) -> list[str]:
        """Names of the binned features, in order."""
        return [f.name for f in self.features]

    def fingerprint(self) -> str:
        """Short hash of the bins and shares: counts are mergeable across pods only under equal
        fingerprints (exported as the ``binning`` label)."""
        stored = self.to_json()
        canonical = json.dumps({"features": stored["features"], "score": stored["score"]}, sort_keys=True)
        return hashlib.sha256(canonical.encode()).hexdigest()[:12]

    def to_json(self) -> dict[str, Any]:
        """The JSON object stored under ``stability`` in ``bundle.json``."""
        return {
            "version": STABILITY_FORMAT_VERSION,
            "feature_rows": self.feature_rows,
            "score_rows": self.score_rows,
            "source": self.source,
            "features": [
                {
                    "name": f.name,
                    **({"categories": list(f.categories)} if f.categories is not None else {}),
                    "edges": list(f.edges),
                    "expected": list(f.expected),
                }
                for f in self.features
            ],
            "score": {"edges": list(self.score.edges), "expected": list(self.score.expected)},
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> StabilityBins:
        """Read what :meth:`to_json` wrote. Raises :class:`UnsupportedBinsError` for another layout version
        and ``ValueError`` for content that is not valid bins."""
        version = data.get("version")
        if version != STABILITY_FORMAT_VERSION:
            raise UnsupportedBinsError(
                f"stability bins format {version!r} (this code reads {STABILITY_FORMAT_VERSION})"
            )
        try:
            features = tuple(
                FeatureBins(
                    name=str(f["name"]),
                    expected=tuple(float(x) for x in f["expected"]),
                    edges=tuple(float(x) for x in f["edges"]),
                    categories=tuple(str(c) for c in f["categories"]) if "categories" in f else None,
                )
                for f in data["features"]
            )
            score = ScoreBands(
                edges=tuple(float(x) for x in data["score"]["edges"]),
                expected=tuple(float(x) for x in data["score"]["expected"]),
            )
            return cls(
                features=features,
                score=score,
                feature_rows=int(data["feature_rows"]),
                score_rows=int(data["score_rows"]),
                source=str(data.get("source", "")),
            )
        except (KeyError, TypeError) as exc:
            raise ValueError(f"stability bins are incomplete: {type(exc).__name__}: {exc}") from exc


class UnsupportedBinsError(ValueError):
    """The bins were written in a layout version this code does not read."""


def assign_bins(values: np.ndarray, edges: Sequence[float] | np.ndarray) -> np.ndarray:
    """Bin index of each value for right-closed bins with increasing upper ``edges``: ``i`` such that
    ``edges[i - 1] < value <= edges[i]`` (``0`` up to ``len(edges)``), and ``len(edges) + 1`` for NaN.
    Infinities fall in the first or last value bin. One feature's case of :func:`assign_columns`."""
    edges = np.asarray(edges, dtype=np.float64)
    return assign_columns(np.asarray(values, dtype=np.float64)[None, :], edges[None, :])[0]


def assign_columns(columns: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """Bin indices of several numeric features at once (the sidecar's per-batch path).

    ``columns`` is features x records; row ``j`` of ``edges`` holds feature ``j``'s increasing upper edges,
    padded at the end with ``+inf`` to a common length. A value's bin is the number of its feature's edges
    below it (as :func:`assign_bins`); NaN gets the feature's missing bin (its finite edges + 1).

    Vectorised as one comparison of the whole matrix per edge position: for about ten edges this is two to
    three times faster than a ``searchsorted`` per feature, whose cost is per call and per element.
    """
    counts = np.zeros(columns.shape, dtype=np.uint8 if edges.shape[1] < 255 else np.intp)
    above = np.empty(columns.shape, dtype=bool)
    for k in range(edges.shape[1]):
        np.greater(columns, edges[:, k, None], out=above)  # NaN compares false
        counts += above.view(np.uint8) if counts.dtype == np.uint8 else above
    index = counts.astype(np.intp)
    missing = np.isfinite(edges).sum(axis=1) + 1
    np.copyto(index, missing[:, None], where=np.isnan(columns))
    return index


def padded_edges(edge_lists: Sequence[Sequence[float]]) -> np.ndarray:
    """The edges of several features as one (features x longest) array, padded with ``+inf``, for
    :func:`assign_columns`."""
    width = max((len(e) for e in edge_lists), default=0)
    out = np.full((len(edge_lists), width), np.inf)
    for j, edges in enumerate(edge_lists):
        out[j, : len(edges)] = edges
    return out


def assign_codes(values: np.ndarray, n_categories: int) -> np.ndarray:
    """Bin index of each category code: the code itself for ``0 <= code < n_categories``; ``n_categories``
    (the missing bin) for NaN and for anything that is not one of those codes."""
    values = np.asarray(values, dtype=np.float64)
    valid = (values >= 0) & (values < n_categories) & (values == np.floor(values))  # NaN compares false
    return np.where(valid, np.nan_to_num(values), n_categories).astype(np.intp)


def quantile_edges(
    values: np.ndarray, n_bins: int = DEFAULT_BINS, min_share: float = DEFAULT_MIN_SHARE
) -> tuple[float, ...]:
    """Upper edges of right-closed value bins for ``values`` (NaN and infinities ignored for the edges, all
    counted as rows).

    Up to ``n_bins`` bins: one per distinct value when there are at most ``n_bins`` of them, else cut at the
    ``i / n_bins`` quantiles (observed values, so a value shared by many rows stays in one bin). Then, while
    a bin holds less than ``min_share`` of all rows (missing ones included) and more than one bin is left,
    the smallest bin is merged into its smaller neighbour.
    """
    values = np.asarray(values, dtype=np.float64)
    present = values[~np.isnan(values)]
    finite = np.sort(present[np.isfinite(present)])  # edges are finite; infinities count in the end bins
    if finite.size == 0:
        return ()
    distinct = np.unique(finite)
    if distinct.size <= n_bins:
        edges = distinct[:-1]
    else:
        levels = np.arange(1, n_bins) / n_bins
        edges = np.unique(np.quantile(finite, levels, method="inverted_cdf"))
        edges = edges[edges < distinct[-1]]
    counts = np.bincount(np.searchsorted(edges, present, side="left"), minlength=len(edges) + 1)
    edge_list, count_list = list(edges), list(counts)
    least = min_share * values.size
    while len(count_list) > 1 and min(count_list) < least:
        i = int(np.argmin(count_list))
        if i == 0:
            j = 1
        elif i == len(count_list) - 1:
            j = i - 1
        else:
            j = i - 1 if count_list[i - 1] <= count_list[i + 1] else i + 1
        low = min(i, j)
        count_list[low : low + 2] = [count_list[i] + count_list[j]]
        del edge_list[low]  # the edge between bins low and low + 1
    return tuple(float(e) for e in edge_list)


def build_feature_bins(
    name: str,
    values: np.ndarray,
    categories: Sequence[str] | None = None,
    *,
    n_bins: int = DEFAULT_BINS,
    min_share: float = DEFAULT_MIN_SHARE,
) -> FeatureBins:
    """Frozen bins of one feature from its development values (NaN = missing; category codes for a
    categorical feature) and the share of rows in each."""
    values = np.asarray(values, dtype=np.float64)
    if values.size == 0:
        raise ValueError(f"{name}: no development rows to bin")
    if categories is not None:
        counts = np.bincount(assign_codes(values, len(categories)), minlength=len(categories) + 1)
        return FeatureBins(name, _shares(counts), categories=tuple(categories))
    edges = quantile_edges(values, n_bins, min_share)
    counts = np.bincount(assign_bins(values, edges), minlength=len(edges) + 2)
    return FeatureBins(name, _shares(counts), edges=edges)


def build_score_bands(probabilities: np.ndarray, n_bands: int = SCORE_BANDS) -> ScoreBands:
    """Bands of equal development share of the probability (quantile edges; tied scores can make fewer)."""
    probabilities = np.asarray(probabilities, dtype=np.float64)
    if probabilities.size == 0 or np.isnan(probabilities).any():
        raise ValueError("score bands need at least one probability and no missing one")
    edges = quantile_edges(probabilities, n_bands, min_share=0.0)
    counts = np.bincount(assign_bins(probabilities, edges), minlength=len(edges) + 1)
    return ScoreBands(edges=edges, expected=_shares(counts))


def build_stability_bins(
    columns: Mapping[str, Any],
    names: Sequence[str],
    probabilities: np.ndarray,
    *,
    categories: Mapping[str, Sequence[str]] | None = None,
    source: str = "",
    n_bins: int = DEFAULT_BINS,
    min_share: float = DEFAULT_MIN_SHARE,
) -> StabilityBins:
    """Bins of the features ``names`` (in that order) from the development ``columns`` (anything indexable
    by name that numpy turns into a 1-D array: a DataFrame, a dict of arrays), and score bands from
    ``probabilities`` (out-of-sample predictions). ``categories`` gives the categories of categorical
    features by name."""
    categories = categories or {}
    features = tuple(
        build_feature_bins(
            name,
            np.asarray(columns[name], dtype=np.float64),
            categories.get(name),
            n_bins=n_bins,
            min_share=min_share,
        )
        for name in names
    )
    rows = {len(np.asarray(columns[name])) for name in names}
    if len(rows) > 1:
        raise ValueError("the development columns have different lengths")
    return StabilityBins(
        features=features,
        score=build_score_bands(probabilities),
        feature_rows=rows.pop() if rows else 0,
        score_rows=int(np.asarray(probabilities).size),
        source=source,
    )


def psi(actual_counts: Sequence[float] | np.ndarray, expected: Sequence[float] | np.ndarray) -> float:
    """Population stability index of live bin counts against development shares of the same bins.

    ``sum((a - e) * ln(a / e))`` with ``a = max(count / total, PSI_EPSILON)`` and
    ``e = max(expected, PSI_EPSILON)``. NaN when there are no counts.
    """
    counts = np.asarray(actual_counts, dtype=np.float64)
    shares = np.asarray(expected, dtype=np.float64)
    if counts.shape != shares.shape:
        raise ValueError(f"{counts.size} counts for {shares.size} shares")
    total = counts.sum()
    if total <= 0:
        return float("nan")
    a = np.maximum(counts / total, PSI_EPSILON)
    e = np.maximum(shares, PSI_EPSILON)
    return float(np.sum((a - e) * np.log(a / e)))


def _shares(counts: np.ndarray) -> tuple[float, ...]:
    return tuple(float(c) for c in counts / counts.sum())


def _check_shares(what: str, shares: Sequence[float]) -> None:
    if any(not 0.0 <= s <= 1.0 for s in shares) or abs(sum(shares) - 1.0) > 1e-6:
        raise ValueError(f"{what}: shares must lie in [0, 1] and sum to 1")
