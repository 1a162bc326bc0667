"""Scoring an applicant document against scoring its feature vector: in process and over HTTP, one model.

Applicants are generated (a seed no model trained on) and turned into the documents a lender would send;
the "median" applicant has the median number of history records, the "heavy" one the 99th percentile.
Every comparison is made in the same run, on the same model (default: the registered ``credit_scorer``):

* in process: one applicant through training's batch builder (documents -> tables -> cleaning ->
  ``build_features``, what a caller would have to run before this change), the batch builder per applicant
  in a batch of 20,000, and the service's own path: ``RequestSchema.parse`` of a body (decoding, checks,
  feature computation), the feature computation alone, and the repeated-key check (part of the parse) on
  the body and on the same body with one explicit ``null``;
* over HTTP (a real ``bentoml serve``, payload log on, wrk): p50 latency at 1 connection and throughput at
  8 connections for the applicant form and the feature-vector form of the same applicant, alternated over
  ``--rounds`` rounds; with ``--baseline-source DIR`` (a checkout of the previous release, e.g. a
  ``git worktree``) both forms are measured on that release in the same rounds.

    .venv/bin/python benchmarks/bench_applicant.py [--tag credit_scorer:latest] [--baseline-source /tmp/old]

Needs ``wrk`` (Debian package). Results go to BENCHMARKS.md by hand, with the load average printed.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))
sys.path.insert(0, str(REPO_ROOT / "benchmarks"))

from bench_service import lua_script, scratch_area, wrk  # noqa: E402

from deploy.bento_server import BentoServer  # noqa: E402
from service.applicant.document import HISTORY_TABLES, applicant_type  # noqa: E402
from service.applicant.evaluate import FeatureRow  # noqa: E402
from service.bundle import Bundle  # noqa: E402
from service.repeated_keys import RepeatedKeys  # noqa: E402
from service.request_schema import RequestSchema  # noqa: E402
from tests.service.serving import last_line_in_home  # noqa: E402
from training.documents import documents_to_tables, tables_to_documents  # noqa: E402
from training.features import build_features  # noqa: E402
from training.loader import clean_table  # noqa: E402
from training.synthetic import generate  # noqa: E402


def history_rows(document: dict) -> int:
    """Records of every history list of a document, monthly bureau_balance records included."""
    rows = sum(len(document.get(table, [])) for table in HISTORY_TABLES)
    return rows + sum(len(credit.get("bureau_balance", [])) for credit in document.get("bureau", []))


def p50_us(fn: Callable[[], object], n: int, repeats: int = 5) -> float:
    """Median over ``repeats`` runs of the mean time of ``n`` calls, in microseconds."""
    fn()
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        for _ in range(n):
            fn()
        times.append((time.perf_counter() - started) / n * 1e6)
    return statistics.median(times)


def cleaned_tables(documents: list[dict]) -> dict:
    """``documents`` as the cleaned Kaggle tables training's batch builder takes."""
    return {
        name: clean_table("application_test" if name == "application" else name, frame)
        for name, frame in documents_to_tables(documents).items()
    }


