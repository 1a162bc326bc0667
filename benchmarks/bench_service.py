"""Benchmark the scoring service against the limit and the original project's style, in one run.

Configurations (same model, same applicants, same load generator: wrk, 8 connections, 2 threads),
run back to back in each round:

(a)  this service under ``bentoml serve``, front door on (default), payload log on
(a0) the same, payload log off (the payload log's cost)
(p), (p0) with ``--baseline-source DIR`` (an export of the previous commit, e.g. ``git archive <rev> | tar
     -x -C DIR``): the previous code's service, payload log on and off, same model and bodies
(b)  bare Starlette + ``Booster.predict(num_threads=1)`` on a numpy row (uvicorn, 1 worker): the limit

then once: (a) and (b) with 2 workers each; (c) FastAPI + pydantic + pandas + scikit-learn
``Pipeline.predict_proba``; batches of 1,000 at 2 connections (applicant objects and the columnar form)
in rows/s vs in-process ``Booster.predict``; ``explain: 3`` and ``/explain`` at 1 connection vs in-process
``pred_contrib`` on one row. Needs ``wrk`` (Debian package) on PATH.

The model is the tiny test bundle (``tests/service/tiny_bundle.py``, trained and registered in a temporary
BentoML home) unless ``--bentoml-home`` names a BentoML home holding a registered bundle (``--model-tag``,
default ``credit_scorer:latest``): that home is copied (the copy is served, the original is left untouched)
and the request bodies are drawn from the bundle's reference sample (real feature distributions, ``null``
for missing values). (b) loads the same booster text and (c) wraps it in a scikit-learn pipeline
(``reference_apps.booster_pipeline``), so every configuration answers with the same model (checked).

    .venv/bin/python benchmarks/bench_service.py [--duration 8] [--rounds 3] [--json out.json]
        [--bentoml-home DIR [--model-tag credit_scorer:latest]]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import pickle
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pandas as pd

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))
# (c)'s pickled pipeline refers to `reference_apps.BoosterClassifier`: import it under the name uvicorn uses
sys.path.insert(0, str(REPO_ROOT / "benchmarks"))

import reference_apps  # noqa: E402

from deploy.bento_server import BentoServer, free_port  # noqa: E402
from service.bundle import Bundle, FeatureSpec  # noqa: E402
from service.errors import ServiceError  # noqa: E402
from service.request_schema import RequestSchema  # noqa: E402
from tests.service.serving import last_line_in_home  # noqa: E402
from tests.service.tiny_bundle import (  # noqa: E402
    TINY_FEATURES,
    applicant_payloads,
    generate_applicants,
    make_tiny_bundle,
)

SINGLE_BODIES = 200
"""Distinct single-applicant bodies the wrk script rotates through."""
BATCH_ROWS = 1000
"""Applicants in the batch body."""
UVICORN = str(Path(sys.executable).with_name("uvicorn"))


def tree_cpu_s(pid: int) -> float:
    """User + system CPU seconds of a process and all its descendants."""
    import psutil

    root = psutil.Process(pid)
    total = 0.0
    for proc in [root, *root.children(recursive=True)]:
        try:
            times = proc.cpu_times()
            total += times.user + times.system
        except psutil.NoSuchProcess:
            continue
    return total


def wrk(
    url: str, lua: Path, *, connections: int, duration_s: int, server_pid: int, threads: int = 2
) -> dict[str, float]:
    """Run wrk; return requests/s, requests, p50/p99 latency in ms, non-2xx answers, server CPU per request.

    CPU per request (all server processes, user + system) is what the server would need on an idle machine;
    unlike throughput it barely changes when other jobs share the cores.
    """
    cpu_before = tree_cpu_s(server_pid)
    out = subprocess.run(
        [
            "wrk",
            f"-t{min(threads, connections)}",
            f"-c{connections}",
            f"-d{duration_s}s",
            "--latency",
            "-s",
            str(lua),
            url,
        ],
        capture_output=True,
        text=True,
        check=True,
        timeout=duration_s + 60,
    ).stdout

    def latency_ms(percent: str) -> float:
        value, unit = re.search(rf"^\s*{percent}%\s+([\d.]+)(us|ms|s)\s*$", out, re.M).groups()
        return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]

    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    requests = int(re.search(r"(\d+) requests in", out).group(1))
    return {
        "cpu_us_per_request": (tree_cpu_s(server_pid) - cpu_before) / max(requests, 1) * 1e6,
        "rps": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)),
        "p50_ms": latency_ms("50"),
        "p99_ms": latency_ms("99"),
        "non_2xx": float(non_2xx.group(1)) if non_2xx else 0.0,
        "requests": float(requests),
    }


def lua_script(path: Path, route: str, bodies: list[str]) -> Path:
    """A wrk script that POSTs ``bodies`` in turn to ``route``."""
    quoted = ",\n".join("[==[" + b + "]==]" for b in bodies)
    path.write_text(
        "local bodies = {\n" + quoted + "\n}\n"
        "local i = 0\n"
        'local headers = {["Content-Type"] = "application/json"}\n'
        "request = function()\n"
        "  i = i % #bodies + 1\n"
        f'  return wrk.format("POST", "{route}", headers, bodies[i])\n'
        "end\n"
    )
    return path


@dataclass
class Workload:
    """The model under test and the applicants drawn for it."""

    description: str
    """What the model is, for the report."""
    home: Path
    """Writable BentoML home holding the bundle the service serves."""
    tag: str
    """Exact ``name:version`` of the bundle, passed to the service as ``CREDIT_SCORING_BUNDLE_TAG``."""
    booster_text: str
    """The booster every configuration serves."""
    features: list[FeatureSpec]
    """Feature spec in booster column order."""
    threshold: float
    """Refusal threshold, given to the reference apps too."""
    single: list[dict]
    """Single-applicant request objects (``{"id", "features"}``), rotated by wrk."""
    batch: list[dict]
    """The applicants of the batch body."""
    pipeline_frame: pd.DataFrame
    """Feature rows (c)'s imputer is fitted on."""

    @property
    def names(self) -> list[str]:
        """Feature names in booster column order."""
        return [f.name for f in self.features]


