"""Applicants the simulated users send, in both input forms, as request JSON.

Feature vectors (the ``features`` form), best source first: a JSON file of the bundle's reference rows,
written by ``python -m training export-load-data`` (:func:`export_load_data`), or, when only a URL is known,
values drawn from the quantiles and missing shares that ``GET /spec`` publishes (:func:`sample_from_spec`).

Applicant documents (the ``applicant`` form: the application and its credit history with Kaggle's names),
best source first: a JSON file of the bundle's example applicants written by the same command, or the small
committed :data:`FALLBACK_DOCUMENTS` (generated applicants, for a URL without the model store or a bundle
trained before example applicants existed).

This module reads and writes these files only: the bundle is read by the training CLI, in its own process,
so load tests never import the service.

Both are sent pre-encoded (:func:`encode_items`, :func:`request_body`): a document is tens of kilobytes of
JSON, and encoding it again for every request would spend the load generator's CPU, not the service's.
"""

from __future__ import annotations

import itertools
import json
import math
import random
import shlex
import subprocess
import sys
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pandas as pd

Applicant = dict[str, Any]
"""One request applicant: ``{"id", "features": {name: value}}`` or ``{"id", "applicant": {...}}``."""

Item = tuple[str, bytes]
"""An applicant ready to send: its id, and its input as JSON (``"features":{...}``, ``"applicant":{...}``)."""

REPO_ROOT = Path(__file__).resolve().parents[1]
"""Working directory of the export command (where ``training/`` can be imported from)."""

EXPORT_COMMAND = [sys.executable, "-m", "training", "export-load-data"]
"""The training CLI command that writes a registered bundle's load data (see :func:`export_load_data`)."""


class LoadDataError(RuntimeError):
    """The export command could not write the load data asked for (no model store, unknown tag, or a bundle
    without a reference sample or example applicants); the message is its reason."""


FALLBACK_DOCUMENTS = Path(__file__).with_name("example_applicants.json")
"""Committed applicant documents sent when the bundle has no example applicants (or is not reachable)."""

FALLBACK_RECIPE = (
    '.venv/bin/python -c "from training.synthetic import generate; '
    "from training.documents import tables_to_documents; from loadtests.applicants import write_fallback; "
    'write_fallback(tables_to_documents(generate(50, seed=777).tables, keep_ids=False))"'
)
"""The command that wrote :data:`FALLBACK_DOCUMENTS` (run from the repository root to regenerate it)."""

FALLBACK_SIZE = 18
"""Documents kept in the fallback file: every second of the 36 shortest, short to about median histories."""


def json_value(value: Any, spec: Mapping[str, Any]) -> Any:
    """One reference-sample cell as the JSON value the service expects for a feature of ``spec``."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    categories = spec.get("categories")
    if categories is not None:
        return value if isinstance(value, str) else categories[int(value)]
    dtype = spec.get("dtype", "float")
    if dtype == "bool":
        return bool(value)
    if dtype == "int":
        return int(value)
    number = float(value)
    return None if math.isnan(number) else number


def rows_to_applicants(
    frame: pd.DataFrame, features: Sequence[Mapping[str, Any]], n: int, seed: int = 0
) -> list:
    """Up to ``n`` rows of ``frame`` (sampled without replacement) as applicants with the given features."""
    sample = frame.sample(n=min(n, len(frame)), random_state=seed) if len(frame) > n else frame
    names = [spec["name"] for spec in features]
    applicants: list[Applicant] = []
    for i, row in enumerate(sample[names].itertuples(index=False, name=None)):
        values = {spec["name"]: json_value(cell, spec) for spec, cell in zip(features, row, strict=True)}
        applicants.append({"id": f"ref-{i}", "features": values})
    return applicants


def write_applicants(path: Path, applicants: Sequence[Mapping[str, Any]]) -> None:
    """Write feature-vector applicants as the JSON list :func:`load_applicants` reads."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(list(applicants)))


