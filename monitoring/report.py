"""The Evidently HTML report of a window, for a person to open (``python -m monitoring report``).

It runs Evidently's full ``Report([DataDriftPreset(...)])`` with the sidecar's per-column methods and
calibrated thresholds, so the page shows the same verdicts as the metrics, with the distributions behind them
(skewed amounts appear as ``log1p(<name>)``, the scale the sidecar compares them on). The page does not show
the missing-share check, which only the metrics carry.
It takes seconds to minutes on wide data (plotly rendering), which is why the sidecar's loop does not use it.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from monitoring import checkpoint as ckpt
from monitoring.drift import WASSERSTEIN, WASSERSTEIN_LOG1P, DriftDetector, transform
from monitoring.records import RecordParser
from monitoring.spool_reader import read_segment_file
from monitoring.window import RollingWindow, WindowView
from service.bundle import PROBABILITY_COLUMN
from service.payload_log import SEGMENT_PREFIX


def window_from_checkpoint(
    path: Path, feature_names: list[str], max_records: int, max_age: float | None
) -> WindowView:
    """The window the sidecar last checkpointed (raises ``FileNotFoundError`` when there is none)."""
    saved = ckpt.load(path)
    if saved is None:
        raise FileNotFoundError(f"no sidecar checkpoint at {path}")
    if saved.feature_names != feature_names:
        raise ValueError("the checkpoint was written for another feature list than the bundle's")
    window = RollingWindow(len(feature_names), max(max_records, len(saved.window.get("times", []))) or 1)
    window.restore(saved.window)
    return window.view(max_records, max_age)


def window_from_records_file(
    path: Path, feature_names: list[str], max_records: int
) -> tuple[WindowView, int]:
    """The last ``max_records`` valid records of payload-log segments (one segment file, or a directory of
    them read in name order), and the records and unreadable segment ends skipped."""
    path = Path(path)
    # in a directory, only regular files (a directory or FIFO under a segment's name is not a segment)
    files = sorted(f for f in path.glob(f"{SEGMENT_PREFIX}*") if f.is_file()) if path.is_dir() else [path]
    parser = RecordParser(feature_names)
    window = RollingWindow(len(feature_names), max(max_records, 1))
    skipped = 0
    for file in files:
        read, truncated = read_segment_file(file)
        batch = parser.parse(read)
        window.append(batch)
        skipped += sum(batch.malformed.values()) + truncated
    return window.view(max_records), skipped


def window_frame(view: WindowView, feature_names: list[str]) -> pd.DataFrame:
    """The window as a DataFrame with the reference sample's columns (features, then ``probability``)."""
    frame = pd.DataFrame(view.features, columns=feature_names)
    frame[PROBABILITY_COLUMN] = view.probabilities
    return frame


def write_report(detector: DriftDetector, reference: pd.DataFrame, view: WindowView, output: Path) -> Path:
    """Run Evidently's data drift preset on ``view`` against ``reference`` and save it as HTML."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from evidently import Report
        from evidently.presets import DataDriftPreset

        n_present = int(np.median((~np.isnan(view.features)).sum(axis=0))) if len(view) else 0
        methods, thresholds = detector.per_column_config(max(n_present, 1))
        current = window_frame(view, detector.feature_names)
        baseline = reference[list(current.columns)].copy()
        renames: dict[str, str] = {}
        for name, method in list(methods.items()):
            if method == WASSERSTEIN_LOG1P:  # show the comparison the sidecar makes: log1p values
                renames[name] = f"log1p({name})"
                for frame in (current, baseline):
                    frame[name] = transform(method, frame[name].to_numpy(dtype=float))
                methods[name] = WASSERSTEIN
        current, baseline = current.rename(columns=renames), baseline.rename(columns=renames)
        methods = {renames.get(k, k): v for k, v in methods.items()}
        thresholds = {renames.get(k, k): v for k, v in thresholds.items()}
        preset = DataDriftPreset(
            columns=list(current.columns),
            drift_share=detector.settings.drift_share,
            per_column_method=methods,
            per_column_threshold=thresholds,
        )
        snapshot = Report([preset]).run(current, baseline)
        output.parent.mkdir(parents=True, exist_ok=True)
        snapshot.save_html(str(output))
    return output
