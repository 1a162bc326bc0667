"""What a refusal's principal reasons cost: the ``/score`` handler in process, with and without them.

The handler (``service.handlers.score``: parse, predict, reasons, answer) runs on the registered model with
``refusal_reasons`` on and off in alternation, on the same bodies: single applicants (feature vectors drawn
from the bundle's reference sample, so refusals come at the model's own rate) and one batch of 1,000. The
ratio on/off is the price of stating reasons; the rest of the request (HTTP, payload log) is the same either
way and is left out, so the ratio is the largest the service can show. Load from other jobs slows both sides
of each pair alike.

    .venv/bin/python benchmarks/bench_refusal_reasons.py [--tag credit_scorer:latest] [--rounds 5]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import time
from pathlib import Path

import numpy as np

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))

from service import handlers  # noqa: E402
from service.bundle import Bundle, registered_path, resolve_tag  # noqa: E402
from service.loader import load_model  # noqa: E402
from service.metrics import ServiceMetrics  # noqa: E402
from service.settings import ServiceSettings  # noqa: E402

SINGLE_BODIES = 400
BATCH_ROWS = 1000


def bodies(tag: str) -> tuple[list[bytes], bytes, float]:
    """Single-applicant bodies and one batch body from the reference sample, and its refusal share."""
    bundle = Bundle.load(registered_path(tag))
    assert bundle.reference is not None
    names = bundle.feature_names
    frame = bundle.reference[names].astype(float)
    rng = np.random.default_rng(5)

    def applicant(row: np.ndarray, i: int) -> dict:
        return {"id": str(i), "features": {n: float(v) for n, v in zip(names, row, strict=True) if v == v}}

    rows = frame.to_numpy()
    single = [json.dumps(applicant(rows[i], i)).encode() for i in rng.choice(len(rows), SINGLE_BODIES)]
    batch = [applicant(rows[i], i) for i in rng.choice(len(rows), BATCH_ROWS)]
    refused = float((bundle.reference["probability"] >= bundle.threshold).mean())
    return single, json.dumps({"applicants": batch}).encode(), refused


def timed(state: handlers.ScoringState, payloads: list[bytes], repeat: int) -> float:
    """Mean microseconds per handler call over ``payloads`` (``repeat`` passes)."""

    async def run() -> float:
        started = time.perf_counter()
        for _ in range(repeat):
            for body in payloads:
                reply = await handlers.score(state, body)
                assert reply.status == 200, reply.body[:200]
        return (time.perf_counter() - started) / (repeat * len(payloads)) * 1e6

    return asyncio.run(run())


def main() -> None:
    """Alternate reasons on and off; print the per-call time of each and the ratios."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tag", default="credit_scorer:latest", help="registered model to use")
    parser.add_argument("--rounds", type=int, default=5, help="on/off pairs")
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args()
    tag = resolve_tag(args.tag)
    single, batch, refused = bodies(tag)
    settings = ServiceSettings(bundle_tag=tag, payload_log_enabled=False)
    state = handlers.ScoringState()
    state.publish(settings, load_model(settings), ServiceMetrics(), None, "bench")
    results: dict[str, list[float]] = {"single_on": [], "single_off": [], "batch_on": [], "batch_off": []}
    print(f"{tag}: refusal share in the reference sample {refused:.1%}; load {os.getloadavg()}", flush=True)
    for _ in range(args.rounds):
        for on in (True, False):
            state.settings = settings.model_copy(update={"refusal_reasons": on})
            suffix = "on" if on else "off"
            results[f"single_{suffix}"].append(timed(state, single, 3))
            results[f"batch_{suffix}"].append(timed(state, [batch], 5))
        print({k: round(v[-1], 1) for k, v in results.items()}, flush=True)
    best = {k: min(v) for k, v in results.items()}
    median = {k: statistics.median(v) for k, v in results.items()}
    print(f"load at the end {os.getloadavg()}")
    for kind, unit in (("single", "per applicant"), ("batch", f"per {BATCH_ROWS}-applicant batch")):
        on, off = best[f"{kind}_on"], best[f"{kind}_off"]
        print(
            f"{kind}: {off:.1f} -> {on:.1f} us {unit} (best of {args.rounds}), x{on / off:.2f}; "
            f"medians x{median[f'{kind}_on'] / median[f'{kind}_off']:.2f}"
        )
    if args.json:
        args.json.write_text(json.dumps({"refused_share": refused, "runs": results}, indent=2))


if __name__ == "__main__":
    main()