def load_applicants(path: str | Path) -> list[Applicant]:
    """Read a JSON list of applicants; raise ``ValueError`` when the file holds none."""
    applicants = json.loads(Path(path).read_text())
    if not isinstance(applicants, list) or not applicants:
        raise ValueError(f"{path} holds no applicants (expected a non-empty JSON list)")
    for applicant in applicants:
        if not isinstance(applicant, dict) or not isinstance(applicant.get("features"), dict):
            raise ValueError(f"{path}: every applicant needs a 'features' object")
    return applicants


def documents_to_items(documents: Iterable[Mapping[str, Any]], prefix: str) -> list[Applicant]:
    """Applicant documents as request items ``{"id": "<prefix>-<i>", "applicant": document}``."""
    return [{"id": f"{prefix}-{i}", "applicant": dict(document)} for i, document in enumerate(documents)]


def write_documents(path: Path, items: Sequence[Mapping[str, Any]], about: str) -> None:
    """Write applicant items as ``{"about": ..., "applicants": [...]}``, one applicant per line."""
    lines = [json.dumps(dict(item), separators=(",", ":"), allow_nan=False) for item in items]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text('{"about": ' + json.dumps(about) + ',\n"applicants": [\n' + ",\n".join(lines) + "\n]}\n")


def load_documents(path: str | Path) -> list[Applicant]:
    """Read applicant items (``{"id", "applicant"}``) from a JSON list or ``{"applicants": [...]}`` file.

    Raises ``ValueError`` when the file holds none, or an item without an ``applicant`` object.
    """
    data = json.loads(Path(path).read_text())
    items = data.get("applicants") if isinstance(data, dict) else data
    if not isinstance(items, list) or not items:
        raise ValueError(f"{path} holds no applicant documents (expected a non-empty 'applicants' list)")
    for item in items:
        if not isinstance(item, dict) or not isinstance(item.get("applicant"), dict):
            raise ValueError(f"{path}: every item needs an 'applicant' document")
    return items