def in_process(bundle: Bundle, applicants: dict[str, dict], batch: dict) -> dict[str, float]:
    """Microseconds per applicant of each in-process path (``batch``: cleaned tables of many applicants)."""
    import msgspec

    names = bundle.feature_names
    row = FeatureRow(names)
    schema = RequestSchema(bundle.features, max_batch_size=1000, explain_max_k=20, feature_row=row)
    decoder = msgspec.json.Decoder(applicant_type())
    repeated_keys = RepeatedKeys(schema.score_type)
    request_decoder = msgspec.json.Decoder(schema.score_type)
    out: dict[str, float] = {}
    for label, document in applicants.items():
        body = json.dumps({"applicant": document}).encode()
        decoded = decoder.decode(json.dumps(document).encode())
        features = dict(zip(names, (None if v != v else v for v in row.values(decoded)), strict=True))
        vector = json.dumps({"features": features}).encode()
        tables = cleaned_tables([document])
        out[f"{label}: batch builder, one applicant"] = p50_us(
            lambda t=tables: build_features(t, names=names), 20, 3
        )
        out[f"{label}: parse applicant body (decode, check, features)"] = p50_us(
            lambda b=body: schema.parse(b), 500
        )
        out[f"{label}: features alone"] = p50_us(lambda a=decoded: row.values(a), 500)
        with_null = json.dumps({"applicant": {**document, "AMT_ANNUITY": None}}).encode()
        for name, sent in (("repeated-key check", body), ("repeated-key check, explicit null", with_null)):
            request = request_decoder.decode(sent)
            assert repeated_keys.repeated(sent, request) is None
            out[f"{label}: {name}"] = p50_us(lambda b=sent, r=request: repeated_keys.repeated(b, r), 500)
        out[f"{label}: parse feature-vector body"] = p50_us(lambda b=vector: schema.parse(b), 2000)
    n = len(batch["application"])
    started = time.perf_counter()
    build_features(batch, names=names)
    out[f"batch builder, per applicant in a batch of {n:,}"] = (time.perf_counter() - started) / n * 1e6
    started = time.perf_counter()
    build_features(batch)
    out[f"batch builder, every feature, per applicant in a batch of {n:,}"] = (
        (time.perf_counter() - started) / n * 1e6
    )
    return out


