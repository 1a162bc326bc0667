"""Stability index (PSI) on the frozen bins: false alarms on undrifted traffic and detection of each scenario.

    PYTHONPATH=. .venv/bin/python benchmarks/bench_stability.py [--tag credit_scorer:latest] [--windows 200]

The recording rules add every pod's per-bin counts over an hour and compute the PSI of the shares against the
development shares (``tests/monitoring/test_stability_prometheus.py`` shows Prometheus gives the Python PSI
within 1e-9), so a window's PSI depends only on the bin counts of its records. This script therefore:

1. builds the features of ``--population`` freshly generated baseline applicants (and of each drift scenario)
   as training does, scores them with the bundle's booster, and counts them in the bundle's bins: the
   population's share of every bin;
2. draws ``--windows`` one-hour windows of ``--rate`` x 3,600 records from those shares (a multinomial per
   feature and for the score bands: the counts a fleet would add up), and reports the share of undrifted
   windows whose PSI stays under 0.10, per feature and for the score (target: >= 99 %);
3. for every scenario, ``--trials`` switches from baseline to scenario traffic at a random second of an hour:
   the first window mixes both, the second is all scenario; a trial detects a feature when its PSI is over a
   band in one of the two windows.

Which features a scenario shifts is measured, not guessed from names: the PSI of the scenario population's
shares against the development shares (no sampling noise). Its *shifted* features (and the score) are those
with a population PSI of at least 0.25; target: each is over 0.25 within two windows in every trial, and each
scenario has at least one. Its *moved* ones (population PSI 0.10 to 0.25, the warning band) must be over 0.10
within two windows in every trial. The scenario's key features by name (``key_features``: applicant-level
features named after the columns it changes) are listed with their population PSI, so a key feature it
barely moves is visible. At the demo rate a window holds 720,000 records, so a fully drifted window's PSI is
close to the population's (the range over the trials is printed): which features cross a band is decided by
how far the scenario moves them; the windows decide how soon (in the first window or the second).

Also prints the PSI of the baseline population's shares (no sampling noise): the bias between the
development sample and fresh applicants of the same generator. Prints JSON; exits 1 when a target is missed.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from monitoring.stability import StabilityCounter
from service.bundle import is_registered, load_registered
from service.stability_bins import PSI_CRITICAL, PSI_WARNING, StabilityBins, psi
from tests.monitoring.scenario_data import BundleScorer, applicant_features, key_features
from training.synthetic import SCENARIOS

MIN_STABLE_SHARE = 0.99
"""Least share of undrifted one-hour windows in which every feature and the score stay under 0.10."""


def population_shares(
    bins: StabilityBins, names: list[str], features: np.ndarray, probabilities: np.ndarray
) -> list[np.ndarray]:
    """Share of the rows in every bin, counted by the sidecar's own counter: one array per feature, then one
    for the score bands."""
    counter = StabilityCounter(bins, names)
    counter.count(features, probabilities)
    counter.commit()
    feature_counts, band_counts = counter.published()
    sizes = [b.n_bins for b in bins.features]
    per_feature = np.split(feature_counts, np.cumsum(sizes)[:-1])
    return [counts / len(probabilities) for counts in [*per_feature, band_counts]]


def window_psi(rng: np.random.Generator, parts: list[tuple[int, np.ndarray]], expected: np.ndarray) -> float:
    """PSI of one window made of ``(records, population shares)`` parts, counts drawn per part."""
    counts = sum(rng.multinomial(n, shares) for n, shares in parts if n > 0)
    return psi(counts, expected)


def main() -> int:
    """Parse options, measure, print JSON; exit status 1 when a target is missed."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tag", default="credit_scorer:latest", help="registered model with stability bins")
    parser.add_argument("--population", type=int, default=100_000, help="applicants per population")
    parser.add_argument("--rate", type=float, default=200.0, help="records per second (the demo's traffic)")
    parser.add_argument("--windows", type=int, default=200, help="undrifted one-hour windows")
    parser.add_argument("--trials", type=int, default=20, help="switches to each scenario")
    parser.add_argument("--seed", type=int, default=2026)
    args = parser.parse_args()
    if not is_registered(args.tag):
        sys.exit(f"no registered model {args.tag!r} in the BentoML model store (BENTOML_HOME)")
    result = measure(args)
    print(json.dumps(result, indent=1))
    return 0 if all(result["targets_met"].values()) else 1