def export_load_data(
    tag: str, rows: int, *, reference_out: Path | None = None, documents_out: Path | None = None
) -> None:
    """Have the training CLI write the load data of the registered bundle ``tag`` (:data:`EXPORT_COMMAND`).

    Up to ``rows`` reference rows go to ``reference_out`` (read with :func:`load_applicants`) and up to
    ``rows`` example applicants to ``documents_out`` (read with :func:`load_documents`). It runs in a fresh
    interpreter on this process's model store (``BENTOML_HOME``): load tests never import the service.
    Raises :class:`LoadDataError` with the command's reason when it cannot write what was asked.
    """
    command = [*EXPORT_COMMAND, "--model-tag", tag, "--rows", str(rows)]
    if reference_out is not None:
        command += ["--reference-out", str(reference_out)]
    if documents_out is not None:
        command += ["--documents-out", str(documents_out)]
    done = subprocess.run(command, cwd=REPO_ROOT, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        lines = (done.stderr or done.stdout).strip().splitlines()
        raise LoadDataError(lines[-1] if lines else f"{shlex.join(command)} exited {done.returncode}")


def select_fallback(documents: Sequence[Mapping[str, Any]], n: int = FALLBACK_SIZE) -> list[Applicant]:
    """The fallback's documents: every second of the ``2n`` shortest (compact JSON), shortest first.

    Short to about median histories of 50 generated applicants, some with every history table, so the
    file stays under 300 KB.
    """
    by_length = sorted(documents, key=lambda document: len(json.dumps(document, separators=(",", ":"))))
    return documents_to_items(by_length[: 2 * n : 2], "fallback")


def write_fallback(documents: Sequence[Mapping[str, Any]], path: Path = FALLBACK_DOCUMENTS) -> None:
    """Write :data:`FALLBACK_DOCUMENTS` from generated documents (see :data:`FALLBACK_RECIPE`)."""
    write_documents(
        path,
        select_fallback(documents),
        "Fallback applicant documents of the load-test gate (loadtests/applicants.py): generated "
        f"applicants, not real people. Regenerate from the repository root with: {FALLBACK_RECIPE}",
    )


def encode_items(applicants: Iterable[Mapping[str, Any]]) -> list[Item]:
    """Applicants (either form) as ``(id, input JSON)`` pairs, encoded once for every request to come."""
    items: list[Item] = []
    for applicant in applicants:
        form = "applicant" if "applicant" in applicant else "features"
        encoded = json.dumps(applicant[form], separators=(",", ":"), allow_nan=False)
        items.append((str(applicant["id"]), f'"{form}":{encoded}'.encode()))
    return items


def request_body(
    items: Sequence[Item], *, single: bool, explain: int = 0, return_features: bool = False
) -> bytes:
    """The JSON body of a ``/score`` or ``/explain`` request for ``items`` (one applicant when ``single``).

    ``explain`` asks ``/score`` for that many reasons (0: the field is left out); ``return_features`` asks
    for the feature row the model saw.
    """
    options = (f',"explain":{int(explain)}' if explain else "") + (
        ',"return_features":true' if return_features else ""
    )
    tail = options.encode() + b"}"
    if single:
        (applicant_id, encoded), *rest = items
        if rest:
            raise ValueError("a single request holds one applicant")
        return b'{"id":' + json.dumps(applicant_id).encode() + b"," + encoded + tail
    entries = b",".join(
        b'{"id":' + json.dumps(applicant_id).encode() + b"," + encoded + b"}"
        for applicant_id, encoded in items
    )
    return b'{"applicants":[' + entries + b"]" + tail


def _quantile_draw(quantiles: Mapping[str, float], u: float) -> float | None:
    """Inverse of the piecewise-linear CDF through the published quantiles, at level ``u``."""
    points = sorted((float(level), value) for level, value in quantiles.items())
    if not points:
        return None
    if u <= points[0][0]:
        return points[0][1]
    for (lo_level, lo_value), (hi_level, hi_value) in itertools.pairwise(points):
        if u <= hi_level:
            share = (u - lo_level) / (hi_level - lo_level) if hi_level > lo_level else 0.0
            return lo_value + share * (hi_value - lo_value)
    return points[-1][1]


def _spec_value(spec: Mapping[str, Any], rng: random.Random) -> Any:
    if spec.get("missing_allowed", True) and rng.random() < float(spec.get("missing_share") or 0.0):
        return None
    categories = spec.get("categories")
    if categories:
        return rng.choice(categories)
    value = _quantile_draw(spec.get("quantiles") or {}, rng.random())
    if value is None:
        low = spec.get("observed_min", spec.get("valid_min"))
        high = spec.get("observed_max", spec.get("valid_max"))
        low = 0.0 if low is None else float(low)
        high = low + 1.0 if high is None else float(high)
        value = rng.uniform(low, high)
    if spec.get("valid_min") is not None:
        value = max(value, float(spec["valid_min"]))
    if spec.get("valid_max") is not None:
        value = min(value, float(spec["valid_max"]))
    dtype = spec.get("dtype", "float")
    if dtype == "bool":
        return value >= 0.5
    if dtype == "int":
        return round(value)
    return value


def sample_from_spec(features: Iterable[Mapping[str, Any]], n: int, seed: int = 0) -> list[Applicant]:
    """``n`` applicants drawn feature by feature from the quantiles and missing shares of ``GET /spec``.

    A fallback for URL targets without the model store: marginals follow the training data, correlations
    between features do not.
    """
    rng = random.Random(seed)
    specs = list(features)
    return [
        {"id": f"spec-{i}", "features": {spec["name"]: _spec_value(spec, rng) for spec in specs}}
        for i in range(n)
    ]


def within_body_limit(items: Sequence[Item], budget_bytes: int) -> list[Item]:
    """The first of ``items`` whose encoded inputs fit in ``budget_bytes`` (at least one): a batch that stays
    within the service's request body limit."""
    kept: list[Item] = []
    used = 0
    for item in items:
        used += len(item[1]) + 64  # id, braces and separators
        if kept and used > budget_bytes:
            break
        kept.append(item)
    return kept
