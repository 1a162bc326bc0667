"""Locust's CSV output read back into per-scenario numbers: the source of ``summary.json``.

The summary is built from ``<prefix>_stats.csv`` itself (not from a second measurement), so what the gate
judges is exactly what Locust's CSV and HTML report show.
"""

from __future__ import annotations

import csv
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

PERCENTILE_COLUMNS = {"50%": "p50_ms", "90%": "p90_ms", "95%": "p95_ms", "99%": "p99_ms", "99.9%": "p999_ms"}
"""Locust CSV percentile columns kept in the summary, and their summary names."""


@dataclass(frozen=True)
class LineStats:
    """One line of Locust's stats CSV (a request name, or ``Aggregated``)."""

    method: str
    """HTTP method (empty on the aggregated line)."""
    requests: int
    """Requests sent."""
    failures: int
    """Requests that failed: error status, connection error or a response check."""
    rps: float
    """Requests per second over the run."""
    avg_ms: float
    """Mean response time."""
    max_ms: float
    """Slowest response."""
    p50_ms: float | None
    """Median response time (``None`` when no request was made)."""
    p90_ms: float | None
    """90th percentile."""
    p95_ms: float | None
    """95th percentile."""
    p99_ms: float | None
    """99th percentile."""
    p999_ms: float | None
    """99.9th percentile."""

    @property
    def error_rate(self) -> float:
        """Share of requests that failed (1.0 when nothing was sent, so a dead target never passes)."""
        return self.failures / self.requests if self.requests else 1.0


def _number(text: str) -> float | None:
    try:
        return float(text)
    except (TypeError, ValueError):
        return None  # Locust writes "N/A" for percentiles of an empty line


def read_stats_csv(path: str | Path) -> dict[str, LineStats]:
    """Lines of ``<prefix>_stats.csv`` by request name."""
    lines: dict[str, LineStats] = {}
    with Path(path).open(newline="") as handle:
        for row in csv.DictReader(handle):
            percentiles = {
                summary: _number(row.get(column, "")) for column, summary in PERCENTILE_COLUMNS.items()
            }
            lines[row["Name"]] = LineStats(
                method=row.get("Type", ""),
                requests=int(row["Request Count"]),
                failures=int(row["Failure Count"]),
                rps=float(row["Requests/s"]),
                avg_ms=float(row["Average Response Time"]),
                max_ms=float(row["Max Response Time"]),
                **percentiles,
            )
    if not lines:
        raise ValueError(f"{path} holds no statistics")
    return lines


def read_failures_csv(path: str | Path) -> list[dict[str, Any]]:
    """Rows of ``<prefix>_failures.csv``: method, name, error, occurrences (empty list if absent)."""
    source = Path(path)
    if not source.is_file():
        return []
    with source.open(newline="") as handle:
        return [
            {
                "method": row.get("Method", ""),
                "name": row.get("Name", ""),
                "error": row.get("Error", ""),
                "occurrences": int(row.get("Occurrences") or 0),
            }
            for row in csv.DictReader(handle)
        ]


def line_to_json(line: LineStats) -> dict[str, Any]:
    """A line as it appears in ``summary.json`` (with its error rate)."""
    return {**asdict(line), "error_rate": line.error_rate}


def line_from_json(data: dict[str, Any]) -> LineStats:
    """Inverse of :func:`line_to_json` (used to read baselines)."""
    return LineStats(**{key: value for key, value in data.items() if key != "error_rate"})