def measure(args: argparse.Namespace) -> dict:
    """Run the measurement with the parsed options and return its results (JSON-ready)."""
    started = time.perf_counter()
    bundle = load_registered(args.tag)
    if bundle.stability is None:
        sys.exit(f"{args.tag} has no stability bins: retrain it (python -m training train)")
    bins = bundle.stability
    names = bundle.feature_names
    scorer = BundleScorer(bundle)
    rng = np.random.default_rng(args.seed)
    per_window = int(args.rate * 3600)

    populations: dict[str, list[np.ndarray]] = {}
    for offset, scenario in enumerate([None, *SCENARIOS]):
        frame, _ = applicant_features(
            args.population, seed=args.seed + offset, scenario=scenario, columns=names
        )
        scored = scorer.score(frame)
        populations[scenario or "baseline"] = population_shares(
            bins, names, scored.features, scored.probabilities
        )
    expected = [np.asarray(b.expected) for b in bins.features] + [np.asarray(bins.score.expected)]
    labels = [*names, "score"]
    baseline = populations["baseline"]

    bias = {
        label: round(psi(shares * 1e9, e), 5)
        for label, shares, e in zip(labels, baseline, expected, strict=True)
    }
    stable = np.zeros(len(labels))
    worst = np.zeros(len(labels))
    for _ in range(args.windows):
        values = [window_psi(rng, [(per_window, p)], e) for p, e in zip(baseline, expected, strict=True)]
        stable += np.array(values) < PSI_WARNING
        worst = np.maximum(worst, values)
    share_stable = stable / args.windows

    detection: dict[str, dict[str, object]] = {}
    for scenario in SCENARIOS:
        drifted = populations[scenario]
        population_psi = {
            label: psi(shares * 1e9, e) for label, shares, e in zip(labels, drifted, expected, strict=True)
        }
        bands = {
            "shifted": [label for label in labels if population_psi[label] >= PSI_CRITICAL],
            "moved": [label for label in labels if PSI_WARNING <= population_psi[label] < PSI_CRITICAL],
        }
        detected = {band: {label: 0 for label in members} for band, members in bands.items()}
        first_window = {band: {label: 0 for label in members} for band, members in bands.items()}
        second_window: dict[str, list[float]] = {label: [] for members in bands.values() for label in members}
        for _ in range(args.trials):
            switch = int(rng.integers(0, per_window))  # records of the first hour sent before the switch
            for band, level in (("shifted", PSI_CRITICAL), ("moved", PSI_WARNING)):
                for label in bands[band]:
                    j = labels.index(label)
                    mixed = window_psi(
                        rng, [(switch, baseline[j]), (per_window - switch, drifted[j])], expected[j]
                    )
                    full = window_psi(rng, [(per_window, drifted[j])], expected[j])
                    second_window[label].append(full)
                    detected[band][label] += mixed > level or full > level
                    first_window[band][label] += mixed > level
        detection[scenario] = {
            "key_features_population_psi": {
                name: round(population_psi[name], 4) for name in key_features(scenario, names)
            },
            **{
                f"{band}_features": {
                    label: {
                        "population_psi": round(population_psi[label], 4),
                        "trials_within_two_windows": detected[band][label],
                        "trials_in_the_first_window": first_window[band][label],
                        "second_window_psi_min_max": [
                            round(min(second_window[label]), 4),
                            round(max(second_window[label]), 4),
                        ],
                    }
                    for label in sorted(bands[band], key=lambda k: -population_psi[k])
                }
                for band in bands
            },
            "score_population_psi": round(population_psi["score"], 4),
        }
    targets_met = {"undrifted_windows_under_0.10": bool(share_stable.min() >= MIN_STABLE_SHARE)}
    for scenario, found in detection.items():
        targets_met[f"{scenario}_has_shifted_features"] = bool(found["shifted_features"])
        for band in ("shifted", "moved"):
            targets_met[f"{scenario}_{band}_within_two_windows"] = all(
                entry["trials_within_two_windows"] == args.trials
                for entry in found[f"{band}_features"].values()  # type: ignore[union-attr]
            )

    result = {
        "model": f"{args.tag}, {len(names)} features, {bins.source}",
        "records_per_window": per_window,
        "undrifted_windows": args.windows,
        "share_of_windows_under_0.10": {
            "min": float(share_stable.min()),
            "worst": labels[int(np.argmin(share_stable))],
            "features_under_99_percent": [
                label for label, share in zip(labels, share_stable, strict=True) if share < 0.99
            ],
        },
        "largest_undrifted_psi": {labels[int(np.argmax(worst))]: round(float(worst.max()), 5)},
        "population_bias_psi_top5": dict(sorted(bias.items(), key=lambda kv: -kv[1])[:5]),
        "detection": detection,
        "targets_met": targets_met,
        "seconds": round(time.perf_counter() - started, 1),
    }
    return result


if __name__ == "__main__":
    sys.exit(main())