def payloads_from_frame(frame: pd.DataFrame, features: list[FeatureSpec], prefix: str) -> list[dict]:
    """Request applicants from feature rows: ``null`` for missing, ints as ints, bools as true/false."""
    out = []
    for i, row in enumerate(frame[[f.name for f in features]].itertuples(index=False, name=None)):
        values: dict[str, object] = {}
        for spec, value in zip(features, row, strict=True):
            value = float(value)
            if np.isnan(value):
                values[spec.name] = None
            elif spec.dtype == "int":
                values[spec.name] = int(value)
            elif spec.dtype == "bool":
                values[spec.name] = bool(value)
            else:
                values[spec.name] = value
        out.append({"id": f"{prefix}-{i}", "features": values})
    return out


def matrix_of(applicants: list[dict], names: list[str]) -> np.ndarray:
    """The float64 matrix (NaN for missing) the booster sees for ``applicants``."""
    return np.array(
        [
            [np.nan if a["features"].get(n) is None else float(a["features"][n]) for n in names]
            for a in applicants
        ]
    )


def tiny_workload(work: Path) -> Workload:
    """Train the tiny test bundle, register it in ``work/home``; generated applicants."""
    bundle = make_tiny_bundle()
    bundle_dir = bundle.save(work / "bundle")
    home = work / "home"
    code = f"from service.bundle import Bundle, register\nprint(register(Bundle.load({str(bundle_dir)!r})))\n"
    last_line_in_home(home, code)
    names = [f.name for f in TINY_FEATURES]
    return Workload(
        description="tiny test bundle (generated applicants)",
        home=home,
        tag="credit_scorer:latest",
        booster_text=bundle.booster_text,
        features=bundle.features,
        threshold=bundle.threshold,
        single=applicant_payloads(SINGLE_BODIES, seed=11),
        batch=applicant_payloads(BATCH_ROWS, seed=12),
        pipeline_frame=generate_applicants(3000, 0)[names].astype(float),
    )


def add_workload_arguments(parser: argparse.ArgumentParser) -> None:
    """``--bentoml-home`` and ``--model-tag``: the bundle to benchmark instead of the tiny test bundle."""
    parser.add_argument(
        "--bentoml-home",
        type=Path,
        help="benchmark the bundle registered in this BentoML home (copied, never modified) "
        "instead of the tiny test bundle",
    )
    parser.add_argument(
        "--model-tag", help="tag of that bundle (default credit_scorer:latest; needs --bentoml-home)"
    )