def main() -> None:
    """Measure and print every figure and the ratios the issue sets targets for."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tag", default="credit_scorer:latest", help="registered model to serve")
    parser.add_argument(
        "--bentoml-home", type=Path, default=Path(os.environ.get("BENTOML_HOME", "~/bentoml"))
    )
    parser.add_argument("--duration", type=int, default=8, help="seconds per wrk run")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--baseline-source", type=Path, help="checkout of the previous release to compare")
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        sys.exit("wrk not found: apt-get install -y wrk")
    results: dict[str, object] = {"loadavg_start": os.getloadavg()}
    with scratch_area("bench_applicant_") as (work, servers):
        home = work / "home"
        shutil.copytree(
            args.bentoml_home.expanduser(),
            home,
            ignore=shutil.ignore_patterns("prometheus_multiproc_dir", "tmp"),
        )
        code = (
            "from service.bundle import registered_path, resolve_tag\n"
            f"print(resolve_tag({args.tag!r}), registered_path({args.tag!r}))\n"
        )
        tag, path = last_line_in_home(home, code).split(" ", 1)
        bundle = Bundle.load(path, with_reference=False)
        names = bundle.feature_names
        raw = generate(20_000, seed=909, test_share=0.0).tables
        documents = tables_to_documents(raw, keep_ids=False)
        batch = {name: clean_table(name, frame) for name, frame in raw.items()}
        batch["application"] = batch.pop("application_train")
        order = sorted(range(len(documents)), key=lambda i: history_rows(documents[i]))
        applicants = {
            "median": documents[order[len(order) // 2]],
            "heavy (p99)": documents[order[int(len(order) * 0.99)]],
        }
        results["model"] = f"{tag}, {len(names)} features"
        results["applicants"] = {
            label: {
                "history_rows": history_rows(d),
                "per_table": {t: len(d.get(t, [])) for t in HISTORY_TABLES},
                "body_bytes": len(json.dumps({"applicant": d})),
            }
            for label, d in applicants.items()
        }
        print(
            json.dumps({k: results[k] for k in ("model", "applicants", "loadavg_start")}, indent=1),
            flush=True,
        )
        results["in_process_us"] = in_process(bundle, applicants, batch)
        for label, value in results["in_process_us"].items():  # type: ignore[union-attr]
            print(f"  {label:<62} {value:10.1f} us", flush=True)

        row = FeatureRow(names)
        import msgspec

        decoder = msgspec.json.Decoder(applicant_type())
        bodies: dict[str, Path] = {}
        for label, document in applicants.items():
            values = row.values(decoder.decode(json.dumps(document).encode()))
            features = dict(zip(names, (None if v != v else v for v in values), strict=True))
            bodies[f"{label} applicant"] = lua_script(
                work / f"{label[:6]}-a.lua", "/score", [json.dumps({"applicant": document})]
            )
            bodies[f"{label} features"] = lua_script(
                work / f"{label[:6]}-f.lua", "/score", [json.dumps({"features": features})]
            )
        env = {"CREDIT_SCORING_BUNDLE_TAG": tag, "CREDIT_SCORING_MAX_BODY_BYTES": str(8 * 2**20)}
        served: dict[str, dict[str, list[float]]] = {}

        def measure(label: str, server: BentoServer, lua: Path, connections: int) -> None:
            m = wrk(
                server.url,
                lua,
                connections=connections,
                duration_s=args.duration,
                server_pid=server.process.pid,
            )
            if m["non_2xx"]:
                raise SystemExit(f"{label}: {m['non_2xx']:.0f} non-2xx answers; see {server.log_path}")
            key = f"{label}, {connections} conn"
            served.setdefault(key, {"rps": [], "p50_ms": [], "p99_ms": [], "cpu_us": []})
            for name, value in (("rps", m["rps"]), ("p50_ms", m["p50_ms"]), ("p99_ms", m["p99_ms"]),
                                ("cpu_us", m["cpu_us_per_request"])):  # fmt: skip
                served[key][name].append(value)
            print(
                f"  {key:<48} {m['rps']:8.0f} req/s  p50 {m['p50_ms']:6.2f} ms  p99 {m['p99_ms']:6.2f} ms  "
                f"CPU/req {m['cpu_us_per_request']:5.0f} us",
                flush=True,
            )

        for r in range(1, args.rounds + 1):
            print(f"round {r}", flush=True)
            serve_env = {**env, "CREDIT_SCORING_SPOOL_DIR": str(work / f"spool{r}")}
            server = BentoServer(home, env=serve_env, log_path=work / f"serve{r}.log").start()
            servers.append(server)
            server.wait_ready(timeout_s=180)
            for connections in (1, 8):
                for label in ("median features", "median applicant"):
                    measure(label, server, bodies[label], connections)
            if r == 1:
                measure("heavy (p99) applicant", server, bodies["heavy (p99) applicant"], 1)
                measure("heavy (p99) applicant", server, bodies["heavy (p99) applicant"], 8)
            server.stop()
            if args.baseline_source:
                serve_env = {**env, "CREDIT_SCORING_SPOOL_DIR": str(work / f"old{r}")}
                old_log = work / f"old{r}.log"
                old = BentoServer(home, env=serve_env, log_path=old_log, source=args.baseline_source).start()
                servers.append(old)
                old.wait_ready(timeout_s=180)
                for connections in (1, 8):
                    for label in ("median features", "median applicant"):
                        measure(f"previous release, {label}", old, bodies[label], connections)
                old.stop()
        results["served"] = served
        results["loadavg_end"] = os.getloadavg()

    def median(key: str, name: str) -> float:
        return statistics.median(served[key][name])

    print("\nmedians over rounds")
    for key in served:
        print(f"  {key:<48} {median(key, 'rps'):8.0f} req/s  p50 {median(key, 'p50_ms'):6.2f} ms")
    ratios = {
        "p50 at 1 conn, applicant / features (target <= 2)": median("median applicant, 1 conn", "p50_ms")
        / median("median features, 1 conn", "p50_ms"),
        "throughput at 8 conn, applicant / features (target >= 0.4)": median(
            "median applicant, 8 conn", "rps"
        )
        / median("median features, 8 conn", "rps"),
    }
    if args.baseline_source:
        ratios["throughput at 8 conn, features now / previous release"] = median(
            "median features, 8 conn", "rps"
        ) / median("previous release, median features, 8 conn", "rps")
        ratios["throughput at 8 conn, applicant now / previous release"] = median(
            "median applicant, 8 conn", "rps"
        ) / median("previous release, median applicant, 8 conn", "rps")
        ratios["CPU per request at 8 conn, applicant now / previous release"] = median(
            "median applicant, 8 conn", "cpu_us"
        ) / median("previous release, median applicant, 8 conn", "cpu_us")
    results["ratios"] = ratios
    for label, value in ratios.items():
        print(f"  {label:<62} {value:6.3f}")
    print(f"load average start {results['loadavg_start']}, end {results['loadavg_end']}")
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
