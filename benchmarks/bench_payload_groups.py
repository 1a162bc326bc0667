"""Measure what the payload log's ``groups`` column (fairness monitoring) costs a scoring worker, in process.

Two costs, each against a baseline measured in the same process:

* the drain: :func:`service.payload_log.record_batch` plus ``serialize`` of the same queued one-row requests,
  in drains of ``--per-drain`` requests, by the previous release's module (``--baseline-source``, an export
  of the previous commit, loaded by file: no ``groups`` column) and by this one, for feature vectors (null
  groups) and for applicant documents (every field set). The three are timed in alternating rounds, so each
  sees the same machine minutes; ratios are to the baseline of the same round, and their median is reported;
* the request path: :func:`service.applicant.groups.group_code` per decoded applicant document, against what
  a document request pays anyway: decoding its JSON body and evaluating 40 features (``FeatureRow.values``).

    PYTHONPATH=. .venv/bin/python benchmarks/bench_payload_groups.py --baseline-source DIR \
        [--records 20000] [--per-drain 125] [--rounds 7] [--features 40] [--json out.json]
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import statistics
import sys
import time
from pathlib import Path
from types import ModuleType

import numpy as np

from service.applicant.groups import NO_GROUPS, group_code
from service.payload_log import QueuedRecords, payload_schema, record_batch


def previous_module(source: Path) -> ModuleType:
    """The previous release's ``service/payload_log.py``, loaded by file under another name."""
    spec = importlib.util.spec_from_file_location("old_payload_log", source / "service" / "payload_log.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["old_payload_log"] = module  # dataclasses look their module up while the class is built
    spec.loader.exec_module(module)
    return module


def drains(
    module: ModuleType, n: int, per_drain: int, n_features: int, groups: list[int] | None
) -> list[QueuedRecords]:
    """``n`` one-row requests queued in drains of ``per_drain``, by ``module``'s queue (with ``groups`` per
    record when given)."""
    rng = np.random.default_rng(0)
    out = []
    for start in range(0, n, per_drain):
        queue = module.QueuedRecords()
        for i in range(start, min(n, start + per_drain)):
            matrix = rng.random((1, n_features))
            extra = {} if groups is None else {"groups": [groups[i % len(groups)]]}
            queue.add(
                [f"w-{i:x}"],
                [None],
                "credit_scorer:bench",
                ["applicant" if groups and groups[0] != NO_GROUPS else "features"],
                matrix,
                np.array([0.3]),
                np.array([i % 5 == 0]),
                time_s=1_790_000_000 + i / 1000,
                **extra,
            )
        out.append(queue)
    return out


def encode_cpu_us(module: ModuleType, schema: object, queues: list[QueuedRecords], n: int) -> float:
    """CPU µs per record of encoding every drain into one record-batch message."""
    start = time.thread_time()
    for queue in queues:
        module.record_batch(schema, queue).serialize().to_pybytes()
    return (time.thread_time() - start) / n * 1e6


def sample_documents(n: int) -> list[dict]:
    """Applicant documents of ``n`` generated applicants with their credit history, as JSON objects."""
    from training.documents import tables_to_documents
    from training.synthetic import generate

    return tables_to_documents(generate(n, seed=3).tables)[:n]


def decoded(documents: list[dict]) -> list:
    """``documents`` as the request schema's msgspec type."""
    import msgspec

    from service.applicant.document import applicant_type

    return [msgspec.convert(d, applicant_type()) for d in documents]


def request_path_costs(n: int) -> dict[str, float]:
    """µs per applicant of ``group_code``, and of what the request pays anyway for a document: decoding its
    JSON body and evaluating the 40 first features of the catalogue."""
    import msgspec

    from service.applicant.definitions import feature_names
    from service.applicant.document import applicant_type
    from service.applicant.evaluate import FeatureRow

    documents = sample_documents(n)
    bodies = [msgspec.json.encode(d) for d in documents]
    decoder = msgspec.json.Decoder(applicant_type())
    row = FeatureRow(feature_names()[:40])
    start = time.perf_counter()
    applicants = [decoder.decode(body) for body in bodies]
    for applicant in applicants:
        row.values(applicant)
    request_us = (time.perf_counter() - start) / len(applicants) * 1e6
    start = time.perf_counter()
    for _ in range(20):
        for applicant in applicants:
            group_code(applicant)
    groups_us = (time.perf_counter() - start) / (20 * len(applicants)) * 1e6
    return {
        "group_code_us": groups_us,
        "decode_and_features_us": request_us,
        "group_code_share": groups_us / request_us,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--baseline-source", type=Path, required=True, help="export of the previous commit")
    parser.add_argument("--records", type=int, default=20_000)
    parser.add_argument("--per-drain", type=int, default=125, help="requests per drain (50 ms at 2,500/s)")
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--features", type=int, default=40)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    old = previous_module(args.baseline_source)
    names = [f"f{j}" for j in range(args.features)]
    n, per = args.records, args.per_drain
    mixed = [group_code(a) for a in decoded(sample_documents(200))]
    cases = {
        "baseline": (old, old.payload_schema(names), drains(old, n, per, args.features, None)),
        "vectors": (
            sys.modules[record_batch.__module__],
            payload_schema(names),
            drains(sys.modules[QueuedRecords.__module__], n, per, args.features, [NO_GROUPS]),
        ),
        "documents": (
            sys.modules[record_batch.__module__],
            payload_schema(names),
            drains(sys.modules[QueuedRecords.__module__], n, per, args.features, mixed),
        ),
    }
    rounds: list[dict[str, float]] = []
    for r in range(args.rounds):
        order = list(cases) if r % 2 == 0 else list(cases)[::-1]
        rounds.append({name: encode_cpu_us(*cases[name], n) for name in order})
    results: dict[str, float] = {}
    for name in cases:
        results[f"encode_{name}_cpu_us"] = statistics.median(x[name] for x in rounds)
    for name in ("vectors", "documents"):
        results[f"encode_{name}_ratio"] = statistics.median(x[name] / x["baseline"] for x in rounds)
    results.update(request_path_costs(300))
    for key, value in results.items():
        print(f"{key:28s} {value:8.3f}")
    if args.json:
        report = {"args": vars(args), "rounds": rounds, "results": results}
        args.json.write_text(json.dumps(report, indent=2, default=str))


if __name__ == "__main__":
    main()