def check_workload_arguments(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    """Exit with a usage error when ``--model-tag`` comes without ``--bentoml-home``."""
    if args.model_tag and args.bentoml_home is None:
        parser.error("--model-tag needs --bentoml-home")


def workload_from_arguments(args: argparse.Namespace, work: Path) -> Workload:
    """The workload the arguments of :func:`add_workload_arguments` ask for."""
    if args.bentoml_home is not None:
        return registered_workload(work, args.bentoml_home, args.model_tag or "credit_scorer:latest")
    return tiny_workload(work)


def registered_workload(work: Path, bentoml_home: Path, tag: str) -> Workload:
    """Copy ``bentoml_home`` into ``work/home``; applicants drawn from the bundle's reference sample.

    Rows the service's own validation would reject are left out (counted in the report); 200 single
    applicants and the 1,000-applicant batch are drawn without replacement when the sample is large enough.
    """
    home = work / "home"
    shutil.copytree(bentoml_home, home, ignore=shutil.ignore_patterns("prometheus_multiproc_dir", "tmp"))
    code = (
        "import json\n"
        "from service.bundle import registered_path, resolve_tag\n"
        f"print(json.dumps([resolve_tag({tag!r}), str(registered_path({tag!r}))]))\n"
    )
    exact_tag, path = json.loads(last_line_in_home(home, code))
    bundle = Bundle.load(path)
    if bundle.reference is None or bundle.reference.empty:
        sys.exit(f"{exact_tag} has no reference sample to draw applicants from")
    names = bundle.feature_names
    pool = bundle.reference[names].astype(float).reset_index(drop=True)
    validator = RequestSchema(bundle.features, max_batch_size=1, explain_max_k=0)
    keep = []
    for i, applicant in enumerate(payloads_from_frame(pool, bundle.features, "ref")):
        try:
            validator.parse(json.dumps(applicant).encode())
            keep.append(i)
        except ServiceError:
            continue
    rejected = len(pool) - len(keep)
    pool = pool.iloc[keep].reset_index(drop=True)

    def draw(n: int, seed: int) -> pd.DataFrame:
        rows = np.random.default_rng(seed).choice(len(pool), size=n, replace=len(pool) < n)
        return pool.iloc[rows]

    return Workload(
        description=f"{exact_tag} (applicants from its reference sample: {len(pool)} rows, "
        f"{rejected} rejected by validation)",
        home=home,
        tag=exact_tag,
        booster_text=bundle.booster_text,
        features=bundle.features,
        threshold=bundle.threshold,
        single=payloads_from_frame(draw(SINGLE_BODIES, 11), bundle.features, "single"),
        batch=payloads_from_frame(draw(BATCH_ROWS, 12), bundle.features, "batch"),
        pipeline_frame=pool,
    )


def same_model_error(url: str, bodies: list[dict], expected: np.ndarray) -> float:
    """Largest absolute difference between the probabilities a server answers and ``expected``."""
    answers = [httpx.post(url + "/score", json=body, timeout=10.0).json()["probability"] for body in bodies]
    return float(np.max(np.abs(np.asarray(answers) - expected)))


def in_process(model_txt: str, batch: np.ndarray, rows: np.ndarray) -> dict[str, float]:
    """In-process reference numbers: rows/s for a 1,000-row batch, p50 of one-row predict and pred_contrib.

    The one-row calls cycle through ``rows`` (the single-applicant bodies' rows), as the HTTP runs do.
    """
    from service.booster import import_lightgbm

    booster = import_lightgbm().Booster(model_str=model_txt)
    singles = [rows[i : i + 1] for i in range(len(rows))]
    counter = iter(range(10**9))

    def next_row() -> np.ndarray:
        return singles[next(counter) % len(singles)]

    def p50_ms(fn, n: int) -> float:
        times = []
        for _ in range(n):
            start = time.perf_counter()
            fn()
            times.append(time.perf_counter() - start)
        return statistics.median(times) * 1000

    batch_ms = p50_ms(lambda: booster.predict(batch, num_threads=1), 200)
    batch_ms_mt = p50_ms(lambda: booster.predict(batch), 200)
    return {
        "batch_rows_per_s_1thread": 1000 / (batch_ms / 1000),
        "batch_rows_per_s_all_threads": 1000 / (batch_ms_mt / 1000),
        "predict_one_p50_ms": p50_ms(lambda: booster.predict(next_row(), num_threads=1), 2000),
        "pred_contrib_one_p50_ms": p50_ms(
            lambda: booster.predict(next_row(), pred_contrib=True, num_threads=1), 2000
        ),
    }


class Uvicorn:
    """A reference app under uvicorn (no access log) on 127.0.0.1."""

    def __init__(self, factory: str, env: dict[str, str], log: Path, workers: int = 1) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self._log = open(log, "wb")  # noqa: SIM115 - closed in stop()
        self.process = subprocess.Popen(
            [
                UVICORN,
                "--factory",
                factory,
                "--host",
                "127.0.0.1",
                "--port",
                str(self.port),
                "--no-access-log",
                "--workers",
                str(workers),
            ],
            cwd=REPO_ROOT / "benchmarks",
            env={**os.environ, **env},
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                httpx.get(self.url + "/", timeout=1.0)
                return
            except httpx.HTTPError:
                time.sleep(0.3)
        raise TimeoutError(f"{factory} did not start")

    def stop(self) -> None:
        """Terminate the server."""
        self.process.terminate()
        self.process.wait(20)
        self._log.close()


@contextlib.contextmanager
def scratch_area(prefix: str) -> Iterator[tuple[Path, list[Any]]]:
    """A temporary folder and a list for the servers a benchmark starts; on leaving, even on an error,
    every server in the list is stopped and the folder removed."""
    work = Path(tempfile.mkdtemp(prefix=prefix))
    servers: list[Any] = []
    try:
        yield work, servers
    finally:
        for server in servers:
            with contextlib.suppress(Exception):
                server.stop()
        shutil.rmtree(work, ignore_errors=True)


def main() -> None:
    """Run every configuration back to back and print throughput, latency, CPU per request and ratios."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=int, default=8, help="seconds per wrk run")
    parser.add_argument("--rounds", type=int, default=3, help="rounds of the single-applicant comparison")
    parser.add_argument("--json", type=Path, help="also write the results here")
    parser.add_argument(
        "--baseline-source", type=Path, help="export of the previous commit, measured in the same rounds"
    )
    add_workload_arguments(parser)
    args = parser.parse_args()
    check_workload_arguments(parser, args)
    if shutil.which("wrk") is None:
        sys.exit("wrk not found: apt-get install -y wrk")

    results: dict[str, object] = {
        "duration_s": args.duration,
        "connections": 8,
        "loadavg_start": os.getloadavg(),
    }
    with scratch_area("bench_service_") as (work, servers):
        load = workload_from_arguments(args, work)
        names = load.names
        home = load.home
        (work / "model.txt").write_text(load.booster_text)
        # (c)'s pipeline: the same booster behind a scikit-learn imputer (see reference_apps.booster_pipeline)
        pipeline = reference_apps.booster_pipeline(load.booster_text, load.pipeline_frame[names])
        n_trees = pipeline[-1].booster_.num_trees()
        results["model"] = f"{load.description}, {len(names)} features, {n_trees} trees"
        print(f"model: {results['model']}; load average {results['loadavg_start']}", flush=True)
        (work / "pipeline.pkl").write_bytes(pickle.dumps(pipeline))
        ref_env = {
            "BENCH_MODEL_TXT": str(work / "model.txt"),
            "BENCH_PIPELINE_PKL": str(work / "pipeline.pkl"),
            "BENCH_FEATURES": ",".join(names),
            "BENCH_THRESHOLD": repr(load.threshold),
            "PYTHONPATH": str(REPO_ROOT / "benchmarks"),
        }

        applicants = load.single
        single = lua_script(work / "single.lua", "/score", [json.dumps(a) for a in applicants])
        batch_applicants = load.batch
        batch = lua_script(work / "batch.lua", "/score", [json.dumps({"applicants": batch_applicants})])
        columns = ["id", *names]
        rows = [[a["id"], *(a["features"].get(n) for n in names)] for a in batch_applicants]
        columnar = lua_script(
            work / "columnar.lua", "/score", [json.dumps({"columns": columns, "rows": rows})]
        )
        explain = lua_script(
            work / "explain.lua", "/score", [json.dumps({**a, "explain": 3}) for a in applicants]
        )
        full_explain = lua_script(work / "full_explain.lua", "/explain", [json.dumps(a) for a in applicants])
        single_matrix = matrix_of(applicants, names)
        check_bodies = applicants[:20]
        expected = pipeline[-1].booster_.predict(single_matrix[:20], num_threads=1)
        same_model: dict[str, float] = {}
        results["same_model_max_abs_diff"] = same_model

        def service(label: str, env: dict[str, str], source: Path = REPO_ROOT) -> BentoServer:
            served = BentoServer(
                home,
                env={
                    "CREDIT_SCORING_SPOOL_DIR": str(work / f"spool-{label}"),
                    "CREDIT_SCORING_BUNDLE_TAG": load.tag,
                    **env,
                },
                log_path=work / f"{label}.log",
                source=source,
            ).start()
            servers.append(served)
            served.wait_ready()
            return served

        def bare(workers: int = 1) -> Uvicorn:
            server = Uvicorn("reference_apps:bare_starlette_app", ref_env, work / "bare.log", workers=workers)
            servers.append(server)
            return server

        def run(label: str, server, lua: Path, connections: int = 8) -> dict[str, float]:
            url, pid = server.url, server.process.pid
            measured = wrk(url, lua, connections=connections, duration_s=args.duration, server_pid=pid)
            print(
                f"{label:<46} {measured['rps']:>9.0f} req/s  p50 {measured['p50_ms']:7.2f} ms  "
                f"p99 {measured['p99_ms']:7.2f} ms  CPU/req {measured['cpu_us_per_request']:6.0f} us  "
                f"non-2xx {measured['non_2xx']:.0f}",
                flush=True,
            )
            results[label] = measured
            return measured

        results["in_process"] = in_process(
            load.booster_text, matrix_of(batch_applicants, names), single_matrix
        )
        print(json.dumps(results["in_process"], indent=1), flush=True)

        for r in range(1, args.rounds + 1):
            svc = service(f"svc{r}", {})
            run(f"r{r} (a) front door, payload log on", svc, single)
            if r == 1:
                same_model["(a)"] = same_model_error(svc.url, check_bodies, expected)
                run("(a) batch 1000 applicants, 2 conns", svc, batch, connections=2)
                run("(a) batch 1000 columnar, 2 conns", svc, columnar, connections=2)
                run("(a) explain:3 on /score, 1 conn", svc, explain, connections=1)
                run("(a) /explain (explainer service), 1 conn", svc, full_explain, connections=1)
            svc.stop()
            svc_off = service(f"svc_off{r}", {"CREDIT_SCORING_PAYLOAD_LOG_ENABLED": "false"})
            run(f"r{r} (a0) front door, payload log off", svc_off, single)
            svc_off.stop()
            if args.baseline_source:
                previous = service(f"prev{r}", {}, source=args.baseline_source)
                run(f"r{r} (p) previous commit, payload log on", previous, single)
                if r == 1:
                    run("(p) batch 1000 applicants, 2 conns", previous, batch, connections=2)
                    run("(p) explain:3 on /score, 1 conn", previous, explain, connections=1)
                    run("(p) /explain (explainer service), 1 conn", previous, full_explain, connections=1)
                previous.stop()
                previous_off = service(
                    f"prev_off{r}",
                    {"CREDIT_SCORING_PAYLOAD_LOG_ENABLED": "false"},
                    source=args.baseline_source,
                )
                run(f"r{r} (p0) previous commit, payload log off", previous_off, single)
                previous_off.stop()
            reference = bare()
            run(f"r{r} (b) bare Starlette + Booster", reference, single)
            if r == 1:
                same_model["(b)"] = same_model_error(reference.url, check_bodies, expected)
                run("(b) batch 1000 applicants, 2 conns", reference, batch, connections=2)
                run("(b) pred_contrib over HTTP, 1 conn", reference, full_explain, connections=1)
            reference.stop()
        svc2 = service("svc_2w", {"CREDIT_SCORING_WORKERS": "2"})
        run("(a) front door, 2 workers", svc2, single)
        run("(a) 2 workers, batch 1000 columnar, 2 conns", svc2, columnar, connections=2)
        svc2.stop()
        reference2 = bare(workers=2)
        run("(b) bare, 2 workers", reference2, single)
        reference2.stop()
        fast = Uvicorn("reference_apps:fastapi_sklearn_app", ref_env, work / "fastapi.log")
        servers.append(fast)
        run("(c) FastAPI + sklearn pipeline", fast, single)
        same_model["(c)"] = same_model_error(fast.url, check_bodies, expected)
        fast.stop()
        results["loadavg_end"] = os.getloadavg()
        report(results, args.rounds, previous=args.baseline_source is not None)
        if args.json:
            args.json.write_text(json.dumps(results, indent=2))


def report(results: dict, rounds: int, *, previous: bool) -> None:
    """Print the ratios the targets of issue 3 are stated in."""
    print(f"\nmodel: {results['model']}")
    print(
        "load average (1, 5, 15 min) at start {} and end {}".format(
            *(", ".join(f"{v:.2f}" for v in results[k]) for k in ("loadavg_start", "loadavg_end"))
        )
    )
    print(
        "same model: largest |probability - in-process Booster.predict| on 20 applicants: "
        + ", ".join(f"{k} {v:.1e}" for k, v in results["same_model_max_abs_diff"].items())
    )
    print("ratios (same run):")
    for r in range(1, rounds + 1):
        a = results[f"r{r} (a) front door, payload log on"]
        off = results[f"r{r} (a0) front door, payload log off"]
        b = results[f"r{r} (b) bare Starlette + Booster"]
        print(
            f"  round {r}: throughput a/b {a['rps'] / b['rps']:.2f} (target >= 0.5), "
            f"p99 a/b {a['p99_ms'] / b['p99_ms']:.2f} (target <= 3), "
            f"log on/off throughput {a['rps'] / off['rps']:.3f} (target >= 0.95), "
            f"p99 {a['p99_ms'] / off['p99_ms']:.2f}x (target <= 1.1)"
        )
        print(
            f"           CPU per request a/b {a['cpu_us_per_request'] / b['cpu_us_per_request']:.2f} "
            f"(idle-machine throughput ratio ~ {b['cpu_us_per_request'] / a['cpu_us_per_request']:.2f}); "
            f"payload-log CPU cost {a['cpu_us_per_request'] / off['cpu_us_per_request'] - 1:+.1%}"
        )
        if previous:
            p, p0 = (
                results[f"r{r} (p) previous commit, payload log on"],
                results[f"r{r} (p0) previous commit, payload log off"],
            )
            print(
                f"           now / previous commit: throughput {a['rps'] / p['rps']:.3f}, "
                f"p99 {a['p99_ms'] / p['p99_ms']:.2f}x, "
                f"CPU/req {a['cpu_us_per_request'] / p['cpu_us_per_request']:.3f}; "
                f"previous log on/off {p['rps'] / p0['rps']:.3f}, p99 {p['p99_ms'] / p0['p99_ms']:.2f}x"
            )
    a2, b2 = results["(a) front door, 2 workers"], results["(b) bare, 2 workers"]
    print(
        f"  2 workers: throughput a/b {a2['rps'] / b2['rps']:.2f}, "
        f"p99 a/b {a2['p99_ms'] / b2['p99_ms']:.2f}, "
        f"CPU per request a/b {a2['cpu_us_per_request'] / b2['cpu_us_per_request']:.2f}"
    )
    ip = results["in_process"]
    for label in (
        "(a) batch 1000 applicants, 2 conns",
        "(a) batch 1000 columnar, 2 conns",
        "(a) 2 workers, batch 1000 columnar, 2 conns",
        *(["(p) batch 1000 applicants, 2 conns"] if previous else []),
        "(b) batch 1000 applicants, 2 conns",
    ):
        rows_http = results[label]["rps"] * 1000
        print(
            f"  {label}: {rows_http:.0f} rows/s vs in-process 1 thread {ip['batch_rows_per_s_1thread']:.0f}: "
            f"{rows_http / ip['batch_rows_per_s_1thread']:.2f} (target >= 0.7)"
        )
    contrib = ip["pred_contrib_one_p50_ms"]
    bare_http = results["(b) pred_contrib over HTTP, 1 conn"]["p50_ms"]
    for label in ("(a) explain:3 on /score, 1 conn", "(a) /explain (explainer service), 1 conn"):
        p50 = results[label]["p50_ms"]
        print(
            f"  {label}: p50 {p50:.3f} ms vs in-process pred_contrib {contrib:.3f} ms: {p50 / contrib:.1f}x "
            f"(target <= 1.5); vs (b) pred_contrib over HTTP {bare_http:.3f} ms: {p50 / bare_http:.2f}x"
        )
        if previous:
            before = results[label.replace("(a)", "(p)", 1)]["p50_ms"]
            print(f"    now / previous commit: p50 {p50 / before:.2f}x")
    c = results["(c) FastAPI + sklearn pipeline"]
    a1 = results["r1 (a) front door, payload log on"]
    print(
        f"  service vs FastAPI+sklearn: throughput {a1['rps'] / c['rps']:.1f}x, "
        f"CPU per request {c['cpu_us_per_request'] / a1['cpu_us_per_request']:.1f}x lower"
    )


if __name__ == "__main__":
    main()
